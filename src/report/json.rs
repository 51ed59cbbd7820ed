//! The JSON report: a stable, versioned shape (`kmslens/report/v1`), written from typed structs
//! (no tree of JSON values in memory: a bundle of 40 000 logs has 40 000 source entries). The
//! report's own fields keep the alphabetical order earlier versions wrote; findings, diagnoses and
//! diagnostics are written in their structs' field order.

use super::clock::Clock;
use crate::analysis::Analysis;
use crate::diagnose::Diagnosis;
use crate::ingest::report::{Losses, SourceReport, Status};
use crate::messages::Diagnostic;
use crate::rules::Severity;
use crate::rules::engine::NotChecked;
use crate::rules::finding::Finding;
use crate::sources::sniff::SourceKind;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

pub const SCHEMA: &str = "kmslens/report/v1";

#[derive(Serialize)]
pub struct Report<'a> {
    diagnoses: &'a [Diagnosis],
    findings: &'a [Finding],
    generated: String,
    inputs: Inputs<'a>,
    not_checked: &'a [NotChecked],
    schema: &'static str,
    /// Findings by severity, `info` to `critical`.
    summary: BTreeMap<&'static str, usize>,
}

#[derive(Serialize)]
struct Inputs<'a> {
    activation_channels: BTreeMap<&'static str, usize>,
    clients: &'a BTreeSet<String>,
    diagnostics: Vec<DiagnosticEntry<'a>>,
    expected_hosts: &'a [String],
    hosts: &'a BTreeSet<String>,
    params: BTreeMap<&'a str, f64>,
    sources: Vec<Source<'a>>,
    time_span: Option<TimeSpan>,
    /// The zone (`--tz`) dates of text renderings were read in; every time here is UTC.
    time_zone: String,
}

#[derive(Serialize)]
struct TimeSpan {
    first: String,
    last: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum DiagnosticEntry<'a> {
    Source(&'a Diagnostic),
    Rule {
        message: &'a str,
        severity: &'static str,
        source: &'a str,
    },
}

#[derive(Serialize)]
struct Source<'a> {
    channels: &'a crate::ingest::report::NameSet,
    computers: &'a crate::ingest::report::NameSet,
    damaged: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    first_time: Option<String>,
    kind: &'static str,
    kms_events: usize,
    last_time: Option<String>,
    lost: Losses,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    records: u64,
    /// EVTX only: licensing records whose template the typed reader does not cover.
    #[serde(skip_serializing_if = "Option::is_none")]
    rendered_as_xml: Option<u64>,
    source: &'a str,
    status: &'static str,
}

impl<'a> Source<'a> {
    fn of(s: &'a SourceReport) -> Self {
        let (status, reason) = match &s.status {
            Status::Read => ("read", None),
            Status::Skipped(r) => ("skipped", Some(r.as_str())),
            Status::Unreadable(r) => ("unreadable", Some(r.as_str())),
        };
        Source {
            channels: &s.tally.channels,
            computers: &s.tally.computers,
            damaged: s.tally.lost.total(),
            detail: s.detail.as_deref(),
            first_time: s.tally.first_time.map(|t| t.to_string()),
            kind: s.kind.name(),
            kms_events: s.tally.kms_events,
            last_time: s.tally.last_time.map(|t| t.to_string()),
            lost: s.tally.lost,
            reason,
            records: s.tally.records,
            rendered_as_xml: (s.kind == SourceKind::Evtx).then_some(s.tally.rendered_as_xml),
            source: &s.source,
            status,
        }
    }
}

pub fn report(a: &Analysis, generated: jiff::Timestamp) -> Report<'_> {
    let sources = &a.bundle.sources;
    let diagnostics = sources
        .iter()
        .flat_map(|s| s.tally.diagnostics.iter().map(DiagnosticEntry::Source))
        .chain(a.rule_errors.iter().map(|e| DiagnosticEntry::Rule {
            message: &e.error,
            severity: "error",
            source: &e.file,
        }))
        .collect();
    let summary = Severity::ALL
        .iter()
        .map(|sev| {
            let n = a.findings.iter().filter(|f| f.severity == *sev).count();
            (sev.name(), n)
        })
        .collect();
    Report {
        diagnoses: &a.diagnoses,
        findings: &a.findings,
        generated: generated.to_string(),
        inputs: Inputs {
            activation_channels: a.activation_channels(),
            clients: a.clients(),
            diagnostics,
            expected_hosts: &a.expected_hosts,
            hosts: a.hosts(),
            params: a.params.iter().collect(),
            sources: sources.iter().map(Source::of).collect(),
            time_span: a.time_span().map(|(f, l)| TimeSpan {
                first: f.to_string(),
                last: l.to_string(),
            }),
            time_zone: Clock::new(a.bundle.zone.clone()).name().to_string(),
        },
        not_checked: &a.not_checked,
        schema: SCHEMA,
        summary,
    }
}

/// The report as pretty-printed JSON text.
pub fn render(a: &Analysis, generated: jiff::Timestamp) -> String {
    let mut out = Vec::new();
    // Writing to a vector fails only on a serializer bug; the text is UTF-8 JSON.
    let _ = write(a, generated, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// The report written as it is serialized: no copy of the whole text in memory (20 MB for a
/// bundle of 40 000 logs).
pub fn write(a: &Analysis, generated: jiff::Timestamp, mut out: impl Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut out, &report(a, generated))?;
    out.write_all(b"\n")
}
