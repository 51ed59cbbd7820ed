//! Typed fields straight from BinXML: the `System` values and `<Data>` values of a record read
//! from its template instance, by element name, without rendering XML text to parse it again.
//!
//! A template definition (MS-EVEN6 §2.2.3) is walked once per chunk and offset into a map of
//! where each field comes from (static text or substitution index). Anything this subset does not
//! cover with certainty (several parts in one field, optional values left empty, arrays, unusual
//! value types, control characters) returns `None`, and the caller renders the record to XML as
//! before; tests hold both paths to identical rows.

use crate::kms::RawEvent;
use evtx::EvtxRecord;
use std::collections::HashMap;
use std::rc::Rc;

/// Where one field's text comes from.
#[derive(Clone, Debug, PartialEq)]
enum Src {
    Static(String),
    /// Substitution index, and whether it is optional (0x0E: left out when empty).
    Sub(u16, bool),
}

/// The fields of an event template, as the XML reader would find them.
#[derive(Debug, Default)]
struct Template {
    provider_name: Option<Src>,
    provider_source: Option<Src>,
    event_id: Option<Src>,
    qualifiers: Option<Src>,
    time: Option<Src>,
    record_id: Option<Src>,
    channel: Option<Src>,
    computer: Option<Src>,
    /// `<Data>` of `<EventData>`, in order; `None` content is an empty element.
    data: Vec<Option<Src>>,
    /// `<Binary>` of `<EventData>`: present, with its content.
    binary: Option<Option<Src>>,
    /// A substitution standing for a whole nested BinXML fragment (classic events' EventData).
    nested: Option<u16>,
    /// Something outside this subset: the record is rendered instead.
    unsupported: bool,
}

/// Template maps of one chunk, by definition offset (`None`: not usable, render instead), and
/// the buffers every record of the chunk reuses.
#[derive(Default)]
pub struct Templates {
    by_offset: HashMap<u32, Option<Rc<Template>>>,
    scratch: Scratch,
}

impl Templates {
    fn get(&mut self, chunk: &[u8], offset: u32) -> Option<Rc<Template>> {
        self.by_offset
            .entry(offset)
            .or_insert_with(|| walk_definition(chunk, offset).map(Rc::new))
            .clone()
    }
}

/// Buffers reused from record to record: values of the instance and of a nested one, and one
/// field's text.
#[derive(Default)]
struct Scratch {
    values: Vec<Val>,
    nested: Vec<Val>,
    text: String,
}

/// A substitution value, reduced to what the fields need. Text stays in the chunk (offset and
/// length) until a field reads it.
#[derive(Clone, Copy, Debug)]
enum Val {
    Null,
    /// UTF-16LE text, checked valid.
    Str(usize, usize),
    Signed(i64),
    Unsigned(u64),
    Time(jiff::Timestamp),
    /// A string array, checked valid: its element repeats once per item (MS-EVEN6 §3.1.4.7.5).
    Array(usize, usize),
    /// Binary data, by size.
    Binary(usize),
    /// A nested BinXML fragment: its chunk offset and length.
    Fragment(usize, usize),
    /// A value type this subset does not render (arrays, GUIDs, SIDs, binary...).
    Other,
}

/// The record's fields from its template instance, or `None` to render it as XML instead.
pub fn raw_event(rec: &EvtxRecord, templates: &mut Templates) -> Option<RawEvent> {
    let mut ev = RawEvent::default();
    read_event_at(
        rec.chunk.data,
        usize::try_from(rec.binxml_offset).ok()?,
        rec.binxml_size as usize,
        templates,
        &mut ev,
    )?;
    Some(ev)
}

/// Fills `ev` (its buffers reused) with the fields of the record whose BinXML is
/// `chunk[at..at + len]`, without the `evtx` crate's record model; `None` to render it as XML
/// instead. Used for whole chunks (see `evtx::typed_chunk`) and, through `raw_event`, for single
/// records.
pub fn read_event_at(
    chunk: &[u8],
    at: usize,
    len: usize,
    templates: &mut Templates,
    ev: &mut RawEvent,
) -> Option<()> {
    ev.clear();
    let mut scratch = std::mem::take(&mut templates.scratch);
    let read = read_instance(chunk, at, len, templates, &mut scratch, ev);
    templates.scratch = scratch;
    read
}

