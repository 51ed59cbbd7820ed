//! Per-source statistics and diagnostics: what was read from each log, and what was lost.

use super::kept::Kept;
use crate::kms;
use crate::kms::RawEvent;
use crate::messages::{Diagnostic, Location, Severity};
use crate::sources::sniff::SourceKind;
use jiff::Timestamp;
use std::sync::Arc;

/// The few names a source gives (one computer and one channel, in practice), sorted: a vector,
/// not a tree node per source.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct NameSet(Vec<String>);

impl NameSet {
    pub fn one(name: &str) -> NameSet {
        NameSet(vec![name.to_string()])
    }

    pub fn insert(&mut self, name: &str) {
        if let Err(at) = self.0.binary_search_by(|n| n.as_str().cmp(name)) {
            self.0.insert(at, name.to_string());
        }
    }

    pub fn extend(&mut self, other: NameSet) {
        for n in other.0 {
            self.insert(&n);
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.binary_search_by(|n| n.as_str().cmp(name)).is_ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// `a, b`: how reports show the names.
    pub fn joined(&self) -> String {
        self.0.join(", ")
    }
}

/// The first and last of some times.
pub type Span = (Timestamp, Timestamp);

/// The span covering both (either may be empty).
pub fn spanning(a: Option<Span>, b: Option<Span>) -> Option<Span> {
    match (a, b) {
        (Some((f, l)), Some((f2, l2))) => Some((f.min(f2), l.max(l2))),
        (a, b) => a.or(b),
    }
}

/// What reading (part of) a source gave. Chunks of one file each fill one, then merge.
#[derive(Debug, Default)]
pub struct Tally {
    pub records: u64,
    pub first_time: Option<Timestamp>,
    pub last_time: Option<Timestamp>,
    pub computers: NameSet,
    pub channels: NameSet,
    pub events: Kept,
    /// KMS events decoded from this source, whether the bundle keeps them or not (stays when
    /// `events` is moved into the bundle's list).
    pub kms_events: usize,
    /// Times of its first and last KMS event.
    pub kms_span: Option<Span>,
    pub diagnostics: Vec<Diagnostic>,
    /// Products read from `slmgr /dlv` output.
    pub slmgr: Vec<SlmgrRecord>,
    /// Command outputs saved beside the logs (nslookup, w32tm, time zone).
    pub probes: Vec<ProbeRecord>,
    /// What was lost: damaged chunks, records, truncations.
    pub lost: Losses,
    /// EVTX records whose template the typed reader does not cover, rendered as XML instead.
    pub rendered_as_xml: u64,
    /// Names the kept events share.
    pub names: kms::event::Names,
}

/// One kind of loss in a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// An EVTX chunk that is damaged or unreadable: some or all of its records are lost.
    Chunk,
    /// One record (EVTX or exported XML) that could not be read.
    Record,
    /// The file or stream ends early (truncated copy, read error): the rest is lost.
    Truncated,
    /// A damaged archive: entries past the damage may be lost.
    Archive,
}

/// Losses of a source, by kind; the JSON report carries them so a CI job can decide.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Losses {
    pub chunks: u64,
    pub records: u64,
    pub truncated: u64,
    pub archives: u64,
}

impl Losses {
    pub fn add(&mut self, loss: Loss) {
        match loss {
            Loss::Chunk => self.chunks += 1,
            Loss::Record => self.records += 1,
            Loss::Truncated => self.truncated += 1,
            Loss::Archive => self.archives += 1,
        }
    }

    pub fn merge(&mut self, o: Losses) {
        self.chunks += o.chunks;
        self.records += o.records;
        self.truncated += o.truncated;
        self.archives += o.archives;
    }

    pub fn total(&self) -> u64 {
        self.chunks + self.records + self.truncated + self.archives
    }
}

/// "2 damaged chunks, 1 unreadable record, cut short".
impl std::fmt::Display for Losses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::messages::plural;
        let mut parts = Vec::new();
        if self.chunks > 0 {
            parts.push(plural(self.chunks, "damaged chunk", "damaged chunks"));
        }
        if self.records > 0 {
            parts.push(plural(
                self.records,
                "unreadable record",
                "unreadable records",
            ));
        }
        if self.truncated > 0 {
            parts.push("cut short".to_string());
        }
        if self.archives > 0 {
            parts.push("damaged archive".to_string());
        }
        f.write_str(&parts.join(", "))
    }
}

impl Tally {
    pub fn see_time(&mut self, ts: Timestamp) {
        self.first_time = Some(self.first_time.map_or(ts, |f| f.min(ts)));
        self.last_time = Some(self.last_time.map_or(ts, |l| l.max(ts)));
    }

