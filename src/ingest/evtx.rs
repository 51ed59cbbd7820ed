//! Binary `.evtx` logs, streamed chunk by chunk from any reader (a file or a zip entry), with
//! chunks parsed in parallel. A chunk none of whose bytes name a licensing provider or the KMS
//! log is not parsed: only its record headers are walked for counts and times.

use super::binxml::filetime_to_timestamp;
use super::report::{Loss, SourceReport, Tally};
use super::xml::EventXmlReader;
use crate::kms::ids;
use crate::messages::{Location, Severity, error_chain};
use evtx::{EvtxChunkData, EvtxChunkHeader, EvtxFileHeader, ParserSettings};
use memchr::memmem::Finder;
use rayon::prelude::*;
use std::io::{self, Read};
use std::sync::{Arc, LazyLock};

const FILE_HEADER_SIZE: usize = 4096;
const CHUNK_SIZE: usize = 65536;
const CHUNK_HEADER_SIZE: usize = 512;
/// Chunks read before a parallel parse: 2 MiB in flight per file.
const BATCH: usize = 32;

/// UTF-16LE forms of the names a relevant chunk must contain.
static NEEDLES: LazyLock<Vec<Finder<'static>>> = LazyLock::new(|| {
    ids::PREFILTER_NEEDLES
        .iter()
        .map(|s| {
            let bytes: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
            Finder::new(&bytes).into_owned()
        })
        .collect()
});

static SETTINGS: LazyLock<Arc<ParserSettings>> =
    LazyLock::new(|| Arc::new(ParserSettings::default().num_threads(1).indent(false)));

#[derive(Clone, Copy, Debug)]
pub struct EvtxOptions {
    /// Skip chunks that cannot hold a relevant record (on by default).
    pub prefilter: bool,
    /// Read fields from the template instance (on by default); off renders every record as XML
    /// and parses that, the reference path the tests compare against.
    pub typed: bool,
}

impl Default for EvtxOptions {
    fn default() -> Self {
        EvtxOptions {
            prefilter: true,
            typed: true,
        }
    }
}

/// Reads one EVTX stream into `report`.
pub fn read(input: &mut dyn Read, opts: EvtxOptions, report: &mut SourceReport) {
    let mut header = vec![0u8; FILE_HEADER_SIZE];
    let got = match read_full(input, &mut header) {
        Ok(n) => n,
        Err(e) => return report.fail(format!("cannot read: {e}")),
    };
    if got < FILE_HEADER_SIZE {
        return report.fail(format!(
            "file is {got} bytes, shorter than the 4096-byte EVTX header (truncated copy)"
        ));
    }
    match EvtxFileHeader::from_bytes(&header) {
        Ok(h) => {
            if !h.validate_checksum() {
                report.diag(Severity::Note, None, "file header checksum mismatch (log copied while Windows had it open); chunks read anyway");
            }
        }
        Err(e) => return report.fail(format!("not a readable EVTX header: {e}")),
    }
    // One buffer for a batch of chunks per thread, reused from file to file: allocating and
    // zeroing 2 MiB for each of a bundle's many one-chunk logs was a fifth of a run.
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUFFER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buffer) => {
            buffer.resize(BATCH * CHUNK_SIZE, 0);
            read_chunks(input, &mut buffer, opts, report);
        }
        Err(_) => read_chunks(input, &mut vec![0u8; BATCH * CHUNK_SIZE], opts, report),
    });
}

