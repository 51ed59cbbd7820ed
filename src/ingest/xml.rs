//! Exported event XML (§9.4): `wevtutil qe /f:xml` streams without a root, Event Viewer
//! "Save as XML" files with an `<Events>` root, `/f:RenderedXml` with `RenderingInfo`, single or
//! double quotes, UTF-8 or UTF-16 with or without BOM. The same parser reads the XML the `evtx`
//! crate renders for each binary record, so both formats give identical rows.

use crate::kms::RawEvent;
use crate::sources::encoding::TextEncoding;
use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::encoding::DecodingReader;
use quick_xml::events::{BytesStart, Event};
use std::io::BufRead;

/// Which text field is being collected.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Field {
    EventId,
    RecordId,
    Channel,
    Computer,
    Data,
    Binary,
}

/// Where in an `<Event>` the reader is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scope {
    System,
    EventData,
    /// `UserData`, `RenderingInfo`, `ProcessingErrorData` and anything unknown: not read.
    Skipped,
    Other,
}

/// A problem in the XML, with the byte offset (in the decoded UTF-8 stream) where it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct XmlProblem {
    pub offset: u64,
    pub message: String,
}

/// Streams `<Event>` elements out of any XML byte stream, one at a time, in constant memory.
pub struct EventXmlReader<R: BufRead> {
    reader: Reader<R>,
    buf: Vec<u8>,
    /// Offsets in error messages are counted from here (0 for files).
    errors: usize,
    done: bool,
    /// Reading stopped before the end: a read failure or too many errors in a row.
    gave_up: bool,
    /// The `<Event>` being read; kept across calls when a problem is returned mid-way.
    cur: Option<Partial>,
}

/// Most consecutive XML errors tolerated in one file before the rest of it is given up.
const MAX_ERRORS: usize = 20;

/// Bounds on one `<Event>`, far above anything Windows writes (a KMS Info string is ~200 bytes,
/// an event has at most a few dozen `<Data>`): memory per record stays bounded on crafted input.
const MAX_FIELD_BYTES: usize = 64 << 10;
const MAX_DATA_VALUES: usize = 1024;
const MAX_DEPTH: usize = 256;

impl<R: BufRead> EventXmlReader<R> {
    pub fn new(inner: R) -> Self {
        let mut reader = Reader::from_reader(inner);
        let config = reader.config_mut();
        // Exports get hand-edited and truncated; structure is tracked here, not by the parser.
        config.check_end_names = false;
        config.allow_unmatched_ends = true;
        config.expand_empty_elements = false;
        Self {
            reader,
            buf: Vec::with_capacity(4096),
            errors: 0,
            done: false,
            gave_up: false,
            cur: None,
        }
    }