fn read_instance(
    chunk: &[u8],
    at: usize,
    len: usize,
    templates: &mut Templates,
    scratch: &mut Scratch,
    ev: &mut RawEvent,
) -> Option<()> {
    let def = template_instance(chunk, at, len, &mut scratch.values)?;
    let t = templates.get(chunk, def)?;
    let outer = Instance {
        chunk,
        values: &scratch.values,
    };
    system_fields(&outer, &t, &mut scratch.text, ev)?;
    event_data(&outer, &t, &mut scratch.text, ev)?;
    if let Some(i) = t.nested {
        let Val::Fragment(at, len) = *scratch.values.get(usize::from(i))? else {
            return None;
        };
        let def = template_instance(chunk, at, len, &mut scratch.nested)?;
        let t = templates.get(chunk, def)?;
        if t.nested.is_some() || t.unsupported {
            return None;
        }
        let nested = Instance {
            chunk,
            values: &scratch.nested,
        };
        event_data(&nested, &t, &mut scratch.text, ev)?;
    }
    Some(())
}

/// The `<System>` fields. Attribute values must be plain; element text reads back as the XML
/// path reads it.
fn system_fields(i: &Instance, t: &Template, s: &mut String, ev: &mut RawEvent) -> Option<()> {
    let attr = |src: &Option<Src>, out: &mut String| -> Option<bool> {
        let field = i.field_into(src, out)?;
        (field != Field::Other || plain(out)).then_some(field.present())
    };
    if !attr(&t.provider_name, &mut ev.provider)? {
        attr(&t.provider_source, &mut ev.provider)?;
    }
    let text = |src: &Option<Src>, out: &mut String| -> Option<bool> {
        let field = i.field_into(src, out)?;
        field.settle(out);
        Some(field.present())
    };
    if !text(&t.event_id, s)? {
        return None;
    }
    let id: u32 = s.trim().parse().ok()?;
    ev.event_id = (id & 0xFFFF) as u16;
    ev.qualifiers = if attr(&t.qualifiers, s)? {
        s.trim().parse().ok()
    } else {
        None
    };
    ev.record_id = if text(&t.record_id, s)? {
        Some(s.trim().parse().ok()?)
    } else {
        None
    };
    ev.time = match &t.time {
        Some(Src::Sub(n, _)) => match i.values.get(usize::from(*n))? {
            Val::Time(t) => Some(*t),
            _ => return None,
        },
        Some(Src::Static(_)) => return None,
        None => None,
    };
    if text(&t.channel, s)? {
        ev.channel.push_str(s.trim());
    }
    if text(&t.computer, s)? {
        ev.computer.push_str(s.trim());
    }
    Some(())
}

/// A fragment holding one template instance (fragment header 0x0F, major, minor, flags, then
/// TemplateInstance 0x0C): its definition offset, with its values in `values`.
fn template_instance(chunk: &[u8], at: usize, len: usize, values: &mut Vec<Val>) -> Option<u32> {
    let bytes = chunk.get(at..at.checked_add(len)?)?;
    if bytes.len() < 14 || bytes[0] != 0x0F || bytes[4] != 0x0C {
        return None;
    }
    let mut c = Cursor::at(chunk, at + 6)?;
    c.u32()?; // template id
    let def = c.u32()?;
    if c.pos == def as usize {
        // The definition is inline, right here: skip its header and body.
        c.skip(20)?;
        let size = c.u32()?;
        c.skip(size as usize)?;
    }
    instance_values(&mut c, values)?;
    // The fragment must end where its instance does: anything after it is not covered.
    (c.pos <= at + len).then_some(def)
}

