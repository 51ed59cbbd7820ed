//! Writes `.evtx` files the way Windows does: a 4 KiB file header, then 64 KiB chunks, each with
//! its string and template tables, records as BinXML with template definitions written once per
//! chunk and typed substitution values, and correct CRC32s everywhere.

pub mod binxml;

use super::model::{SimEvent, SimLog};
use binxml::{ChunkTables, Node, Template, Value, ValueType, Writer, el};

const FILE_HEADER_SIZE: usize = 4096;
const CHUNK_SIZE: usize = 65536;
const CHUNK_HEADER_SIZE: usize = 512;
const NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";
const SPP_GUID: &str = "{E23B33B0-C8C9-472C-A5F9-F2BDFEA0F156}";

/// FILETIME: 100 ns ticks since 1601-01-01 UTC.
pub fn filetime(t: jiff::Timestamp) -> u64 {
    let ns = t.as_nanosecond() + 11_644_473_600 * 1_000_000_000;
    (ns / 100) as u64
}

/// A stable GUID for a template, from its key (the same shape gets the same GUID).
fn template_guid(key: &str) -> [u8; 16] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut g = [0u8; 16];
    for (round, out) in g.chunks_mut(8).enumerate() {
        for b in key.bytes().chain([round as u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        out.copy_from_slice(&h.to_le_bytes());
    }
    g
}

/// The outer template of a classic event: System with optional substitutions (indices as
/// Windows numbers them), provider, channel and computer as static text, and the event data as
/// a nested BinXML substitution (19).
fn event_template(e: &SimEvent, log: &SimLog) -> Node {
    use ValueType::*;
    let s = |i: u16, t: ValueType| Node::Sub(i, t);
    let mut provider = vec![("Name", Node::Text(e.provider.to_string()))];
    if e.provider == crate::kms::ids::PROVIDER_SPP {
        provider.push(("Guid", Node::Text(SPP_GUID.to_string())));
    }
    provider.push(("EventSourceName", Node::Text(e.source_name.to_string())));
    el(
        "Event",
        vec![("xmlns", Node::Text(NS.to_string()))],
        vec![
            el(
                "System",
                vec![],
                vec![
                    el("Provider", provider, vec![]),
                    el(
                        "EventID",
                        vec![("Qualifiers", s(4, UInt16))],
                        vec![s(3, UInt16)],
                    ),
                    el("Version", vec![], vec![s(11, UInt8)]),
                    el("Level", vec![], vec![s(0, UInt8)]),
                    el("Task", vec![], vec![s(2, UInt16)]),
                    el("Opcode", vec![], vec![s(1, UInt8)]),
                    el("Keywords", vec![], vec![s(5, HexInt64)]),
                    el("TimeCreated", vec![("SystemTime", s(6, FileTime))], vec![]),
                    el("EventRecordID", vec![], vec![s(10, UInt64)]),
                    el(
                        "Correlation",
                        vec![
                            ("ActivityID", s(7, Guid)),
                            ("RelatedActivityID", s(18, Guid)),
                        ],
                        vec![],
                    ),
                    el(
                        "Execution",
                        vec![("ProcessID", s(8, UInt32)), ("ThreadID", s(9, UInt32))],
                        vec![],
                    ),
                    el("Channel", vec![], vec![Node::Text(log.channel.to_string())]),
                    el("Computer", vec![], vec![Node::Text(log.machine.clone())]),
                    el("Security", vec![("UserID", s(12, Sid))], vec![]),
                ],
            ),
            s(19, BinXml),
        ],
    )
}

/// `<EventData>`: the strings of a classic event as one string array, then its binary data.
fn event_data_template() -> Node {
    el(
        "EventData",
        vec![],
        vec![
            el("Data", vec![], vec![Node::Sub(0, ValueType::StringArray)]),
            el("Binary", vec![], vec![Node::Sub(2, ValueType::Binary)]),
        ],
    )
}

/// Encodes one record's BinXML at chunk offset `base`.
fn record_binxml(
    e: &SimEvent,
    log: &SimLog,
    record_id: u64,
    base: u32,
    tables: &mut ChunkTables,
) -> Vec<u8> {
    let outer_body = event_template(e, log);
    let key = format!(
        "event|{}|{}|{}|{}",
        e.provider, e.source_name, log.channel, log.machine
    );
    let outer = Template {
        guid: template_guid(&key),
        key,
        body: &outer_body,
    };
    let inner_body = event_data_template();
    let inner = Template {
        key: "eventdata".into(),
        guid: template_guid("eventdata-classic"),
        body: &inner_body,
    };
    let mut values: Vec<Value> = vec![
        Value::u8(e.level),
        Value::u8(0),
        Value::u16(0),
        Value::u16(e.event_id),
        Value::u16(e.qualifiers),
        Value::hex64(0x0080_0000_0000_0000),
        Value::filetime(filetime(e.time)),
        Value::null(),
        Value::u32(0),
        Value::u32(0),
        Value::u64(record_id),
        Value::u8(0),
    ];
    values.extend((12..19).map(|_| Value::null()));
    values.push(Value {
        ty: ValueType::BinXml,
        bytes: vec![],
    });
    let data = if e.data.is_empty() {
        Value::null()
    } else {
        Value::strings(&e.data)
    };
    let binary = e
        .binary
        .as_deref()
        .map(Value::binary)
        .unwrap_or_else(Value::null);
    let inner_values = [data, Value::u32(0), binary];
    let mut w = Writer {
        out: Vec::with_capacity(512),
        base,
        tables,
    };
    w.fragment_header();
    w.instance(&outer, &values, &mut |w: &mut Writer| {
        w.fragment_header();
        w.instance(&inner, &inner_values, &mut |_| {});
    });
    w.out
}

struct Chunk {
    data: Vec<u8>,
    tables: ChunkTables,
    first: Option<u64>,
    last: u64,
    last_offset: u32,
    first_number: u64,
}

impl Chunk {
    fn new(first_number: u64) -> Chunk {
        let mut data = vec![0u8; CHUNK_HEADER_SIZE];
        data.reserve(CHUNK_SIZE);
        Chunk {
            data,
            tables: ChunkTables::default(),
            first: None,
            last: 0,
            last_offset: 0,
            first_number,
        }
    }

    /// Appends the record if it fits.
    fn push(&mut self, e: &SimEvent, log: &SimLog, record_id: u64) -> bool {
        let at = self.data.len() as u32;
        let mut tables = self.tables.clone();
        let binxml = record_binxml(e, log, record_id, at + 24, &mut tables);
        let size = 24 + binxml.len() + 4;
        if self.data.len() + size > CHUNK_SIZE {
            return false;
        }
        self.tables = tables;
        self.data.extend(b"\x2a\x2a\x00\x00");
        self.data.extend((size as u32).to_le_bytes());
        self.data.extend(record_id.to_le_bytes());
        self.data.extend(filetime(e.time).to_le_bytes());
        self.data.extend(binxml);
        self.data.extend((size as u32).to_le_bytes());
        self.first.get_or_insert(record_id);
        self.last = record_id;
        self.last_offset = at;
        true
    }

    fn finish(mut self) -> Vec<u8> {
        let free = self.data.len() as u32;
        self.data.resize(CHUNK_SIZE, 0);
        let first = self.first.unwrap_or(1);
        let count = self.last + 1 - first;
        let d = &mut self.data;
        d[0..8].copy_from_slice(b"ElfChnk\0");
        d[8..16].copy_from_slice(&self.first_number.to_le_bytes());
        d[16..24].copy_from_slice(&(self.first_number + count - 1).to_le_bytes());
        d[24..32].copy_from_slice(&first.to_le_bytes());
        d[32..40].copy_from_slice(&self.last.to_le_bytes());
        d[40..44].copy_from_slice(&128u32.to_le_bytes());
        d[44..48].copy_from_slice(&self.last_offset.to_le_bytes());
        d[48..52].copy_from_slice(&free.to_le_bytes());
        let events_crc = crc32(&d[CHUNK_HEADER_SIZE..free as usize]);
        d[52..56].copy_from_slice(&events_crc.to_le_bytes());
        for (k, off) in self.tables.name_buckets.iter().enumerate() {
            d[128 + 4 * k..132 + 4 * k].copy_from_slice(&off.to_le_bytes());
        }
        for (k, off) in self.tables.template_buckets.iter().enumerate() {
            d[384 + 4 * k..388 + 4 * k].copy_from_slice(&off.to_le_bytes());
        }
        let mut header = d[0..120].to_vec();
        header.extend_from_slice(&d[128..512]);
        let header_crc = crc32(&header);
        d[124..128].copy_from_slice(&header_crc.to_le_bytes());
        self.data
    }
}

/// CRC-32 (IEEE), as EVTX uses for its checksums.
pub fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::LazyLock<[u32; 256]> = std::sync::LazyLock::new(|| {
        let mut t = [0u32; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        t
    });
    !data.iter().fold(!0u32, |c, b| {
        TABLE[((c ^ u32::from(*b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

/// The whole `.evtx` file of one log; record ids start at `first_record_id`.
pub fn write_log(log: &SimLog, events: &[SimEvent], first_record_id: u64) -> Vec<u8> {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut chunk = Chunk::new(1);
    for (k, e) in events.iter().enumerate() {
        let id = first_record_id + k as u64;
        if !chunk.push(e, log, id) {
            // Record numbers count from 1 through the file; the new chunk starts at this one.
            let full = std::mem::replace(&mut chunk, Chunk::new(k as u64 + 1));
            chunks.push(full.finish());
            assert!(chunk.push(e, log, id), "an event larger than a chunk");
        }
    }
    let next_record = first_record_id + events.len() as u64;
    if chunk.first.is_some() || chunks.is_empty() {
        chunks.push(chunk.finish());
    }
    let mut file = vec![0u8; FILE_HEADER_SIZE];
    file[0..8].copy_from_slice(b"ElfFile\0");
    file[8..16].copy_from_slice(&0u64.to_le_bytes());
    file[16..24].copy_from_slice(&(chunks.len() as u64 - 1).to_le_bytes());
    file[24..32].copy_from_slice(&next_record.to_le_bytes());
    file[32..36].copy_from_slice(&128u32.to_le_bytes());
    file[36..38].copy_from_slice(&1u16.to_le_bytes());
    file[38..40].copy_from_slice(&3u16.to_le_bytes());
    file[40..42].copy_from_slice(&4096u16.to_le_bytes());
    file[42..44].copy_from_slice(&(chunks.len() as u16).to_le_bytes());
    let crc = crc32(&file[0..120]);
    file[124..128].copy_from_slice(&crc.to_le_bytes());
    for c in chunks {
        file.extend(c);
    }
    file
}
