//! Kept events as normalized rows: JSON lines or CSV. Column names are those of the tables in
//! `docs/architecture.md`.

use crate::kms::event::*;
use crate::kms::hresult::Hresult;
use crate::kms::values::{AsciiText, Guid, utc_text};
use crate::kms::{EventKind, KmsBody, KmsEvent};
use jiff::Timestamp;
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

/// Where a row's cells go: straight into a JSON line, or into a map (CSV and the tests). The row
/// itself is defined once, in `cells`.
trait Cells {
    /// Text that may need JSON escaping.
    fn text(&mut self, key: &'static str, v: &str);
    /// Text that needs no escaping: ASCII letters, digits and punctuation other than quotes and
    /// backslashes (GUIDs, HRESULTs, flags, times).
    fn ascii(&mut self, key: &'static str, v: &str);
    fn number(&mut self, key: &'static str, v: u64);
    fn boolean(&mut self, key: &'static str, v: bool);
    fn texts(&mut self, key: &'static str, v: &[String]);
    fn null(&mut self, key: &'static str);

    fn text_or_null(&mut self, key: &'static str, v: Option<&str>) {
        match v {
            Some(v) => self.text(key, v),
            None => self.null(key),
        }
    }
    fn number_or_null(&mut self, key: &'static str, v: Option<u64>) {
        match v {
            Some(v) => self.number(key, v),
            None => self.null(key),
        }
    }
    fn guid(&mut self, key: &'static str, v: Option<Guid>) {
        match v {
            Some(g) => self.ascii(key, &g.text()),
            None => self.null(key),
        }
    }
    fn hex(&mut self, key: &'static str, v: Option<AsciiText<10>>) {
        match v {
            Some(h) => self.ascii(key, &h),
            None => self.null(key),
        }
    }
    fn time(&mut self, key: &'static str, v: Option<Timestamp>) {
        let Some(t) = v else {
            return self.null(key);
        };
        match utc_text(t) {
            Some(text) => self.ascii(key, &text),
            // Years jiff shows with a sign and six digits.
            None => self.text(key, &t.to_string()),
        }
    }
}

/// The row of an event: its columns, present ones only.
fn cells(ev: &KmsEvent, c: &mut impl Cells) {
    c.text("source", ev.source());
    c.number("record_id", ev.record_id);
    c.time("time", Some(ev.time));
    c.text("computer", ev.computer());
    c.text("channel", ev.channel());
    c.text("provider", ev.provider());
    c.number("event_id", u64::from(ev.event_id));
    c.text("table", table(ev.kind()));
    match &ev.body {
        KmsBody::ClientRequest(r) => {
            c.hex("hresult", Some(r.hresult.text()));
            c.hex("status_flags", Some(r.status_flags.text()));
            c.text_or_null("kms_host", r.kms_host.as_deref());
            c.number_or_null("kms_port", r.kms_port.map(u64::from));
            c.guid("cmid", Some(r.cmid));
            c.time("client_time", r.client_time);
            c.boolean("vm", r.vm);
            c.number("license_status", u64::from(r.license_status.code()));
            c.number("minutes_left", u64::from(r.minutes_left));
            c.guid("act_id", Some(r.act_id));
            c.number_or_null("min_count", r.min_count.map(u64::from));
        }
        KmsBody::ClientResponse(r) => {
            c.hex("hresult", Some(r.hresult.text()));
            c.hex("status_flags", Some(r.status_flags.text()));
            c.boolean("activated", r.activated);
            c.number("current_count", u64::from(r.current_count));
            c.number("activation_interval", u64::from(r.activation_interval));
            c.number("renewal_interval", u64::from(r.renewal_interval));
            c.time("client_time", r.client_time);
        }
        KmsBody::HostRequest(r) => {
            c.text("host", ev.computer());
            c.hex("hresult", Some(r.hresult.text()));
            c.number("min_count", u64::from(r.min_count));
            c.text("client_name", &r.client_name);
            c.guid("cmid", Some(r.cmid));
            c.time("client_time", r.client_time);
            c.boolean("vm", r.vm);
            c.number("license_status", u64::from(r.license_status.code()));
            c.number("minutes_left", u64::from(r.minutes_left));
            c.guid("act_id", Some(r.act_id));
        }
        KmsBody::DnsPublishFailed(DnsPublishFailed { hresult, domain }) => {
            c.text("host", ev.computer());
            c.hex("hresult", Some(hresult.text()));
            c.text("domain", domain);
        }
        KmsBody::DnsPublishSucceeded(DnsPublishSucceeded { domain }) => {
            c.text("host", ev.computer());
            c.text("domain", domain);
        }
        KmsBody::SppError(SppError { hresult, detail }) => {
            c.hex("hresult", hresult.map(Hresult::text));
            c.text_or_null("detail", detail.as_deref());
        }
        KmsBody::LicensingStatus(LicensingStatus { app_id, status }) => {
            c.guid("app_id", *app_id);
            c.text("detail", status);
        }
        KmsBody::OtherActivation(o) => {
            c.text("via", o.channel.name());
            c.guid("act_id", o.act_id);
            c.hex("hresult", Some(o.hresult.text()));
            c.text("detail", &o.detail);
        }
        KmsBody::OtherSpp(o) | KmsBody::OtherKmsLog(o) => {
            c.texts("data", &o.data);
            c.boolean("has_binary", o.has_binary);
        }
        KmsBody::Malformed(Malformed { reason, data, .. }) => {
            c.text("malformed", reason);
            c.texts("data", data);
        }
    }
}

/// A row written as one JSON object into a buffer, without a serializer per value: keys are
/// known, and text is copied as it is unless it holds a character JSON must escape.
struct JsonLine<'b> {
    buf: &'b mut Vec<u8>,
    first: bool,
}

impl JsonLine<'_> {
    fn key(&mut self, key: &str) {
        self.buf
            .extend_from_slice(if self.first { b"{\"" } else { b",\"" });
        self.first = false;
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    fn string(&mut self, v: &str) {
        // No early exit: one pass the compiler vectorizes over the short texts of a row.
        let plain = !v.bytes().fold(false, |acc, b| {
            acc | (b < 0x20) | (b == b'"') | (b == b'\\')
        });
        if plain {
            self.quoted(v);
        } else {
            // Writing to a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *self.buf, v);
        }
    }

    /// Text that needs no escaping, in quotes.
    fn quoted(&mut self, v: &str) {
        self.buf.push(b'"');
        self.buf.extend_from_slice(v.as_bytes());
        self.buf.push(b'"');
    }
}

impl Cells for JsonLine<'_> {
    fn text(&mut self, key: &'static str, v: &str) {
        self.key(key);
        self.string(v);
    }
    fn ascii(&mut self, key: &'static str, v: &str) {
        self.key(key);
        self.quoted(v);
    }
    fn number(&mut self, key: &'static str, v: u64) {
        self.key(key);
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
    fn boolean(&mut self, key: &'static str, v: bool) {
        self.key(key);
        self.buf
            .extend_from_slice(if v { b"true" } else { b"false" });
    }
    fn texts(&mut self, key: &'static str, v: &[String]) {
        self.key(key);
        self.buf.push(b'[');
        for (i, s) in v.iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            self.string(s);
        }
        self.buf.push(b']');
    }
    fn null(&mut self, key: &'static str) {
        self.key(key);
        self.buf.extend_from_slice(b"null");
    }
}

/// Appends the event's row as a JSON line.
fn json_line(ev: &KmsEvent, buf: &mut Vec<u8>) {
    let mut line = JsonLine { buf, first: true };
    cells(ev, &mut line);
    line.buf.extend_from_slice(b"}\n");
}

impl Cells for Map<String, Value> {
    fn text(&mut self, key: &'static str, v: &str) {
        self.insert(key.into(), v.into());
    }
    fn ascii(&mut self, key: &'static str, v: &str) {
        self.insert(key.into(), v.into());
    }
    fn number(&mut self, key: &'static str, v: u64) {
        self.insert(key.into(), v.into());
    }
    fn boolean(&mut self, key: &'static str, v: bool) {
        self.insert(key.into(), v.into());
    }
    fn texts(&mut self, key: &'static str, v: &[String]) {
        self.insert(key.into(), v.into());
    }
    fn null(&mut self, key: &'static str) {
        self.insert(key.into(), Value::Null);
    }
}

/// The event's row as a JSON map, for CSV and the tests.
pub fn row(ev: &KmsEvent) -> Map<String, Value> {
    let mut m = Map::new();
    cells(ev, &mut m);
    m
}

/// Rows rendered in parallel, a block at a time, and written in order.
pub fn write(events: &[KmsEvent], format: RowFormat, out: &mut dyn Write) -> io::Result<()> {
    use rayon::prelude::*;
    /// Rows rendered together, and rows per buffer.
    const ROUND: usize = 8192;
    const BLOCK: usize = 512;
    // One buffer per block of rows, filled in parallel, written in order.
    let fill = |block: &[KmsEvent], buf: &mut Vec<u8>| -> io::Result<()> {
        buf.clear();
        match format {
            RowFormat::Jsonl => {
                for ev in block {
                    json_line(ev, buf);
                }
                Ok(())
            }
            RowFormat::Csv => {
                let mut w = csv::Writer::from_writer(buf);
                for ev in block {
                    let r = row(ev);
                    w.write_record(COLUMNS.iter().map(|c| csv_cell(r.get(*c))))?;
                }
                w.flush()
            }
        }
    };
    if format == RowFormat::Csv {
        let mut w = csv::Writer::from_writer(&mut *out);
        w.write_record(COLUMNS)?;
        w.flush()?;
    }
    // The same buffers from round to round: new memory for each would be zeroed by the system
    // page by page.
    let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); ROUND / BLOCK];
    for round in events.chunks(ROUND) {
        let blocks: Vec<&[KmsEvent]> = round.chunks(BLOCK).collect();
        let bufs = &mut bufs[..blocks.len()];
        bufs.par_iter_mut()
            .zip(blocks)
            .try_for_each(|(buf, block)| fill(block, buf))?;
        for b in bufs.iter() {
            out.write_all(b)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kms::decode::decode;
    use crate::kms::event::Names;
    use crate::kms::raw::RawEvent;
    use std::sync::Arc;

    fn event(provider: &str, channel: &str, event_id: u16, data: &[&str]) -> KmsEvent {
        let raw = RawEvent {
            record_id: Some(7),
            time: Some("2026-10-01T06:00:01.421Z".parse().unwrap()),
            provider: provider.into(),
            event_id,
            qualifiers: Some(16384),
            channel: channel.into(),
            computer: "kms01.contoso.com".into(),
            data: data.iter().collect(),
            has_binary: false,
        };
        let source: Arc<str> = Arc::from("C:\\logs\\\"odd\" folder\\kms.evtx");
        decode(&raw, &source, &mut Names::default()).unwrap().event
    }

    /// The JSON line and the map come from one definition: the same cells, and valid JSON
    /// whatever the text holds (quotes, backslashes, controls, non-ASCII).
    #[test]
    fn json_lines_parse_back_to_the_row() {
        let spp = crate::kms::ids::PROVIDER_SPP;
        let events = [
            event(
                spp,
                "Key Management Service",
                12290,
                &[
                    "0x0,25,PC\"1\\é\t.contoso.com,5f997a59-2b0c-4006-a026-2fac95e4f844,2026/10/1 6:00,0,2,43200,73111121-5638-40f6-bc11-f1d7b0d64300",
                ],
            ),
            event(
                spp,
                "Application",
                12288,
                &[
                    "0x0, 0x0, kms01:1688, 5f997a59-2b0c-4006-a026-2fac95e4f844, 2026/10/1 6:00, 0, 2, 43200, 73111121-5638-40f6-bc11-f1d7b0d64300, ",
                ],
            ),
            event(spp, "Application", 12289, &["bad\u{1}payload"]),
        ];
        for ev in &events {
            let mut buf = Vec::new();
            json_line(ev, &mut buf);
            assert_eq!(buf.pop(), Some(b'\n'));
            let text = String::from_utf8(buf).unwrap();
            let parsed: Map<String, Value> = serde_json::from_str(&text).unwrap();
            assert_eq!(parsed, row(ev), "{text}");
        }
        let host = row(&events[0]);
        assert_eq!(host["client_name"], "PC\"1\\é\t.contoso.com");
        assert!(row(&events[2]).contains_key("malformed"));
    }
}