/// `<Data>` values and `<Binary>` of a template, with its instance's values.
fn event_data(i: &Instance, t: &Template, s: &mut String, ev: &mut RawEvent) -> Option<()> {
    let (chunk, values) = (i.chunk, i.values);
    for d in &t.data {
        let Some(src) = d else {
            ev.data.push("");
            continue;
        };
        match (src, sub_value(src, values)) {
            // An array repeats its element once per item (a valid array has at least one).
            (_, Some(Val::Array(at, len))) => {
                for item in array_items(chunk.get(*at..at + len)?) {
                    s.clear();
                    push_utf16(item, s)?.settle(s);
                    ev.data.push(s);
                }
            }
            // An optional value left empty drops its element.
            (Src::Sub(_, true), Some(Val::Null)) => {}
            _ => {
                let field = i.field_into(d, s)?;
                if !field.present() {
                    return None;
                }
                field.settle(s);
                ev.data.push(s);
            }
        }
    }
    match &t.binary {
        None => {}
        // An optional value left empty drops its element (as evtx renders it).
        Some(Some(Src::Sub(n, true))) => match values.get(usize::from(*n))? {
            Val::Binary(n) if *n > 0 => ev.has_binary = true,
            Val::Null => {}
            _ => return None,
        },
        Some(_) => ev.has_binary = true,
    }
    Some(())
}

/// The values of a template instance: count, descriptors (size, type), then the values.
fn instance_values(c: &mut Cursor, out: &mut Vec<Val>) -> Option<()> {
    out.clear();
    let n = c.u32()? as usize;
    if n > 4096 {
        return None;
    }
    let descriptors = c.take(n * 4)?;
    for d in descriptors.chunks_exact(4) {
        let (size, ty) = (usize::from(u16::from_le_bytes([d[0], d[1]])), d[2]);
        let at = c.pos;
        let bytes = c.take(size)?;
        out.push(match ty {
            0x00 => Val::Null,
            0x01 => {
                utf16_valid(bytes)?;
                Val::Str(at, size)
            }
            0x03 => Val::Signed(i64::from(*bytes.first()? as i8)),
            0x04 => Val::Unsigned(u64::from(*bytes.first()?)),
            0x05 => Val::Signed(i64::from(i16::from_le_bytes(bytes.try_into().ok()?))),
            0x06 => Val::Unsigned(u64::from(u16::from_le_bytes(bytes.try_into().ok()?))),
            0x07 => Val::Signed(i64::from(i32::from_le_bytes(bytes.try_into().ok()?))),
            0x08 => Val::Unsigned(u64::from(u32::from_le_bytes(bytes.try_into().ok()?))),
            0x09 => Val::Signed(i64::from_le_bytes(bytes.try_into().ok()?)),
            0x0A => Val::Unsigned(u64::from_le_bytes(bytes.try_into().ok()?)),
            0x0E => Val::Binary(size),
            0x11 => filetime(u64::from_le_bytes(bytes.try_into().ok()?)),
            0x21 => Val::Fragment(at, size),
            0x81 => {
                string_array_valid(bytes)?;
                Val::Array(at, size)
            }
            _ => Val::Other,
        });
    }
    Some(())
}

fn sub_value<'v>(src: &Src, values: &'v [Val]) -> Option<&'v Val> {
    match src {
        Src::Sub(i, _) => values.get(usize::from(*i)),
        Src::Static(_) => None,
    }
}

/// A field's text, as `Instance::field_into` wrote it.
#[derive(Clone, Copy, PartialEq)]
enum Field {
    /// The template has no such field (the XML has no such text either).
    Absent,
    /// Printable ASCII only: nothing for `element_text_in_place` or `plain` to look at.
    Plain,
    /// Anything else.
    Other,
}

impl Field {
    fn present(self) -> bool {
        self != Field::Absent
    }

    /// Element text as the XML path reads it back.
    fn settle(self, s: &mut String) {
        if self == Field::Other {
            element_text_in_place(s);
        }
    }
}

/// A template instance's values, with the chunk their text is in.
struct Instance<'a> {
    chunk: &'a [u8],
    values: &'a [Val],
}

impl Instance<'_> {
    /// Writes a field's text into `out` (emptied first); `None` when this subset cannot tell
    /// (an optional value left empty, a value that is not text).
    fn field_into(&self, src: &Option<Src>, out: &mut String) -> Option<Field> {
        out.clear();
        match src {
            None => Some(Field::Absent),
            Some(Src::Static(s)) => {
                out.push_str(s);
                Some(Field::Other)
            }
            Some(Src::Sub(i, optional)) => match *self.values.get(usize::from(*i))? {
                Val::Null if *optional => None,
                Val::Null => Some(Field::Plain),
                Val::Str(at, len) => push_utf16(self.chunk.get(at..at + len)?, out),
                Val::Signed(n) => {
                    out.push_str(itoa::Buffer::new().format(n));
                    Some(Field::Plain)
                }
                Val::Unsigned(n) => {
                    out.push_str(itoa::Buffer::new().format(n));
                    Some(Field::Plain)
                }
                _ => None,
            },
        }
    }
}

