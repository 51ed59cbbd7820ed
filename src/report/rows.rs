//! Kept events as normalized rows: JSON lines or CSV. Column names are those of the tables in
//! `docs/architecture.md`.

use crate::kms::event::*;
use crate::kms::{EventKind, KmsBody, KmsEvent};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
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

/// One event as a row: its columns, present ones only, serialized straight to the output (no map
/// per row). `row` gives the same as a JSON map, for CSV and the tests.
pub struct Row<'a>(pub &'a KmsEvent);

/// A value written through its `Display` (HRESULTs, flags, times) without a `String` per value.
struct Shown<T>(T);

impl<T: std::fmt::Display> Serialize for Shown<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

fn shown_time(t: &Option<jiff::Timestamp>) -> Option<Shown<jiff::Timestamp>> {
    t.map(Shown)
}

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ev = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("source", ev.source())?;
        m.serialize_entry("record_id", &ev.record_id)?;
        m.serialize_entry("time", &Shown(ev.time))?;
        m.serialize_entry("computer", &ev.computer())?;
        m.serialize_entry("channel", &ev.channel())?;
        m.serialize_entry("provider", &ev.provider())?;
        m.serialize_entry("event_id", &ev.event_id)?;
        m.serialize_entry("table", table(ev.kind()))?;
        body(&mut m, ev)?;
        m.end()
    }
}

fn body<M: SerializeMap>(m: &mut M, ev: &KmsEvent) -> Result<(), M::Error> {
    match &ev.body {
        KmsBody::ClientRequest(r) => {
            m.serialize_entry("hresult", &Shown(r.hresult))?;
            m.serialize_entry("status_flags", &Shown(r.status_flags))?;
            m.serialize_entry("kms_host", &r.kms_host)?;
            m.serialize_entry("kms_port", &r.kms_port)?;
            m.serialize_entry("cmid", &r.cmid)?;
            m.serialize_entry("client_time", &shown_time(&r.client_time))?;
            m.serialize_entry("vm", &r.vm)?;
            m.serialize_entry("license_status", &r.license_status.code())?;
            m.serialize_entry("minutes_left", &r.minutes_left)?;
            m.serialize_entry("act_id", &r.act_id)?;
            m.serialize_entry("min_count", &r.min_count)
        }
        KmsBody::ClientResponse(r) => {
            m.serialize_entry("hresult", &Shown(r.hresult))?;
            m.serialize_entry("status_flags", &Shown(r.status_flags))?;
            m.serialize_entry("activated", &r.activated)?;
            m.serialize_entry("current_count", &r.current_count)?;
            m.serialize_entry("activation_interval", &r.activation_interval)?;
            m.serialize_entry("renewal_interval", &r.renewal_interval)?;
            m.serialize_entry("client_time", &shown_time(&r.client_time))
        }
        KmsBody::HostRequest(r) => {
            m.serialize_entry("host", &ev.computer())?;
            m.serialize_entry("hresult", &Shown(r.hresult))?;
            m.serialize_entry("min_count", &r.min_count)?;
            m.serialize_entry("client_name", &r.client_name)?;
            m.serialize_entry("cmid", &r.cmid)?;
            m.serialize_entry("client_time", &shown_time(&r.client_time))?;
            m.serialize_entry("vm", &r.vm)?;
            m.serialize_entry("license_status", &r.license_status.code())?;
            m.serialize_entry("minutes_left", &r.minutes_left)?;
            m.serialize_entry("act_id", &r.act_id)
        }
        KmsBody::DnsPublishFailed(DnsPublishFailed { hresult, domain }) => {
            m.serialize_entry("host", &ev.computer())?;
            m.serialize_entry("hresult", &Shown(hresult))?;
            m.serialize_entry("domain", domain)
        }
        KmsBody::DnsPublishSucceeded(DnsPublishSucceeded { domain }) => {
            m.serialize_entry("host", &ev.computer())?;
            m.serialize_entry("domain", domain)
        }
        KmsBody::SppError(SppError { hresult, detail }) => {
            m.serialize_entry("hresult", &hresult.map(Shown))?;
            m.serialize_entry("detail", detail)
        }
        KmsBody::LicensingStatus(LicensingStatus { app_id, status }) => {
            m.serialize_entry("app_id", app_id)?;
            m.serialize_entry("detail", status)
        }
        KmsBody::OtherActivation(o) => {
            m.serialize_entry("via", o.channel.name())?;
            m.serialize_entry("act_id", &o.act_id)?;
            m.serialize_entry("hresult", &Shown(o.hresult))?;
            m.serialize_entry("detail", &o.detail)
        }
        KmsBody::OtherSpp(o) | KmsBody::OtherKmsLog(o) => {
            m.serialize_entry("data", &o.data)?;
            m.serialize_entry("has_binary", &o.has_binary)
        }
        KmsBody::Malformed(Malformed { reason, data, .. }) => {
            m.serialize_entry("malformed", reason)?;
            m.serialize_entry("data", data)
        }
    }
}

pub fn row(ev: &KmsEvent) -> Map<String, Value> {
    match serde_json::to_value(Row(ev)) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// Rows rendered in parallel, a block at a time, and written in order.
pub fn write(events: &[KmsEvent], format: RowFormat, out: &mut dyn Write) -> io::Result<()> {
    use rayon::prelude::*;
    // One buffer per block of rows, filled in parallel, written in order.
    let block_of = |block: &[KmsEvent]| -> io::Result<Vec<u8>> {
        match format {
            RowFormat::Jsonl => {
                let mut buf = Vec::with_capacity(block.len() * 400);
                for ev in block {
                    serde_json::to_writer(&mut buf, &Row(ev))?;
                    buf.push(b'\n');
                }
                Ok(buf)
            }
            RowFormat::Csv => {
                let mut w = csv::Writer::from_writer(Vec::with_capacity(block.len() * 300));
                for ev in block {
                    let r = row(ev);
                    w.write_record(COLUMNS.iter().map(|c| csv_cell(r.get(*c))))?;
                }
                w.into_inner().map_err(|e| e.into_error())
            }
        }
    };
    if format == RowFormat::Csv {
        let mut w = csv::Writer::from_writer(&mut *out);
        w.write_record(COLUMNS)?;
        w.flush()?;
    }
    for blocks in events.chunks(8192 * 4) {
        let bufs: Vec<Vec<u8>> = blocks
            .par_chunks(1024)
            .map(block_of)
            .collect::<io::Result<_>>()?;
        for b in bufs {
            out.write_all(&b)?;
        }
    }
    out.flush()
}

/// A cell's text: lists joined with ` | `, absent values empty (the `csv` crate quotes).
fn csv_cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
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
    }
}