/// Reads the chunks after the file header, a batch at a time; chunks that hold nothing relevant
/// are checked in place and never copied.
fn read_chunks(
    input: &mut dyn Read,
    buffer: &mut [u8],
    opts: EvtxOptions,
    report: &mut SourceReport,
) {
    let label = report.source.clone();
    let mut index: u64 = 0;
    let mut offset = FILE_HEADER_SIZE as u64;
    loop {
        let (got, read_error) = match read_full(input, buffer) {
            Ok(n) => (n, None),
            Err(e) => (0, Some(e)),
        };
        let full = got / CHUNK_SIZE;
        let batch = &buffer[..full * CHUNK_SIZE];
        let read_one = |(k, data): (usize, &[u8])| chunk(index + k as u64, data, opts, &label);
        // A log of one chunk (most clients' logs) is read right here: handing it to the thread
        // pool would cost more than reading it.
        let tallies: Vec<Tally> = if full <= 1 {
            batch.chunks(CHUNK_SIZE).enumerate().map(read_one).collect()
        } else {
            batch
                .par_chunks(CHUNK_SIZE)
                .enumerate()
                .map(read_one)
                .collect()
        };
        for t in tallies {
            report.tally.merge(t);
        }
        index += full as u64;
        offset += (full * CHUNK_SIZE) as u64;
        let rest = &buffer[full * CHUNK_SIZE..got];
        if !rest.is_empty() {
            if rest.iter().all(|b| *b == 0) {
                report.diag(
                    Severity::Note,
                    Some(Location::Offset(offset)),
                    format!("{} zero bytes after the last whole chunk", rest.len()),
                );
            } else {
                report.damage(Loss::Truncated, Some(Location::Offset(offset)), format!("file ends inside a chunk ({} of 65536 bytes present): truncated copy, records of that chunk lost", rest.len()));
            }
            break;
        }
        if let Some(e) = read_error {
            report.damage(
                Loss::Truncated,
                Some(Location::Offset(offset)),
                format!("read failed, rest of the file lost: {e}"),
            );
            break;
        }
        if got < buffer.len() {
            break;
        }
    }
}

fn chunk(number: u64, data: &[u8], opts: EvtxOptions, label: &Arc<str>) -> Tally {
    let mut out = Tally::default();
    let at = Some(Location::Chunk(number));
    if data.iter().all(|b| *b == 0) {
        return out; // an unused slot of a preallocated log
    }
    if let Err(e) = EvtxChunkHeader::from_bytes(data) {
        out.damage(
            Loss::Chunk,
            label,
            at,
            format!("unreadable chunk, its records are lost: {e}"),
        );
        return out;
    }
    let intact = checksums_match(data);
    if !intact {
        out.damage(
                Loss::Chunk,
                label, at, "checksum mismatch: the chunk was damaged or caught mid-write; records read as far as they parse");
    }
    let relevant = !opts.prefilter || NEEDLES.iter().any(|f| f.find(data).is_some());
    // An intact chunk whose records all fit the typed reader needs no record model at all.
    if relevant
        && intact
        && opts.typed
        && let Some(t) = typed_chunk(data, opts, label)
    {
        return t;
    }
    if !relevant {
        walk_headers(data, label, number, &mut out);
        if number == 0 {
            // One rendered record names the computer and channel of the log.
            if let Ok(mut chunk) = EvtxChunkData::new(data.to_vec(), false)
                && let Ok(mut parsed) = chunk.parse(SETTINGS.clone())
                && let Some(Ok(rec)) = parsed.iter().next()
                && let Ok(x) = rec.into_xml()
                && let Some(Ok(raw)) = EventXmlReader::new(x.data.as_bytes()).next()
            {
                out.identify(&raw);
            }
        }
        return out;
    }
    let mut chunk = match EvtxChunkData::new(data.to_vec(), false) {
        Ok(c) => c,
        Err(e) => {
            out.damage(
                Loss::Chunk,
                label,
                at,
                format!(
                    "unreadable chunk, its records are lost: {}",
                    error_chain(&e)
                ),
            );
            return out;
        }
    };
    chunk.number = Some(number);
    let mut parsed = match chunk.parse(SETTINGS.clone()) {
        Ok(p) => p,
        Err(e) => {
            out.damage(
                Loss::Chunk,
                label,
                at,
                format!("chunk does not parse: {}", error_chain(&e)),
            );
            return out;
        }
    };
    let mut typed = super::binxml::Templates::default();
    // Which template definitions name a licensing provider or the KMS log, by chunk offset.
    let mut templates: std::collections::HashMap<u32, bool> = std::collections::HashMap::new();
    for rec in parsed.iter() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                out.damage(
                    Loss::Record,
                    label,
                    at,
                    format!("damaged record skipped: {}", error_chain(&e)),
                );
                continue;
            }
        };
        let (id, ts) = (rec.event_record_id, rec.timestamp);
        out.records += 1;
        if opts.prefilter
            && !record_may_be_relevant(
                rec.chunk.data,
                rec.binxml_offset,
                rec.binxml_size,
                &mut templates,
            )
        {
            // Another provider's record in a chunk that also holds licensing records.
            see_header_time(&mut out, ts);
            continue;
        }
        if opts.typed
            && let Some(mut raw) = super::binxml::raw_event(&rec, &mut typed)
        {
            keep_record(&mut out, &mut raw, id, ts);
            out.keep(&raw, label);
            continue;
        }
        out.rendered_as_xml += 1;
        let rendered = rec.into_xml();
        let record = Some(Location::Record(id));
        match rendered {
            Ok(x) => match EventXmlReader::new(x.data.as_bytes()).next() {
                Some(Ok(mut raw)) => {
                    keep_record(&mut out, &mut raw, id, ts);
                    out.keep(&raw, label);
                }
                Some(Err(p)) => {
                    see_header_time(&mut out, ts);
                    out.damage(
                        Loss::Record,
                        label,
                        record,
                        format!("rendered record is not readable XML: {}", p.message),
                    );
                }
                None => {}
            },
            Err(e) => {
                see_header_time(&mut out, ts);
                out.damage(
                    Loss::Record,
                    label,
                    record,
                    format!("record does not render: {}", error_chain(&e)),
                );
            }
        }
    }
    out
}