/// A FILETIME in the years the XML renders with four digits, as the XML path reads them.
fn filetime(ticks: u64) -> Val {
    match filetime_to_timestamp(ticks) {
        Some(t) if (1601..=9999).contains(&t.to_zoned(jiff::tz::TimeZone::UTC).year()) => {
            Val::Time(t)
        }
        _ => Val::Other,
    }
}

/// A FILETIME (100 ns ticks since 1601-01-01) as a timestamp, if jiff can hold it.
pub fn filetime_to_timestamp(ticks: u64) -> Option<jiff::Timestamp> {
    const EPOCH_DIFF_SECS: i64 = 11_644_473_600;
    let secs = (ticks / 10_000_000) as i64 - EPOCH_DIFF_SECS;
    let nanos = ((ticks % 10_000_000) * 100) as i32;
    jiff::Timestamp::new(secs, nanos).ok()
}

/// No control characters: what an attribute value must be for this subset (XML normalises them).
fn plain(s: &str) -> bool {
    !s.chars().any(|c| c < ' ')
}

/// Element text as the XML path reads it back: evtx writes C0 controls other than tab, LF and CR
/// and U+FFFE/U+FFFF as `_` (as Windows does), and the XML parser turns CR LF and lone CR into LF.
fn element_text_in_place(s: &mut String) {
    let needs = |c: char| (c < ' ' && c != '\t' && c != '\n') || c == '\u{FFFE}' || c == '\u{FFFF}';
    // Bytes first: U+FFFE and U+FFFF start with 0xEF in UTF-8, controls are single bytes.
    let special = |b: u8| (b < 0x20 && b != b'\t' && b != b'\n') || b == 0xEF;
    // No early exit: a pass the compiler vectorizes over the short texts of a record.
    if !s.bytes().fold(false, |acc, b| acc | special(b)) {
        return;
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            c if needs(c) => out.push('_'),
            c => out.push(c),
        }
    }
    *s = out;
}

/// NUL-terminated UTF-16 strings one after the other, each valid; a last one without its NUL is
/// left to the XML path.
fn string_array_valid(bytes: &[u8]) -> Option<()> {
    if !bytes.len().is_multiple_of(2) || !bytes.ends_with(&[0, 0]) {
        return None;
    }
    array_items(bytes).try_for_each(utf16_valid)
}

/// The items of a string array checked by `string_array_valid`.
fn array_items(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let (units, _) = bytes[..bytes.len().saturating_sub(2)].as_chunks::<2>();
    let mut rest = Some(units);
    std::iter::from_fn(move || {
        let units = rest?;
        Some(match nul_unit(units) {
            Some(at) => {
                rest = Some(&units[at + 1..]);
                units[..at].as_flattened()
            }
            None => {
                rest = None;
                units.as_flattened()
            }
        })
    })
}

/// The first NUL code unit: sixteen units at a time without early exit (a compare the compiler
/// vectorizes), then the one found.
fn nul_unit(units: &[[u8; 2]]) -> Option<usize> {
    let is_nul = |u: &[u8; 2]| *u == [0, 0];
    let mut base = 0;
    for block in units.chunks(16) {
        if block.iter().fold(false, |any, u| any | is_nul(u)) {
            return block.iter().position(is_nul).map(|i| base + i);
        }
        base += block.len();
    }
    None
}

fn utf16_valid(bytes: &[u8]) -> Option<()> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let (pairs, _) = bytes.as_chunks::<2>();
    if ascii(pairs) {
        return Some(());
    }
    char::decode_utf16(pairs.iter().map(|p| u16::from_le_bytes(*p)))
        .try_for_each(|c| c.ok().map(drop))
}

/// Every bit any code unit sets, and the smallest unit: one pass without early exit, which the
/// compiler vectorizes.
fn scan(pairs: &[[u8; 2]]) -> (u16, u16) {
    pairs.iter().fold((0u16, u16::MAX), |(any, least), p| {
        let u = u16::from_le_bytes(*p);
        (any | u, least.min(u))
    })
}

/// All code units ASCII.
fn ascii(pairs: &[[u8; 2]]) -> bool {
    scan(pairs).0 < 0x80
}

