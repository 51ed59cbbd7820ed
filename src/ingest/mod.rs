//! Ingest: every source of the bundle read in parallel into typed KMS events and per-source
//! reports. One reader per format; one place (here) decides what a failure costs: the source,
//! never the run.

mod binxml;
pub mod evtx;
mod kept;
use kept::Kept;
mod local_times;
pub mod report;
pub mod slmgr;
pub mod text;
mod watchdog;
pub mod xml;
mod xml_split;

use crate::kms::KmsEvent;
use crate::messages::Severity;
use crate::sources::archive::{self, Archive, SharedReader, ZipLimits};
use crate::sources::encoding::{self, Detected, TextEncoding};
use crate::sources::sniff::{HEAD_LEN, ProbeKind, Sniffed, SourceKind, sniff};
use crate::sources::{self, Origin, Source};
use indicatif::ProgressBar;
use rayon::prelude::*;
use report::{Loss, SourceReport, Status};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct IngestOptions {
    pub evtx: evtx::EvtxOptions,
    pub zip: ZipLimits,
    /// Time one source may take before it is abandoned as stuck (`None`: no limit).
    pub source_timeout: Option<std::time::Duration>,
    /// The zone of the dates text renderings print without one (`--tz`; UTC by default).
    pub zone: jiff::tz::TimeZone,
    /// Which decoded KMS events the bundle keeps: all by default (`kmslens events`); the analysis
    /// keeps the ones its tables hold. Each source counts all it decoded, and their time span.
    pub keep: fn(&KmsEvent) -> bool,
}

/// The default per-source time limit: generous for a multi-gigabyte log on a slow disk.
pub const DEFAULT_SOURCE_TIMEOUT_SECS: u64 = 120;

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            evtx: evtx::EvtxOptions::default(),
            zip: ZipLimits::default(),
            source_timeout: Some(std::time::Duration::from_secs(DEFAULT_SOURCE_TIMEOUT_SECS)),
            zone: jiff::tz::TimeZone::UTC,
            keep: |_| true,
        }
    }
}

/// Everything read from a bundle.
#[derive(Debug)]
pub struct Ingested {
    /// KMS events, ordered by time, then source, then record id.
    pub events: Vec<KmsEvent>,
    /// One per file, archive and archive entry, in bundle order.
    pub sources: Vec<SourceReport>,
    /// Products read from `slmgr /dlv` outputs.
    pub slmgr: Vec<report::SlmgrRecord>,
    /// nslookup, w32tm and time zone outputs saved beside the logs.
    pub probes: Vec<report::ProbeRecord>,
    /// The zone local times were read in, and reports show times in.
    pub zone: jiff::tz::TimeZone,
}

/// A bundle as the reports see it once the tables hold its events and slmgr products (a
/// product a client, an event a request: let go, not carried to the end of the run).
#[derive(Debug)]
pub struct Bundle {
    /// One per file, archive and archive entry, in bundle order.
    pub sources: Vec<SourceReport>,
    /// nslookup, w32tm and time zone outputs saved beside the logs.
    pub probes: Vec<report::ProbeRecord>,
    /// The zone local times were read in, and reports show times in.
    pub zone: jiff::tz::TimeZone,
}

impl Ingested {
    /// True when at least one event log could be read.
    pub fn any_log_read(&self) -> bool {
        self.sources
            .iter()
            .any(|s| s.status == Status::Read && s.kind.is_analysed())
    }

    /// Why nothing can be analysed, for the admin: `None` when an event log or slmgr output
    /// was read.
    pub fn nothing_read(&self) -> Option<String> {
        if self.any_log_read() {
            return None;
        }
        if self.sources.is_empty() {
            return Some("no event log could be read: the given paths hold no file".to_string());
        }
        let count = |f: fn(&SourceReport) -> bool| self.sources.iter().filter(|s| f(s)).count();
        let parts = [
            (count(|s| matches!(s.status, Status::Skipped(_))), "skipped"),
            (
                count(|s| matches!(s.status, Status::Unreadable(_))),
                "unreadable",
            ),
            (count(|s| s.status == Status::Read), "holding no event log"),
        ];
        let parts: Vec<String> = (parts.iter().filter(|(n, _)| *n > 0))
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
        Some(format!(
            "no event log could be read from the given paths ({}: {}, listed above); \
             kmslens reads .evtx logs, their XML exports, text renderings and slmgr /dlv outputs",
            crate::messages::plural(self.sources.len(), "source", "sources"),
            parts.join(", ")
        ))
    }