    /// Notes the computer and channel a record names.
    pub fn identify(&mut self, raw: &RawEvent) {
        if !raw.computer.is_empty() {
            self.computers.insert(&raw.computer);
        }
        if !raw.channel.is_empty() {
            self.channels.insert(&raw.channel);
        }
    }

    /// Keeps the record if it is about KMS, with a diagnostic when its payload is off.
    pub fn keep(&mut self, raw: &RawEvent, source: &Arc<str>) {
        self.identify(raw);
        let record = raw.record_id.unwrap_or(0);
        if let Some(decoded) = kms::decode(raw, source, &mut self.names) {
            for p in decoded.problems {
                self.diagnostics.push(Diagnostic::new(
                    Severity::Warning,
                    source,
                    Some(Location::Record(record)),
                    p,
                ));
            }
            let at = decoded.event.time;
            self.kms_span = spanning(self.kms_span, Some((at, at)));
            self.events.push(decoded.event);
            self.kms_events += 1;
        }
    }

    pub fn merge(&mut self, other: Tally) {
        self.records += other.records;
        if let Some(t) = other.first_time {
            self.see_time(t);
        }
        if let Some(t) = other.last_time {
            self.see_time(t);
        }
        self.computers.extend(other.computers);
        self.channels.extend(other.channels);
        self.events.append(other.events);
        self.kms_events += other.kms_events;
        self.kms_span = spanning(self.kms_span, other.kms_span);
        self.diagnostics.extend(other.diagnostics);
        self.slmgr.extend(other.slmgr);
        self.probes.extend(other.probes);
        self.lost.merge(other.lost);
        self.rendered_as_xml += other.rendered_as_xml;
    }

    /// Part of the source is lost: counted as damage, with a warning saying what.
    pub fn damage(
        &mut self,
        loss: Loss,
        source: &str,
        at: Option<Location>,
        msg: impl Into<String>,
    ) {
        self.lost.add(loss);
        self.diag(source, Severity::Warning, at, msg);
    }

    pub fn diag(
        &mut self,
        source: &str,
        severity: Severity,
        at: Option<Location>,
        msg: impl Into<String>,
    ) {
        self.diagnostics
            .push(Diagnostic::new(severity, source, at, msg));
    }
}

/// One command output's facts, with where they came from.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeRecord {
    pub source: Arc<str>,
    /// The machine that ran the command: the one computer of the logs beside it, else the folder
    /// or zip it sits in.
    pub computer: Option<String>,
    pub probe: crate::kms::probes::Probe,
}

/// One product of an `slmgr` output, with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct SlmgrRecord {
    pub source: Arc<str>,
    /// The machine, from the output's folder or file name.
    pub computer: Option<String>,
    pub product: crate::kms::slmgr::SlmgrProduct,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Read,
    /// Not an event log kmslens reads (reason given).
    Skipped(String),
    /// An event log that could not be read at all.
    Unreadable(String),
}

/// One source's line in the summary.
#[derive(Debug)]
pub struct SourceReport {
    pub source: Arc<str>,
    pub kind: SourceKind,
    /// Extra facts about the format (e.g. `UTF-16LE`, `42 entries`).
    pub detail: Option<String>,
    /// slmgr output in a language kmslens has no labels for.
    pub unknown_language: bool,
    /// Its times are local times written without a zone (a text rendering).
    pub local_times: bool,
    pub status: Status,
    pub tally: Tally,
}

impl SourceReport {
    pub fn new(source: Arc<str>, kind: SourceKind) -> Self {
        SourceReport {
            source,
            kind,
            detail: None,
            unknown_language: false,
            local_times: false,
            status: Status::Read,
            tally: Tally::default(),
        }
    }

    pub fn diag(&mut self, severity: Severity, at: Option<Location>, msg: impl Into<String>) {
        let src = self.source.clone();
        self.tally.diag(&src, severity, at, msg);
    }

    /// Part of the source is lost: counted as damage, with a warning saying what.
    pub fn damage(&mut self, loss: Loss, at: Option<Location>, msg: impl Into<String>) {
        let src = self.source.clone();
        self.tally.damage(loss, &src, at, msg);
    }

    /// The whole source is lost: say why, once.
    pub fn fail(&mut self, reason: String) {
        self.diag(Severity::Error, None, reason.clone());
        self.status = Status::Unreadable(reason);
    }

    pub fn skip(&mut self, reason: String) {
        self.status = Status::Skipped(reason);
    }

    pub fn is_damaged(&self) -> bool {
        self.tally.lost.total() > 0 || matches!(self.status, Status::Unreadable(_))
    }
}