/// Appends UTF-16LE text: ASCII (most of what Windows logs) byte for byte, the rest decoded;
/// says whether it is plain printable ASCII.
fn push_utf16(bytes: &[u8], out: &mut String) -> Option<Field> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let (pairs, _) = bytes.as_chunks::<2>();
    let (any, least) = scan(pairs);
    if any < 0x80 {
        // SAFETY: every unit is below 0x80, so each low byte is an ASCII character: valid UTF-8
        // as it is, without checking it again.
        let bytes = unsafe { out.as_mut_vec() };
        let start = bytes.len();
        // Filled in place over slices of one length: a loop the compiler vectorizes.
        bytes.resize(start + pairs.len(), 0);
        for (b, [lo, _]) in bytes[start..].iter_mut().zip(pairs) {
            *b = *lo;
        }
        return Some(if least >= 0x20 {
            Field::Plain
        } else {
            Field::Other
        });
    }
    for c in char::decode_utf16(pairs.iter().map(|p| u16::from_le_bytes(*p))) {
        out.push(c.ok()?);
    }
    Some(Field::Other)
}

/// UTF-16LE to a `String` (names and static text of a definition, read once per chunk).
fn utf16_text(bytes: &[u8]) -> Option<String> {
    let mut s = String::with_capacity(bytes.len() / 2);
    push_utf16(bytes, &mut s)?;
    Some(s)
}

/// A bounds-checked reader over the chunk.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn at(data: &'a [u8], pos: usize) -> Option<Self> {
        (pos <= data.len()).then_some(Cursor { data, pos })
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
}

/// The name at a chunk offset: next link (4), hash (2), length (2), UTF-16 characters.
fn name_at(chunk: &[u8], offset: u32) -> Option<String> {
    let mut c = Cursor::at(chunk, offset as usize)?;
    c.skip(6)?;
    let n = c.u16()? as usize;
    utf16_text(c.take(n * 2)?)
}

/// A name reference in a token: its offset, with the name itself skipped when stored inline.
fn name_ref(c: &mut Cursor, chunk: &[u8]) -> Option<String> {
    let offset = c.u32()?;
    let name = name_at(chunk, offset)?;
    if offset as usize == c.pos {
        c.skip(8 + name.encode_utf16().count() * 2 + 2)?;
    }
    Some(name)
}

/// One open element while walking a definition.
struct Open {
    name: String,
    /// Parts of its text content.
    parts: Vec<Src>,
}

/// Walks a template definition into the fields the XML reader would read.
fn walk_definition(chunk: &[u8], offset: u32) -> Option<Template> {
    let mut c = Cursor::at(chunk, offset as usize)?;
    c.skip(20)?; // next definition, GUID
    let size = c.u32()? as usize;
    let end = c.pos.checked_add(size)?.min(chunk.len());
    let mut t = Template::default();
    let mut stack: Vec<Open> = Vec::new();
    // The attribute whose value comes next, with the parts read so far.
    let mut attr: Option<(String, Vec<Src>)> = None;
    while c.pos < end {
        let token = c.u8()?;
        match token {
            0x00 => break,
            0x0F => c.skip(3)?,
            0x01 | 0x41 => {
                finish_attr(&mut attr, &stack, &mut t);
                c.u16()?; // dependency id
                c.u32()?; // data size
                let name = name_ref(&mut c, chunk)?;
                if token == 0x41 {
                    c.u32()?; // attribute list size
                }
                stack.push(Open {
                    name,
                    parts: Vec::new(),
                });
                if stack.len() > 64 {
                    return None;
                }
            }
            0x06 | 0x46 => {
                finish_attr(&mut attr, &stack, &mut t);
                attr = Some((name_ref(&mut c, chunk)?, Vec::new()));
            }
            0x02 => finish_attr(&mut attr, &stack, &mut t),
            0x03 | 0x04 => {
                finish_attr(&mut attr, &stack, &mut t);
                let open = stack.pop()?;
                close_element(&open, &stack, &mut t);
            }
            0x05 | 0x45 => {
                let ty = c.u8()?;
                if ty != 0x01 {
                    return None;
                }
                let n = c.u16()? as usize;
                let s = utf16_text(c.take(n * 2)?)?;
                push_part(&mut attr, &mut stack, Src::Static(s))?;
            }
            0x0D | 0x0E => {
                let index = c.u16()?;
                let ty = c.u8()?;
                if ty == 0x21 && attr.is_none() {
                    // A nested fragment as content: classic events' EventData.
                    if t.nested.is_some() {
                        return None;
                    }
                    t.nested = Some(index);
                    continue;
                }
                if ty & 0x80 != 0 && ty != 0x81 {
                    // Other arrays repeat their element too: not in this subset.
                    t.unsupported |= in_event_data(&stack);
                }
                push_part(&mut attr, &mut stack, Src::Sub(index, token == 0x0E))?;
            }
            // CDATA, character and entity references, processing instructions: not in KMS
            // templates; a definition with them is rendered instead.
            _ => return None,
        }
    }
    if !stack.is_empty() || t.unsupported {
        return None;
    }
    Some(t)
}