/// Whether a record can be relevant, from bytes only: its template (where Windows writes the
/// provider, channel and computer as static text) or its own substitution values name a
/// licensing provider or the KMS log. Records of other providers are then not rendered.
fn record_may_be_relevant(
    chunk: &[u8],
    binxml_offset: u64,
    binxml_size: u32,
    templates: &mut std::collections::HashMap<u32, bool>,
) -> bool {
    let start = binxml_offset as usize;
    let Some(bytes) = chunk.get(start..start + binxml_size as usize) else {
        return true;
    };
    let has_needle = |b: &[u8]| NEEDLES.iter().any(|f| f.find(b).is_some());
    // Fragment header (4 bytes), then a TemplateInstance: 0x0C, 1 byte, template id, definition offset.
    if bytes.len() >= 14 && bytes[0] == 0x0F && bytes[4] == 0x0C {
        let def = u32::from_le_bytes([bytes[10], bytes[11], bytes[12], bytes[13]]);
        let in_template = *templates.entry(def).or_insert_with(|| {
            // Definition: next offset (4), GUID (16), data size (4), body.
            let d = def as usize;
            let size = chunk
                .get(d + 20..d + 24)
                .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize);
            match size.and_then(|n| chunk.get(d + 24..d + 24 + n)) {
                Some(body) => has_needle(body),
                None => true,
            }
        });
        return in_template || has_needle(bytes);
    }
    true
}

/// The chunk's header and record CRC32s, as Windows writes them (none with `NO_CRC32`).
fn checksums_match(data: &[u8]) -> bool {
    const NO_CRC32: u32 = 0x4;
    let u32_at = |o: usize| u32::from_le_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]);
    if u32_at(120) & NO_CRC32 != 0 {
        return true;
    }
    let mut header = crc32fast::Hasher::new();
    header.update(&data[..120]);
    header.update(&data[128..CHUNK_HEADER_SIZE]);
    let free = u32_at(48) as usize;
    let records_ok = data
        .get(CHUNK_HEADER_SIZE..free)
        .is_some_and(|r| crc32fast::hash(r) == u32_at(52));
    header.finalize() == u32_at(124) && records_ok
}

/// Reads a chunk record by record from the headers, each relevant record through the typed
/// reader; `None` (nothing kept) when a header is damaged or a record needs the XML path, and the
/// chunk is read with the `evtx` crate's record model instead.
fn typed_chunk(data: &[u8], opts: EvtxOptions, label: &Arc<str>) -> Option<Tally> {
    let mut out = Tally::default();
    let u32_at = |o: usize| u32::from_le_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]);
    let last_id = u64::from_le_bytes(data[32..40].try_into().ok()?);
    let end = (u32_at(48) as usize).clamp(CHUNK_HEADER_SIZE, data.len());
    let mut templates = super::binxml::Templates::default();
    let mut relevant_templates = std::collections::HashMap::new();
    let mut raw = crate::kms::RawEvent::default();
    let mut pos = CHUNK_HEADER_SIZE;
    while pos + 24 <= end {
        let (size, id, filetime) = record_at(data, pos, end, false)?;
        out.records += 1;
        let ts = filetime_to_timestamp(filetime)?;
        let (at, len) = (pos + 24, size - 28);
        if opts.prefilter
            && !record_may_be_relevant(data, at as u64, len as u32, &mut relevant_templates)
        {
            see_header_time(&mut out, ts);
        } else {
            super::binxml::read_event_at(data, at, len, &mut templates, &mut raw)?;
            keep_record(&mut out, &mut raw, id, ts);
            out.keep(&raw, label);
        }
        if id == last_id {
            break;
        }
        pos += size;
    }
    Some(out)
}