    /// The bundle the reports read; its events and slmgr products are let go.
    pub fn into_bundle(self) -> Bundle {
        Bundle {
            sources: self.sources,
            probes: self.probes,
            zone: self.zone,
        }
    }
}

/// Reads every log under `paths`. `progress` advances by bytes of the files given.
pub fn ingest(paths: &[PathBuf], opts: &IngestOptions, progress: &ProgressBar) -> Ingested {
    let (found, walk_diags) = sources::discover(paths);
    progress.set_length(found.iter().filter_map(|s| s.size).sum());
    let mut reports: Vec<SourceReport> = walk_diags
        .into_iter()
        .map(|d| {
            let mut r = SourceReport::new(d.source.as_str().into(), SourceKind::Path);
            r.status = match d.severity {
                Severity::Error => Status::Unreadable(d.message.clone()),
                _ => Status::Skipped(d.message.clone()),
            };
            r.tally.diagnostics.push(d);
            r
        })
        .collect();
    let sink = Arc::new(Sink::new(opts.keep));
    let read: Vec<Vec<SourceReport>> = match opts.source_timeout {
        Some(limit) => watchdog::read_all(&found, opts, limit, progress, &sink),
        None => found
            .par_iter()
            .map(|s| sink.read(s, opts, progress))
            .collect(),
    };
    reports.reserve_exact(read.iter().map(Vec::len).sum());
    reports.extend(read.into_iter().flatten());
    // Taken, not unwrapped: a worker stuck past the time limit still holds the sink.
    let events = sink.take_all();
    assemble(reports, events, opts)
}

/// Where the kept events of each source go as soon as it is read: the source's own list is freed
/// while its thread can still reuse the memory, and the bundle's list is never copied whole.
struct Sink {
    events: std::sync::Mutex<Vec<KmsEvent>>,
    keep: fn(&KmsEvent) -> bool,
}

impl Sink {
    fn new(keep: fn(&KmsEvent) -> bool) -> Sink {
        Sink {
            events: Default::default(),
            keep,
        }
    }

    /// Reads a source and takes its kept events.
    fn read(
        &self,
        src: &Source,
        opts: &IngestOptions,
        progress: &ProgressBar,
    ) -> Vec<SourceReport> {
        let mut reports = read_source(src, opts, progress);
        self.take_from(&mut reports);
        reports
    }

    fn take_from(&self, reports: &mut [SourceReport]) {
        let mut all = self
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for r in reports {
            gather(&mut all, &mut r.tally.events, self.keep);
        }
    }