fn push_part(attr: &mut Option<(String, Vec<Src>)>, stack: &mut [Open], part: Src) -> Option<()> {
    match attr {
        Some((_, parts)) => parts.push(part),
        None => stack.last_mut()?.parts.push(part),
    }
    Some(())
}

fn path_is(stack: &[Open], tail: &[&str]) -> bool {
    stack.len() >= tail.len()
        && stack[stack.len() - tail.len()..]
            .iter()
            .zip(tail)
            .all(|(o, n)| o.name == *n)
}

fn in_event_data(stack: &[Open]) -> bool {
    stack.iter().any(|o| o.name == "EventData")
}

/// One text for a field: a single part; several parts are outside this subset.
fn single(parts: &[Src], t: &mut Template) -> Option<Src> {
    match parts {
        [] => None,
        [one] => Some(one.clone()),
        _ => {
            t.unsupported = true;
            None
        }
    }
}

fn finish_attr(attr: &mut Option<(String, Vec<Src>)>, stack: &[Open], t: &mut Template) {
    let Some((name, parts)) = attr.take() else {
        return;
    };
    let value = single(&parts, t);
    let slot = if path_is(stack, &["System", "Provider"]) {
        match name.as_str() {
            "Name" => &mut t.provider_name,
            "EventSourceName" => &mut t.provider_source,
            _ => return,
        }
    } else if path_is(stack, &["System", "EventID"]) && name == "Qualifiers" {
        &mut t.qualifiers
    } else if path_is(stack, &["System", "TimeCreated"]) && name == "SystemTime" {
        &mut t.time
    } else {
        return;
    };
    *slot = value;
}