    /// The next event, a problem (after which reading goes on), or `None` at the end.
    pub fn next_event(&mut self) -> Option<Result<RawEvent, XmlProblem>> {
        if self.done {
            return None;
        }
        let mut cur = self.cur.take();
        loop {
            self.buf.clear();
            // One huge text node grew the buffer: do not keep that for the rest of the file.
            if self.buf.capacity() > 1 << 20 {
                self.buf = Vec::with_capacity(4096);
            }
            let ev = match self.reader.read_event_into(&mut self.buf) {
                Ok(ev) => ev,
                Err(e) => {
                    self.errors += 1;
                    let offset = self.reader.error_position();
                    if let quick_xml::Error::Io(io) = &e {
                        self.done = true;
                        self.gave_up = true;
                        return Some(Err(XmlProblem {
                            offset,
                            message: format!("read failed, rest of the file lost: {io}"),
                        }));
                    }
                    if self.errors >= MAX_ERRORS {
                        self.done = true;
                        self.gave_up = true;
                        return Some(Err(XmlProblem {
                            offset,
                            message: format!(
                                "{e}; {MAX_ERRORS} XML errors, rest of the file not read"
                            ),
                        }));
                    }
                    return Some(Err(XmlProblem {
                        offset,
                        message: e.to_string(),
                    }));
                }
            };
            match ev {
                Event::Start(e) => {
                    let name = e.local_name();
                    let name = name.into_inner();
                    match cur.as_mut() {
                        None if name == "Event" => cur = Some(Partial::default()),
                        None => {}
                        Some(p) => {
                            if name == "Event" && p.scope() != Some(Scope::Skipped) {
                                // A new <Event> before the last one closed: the last one was cut.
                                let offset = self.reader.buffer_position();
                                self.cur = Some(Partial::default());
                                return Some(Err(XmlProblem {
                                    offset,
                                    message: "an <Event> was cut off before its end".into(),
                                }));
                            }
                            p.start(name, &e);
                        }
                    }
                }
                Event::Empty(e) => {
                    if let Some(p) = cur.as_mut() {
                        p.empty(e.local_name().into_inner(), &e);
                    }
                }
                Event::End(e) => {
                    let name = e.local_name();
                    let name = name.into_inner();
                    if let Some(p) = cur.as_mut() {
                        if p.scopes.is_empty() && name == "Event" {
                            self.errors = 0;
                            let offset = self.reader.buffer_position();
                            let done = cur.take().map(Partial::finish)?;
                            return Some(done.map_err(|message| XmlProblem { offset, message }));
                        }
                        p.end();
                    }
                }
                // Text outside a field (the indentation between elements) is not even decoded.
                Event::Text(t) => {
                    if let Some(p) = cur.as_mut().filter(|p| p.field.is_some()) {
                        p.text(&t.xml10_content());
                    }
                }
                Event::CData(t) => {
                    if let Some(p) = cur.as_mut().filter(|p| p.field.is_some()) {
                        p.text(&t.xml10_content());
                    }
                }
                Event::GeneralRef(r) => {
                    if let Some(p) = cur.as_mut().filter(|p| p.field.is_some()) {
                        match r.resolve_char_ref() {
                            Ok(Some(c)) => p.text(c.encode_utf8(&mut [0; 4])),
                            Ok(None) => match quick_xml::escape::resolve_predefined_entity(&r) {
                                Some(s) => p.text(s),
                                None => p.text(&format!("&{};", &*r)),
                            },
                            Err(_) => p.text(&format!("&{};", &*r)),
                        }
                    }
                }
                Event::Eof => {
                    self.done = true;
                    return cur.map(|_| {
                        Err(XmlProblem {
                            offset: self.reader.buffer_position(),
                            message: "the file ends inside an <Event> (truncated?)".into(),
                        })
                    });
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
    }

    /// Reading stopped before the end of the input (see `next_event`'s last problem).
    pub fn gave_up(&self) -> bool {
        self.gave_up
    }

    pub fn position(&self) -> u64 {
        self.reader.buffer_position()
    }
}

impl<R: BufRead> Iterator for EventXmlReader<R> {
    type Item = Result<RawEvent, XmlProblem>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_event()
    }
}

fn attr(e: &BytesStart, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .map(|a| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .unwrap_or_else(|_| a.value.to_string())
        })
}

/// An `<Event>` being read.
#[derive(Default)]
struct Partial {
    ev: RawEvent,
    scopes: Vec<Scope>,
    field: Option<Field>,
    text: String,
    event_id: Option<String>,
    record_id: Option<String>,
    time: Option<String>,
    qualifiers: Option<String>,
    /// Elements nested past `MAX_DEPTH`, counted instead of kept.
    too_deep: usize,
    /// What made this event larger than the bounds, if anything.
    oversize: Option<&'static str>,
}

impl Partial {
    fn scope(&self) -> Option<Scope> {
        self.scopes.last().copied()
    }

    fn start(&mut self, name: &str, e: &BytesStart) {
        if self.too_deep > 0 || self.scopes.len() >= MAX_DEPTH {
            self.too_deep += 1;
            self.oversize = Some("elements nested deeper than 256 levels");
            return;
        }
        let scope = self.scope();
        let next = match (scope, name) {
            (Some(Scope::Skipped), _) => Scope::Skipped,
            (None, "System") => Scope::System,
            (None, "EventData") => Scope::EventData,
            (None, _) => Scope::Skipped,
            (Some(Scope::System), _) => {
                self.system_element(name, e);
                Scope::Other
            }
            (Some(Scope::EventData), "Data") => {
                self.begin(Field::Data);
                Scope::Other
            }
            (Some(Scope::EventData), "Binary") => {
                self.ev.has_binary = true;
                self.begin(Field::Binary);
                Scope::Other
            }
            _ => Scope::Other,
        };
        self.scopes.push(next);
    }

    fn empty(&mut self, name: &str, e: &BytesStart) {
        match (self.scope(), name) {
            (Some(Scope::System), _) => {
                self.system_element(name, e);
                self.field = None;
            }
            (Some(Scope::EventData), "Data") => self.push_data(""),
            (Some(Scope::EventData), "Binary") => self.ev.has_binary = true,
            _ => {}
        }
    }