    fn take_all(&self) -> Vec<KmsEvent> {
        std::mem::take(
            &mut *self
                .events
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// Moves the events of a source that the bundle keeps to the bundle's list. The first source's
/// list (the only one when a single log is read) becomes the bundle's instead of being copied:
/// the KMS host's log keeps 100 000 events and more.
fn gather(all: &mut Vec<KmsEvent>, from: &mut Kept, keep: fn(&KmsEvent) -> bool) {
    let mut from = std::mem::take(from).into_vec();
    from.retain(keep);
    if all.is_empty() {
        *all = from;
    } else {
        all.append(&mut from);
    }
}

/// Reads in-memory files (name, content) as a bundle, sniffed like files on disk: for fuzzing and
/// for callers that hold logs in memory. Zips inside are walked as on disk.
pub fn ingest_bytes(files: &[(&str, &[u8])], opts: &IngestOptions) -> Ingested {
    let progress = ProgressBar::hidden();
    let reports = files
        .iter()
        .flat_map(|(name, bytes)| {
            let label: Arc<str> = (*name).into();
            let run = std::panic::AssertUnwindSafe(|| {
                read_stream(&label, &mut Cursor::new(*bytes), None, 0, opts, &progress)
            });
            crate::messages::with_caught_panics(run)
                .unwrap_or_else(|panic| vec![panicked(label.clone(), &*panic)])
        })
        .collect();
    assemble(reports, Vec::new(), opts)
}

/// The bundle from its sources' reports: events moved out, slmgr outputs named, all sorted.
fn assemble(
    mut reports: Vec<SourceReport>,
    mut events: Vec<KmsEvent>,
    opts: &IngestOptions,
) -> Ingested {
    let zone = &opts.zone;
    // At their final size: both are held to the end of the run.
    let (mut slmgr, mut probes) = (
        Vec::with_capacity(reports.iter().map(|r| r.tally.slmgr.len()).sum()),
        Vec::with_capacity(reports.iter().map(|r| r.tally.probes.len()).sum()),
    );
    for r in &mut reports {
        gather(&mut events, &mut r.tally.events, opts.keep);
        slmgr.append(&mut std::mem::take(&mut r.tally.slmgr));
        probes.append(&mut std::mem::take(&mut r.tally.probes));
    }
    name_output_machines(
        &mut reports,
        slmgr
            .iter_mut()
            .map(|x: &mut report::SlmgrRecord| (&x.source, &mut x.computer))
            .chain(probes.iter_mut().map(|p| (&p.source, &mut p.computer))),
    );
    local_times::resolve(&mut reports, &probes, &mut events, zone);
    // (time, source, record id) is unique, so an unstable sort gives the same order.
    events.par_sort_unstable_by(|a, b| {
        (a.time, &a.source(), a.record_id).cmp(&(b.time, &b.source(), b.record_id))
    });
    // Kept to the end of the run: not with up to twice the room the appends left.
    events.shrink_to_fit();
    Ingested {
        events,
        sources: reports,
        slmgr,
        probes,
        zone: zone.clone(),
    }
}

/// The folder or archive a source sits in (`case.zip!PC1/app.evtx` → `case.zip!PC1`).
fn container(label: &str) -> &str {
    label.rfind(['/', '\\', '!']).map_or("", |i| &label[..i])
}

/// Command outputs (slmgr, nslookup, w32tm, time zone) do not print the machine's name: each
/// takes the one computer of the event logs beside it (same folder or zip), which the logs
/// themselves state, else the name it was given when read (`timezone.txt`'s own line, or what
/// its path gives: `slmgr::machine_from_label`). One still unknown is left out of the analysis,
/// with a warning.
fn name_output_machines<'a>(
    reports: &mut [SourceReport],
    outputs: impl Iterator<Item = (&'a Arc<str>, &'a mut Option<String>)>,
) {
    let mut named: std::collections::HashMap<Arc<str>, String> = Default::default();
    {
        let beside = computers_by_container(reports);
        for (source, computer) in outputs {
            let only = beside
                .get(container(source))
                .filter(|set| set.len() == 1)
                .and_then(|set| set.iter().next());
            if let Some(only) = only {
                *computer = Some(only.to_string());
            }
            if let Some(c) = computer {
                named.insert(source.clone(), c.clone());
            }
        }
    }
    for r in reports
        .iter_mut()
        .filter(|r| r.kind.is_command_output() && r.status == Status::Read)
    {
        match named.get(&r.source) {
            Some(c) => r.tally.computers = report::NameSet::one(c),
            None => {
                let kind = r.kind;
                r.diag(
                    Severity::Warning,
                    None,
                    format!("the machine of this {kind} output is unknown (no machine name in its file, folder or zip name, and no single computer in the logs beside it): left out of the analysis; put it in a folder named after the machine"),
                )
            }
        }
    }
}

/// The computers the event logs of each folder or zip name.
fn computers_by_container(
    reports: &[SourceReport],
) -> std::collections::HashMap<&str, std::collections::BTreeSet<&str>> {
    let mut beside: std::collections::HashMap<&str, std::collections::BTreeSet<&str>> =
        Default::default();
    for r in reports.iter().filter(|r| r.kind.is_event_log()) {
        let set = beside.entry(container(&r.source)).or_default();
        set.extend(r.tally.computers.iter());
    }
    beside
}

/// Reads one source. A panic in a parser (a bug, met on hostile input) costs this source only.
fn read_source(src: &Source, opts: &IngestOptions, progress: &ProgressBar) -> Vec<SourceReport> {
    let run = std::panic::AssertUnwindSafe(|| read_source_inner(src, opts, progress));
    crate::messages::with_caught_panics(run)
        .unwrap_or_else(|panic| vec![panicked(src.label.clone(), &*panic)])
}

/// The report of a source whose reader panicked (a bug): the fuzz targets look for this reason.
fn panicked(label: Arc<str>, panic: &(dyn std::any::Any + Send)) -> SourceReport {
    let mut r = SourceReport::new(label, SourceKind::File);
    r.fail(format!(
        "{}; please report it with the file",
        crate::messages::internal_error("reading this file", panic)
    ));
    r
}

pub use crate::messages::INTERNAL_ERROR;

fn read_source_inner(
    src: &Source,
    opts: &IngestOptions,
    progress: &ProgressBar,
) -> Vec<SourceReport> {
    crate::messages::stall_for_tests(&src.label);
    crate::messages::panic_for_tests("read", &src.label);
    match &src.origin {
        Origin::File(path) => {
            let file = match std::fs::File::open(path) {
                Ok(f) => f,
                Err(e) => {
                    let mut r = SourceReport::new(src.label.clone(), SourceKind::File);
                    r.fail(format!("cannot open: {e}"));
                    return vec![r];
                }
            };
            let mut counted = Counted {
                inner: file,
                progress,
                read: 0,
            };
            let out = read_stream(&src.label, &mut counted, Some(path), 0, opts, progress);
            // Archives are read by position, not through this stream: account for the rest.
            progress.inc(src.size.unwrap_or(0).saturating_sub(counted.read));
            out
        }
        Origin::Entry { archive, index } => {
            match archive.with_entry(*index, |r| {
                read_stream(&src.label, r, None, archive.depth, opts, progress)
            }) {
                Ok(reports) => reports,
                Err(reason) => {
                    let mut r = SourceReport::new(src.label.clone(), SourceKind::ZipEntry);
                    r.fail(reason);
                    vec![r]
                }
            }
        }
    }
}

/// Sniffs a stream and hands it to its reader. `path` is set for files on disk; `depth` counts
/// the archives this stream is inside.
fn read_stream(
    label: &Arc<str>,
    input: &mut dyn Read,
    path: Option<&Path>,
    depth: usize,
    opts: &IngestOptions,
    progress: &ProgressBar,
) -> Vec<SourceReport> {
    let mut head = Vec::with_capacity(HEAD_LEN);
    if let Err(e) = input.take(HEAD_LEN as u64).read_to_end(&mut head) {
        let mut r = SourceReport::new(label.clone(), SourceKind::File);
        r.fail(format!("cannot read: {e}"));
        return vec![r];
    }
    let sniffed = sniff(&head);
    let mut report = SourceReport::new(label.clone(), sniffed.kind());
    let mut stream = Cursor::new(head).chain(input);
    match sniffed {
        Sniffed::Evtx => evtx::read(&mut stream, opts.evtx, &mut report),
        Sniffed::Xml(text) => {
            report.detail = Some(text.encoding.name().to_string());
            read_xml(stream, text.encoding, text.has_bom(), &mut report);
        }
        Sniffed::Zip => return read_zip(report, stream, path, depth, opts, progress),
        Sniffed::LegacyEvt => report.skip(
            "Windows XP/2003 .evt log, not read; convert it on a Windows machine with `wevtutil epl FILE.evt FILE.evtx /lf:true`".into(),
        ),
        Sniffed::Slmgr(text) => read_slmgr(&mut stream, text, &mut report),
        Sniffed::EventText(text) => read_text(&mut stream, text, &opts.zone, &mut report),
        Sniffed::Probe(kind, text) => read_probe(&mut stream, kind, text, &mut report),
        Sniffed::Empty => report.skip("empty file".into()),
        Sniffed::Unknown(what) => report.skip(what),
    }
    vec![report]
}

/// Text renderings are pasted or saved by hand: tens of KiB, rarely more.
const MAX_TEXT_BYTES: u64 = 64 << 20;

fn read_text(
    input: &mut dyn Read,
    encoding: Detected,
    zone: &jiff::tz::TimeZone,
    report: &mut SourceReport,
) {
    let mut bytes = Vec::new();
    if let Err(e) = input.take(MAX_TEXT_BYTES + 1).read_to_end(&mut bytes) {
        return report.fail(format!("cannot read: {e}"));
    }
    if bytes.len() as u64 > MAX_TEXT_BYTES {
        bytes.truncate(MAX_TEXT_BYTES as usize);
        report.diag(
            Severity::Warning,
            None,
            format!("text rendering larger than {MAX_TEXT_BYTES} bytes: the rest is not read"),
        );
    }
    let label = report.source.clone();
    let mut dated = false;
    for e in text::parse(&decode_text(&bytes, encoding), zone) {
        report.tally.records += 1;
        if let Some(t) = e.raw.time {
            report.tally.see_time(t);
            dated = true;
        }
        if let Some(d) = &e.bad_date {
            report.diag(
                Severity::Warning,
                Some(crate::messages::Location::Line(e.line)),
                format!("Date {d:?} is not a date kmslens reads"),
            );
        }
        let mut raw = e.raw;
        // Text has no record ids: the line the event starts on stands in for it.
        raw.record_id = Some(e.line);
        report.tally.keep(&raw, &label);
    }
    report.local_times = dated;
}

/// A text file's bytes (BOM included) as text, in the encoding sniffing found.
fn decode_text(bytes: &[u8], text: Detected) -> std::borrow::Cow<'_, str> {
    encoding::decode_as(bytes.get(text.bom_len..).unwrap_or_default(), text.encoding)
}

/// A command output (slmgr, nslookup, w32tm) is a few KiB; anything far larger is not one.
const MAX_COMMAND_OUTPUT_BYTES: u64 = 4 << 20;

fn read_probe(input: &mut dyn Read, kind: ProbeKind, text: Detected, report: &mut SourceReport) {
    use crate::kms::probes::{self, Probe};
    let mut bytes = Vec::new();
    if let Err(e) = input.take(MAX_COMMAND_OUTPUT_BYTES).read_to_end(&mut bytes) {
        return report.fail(format!("cannot read: {e}"));
    }
    let text = decode_text(&bytes, text);
    let probe = match kind {
        ProbeKind::Srv => Probe::Srv(probes::parse_nslookup(&text)),
        ProbeKind::Time => Probe::Time(probes::parse_w32tm(&text)),
        ProbeKind::Zone => Probe::Zone(probes::parse_zone(&text)),
    };
    if let Probe::Time(t) = &probe
        && t.synced().is_none()
    {
        report.diag(
            Severity::Note,
            None,
            "w32tm output in a language kmslens has no labels for (English and German are read): its clock is not judged",
        );
    }
    // The name it states (`timezone.txt`), else the one its path gives; the logs beside it,
    // seen once the bundle is read, come first (`name_output_machines`).
    let stated = match &probe {
        Probe::Zone(z) => z.computer.clone(),
        _ => None,
    };
    let computer = stated.or_else(|| slmgr::machine_from_label(&report.source));
    report.tally.probes.reserve_exact(1);
    report.tally.probes.push(report::ProbeRecord {
        source: report.source.clone(),
        computer,
        probe,
    });
}

fn read_slmgr(input: &mut dyn Read, encoding: Detected, report: &mut SourceReport) {
    let mut bytes = Vec::new();
    if let Err(e) = input.take(MAX_COMMAND_OUTPUT_BYTES).read_to_end(&mut bytes) {
        return report.fail(format!("cannot read: {e}"));
    }
    let parsed = slmgr::parse(&decode_text(&bytes, encoding));
    let computer = slmgr::machine_from_label(&report.source);
    report.detail = Some(
        parsed
            .language
            .unwrap_or("language not recognised")
            .to_string(),
    );
    if parsed.language.is_none() {
        report.unknown_language = true;
        report.diag(
            Severity::Note,
            None,
            "slmgr output in a language kmslens has no label table for: only the CMID and KMS host were read, by their shape",
        );
    }
    if parsed.products.is_empty() {
        report.diag(
            Severity::Warning,
            None,
            "slmgr output without a product (no License Status, key or CMID line)",
        );
    }
    if let Some(c) = &computer {
        report.tally.computers.insert(c);
    }
    // At its size: 20 000 clients' outputs are held until the bundle is assembled.
    report.tally.slmgr.reserve_exact(parsed.products.len());
    for product in parsed.products {
        report.tally.slmgr.push(report::SlmgrRecord {
            source: report.source.clone(),
            computer: computer.clone(),
            product,
        });
    }
}

fn read_xml(input: impl Read, encoding: TextEncoding, bom: bool, report: &mut SourceReport) {
    xml_split::read(input, encoding, bom, report);
    if report.tally.records == 0 && report.tally.lost.total() == 0 {
        report.diag(Severity::Note, None, "export holds no events");
    }
}

fn read_zip(
    mut report: SourceReport,
    mut stream: impl Read,
    path: Option<&Path>,
    depth: usize,
    opts: &IngestOptions,
    progress: &ProgressBar,
) -> Vec<SourceReport> {
    if depth >= opts.zip.max_depth {
        report.skip(format!(
            "archive nested {depth} deep, over the limit of {}; not opened",
            opts.zip.max_depth
        ));
        return vec![report];
    }
    let shared = match path {
        Some(p) => std::fs::File::open(p)
            .and_then(SharedReader::file)
            .map_err(|e| format!("cannot open: {e}")),
        None => {
            // A zip inside a zip is read into memory (it needs seeking), within limits.
            let mut bytes = Vec::new();
            let limit = opts.zip.max_nested_bytes;
            match (&mut stream).take(limit + 1).read_to_end(&mut bytes) {
                Ok(_) if bytes.len() as u64 > limit => Err(format!(
                    "nested archive larger than {limit} bytes; extract it and add it to the bundle"
                )),
                Ok(_) => Ok(SharedReader::memory(bytes)),
                Err(e) => Err(format!("cannot read: {e}")),
            }
        }
    };
    let shared = match shared {
        Ok(s) => s,
        Err(reason) => {
            report.fail(reason);
            return vec![report];
        }
    };
    let archive = match Archive::open(shared.clone(), report.source.clone(), opts.zip, depth + 1) {
        Ok(a) => a,
        Err(reason) => {
            return read_zip_without_directory(report, shared, reason, depth, opts, progress);
        }
    };
    let (entries, diags) = archive.entries();
    report.detail = Some(match entries.len() {
        1 => "1 entry".to_string(),
        n => format!("{n} entries"),
    });
    report.tally.diagnostics.extend(diags);
    let mut out = vec![report];
    let read: Vec<Vec<SourceReport>> = entries
        .par_iter()
        .map(|s| read_source(s, opts, progress))
        .collect();
    out.extend(read.into_iter().flatten());
    out
}

/// A zip whose central directory is missing or broken (a download or copy cut short): its entries
/// are read one after the other from their local headers, as far as they go.
fn read_zip_without_directory(
    mut report: SourceReport,
    shared: SharedReader,
    reason: String,
    depth: usize,
    opts: &IngestOptions,
    progress: &ProgressBar,
) -> Vec<SourceReport> {
    let label = report.source.clone();
    let mut entries = Vec::new();
    let walked = archive::stream_entries(shared, &label, opts.zip, |entry_label, input| {
        entries.extend(read_stream(
            &entry_label,
            input,
            None,
            depth + 1,
            opts,
            progress,
        ));
    });
    match walked {
        Ok(n) if n > 0 => {
            report.damage(Loss::Archive, None, format!("{reason}; the archive was cut short or damaged: {n} entries read from their local headers"));
            report.detail = Some(format!("{n} entries, no central directory"));
        }
        Ok(_) => report.fail(reason),
        Err((n, e)) => {
            if n == 0 {
                report.fail(format!("{reason}; {e}"));
            } else {
                report.damage(
                    Loss::Archive,
                    None,
                    format!("{reason}; {n} entries read from their local headers, then: {e}"),
                );
                report.detail = Some(format!("{n} entries, no central directory"));
            }
        }
    }
    let mut out = vec![report];
    out.extend(entries);
    out
}

/// Advances the progress bar as a file is read.
struct Counted<'a, R> {
    inner: R,
    progress: &'a ProgressBar,
    read: u64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.progress.inc(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bundle of 20 000 clients' outputs holds every source's list until it is assembled: at
    /// the room a push leaves (four records), they took 28 MB of the read's peak.
    #[test]
    fn a_source_keeps_its_slmgr_products_at_their_size() {
        let text = include_str!("../../tests/fixtures/slmgr/host-2012r2-dlv.txt");
        let mut report = SourceReport::new("HOST01/slmgr.txt".into(), SourceKind::Slmgr);
        let utf8 = Detected {
            encoding: TextEncoding::Utf8,
            bom_len: 0,
        };
        read_slmgr(&mut text.as_bytes(), utf8, &mut report);
        let products = &report.tally.slmgr;
        assert!(!products.is_empty());
        assert_eq!(products.capacity(), products.len());
    }
}
