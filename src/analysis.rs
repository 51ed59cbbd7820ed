//! The whole analysis: ingest → correlate → tables → rules → diagnoses. Each stage a function of the last.

use crate::correlate::{self, Attempt};
use crate::diagnose::{self, Diagnosis};
use crate::ingest::{self, IngestOptions, Ingested};
use crate::kms::KmsBody;
use crate::kms::thresholds::Params;
use crate::kms::values::machine_id;
use crate::messages::trace_memory;
use crate::rules::engine::{self, NotChecked};
use crate::rules::finding::Finding;
use crate::rules::{Rule, RuleError};
use crate::tables;
use indicatif::ProgressBar;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

pub struct Request<'a> {
    pub paths: &'a [PathBuf],
    pub ingest: IngestOptions,
    pub rules: &'a [Rule],
    pub params: Params,
    pub expected_hosts: Vec<String>,
}

pub struct Analysis {
    pub bundle: Ingested,
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
    trace_memory("start");
    let bundle = ingest::ingest(req.paths, &req.ingest, progress);
    run_on(bundle, req.rules, req.params, req.expected_hosts)
}

/// The analysis of a bundle already read (see `ingest::ingest_bytes`).
pub fn run_on(
    bundle: Ingested,
    rules: &[Rule],
    params: Params,
    expected_hosts: Vec<String>,
) -> Result<Analysis, String> {
    trace_memory("ingest");
    let attempts = correlate::correlate(&bundle, &params);
    trace_memory("correlation");
    let tables = tables::build(&bundle, &attempts, &params, &expected_hosts)
        .map_err(|e| format!("building tables: {e}"))?;
    trace_memory("tables");
    let out = engine::run(rules, &tables);
    trace_memory("rules");
    let diagnoses = diagnose::diagnose(&out.findings, rules);
    Ok(Analysis {
        bundle,
        attempts,
        findings: out.findings,
        diagnoses,
        not_checked: out.not_checked,
        rule_errors: out.errors,
        params,
        expected_hosts,
    })
}

impl Analysis {
    /// KMS hosts seen: machines that logged host events, and hosts clients asked.
    pub fn hosts(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for e in &self.bundle.events {
            match &e.body {
                KmsBody::HostRequest(_)
                | KmsBody::DnsPublishFailed(_)
                | KmsBody::DnsPublishSucceeded(_) => {
                    out.insert(machine_id(e.computer()));
                }
                KmsBody::ClientRequest(r) => {
                    if let Some(h) = &r.kms_host {
                        out.insert(machine_id(h));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Clients seen: machines that logged client requests or responses, or an activation through
    /// Active Directory or AVMA.
    pub fn clients(&self) -> BTreeSet<String> {
        self.bundle
            .events
            .iter()
            .filter(|e| {
                matches!(
                    e.body,
                    KmsBody::ClientRequest(_)
                        | KmsBody::ClientResponse(_)
                        | KmsBody::OtherActivation(_)
                )
            })
            .map(|e| machine_id(e.computer()))
            .collect()
    }

    /// How many clients use each activation channel: `kms` (sent KMS requests), `ad` and `avma`
    /// (activated that way). A client that moved from one to another counts in both.
    pub fn activation_channels(&self) -> BTreeMap<&'static str, usize> {
        let mut by: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
        for e in &self.bundle.events {
            let channel = match &e.body {
                KmsBody::ClientRequest(_) => "kms",
                KmsBody::OtherActivation(o) if o.succeeded() => o.channel.name(),
                _ => continue,
            };
            by.entry(channel)
                .or_default()
                .insert(machine_id(e.computer()));
        }
        // slmgr /dlv of a client activated through AD names its activation object.
        for s in &self.bundle.slmgr {
            if let (Some(c), Some(_)) = (&s.computer, &s.product.activation_object) {
                by.entry("ad").or_default().insert(machine_id(c));
            }
        }
        by.into_iter().map(|(k, v)| (k, v.len())).collect()
    }

    /// First and last KMS event.
    pub fn time_span(&self) -> Option<(jiff::Timestamp, jiff::Timestamp)> {
        Some((
            self.bundle.events.first()?.time,
            self.bundle.events.last()?.time,
        ))
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
