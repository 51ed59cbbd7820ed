//! The whole analysis: ingest → correlate → tables → rules → diagnoses. Each stage a function of the last.

use crate::correlate::{self, Attempt};
use crate::diagnose::{self, Diagnosis};
use crate::ingest::{self, IngestOptions, Ingested};
use crate::kms::KmsBody;
use crate::kms::thresholds::Params;
use crate::kms::values::machine_id;
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
    let bundle = ingest::ingest(req.paths, &req.ingest, progress);
    let attempts = correlate::correlate(&bundle, &req.params);
    let tables = tables::build(&bundle, &attempts, &req.params, &req.expected_hosts)
        .map_err(|e| format!("building tables: {e}"))?;
    let out = engine::run(req.rules, &tables);
    let diagnoses = diagnose::diagnose(&out.findings, req.rules);
    Ok(Analysis {
        bundle,
        attempts,
        findings: out.findings,
        diagnoses,
        not_checked: out.not_checked,
        rule_errors: out.errors,
        params: req.params,
        expected_hosts: req.expected_hosts,
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
                    out.insert(machine_id(&e.computer));
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
            .map(|e| machine_id(&e.computer))
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
                .insert(machine_id(&e.computer));
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
}