fn close_element(open: &Open, parents: &[Open], t: &mut Template) {
    let under = |tail: &[&str]| path_is(parents, tail);
    let is_root_level = parents.len() <= 1;
    match open.name.as_str() {
        "EventID" if under(&["System"]) => t.event_id = single(&open.parts, t),
        "EventRecordID" if under(&["System"]) => t.record_id = single(&open.parts, t),
        "Channel" if under(&["System"]) => t.channel = single(&open.parts, t),
        "Computer" if under(&["System"]) => t.computer = single(&open.parts, t),
        "Data" if under(&["EventData"]) && (is_root_level || under(&["Event", "EventData"])) => {
            let d = single(&open.parts, t);
            t.data.push(d);
        }
        "Binary" if under(&["EventData"]) => t.binary = Some(single(&open.parts, t)),
        _ => {
            // Text in other elements is not read; elements the XML reader skips are fine.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::xml::EventXmlReader;
    use evtx::{EvtxChunkData, ParserSettings};
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    /// Every KMS-relevant record of a log through both paths: (typed, rendered, mismatches).
    fn compare(path: &Path) -> (usize, usize, Vec<String>) {
        let data = std::fs::read(path).unwrap();
        let settings = Arc::new(ParserSettings::default().num_threads(1).indent(false));
        let (mut typed, mut rendered, mut bad) = (0, 0, Vec::new());
        for (k, chunk) in data
            .get(4096..)
            .unwrap_or(&[])
            .chunks_exact(65536)
            .enumerate()
        {
            let Ok(mut c) = EvtxChunkData::new(chunk.to_vec(), false) else {
                continue;
            };
            let Ok(mut parsed) = c.parse(settings.clone()) else {
                continue;
            };
            let mut templates = Templates::default();
            for rec in parsed.iter().flatten() {
                let id = rec.event_record_id;
                let fast = raw_event(&rec, &mut templates);
                let Ok(x) = rec.into_xml() else { continue };
                let Some(Ok(slow)) = EventXmlReader::new(x.data.as_bytes()).next() else {
                    continue;
                };
                let relevant = crate::kms::ids::is_kms_provider(&slow.provider)
                    || crate::kms::ids::is_kms_channel(&slow.channel);
                if !relevant {
                    // Other providers' records are never read by either path.
                    if let Some(f) = fast
                        && f != slow
                    {
                        bad.push(format!(
                            "{}: record {id}: {f:?} != {slow:?}",
                            path.display()
                        ));
                    }
                    continue;
                }
                if fast.is_none() && std::env::var_os("KMSLENS_SHOW_RENDERED").is_some() {
                    eprintln!("rendered: {}\n{}", path.display(), x.data);
                }
                match fast {
                    Some(f) if f == slow => typed += 1,
                    Some(f) => bad.push(format!(
                        "{}: chunk {k} record {id}:\n typed {f:?}\n xml   {slow:?}",
                        path.display()
                    )),
                    None => rendered += 1,
                }
            }
        }
        (typed, rendered, bad)
    }

    fn evtx_files(root: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let Ok(dir) = std::fs::read_dir(root) else {
            return out;
        };
        for e in dir.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(evtx_files(&p));
            } else if p.extension().is_some_and(|x| x == "evtx") {
                out.push(p);
            }
        }
        out.sort();
        out
    }

    /// A string array's items as splitting its units on NUL gives them: empty items, items longer
    /// than a block of sixteen units, NULs on a block's edge.
    #[test]
    fn array_items_split_on_nul_units() {
        let utf16 = |items: &[&str]| -> Vec<u8> {
            let text = items.join("\0") + "\0";
            text.encode_utf16().flat_map(u16::to_le_bytes).collect()
        };
        let long = "x".repeat(15);
        let block = "y".repeat(16);
        let longer = "\u{100}".repeat(40);
        for items in [
            vec![""],
            vec!["a"],
            vec!["", ""],
            vec!["0x0", "25", "PC1.contoso.com", ""],
            vec![long.as_str(), "b", long.as_str()],
            vec![block.as_str(), block.as_str(), ""],
            vec![longer.as_str(), "", longer.as_str(), "c"],
        ] {
            let bytes = utf16(&items);
            let got: Vec<String> = array_items(&bytes)
                .map(|b| utf16_text(b).unwrap())
                .collect();
            assert_eq!(got, items, "{items:?}");
        }
    }

    #[test]
    fn typed_fields_equal_the_rendered_xml_on_simulated_logs() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::simulate::SimConfig {
            clients: 30,
            hosts: 2,
            days: 10,
            noise: 2,
            faults: vec![
                crate::simulate::Fault::DupCmid,
                crate::simulate::Fault::DnsPublish,
            ],
            format: crate::simulate::SimFormat::Evtx,
            ..Default::default()
        };
        crate::simulate::simulate(&cfg, dir.path()).unwrap();
        let (mut typed, mut rendered) = (0, 0);
        for f in evtx_files(dir.path()) {
            let (t, r, bad) = compare(&f);
            assert!(bad.is_empty(), "{}", bad.join("\n"));
            typed += t;
            rendered += r;
        }
        // The simulator writes Windows' shapes: every record takes the typed path.
        assert!(typed > 500, "{typed}");
        assert_eq!(rendered, 0);
    }

    #[test]
    fn typed_fields_equal_the_rendered_xml_on_the_real_corpus() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/real");
        let (mut typed, mut rendered, mut bad) = (0, 0, Vec::new());
        for f in evtx_files(&root) {
            let (t, r, b) = compare(&f);
            typed += t;
            rendered += r;
            bad.extend(b);
        }
        assert!(
            bad.is_empty(),
            "{} mismatches:\n{}",
            bad.len(),
            bad[..bad.len().min(5)].join("\n")
        );
        // Every licensing record Windows wrote in the corpus takes the typed path.
        eprintln!("real corpus: {typed} licensing records typed, {rendered} rendered as XML");
        assert!(typed >= 50, "{typed}");
        assert_eq!(rendered, 0);
    }
}
