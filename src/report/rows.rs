//! Kept events as normalized rows: JSON lines or CSV. Column names are those of the tables in
//! `docs/architecture.md`.

use crate::kms::event::*;
use crate::kms::{EventKind, KmsBody, KmsEvent};
use serde_json::{Map, Value, json};
use std::io::{self, Write};

/// Every column a row can have, in CSV order.
pub const COLUMNS: [&str; 32] = [
    "source",
    "record_id",
    "time",
    "computer",
    "channel",
    "provider",
    "event_id",
    "table",
    "hresult",
    "status_flags",
    "kms_host",
    "kms_port",
    "cmid",
    "client_time",
    "vm",
    "license_status",
    "minutes_left",
    "act_id",
    "min_count",
    "activated",
    "current_count",
    "activation_interval",
    "renewal_interval",
    "host",
    "client_name",
    "domain",
    "app_id",
    "via",
    "detail",
    "data",
    "has_binary",
    "malformed",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RowFormat {
    Jsonl,
    Csv,
}

/// The architecture table a kind of event belongs to.
pub fn table(kind: EventKind) -> &'static str {
    match kind {
        EventKind::ClientRequest => "client_requests",
        EventKind::ClientResponse => "client_responses",
        EventKind::HostRequest => "host_requests",
        EventKind::DnsPublishFailed | EventKind::DnsPublishSucceeded => "host_dns",
        EventKind::SppError => "spp_errors",
        EventKind::LicensingStatus => "licensing_status",
        EventKind::OtherActivation => "other_activations",
        EventKind::OtherSpp => "other_spp",
        EventKind::OtherKmsLog => "other_kms_log",
    }
}

pub fn row(ev: &KmsEvent) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("source".into(), json!(&*ev.source));
    m.insert("record_id".into(), json!(ev.record_id));
    m.insert("time".into(), json!(ev.time.to_string()));
    m.insert("computer".into(), json!(ev.computer));
    m.insert("channel".into(), json!(ev.channel));
    m.insert("provider".into(), json!(ev.provider));
    m.insert("event_id".into(), json!(ev.event_id));
    m.insert("table".into(), json!(table(ev.kind())));
    let mut put = |k: &str, v: Value| {
        m.insert(k.into(), v);
    };
    let time = |t: &Option<jiff::Timestamp>| t.map(|t| t.to_string());
    match &ev.body {
        KmsBody::ClientRequest(r) => {
            put("hresult", json!(r.hresult.to_string()));
            put("status_flags", json!(r.status_flags.to_string()));
            put("kms_host", json!(r.kms_host));
            put("kms_port", json!(r.kms_port));
            put("cmid", json!(r.cmid.as_str()));
            put("client_time", json!(time(&r.client_time)));
            put("vm", json!(r.vm));
            put("license_status", json!(r.license_status.code()));
            put("minutes_left", json!(r.minutes_left));
            put("act_id", json!(r.act_id.as_str()));
            put("min_count", json!(r.min_count));
        }
        KmsBody::ClientResponse(r) => {
            put("hresult", json!(r.hresult.to_string()));
            put("status_flags", json!(r.status_flags.to_string()));
            put("activated", json!(r.activated));
            put("current_count", json!(r.current_count));
            put("activation_interval", json!(r.activation_interval));
            put("renewal_interval", json!(r.renewal_interval));
            put("client_time", json!(time(&r.client_time)));
        }
        KmsBody::HostRequest(r) => {
            put("host", json!(ev.computer));
            put("hresult", json!(r.hresult.to_string()));
            put("min_count", json!(r.min_count));
            put("client_name", json!(r.client_name));
            put("cmid", json!(r.cmid.as_str()));
            put("client_time", json!(time(&r.client_time)));
            put("vm", json!(r.vm));
            put("license_status", json!(r.license_status.code()));
            put("minutes_left", json!(r.minutes_left));
            put("act_id", json!(r.act_id.as_str()));
        }
        KmsBody::DnsPublishFailed(DnsPublishFailed { hresult, domain }) => {
            put("host", json!(ev.computer));
            put("hresult", json!(hresult.to_string()));
            put("domain", json!(domain));
        }
        KmsBody::DnsPublishSucceeded(DnsPublishSucceeded { domain }) => {
            put("host", json!(ev.computer));
            put("domain", json!(domain));
        }
        KmsBody::SppError(SppError { hresult, detail }) => {
            put("hresult", json!(hresult.map(|h| h.to_string())));
            put("detail", json!(detail));
        }
        KmsBody::LicensingStatus(LicensingStatus { app_id, status }) => {
            put("app_id", json!(app_id.as_ref().map(|g| g.as_str())));
            put("detail", json!(status));
        }
        KmsBody::OtherActivation(o) => {
            put("via", json!(o.channel.name()));
            put("act_id", json!(o.act_id.as_ref().map(|g| g.as_str())));
            put("hresult", json!(o.hresult.to_string()));
            put("detail", json!(o.detail));
        }
        KmsBody::OtherSpp(o) | KmsBody::OtherKmsLog(o) => {
            put("data", json!(o.data));
            put("has_binary", json!(o.has_binary));
        }
        KmsBody::Malformed(Malformed { reason, data, .. }) => {
            put("malformed", json!(reason));
            put("data", json!(data));
        }
    }
    m
}

/// Rows rendered in parallel, a block at a time, and written in order.
pub fn write(events: &[KmsEvent], format: RowFormat, out: &mut dyn Write) -> io::Result<()> {
    use rayon::prelude::*;
    let line = |ev: &KmsEvent| -> String {
        let r = row(ev);
        match format {
            RowFormat::Jsonl => Value::Object(r).to_string(),
            RowFormat::Csv => COLUMNS
                .iter()
                .map(|c| csv_cell(r.get(*c)))
                .collect::<Vec<_>>()
                .join(","),
        }
    };
    if format == RowFormat::Csv {
        writeln!(out, "{}", COLUMNS.join(","))?;
    }
    for block in events.chunks(8192) {
        let lines: Vec<String> = block.par_iter().map(line).collect();
        for l in lines {
            out.write_all(l.as_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()
}

fn csv_cell(v: Option<&Value>) -> String {
    let s = match v {
        None | Some(Value::Null) => return String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect::<Vec<_>>()
            .join(" | "),
        Some(other) => other.to_string(),
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}
