//! The whole analysis: ingest → correlate → tables → rules → diagnoses. Each stage a function of the last.

use crate::correlate::{self, Attempt};
use crate::diagnose::{self, Diagnosis};
use crate::ingest::report::spanning;
use crate::ingest::{self, Bundle, IngestOptions, Ingested};
use crate::kms::slmgr::Role;
use crate::kms::thresholds::Params;
use crate::kms::values::machine_id;
use crate::kms::{KmsBody, KmsEvent};
use crate::messages::trace_memory;
use crate::rules::engine::{self, NotChecked};
use crate::rules::finding::Finding;
use crate::rules::{Rule, RuleError};
use crate::tables::{self, ATTEMPTS};
use indicatif::ProgressBar;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;

pub struct Request<'a> {
    pub paths: &'a [PathBuf],
    pub ingest: IngestOptions,
    pub rules: &'a [Rule],
    pub params: Params,
    pub expected_hosts: Vec<String>,
}

pub struct Analysis {
    /// The bundle read, without its events and slmgr products: the tables held them (what the
    /// reports need of them is in `overview`).
    pub bundle: Bundle,
    pub overview: Overview,
    pub attempts: Vec<Attempt>,
    pub findings: Vec<Finding>,
    /// Findings grouped by cause, in the order to fix them.
    pub diagnoses: Vec<Diagnosis>,
    pub not_checked: Vec<NotChecked>,
    /// Rules that failed when run.
    pub rule_errors: Vec<RuleError>,
    pub params: Params,
    pub expected_hosts: Vec<String>,
}

pub fn run(req: Request, progress: &ProgressBar) -> Result<Analysis, String> {
    let bundle = read(req.paths, req.ingest, progress);
    run_on(bundle, req.rules, req.params, req.expected_hosts)
}

/// Reads a bundle for the analysis: it keeps only the events its tables hold.
pub fn read(paths: &[PathBuf], ingest: IngestOptions, progress: &ProgressBar) -> Ingested {
    trace_memory("start");
    ingest::ingest(paths, &analysed(ingest), progress)
}

/// The analysis of a bundle already read (see `ingest::ingest_bytes`).
pub fn run_on(
    mut bundle: Ingested,
    rules: &[Rule],
    params: Params,
    expected_hosts: Vec<String>,
) -> Result<Analysis, String> {
    trace_memory("ingest");
    // The overview and the tables read the events side by side; the events and slmgr products
    // are let go once the tables hold them (a product a client: 12 MB on 20 000 clients).
    let events = std::mem::take(&mut bundle.events);
    let (overview, tables) = rayon::join(
        || Overview::of(&bundle, &events),
        || tables::build(&bundle, &events, &params, &expected_hosts),
    );
    drop(events);
    let bundle = bundle.into_bundle();
    let mut tables = tables.map_err(|e| format!("building tables: {e}"))?;
    trace_memory("tables");
    correlate::run(&mut tables)?;
    trace_memory("correlation");
    tables.trace_sizes();
    let out = engine::run(rules, &tables);
    trace_memory("rules");
    // The reports' typed copy of the attempts is made once the other tables are let go.
    let attempts = tables
        .into_table(ATTEMPTS.name)
        .map(|frame| correlate::attempts(&frame))
        .transpose()
        .map_err(|e| format!("reading attempts: {e}"))?
        .unwrap_or_default();
    let diagnoses = diagnose::diagnose(&out.findings, rules);
    Ok(Analysis {
        bundle,
        overview,
        attempts,
        findings: out.findings,
        diagnoses,
        not_checked: out.not_checked,
        rule_errors: out.errors,
        params,
        expected_hosts,
    })
}

/// The tables of a bundle read with `read`, without the derived ones and the rules (`kmslens
/// export`): an engine computes `attempts` from them with the same SQL stage. The bundle comes
/// back without its events and slmgr products, which the tables hold.
pub fn tables_of(
    mut bundle: Ingested,
    params: &Params,
    expected_hosts: &[String],
) -> Result<(Bundle, tables::Tables), String> {
    let events = std::mem::take(&mut bundle.events);
    let tables = tables::build(&bundle, &events, params, expected_hosts)
        .map_err(|e| format!("building tables: {e}"))?;
    Ok((bundle.into_bundle(), tables))
}

/// The options of a read for the analysis: it keeps the events its tables hold.
fn analysed(opts: IngestOptions) -> IngestOptions {
    IngestOptions {
        keep: tables::holds,
        ..opts
    }
}

/// Names seen, hashed fast: a name is looked up for each of hundreds of thousands of events.
type Names<'a> = HashSet<&'a str, foldhash::fast::RandomState>;