/// Windows shows the values of the record's own XML (they can differ from its header: tools that
/// forge events leave the header time at zero); the header fills what the XML lacks.
fn keep_record(out: &mut Tally, raw: &mut crate::kms::RawEvent, id: u64, ts: jiff::Timestamp) {
    raw.record_id = raw.record_id.or(Some(id));
    raw.time = raw.time.or(header_time(ts));
    if let Some(t) = raw.time {
        out.see_time(t);
    }
}

/// A zero header time (1601-01-01) means "not set", not a date.
fn header_time(ts: jiff::Timestamp) -> Option<jiff::Timestamp> {
    (ts > jiff::Timestamp::new(-11_644_473_600 + 86_400, 0).unwrap_or(ts)).then_some(ts)
}

fn see_header_time(out: &mut Tally, ts: jiff::Timestamp) {
    if let Some(t) = header_time(ts) {
        out.see_time(t);
    }
}

/// Counts records and their times from the 24-byte record headers, without parsing BinXML, the
/// way the `evtx` crate walks a chunk: record after record up to the chunk's last record; past a
/// damaged header, on to the next record whose sizes agree and whose id is in the chunk's range.
fn walk_headers(data: &[u8], label: &str, number: u64, out: &mut Tally) {
    let u32_at =
        |o: usize| u32::from_le_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(data[o..o + 8].try_into().unwrap_or([0; 8]));
    let ids = u64_at(24)..=u64_at(32);
    let last_offset = u32_at(44);
    let end = u32_at(48).clamp(CHUNK_HEADER_SIZE, data.len());
    let mut pos = CHUNK_HEADER_SIZE;
    while pos + 24 <= end {
        match record_at(data, pos, end, false) {
            Some((size, id, filetime)) => {
                out.records += 1;
                if let Some(ts) = filetime_to_timestamp(filetime) {
                    see_header_time(out, ts);
                }
                if id == *ids.end() {
                    break;
                }
                pos += size;
            }
            None => {
                let search_end = end.min(last_offset + 4);
                let next = (pos + 1..search_end).find(|&p| {
                    record_at(data, p, end, true).is_some_and(|(_, id, _)| ids.contains(&id))
                });
                // Zeroes where a record should start mark the real end of the used space.
                if next.is_none() && data[pos..pos + 4] == [0, 0, 0, 0] {
                    break;
                }
                out.damage(
                    Loss::Record,
                    label,
                    Some(Location::Chunk(number)),
                    format!("damaged record header at chunk offset {pos:#x}: record lost"),
                );
                match next {
                    Some(p) => pos = p,
                    None => break,
                }
            }
        }
    }
}

/// A record header at `pos`: its size, id and FILETIME. `strict` also checks the size copy that
/// ends the record (used when searching for the next record in damaged space).
fn record_at(data: &[u8], pos: usize, end: usize, strict: bool) -> Option<(usize, u64, u64)> {
    if pos + 24 > end || data[pos..pos + 4] != *b"\x2a\x2a\x00\x00" {
        return None;
    }
    let size = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().ok()?) as usize;
    if size < 28 || pos + size > end {
        return None;
    }
    if strict
        && u32::from_le_bytes(data[pos + size - 4..pos + size].try_into().ok()?) as usize != size
    {
        return None;
    }
    let id = u64::from_le_bytes(data[pos + 8..pos + 16].try_into().ok()?);
    let filetime = u64::from_le_bytes(data[pos + 16..pos + 24].try_into().ok()?);
    Some((size, id, filetime))
}

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
