//! The JSON report: a stable, versioned shape (`kmslens/report/v1`).

use crate::analysis::Analysis;
use crate::ingest::report::Status;
use crate::rules::Severity;
use serde_json::{Map, Value, json};

pub const SCHEMA: &str = "kmslens/report/v1";

pub fn render(a: &Analysis, generated: jiff::Timestamp) -> Value {
    let sources: Vec<Value> = a
        .bundle
        .sources
        .iter()
        .map(|s| {
            let (status, reason) = match &s.status {
                Status::Read => ("read", None),
                Status::Skipped(r) => ("skipped", Some(r.clone())),
                Status::Unreadable(r) => ("unreadable", Some(r.clone())),
            };
            let mut m = Map::new();
            m.insert("source".into(), json!(&*s.source));
            m.insert("kind".into(), json!(s.kind));
            if let Some(d) = &s.detail {
                m.insert("detail".into(), json!(d));
            }
            m.insert("status".into(), json!(status));
            if let Some(r) = reason {
                m.insert("reason".into(), json!(r));
            }
            m.insert("computers".into(), json!(s.tally.computers));
            m.insert("channels".into(), json!(s.tally.channels));
            m.insert("records".into(), json!(s.tally.records));
            m.insert("kms_events".into(), json!(s.tally.kms_events));
            m.insert(
                "first_time".into(),
                json!(s.tally.first_time.map(|t| t.to_string())),
            );
            m.insert(
                "last_time".into(),
                json!(s.tally.last_time.map(|t| t.to_string())),
            );
            m.insert("damaged".into(), json!(s.tally.lost.total()));
            m.insert("lost".into(), json!(s.tally.lost));
            if s.kind == "evtx" {
                // Licensing records whose template the typed reader does not cover.
                m.insert("rendered_as_xml".into(), json!(s.tally.rendered_as_xml));
            }
            Value::Object(m)
        })
        .collect();
    let diagnostics: Vec<Value> = a
        .bundle
        .sources
        .iter()
        .flat_map(|s| s.tally.diagnostics.iter())
        .map(|d| serde_json::to_value(d).unwrap_or(Value::Null))
        .chain(
            a.rule_errors
                .iter()
                .map(|e| json!({"severity": "error", "source": e.file, "message": e.error})),
        )
        .collect();
    let mut summary = Map::new();
    for sev in Severity::ALL.iter().rev() {
        summary.insert(
            sev.name().into(),
            json!(a.findings.iter().filter(|f| f.severity == *sev).count()),
        );
    }
    let params: Map<String, Value> = a
        .params
        .iter()
        .map(|(n, v)| (n.to_string(), json!(v)))
        .collect();
    json!({
        "schema": SCHEMA,
        "generated": generated.to_string(),
        "inputs": {
            "sources": sources,
            "hosts": a.hosts(),
            "clients": a.clients(),
            "activation_channels": a.activation_channels(),
            "time_span": a.time_span().map(|(f, l)| json!({"first": f.to_string(), "last": l.to_string()})),
            "expected_hosts": a.expected_hosts,
            "params": params,
            "diagnostics": diagnostics,
        },
        "summary": summary,
        "diagnoses": a.diagnoses,
        "findings": a.findings,
        "not_checked": a.not_checked,
    })
}