/// What the reports say of the bundle's events, taken before the events are let go.
#[derive(Debug, Default)]
pub struct Overview {
    /// KMS events read (the analysis keeps only those its tables hold).
    pub events: usize,
    /// KMS hosts seen: machines that logged host events, and hosts clients asked.
    pub hosts: BTreeSet<String>,
    /// Clients seen: machines that logged client requests or responses, or an activation through
    /// Active Directory or AVMA.
    pub clients: BTreeSet<String>,
    /// The clients of each activation channel: `kms` (sent KMS requests), `ad` and `avma`
    /// (activated that way). A client that moved from one to another is in both.
    pub channels: BTreeMap<&'static str, BTreeSet<String>>,
    /// First and last KMS event.
    pub time_span: Option<(jiff::Timestamp, jiff::Timestamp)>,
    /// KMS hosts whose `slmgr /dlv` shows DNS publishing disabled.
    pub dns_publishing_off: BTreeSet<String>,
}

impl Overview {
    /// The overview of a bundle and its events (taken out of it for the tables).
    pub fn of(bundle: &Ingested, events: &[KmsEvent]) -> Overview {
        // Distinct names first, borrowed from the events; owned copies once per name.
        let mut hosts = Names::default();
        let mut asked = Names::default();
        let mut clients = Names::default();
        let mut channels: BTreeMap<&'static str, Names> = BTreeMap::new();
        for e in events {
            let id = &**e.machine();
            match &e.body {
                KmsBody::HostRequest(_)
                | KmsBody::DnsPublishFailed(_)
                | KmsBody::DnsPublishSucceeded(_) => {
                    hosts.insert(id);
                }
                KmsBody::ClientRequest(r) => {
                    if let Some(h) = &r.kms_host {
                        asked.insert(h);
                    }
                    clients.insert(id);
                    channels.entry("kms").or_default().insert(id);
                }
                KmsBody::ClientResponse(_) => {
                    clients.insert(id);
                }
                KmsBody::OtherActivation(a) => {
                    clients.insert(id);
                    if a.succeeded() {
                        channels.entry(a.channel.name()).or_default().insert(id);
                    }
                }
                _ => {}
            }
        }
        let owned = |set: Names| set.into_iter().map(str::to_string).collect();
        // Counted by the sources: the events kept are only those the tables hold.
        let span = (bundle.sources.iter()).fold(None, |span, s| spanning(span, s.tally.kms_span));
        let mut o = Overview {
            events: bundle.sources.iter().map(|s| s.tally.kms_events).sum(),
            hosts: owned(hosts),
            clients: owned(clients),
            channels: channels.into_iter().map(|(k, v)| (k, owned(v))).collect(),
            time_span: span,
            dns_publishing_off: BTreeSet::new(),
        };
        o.hosts.extend(asked.into_iter().map(machine_id));
        for s in &bundle.slmgr {
            let Some(c) = &s.computer else { continue };
            // slmgr /dlv of a client activated through AD names its activation object.
            if s.product.activation_object.is_some() {
                o.channels.entry("ad").or_default().insert(machine_id(c));
            }
            if s.product.role() == Role::Host && s.product.dns_publishing == Some(false) {
                o.dns_publishing_off.insert(machine_id(c));
            }
        }
        o
    }
}

impl Analysis {
    pub fn hosts(&self) -> &BTreeSet<String> {
        &self.overview.hosts
    }

    pub fn clients(&self) -> &BTreeSet<String> {
        &self.overview.clients
    }

    /// How many clients use each activation channel.
    pub fn activation_channels(&self) -> BTreeMap<&'static str, usize> {
        self.overview
            .channels
            .iter()
            .map(|(k, v)| (*k, v.len()))
            .collect()
    }

    pub fn time_span(&self) -> Option<(jiff::Timestamp, jiff::Timestamp)> {
        self.overview.time_span
    }

    /// What keeps this analysis from covering the whole bundle: inputs that could not be read or
    /// were read in part, and rules that could not run. Empty when complete (`--strict`).
    pub fn gaps(&self) -> Vec<String> {
        use crate::ingest::report::Status;
        let mut out = Vec::new();
        for s in &self.bundle.sources {
            match &s.status {
                Status::Unreadable(reason) => out.push(format!("{}: not read: {reason}", s.source)),
                Status::Read if s.tally.lost.total() > 0 => {
                    out.push(format!("{}: {}", s.source, s.tally.lost))
                }
                _ => {}
            }
        }
        out.extend(
            self.rule_errors
                .iter()
                .map(|e| format!("rule not run: {e}")),
        );
        out
    }
}