    fn system_element(&mut self, name: &str, e: &BytesStart) {
        match name {
            "Provider" => {
                // Classic sources name themselves in EventSourceName when Name is a GUID-style provider.
                self.ev.provider = attr(e, "Name")
                    .or_else(|| attr(e, "EventSourceName"))
                    .unwrap_or_default();
            }
            "TimeCreated" => self.time = attr(e, "SystemTime"),
            "EventID" => {
                self.qualifiers = attr(e, "Qualifiers");
                self.begin(Field::EventId);
            }
            "EventRecordID" => self.begin(Field::RecordId),
            "Channel" => self.begin(Field::Channel),
            "Computer" => self.begin(Field::Computer),
            _ => {}
        }
    }

    fn begin(&mut self, f: Field) {
        self.field = Some(f);
        self.text.clear();
    }

    fn text(&mut self, t: &str) {
        if self.field.is_some() {
            if self.text.len() + t.len() > MAX_FIELD_BYTES {
                self.oversize = Some("a field longer than 64 KiB");
                return;
            }
            self.text.push_str(t);
        }
    }

    fn push_data(&mut self, value: &str) {
        if self.ev.data.len() >= MAX_DATA_VALUES {
            self.oversize = Some("more than 1024 <Data> values");
            return;
        }
        self.ev.data.push(value);
    }

    fn end(&mut self) {
        if self.too_deep > 0 {
            self.too_deep -= 1;
            return;
        }
        self.scopes.pop();
        // The text buffer stays for the next field: no allocation per value.
        match self.field.take() {
            Some(Field::EventId) => self.event_id = Some(self.text.clone()),
            Some(Field::RecordId) => self.record_id = Some(self.text.clone()),
            Some(Field::Channel) => self.ev.channel = self.text.trim().to_string(),
            Some(Field::Computer) => self.ev.computer = self.text.trim().to_string(),
            Some(Field::Data) => {
                let text = std::mem::take(&mut self.text);
                self.push_data(&text);
                self.text = text;
            }
            Some(Field::Binary) | None => {}
        }
    }

    fn finish(mut self) -> Result<RawEvent, String> {
        if let Some(what) = self.oversize {
            return Err(format!(
                "event with {what}: not an event as Windows writes it, skipped"
            ));
        }
        let problem = |m: String| m;
        let id = self.event_id.as_deref().map(str::trim).unwrap_or_default();
        let id: u32 = id
            .parse()
            .map_err(|_| problem(format!("EventID {id:?} is not a number")))?;
        // Some exports keep the full 32-bit message id; the event id is its low word.
        self.ev.event_id = (id & 0xFFFF) as u16;
        self.ev.qualifiers = self
            .qualifiers
            .as_deref()
            .and_then(|q| q.trim().parse().ok());
        if let Some(rid) = self.record_id.as_deref() {
            self.ev.record_id = Some(
                rid.trim()
                    .parse()
                    .map_err(|_| problem(format!("EventRecordID {rid:?} is not a number")))?,
            );
        }
        if let Some(t) = self.time.as_deref() {
            self.ev.time = Some(
                parse_system_time(t)
                    .ok_or_else(|| problem(format!("TimeCreated {t:?} is not a UTC time")))?,
            );
        }
        Ok(self.ev)
    }
}

/// `SystemTime` as written by wevtutil (7 digits), Event Viewer (9 digits) or the `evtx` crate.
pub fn parse_system_time(t: &str) -> Option<jiff::Timestamp> {
    let t = t.trim();
    t.parse::<jiff::Timestamp>().ok().or_else(|| {
        // Some tools drop the zone designator; Windows always writes UTC.
        format!("{t}Z").parse().ok()
    })
}

/// Wraps a byte stream so that the XML parser sees UTF-8, whatever the file's encoding.
/// A UTF-16 file read without this gives 0 events and no error (stack notes §5).
/// With a BOM the decoder finds the encoding itself; without one it must be told (a UTF-16 file
/// without BOM or declaration is otherwise read as UTF-8).
pub fn event_reader<'a, R: BufRead + 'a>(
    inner: R,
    encoding: TextEncoding,
    has_bom: bool,
) -> EventXmlReader<Box<dyn BufRead + 'a>> {
    let reader: Box<dyn BufRead + 'a> = match encoding.utf16_decoder() {
        None => Box::new(inner),
        Some(enc) => {
            let mut dr = DecodingReader::new(inner);
            if !has_bom {
                dr.set_encoding(enc);
            }
            Box::new(dr)
        }
    };
    EventXmlReader::new(reader)
}
