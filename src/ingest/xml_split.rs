//! One large XML export read on every core: the byte stream is cut into blocks that end after
//! the `</Event>` of a top-level event (found in the file's own encoding, so UTF-16 is cut before
//! it is decoded), and the blocks are decoded and parsed in parallel, a few at a time, their
//! results merged in file order. Memory stays bounded by the blocks in flight.

use super::report::{Loss, SourceReport, Tally};
use super::xml::EventXmlReader;
use crate::kms::RawEvent;
use crate::messages::Location;
use crate::sources::encoding::TextEncoding;
use memchr::memmem;
use rayon::prelude::*;
use std::io::{self, BufReader, Cursor, Read};
use std::sync::Arc;

/// A block is cut at the first event end after this many bytes.
const BLOCK_BYTES: usize = 8 << 20;
/// A file with no event end in this many bytes is not cut (a prefixed or unusual layout): the
/// rest of it is read by the streaming reader instead.
const MAX_BLOCK_BYTES: usize = 64 << 20;

/// Where the stream is in the file's own encoding: code-unit width and byte order.
#[derive(Clone, Copy)]
struct Units {
    width: usize,
    big_endian: bool,
}

impl Units {
    fn of(encoding: TextEncoding) -> Self {
        match encoding {
            TextEncoding::Utf8 => Units {
                width: 1,
                big_endian: false,
            },
            TextEncoding::Utf16Le => Units {
                width: 2,
                big_endian: false,
            },
            TextEncoding::Utf16Be => Units {
                width: 2,
                big_endian: true,
            },
        }
    }

    /// `s` (ASCII) as it is written in this encoding.
    fn encode(self, s: &str) -> Vec<u8> {
        s.bytes()
            .flat_map(|b| match (self.width, self.big_endian) {
                (1, _) => vec![b],
                (_, false) => vec![b, 0],
                (_, true) => vec![0, b],
            })
            .collect()
    }

    /// The ASCII character at byte `at`, if the code unit there is one.
    fn ascii(self, buf: &[u8], at: usize) -> Option<u8> {
        match (self.width, self.big_endian) {
            (1, _) => buf.get(at).copied().filter(u8::is_ascii),
            (_, false) => match buf.get(at..at + 2)? {
                [c, 0] if c.is_ascii() => Some(*c),
                _ => None,
            },
            (_, true) => match buf.get(at..at + 2)? {
                [0, c] if c.is_ascii() => Some(*c),
                _ => None,
            },
        }
    }

    /// The ASCII text from byte `at` on, up to `n` characters, stopping at the first non-ASCII unit.
    fn ascii_from(self, buf: &[u8], at: usize, n: usize) -> Vec<u8> {
        (0..n)
            .map_while(|i| self.ascii(buf, at + i * self.width))
            .collect()
    }
}

/// A piece of the file that holds whole events.
struct Block {
    bytes: Vec<u8>,
    /// Byte offset of `bytes[0]` in the file.
    offset: u64,
    /// Bytes at the start that are a byte order mark.
    bom: usize,
}

enum Next {
    Block(Block),
    /// No event end found: the carried bytes and the unread rest go to the streaming reader.
    Unsplittable(Vec<u8>, u64),
    End,
    /// The stream could not be read further.
    Failed(io::Error),
}

struct Splitter<R: Read> {
    input: R,
    units: Units,
    end_tag: Vec<u8>,
    buf: Vec<u8>,
    /// Buffers of parsed blocks, filled again: a fresh 8 MiB buffer per block was faulted in
    /// page by page each time.
    spare: Vec<Vec<u8>>,
    offset: u64,
    bom: usize,
    eof: bool,
    /// `BLOCK_BYTES` and `MAX_BLOCK_BYTES`, smaller in the tests.
    block: usize,
    max_block: usize,
}

impl<R: Read> Splitter<R> {
    fn new(input: R, encoding: TextEncoding, bom: bool) -> Self {
        let units = Units::of(encoding);
        let bom = match (bom, encoding) {
            (false, _) => 0,
            (true, TextEncoding::Utf8) => 3,
            (true, _) => 2,
        };
        Splitter {
            input,
            units,
            end_tag: units.encode("</Event>"),
            buf: Vec::new(),
            spare: Vec::new(),
            offset: 0,
            bom,
            eof: false,
            block: BLOCK_BYTES,
            max_block: MAX_BLOCK_BYTES,
        }
    }

    /// Reads until the carried bytes reach `len` or the stream ends.
    fn fill(&mut self, len: usize) -> io::Result<()> {
        let want = len.saturating_sub(self.buf.len());
        if want > 0 && !self.eof {
            let got = (&mut self.input)
                .take(want as u64)
                .read_to_end(&mut self.buf)?;
            self.eof = got < want;
        }
        Ok(())
    }

    fn next(&mut self) -> Next {
        let mut target = self.block;
        loop {
            if let Err(e) = self.fill(target) {
                return Next::Failed(e);
            }
            if self.buf.is_empty() {
                return Next::End;
            }
            let cut = if self.eof {
                Some(self.buf.len())
            } else {
                self.last_event_end()
            };
            if let Some(cut) = cut {
                let mut rest = self.spare.pop().unwrap_or_default();
                rest.clear();
                rest.extend_from_slice(&self.buf[cut..]);
                self.buf.truncate(cut);
                let bytes = std::mem::replace(&mut self.buf, rest);
                let block = Block {
                    offset: self.offset,
                    bom: std::mem::take(&mut self.bom),
                    bytes,
                };
                self.offset += cut as u64;
                return Next::Block(block);
            }
            if self.buf.len() >= self.max_block {
                let offset = self.offset;
                return Next::Unsplittable(std::mem::take(&mut self.buf), offset);
            }
            target = self.buf.len() + self.block;
        }
    }

    /// The byte just after the last `</Event>` in the carried bytes that closes a top-level event:
    /// what follows it is another event, the end of an `<Events>` root, or a comment. An
    /// `</Event>` inside `UserData` is not one; one too near the end to tell is not used.
    fn last_event_end(&self) -> Option<usize> {
        let u = self.units;
        let finder = memmem::FinderRev::new(&self.end_tag);
        let mut hay = &self.buf[..];
        while let Some(at) = finder.rfind(hay) {
            hay = &self.buf[..at];
            if at % u.width != 0 {
                continue;
            }
            let end = at + self.end_tag.len();
            let mut next = end;
            while matches!(u.ascii(&self.buf, next), Some(b' ' | b'\t' | b'\r' | b'\n')) {
                next += u.width;
            }
            let follows = u.ascii_from(&self.buf, next, 8);
            let top_level = follows.starts_with(b"<!--")
                || follows.starts_with(b"</Events")
                || (follows.starts_with(b"<Event")
                    && matches!(follows.get(6), Some(b' ' | b'>' | b'\t' | b'\r' | b'\n')));
            if top_level {
                return Some(end);
            }
        }
        None
    }
}

/// What one block gave; `gave_up` when its reader stopped before the block's end (too many
/// errors in a row), after which the file is not read further, as one stream would not be.
/// The block's buffer comes back to be filled again.
struct Parsed {
    tally: Tally,
    gave_up: bool,
    bytes: Vec<u8>,
}

fn parse(block: Block, encoding: TextEncoding, label: &Arc<str>) -> Parsed {
    let Some(enc) = encoding.utf16_decoder() else {
        return parse_text(block, encoding, None, label);
    };
    // The decoded text goes into the thread's buffer, reused from block to block: a fresh 12 MiB
    // for each block was faulted in page by page every time once the allocator had given the
    // last one back.
    thread_local! {
        static DECODED: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    DECODED.with(|cell| {
        let (mut borrowed, mut own) = (cell.try_borrow_mut(), String::new());
        let text = borrowed.as_deref_mut().unwrap_or(&mut own);
        decode_into(enc, &block.bytes[block.bom..], text);
        parse_text(block, encoding, Some(text), label)
    })
}

/// UTF-16 to UTF-8, as `decode_without_bom_handling` does (malformed units become U+FFFD), into
/// `out`'s room.
fn decode_into(enc: &'static encoding_rs::Encoding, bytes: &[u8], out: &mut String) {
    out.clear();
    let mut decoder = enc.new_decoder_without_bom_handling();
    out.reserve(
        decoder
            .max_utf8_buffer_length(bytes.len())
            .unwrap_or(bytes.len()),
    );
    let mut from = 0;
    loop {
        let (result, read, _) = decoder.decode_to_string(&bytes[from..], out, true);
        from += read;
        match result {
            encoding_rs::CoderResult::InputEmpty => return,
            encoding_rs::CoderResult::OutputFull => out.reserve(out.capacity().max(4096)),
        }
    }
}

/// Parses a block's text: `decoded` when it was UTF-16, else its own bytes.
fn parse_text(
    block: Block,
    encoding: TextEncoding,
    decoded: Option<&str>,
    label: &Arc<str>,
) -> Parsed {
    let text = decoded.map_or(&block.bytes[..], str::as_bytes);
    let mut tally = Tally::default();
    let offset = |at: u64| file_offset(&block, encoding, text, at as usize);
    let gave_up = read_events(text, Text::Utf8, &mut tally, label, offset);
    Parsed {
        tally,
        gave_up,
        bytes: block.bytes,
    }
}

/// How the bytes given to `read_events` are encoded.
enum Text {
    /// Decoded already.
    Utf8,
    /// In the file's encoding, with or without its byte order mark.
    File(TextEncoding, bool),
}

/// Reads the events of `input` into `tally`; problems are placed at the file offset `at` gives.
/// True when the reader gave up before the end.
fn read_events(
    input: impl std::io::BufRead,
    text: Text,
    tally: &mut Tally,
    label: &Arc<str>,
    at: impl Fn(u64) -> u64,
) -> bool {
    let mut reader = match text {
        Text::File(encoding, bom) => super::xml::event_reader(input, encoding, bom),
        Text::Utf8 => EventXmlReader::new(Box::new(input) as Box<dyn std::io::BufRead>),
    };
    while let Some(item) = reader.next_event() {
        match item {
            Ok(raw) => keep(tally, raw, label),
            Err(p) => {
                let loc = Some(Location::Offset(at(p.offset)));
                tally.damage(Loss::Record, label, loc, p.message);
            }
        }
    }
    reader.gave_up()
}

fn keep(tally: &mut Tally, raw: RawEvent, label: &Arc<str>) {
    tally.records += 1;
    if let Some(ts) = raw.time {
        tally.see_time(ts);
    }
    tally.keep(&raw, label);
}

/// The file offset of byte `at` of a block's decoded text.
fn file_offset(block: &Block, encoding: TextEncoding, text: &[u8], at: usize) -> u64 {
    let in_block = match encoding {
        TextEncoding::Utf8 => at,
        _ => {
            let prefix = String::from_utf8_lossy(&text[..at.min(text.len())]);
            block.bom + 2 * prefix.chars().map(char::len_utf16).sum::<usize>()
        }
    };
    block.offset + in_block as u64
}

/// Reads an XML export into `report`, in parallel when it is large.
pub fn read(input: impl Read, encoding: TextEncoding, bom: bool, report: &mut SourceReport) {
    read_in_blocks(input, encoding, bom, report, (BLOCK_BYTES, MAX_BLOCK_BYTES));
}

fn read_in_blocks(
    input: impl Read,
    encoding: TextEncoding,
    bom: bool,
    report: &mut SourceReport,
    (block, max_block): (usize, usize),
) {
    let label = report.source.clone();
    let in_flight = rayon::current_num_threads().max(2);
    let mut splitter = Splitter::new(input, encoding, bom);
    splitter.block = block;
    splitter.max_block = max_block;
    loop {
        let mut blocks = Vec::with_capacity(in_flight);
        // What ended this batch before it was full, if anything.
        let stop = loop {
            if blocks.len() == in_flight {
                break None;
            }
            match splitter.next() {
                Next::Block(b) => blocks.push(b),
                other => break Some(other),
            }
        };
        let parsed: Vec<Parsed> = blocks
            .into_par_iter()
            .map(|b| parse(b, encoding, &label))
            .collect();
        for p in parsed {
            report.tally.merge(p.tally);
            if p.gave_up {
                return;
            }
            splitter.spare.push(p.bytes);
        }
        let Some(stop) = stop else { continue };
        match stop {
            Next::End | Next::Block(_) => return,
            Next::Failed(e) => {
                let at = Some(Location::Offset(splitter.offset));
                let msg = format!("read failed, rest of the file lost: {e}");
                return report.damage(Loss::Record, at, msg);
            }
            Next::Unsplittable(carried, offset) => {
                // Offsets from here on are in the decoded stream, counted from `offset`.
                let rest = BufReader::new(Cursor::new(carried).chain(splitter.input));
                let tally = &mut report.tally;
                let text = Text::File(encoding, bom && offset == 0);
                read_events(rest, text, tally, &label, |at| offset + at);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::sniff::SourceKind;

    const EVENT: &str = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-SPP'/><EventID Qualifiers='16384'>1003</EventID><TimeCreated SystemTime='2024-01-01T00:00:00.000Z'/><EventRecordID>7</EventRecordID><Channel>Application</Channel><Computer>PC1</Computer></System><EventData><Data>x</Data><Data>y</Data></EventData></Event>";

    fn blocks(text: &[u8], encoding: TextEncoding, block: usize, max: usize) -> Vec<Next> {
        let mut s = Splitter::new(text, encoding, false);
        s.block = block;
        s.max_block = max;
        let mut out = Vec::new();
        loop {
            match s.next() {
                Next::End => return out,
                n @ Next::Unsplittable(..) => {
                    out.push(n);
                    return out;
                }
                n => out.push(n),
            }
        }
    }

    fn bytes_of(n: &Next) -> &[u8] {
        match n {
            Next::Block(b) => &b.bytes,
            Next::Unsplittable(b, _) => b,
            Next::End | Next::Failed(_) => &[],
        }
    }

    #[test]
    fn blocks_end_after_top_level_events_only_in_every_encoding() {
        let nested = EVENT.replace(
            "<EventData><Data>x</Data><Data>y</Data></EventData>",
            "<UserData><Event><Inner/></Event>\r\n</UserData>",
        );
        let doc = format!(
            "<?xml version='1.0'?><Events>{EVENT}\r\n{nested}\r\n{EVENT}<!-- c -->{EVENT}</Events>"
        );
        for (encoding, bytes) in [
            (TextEncoding::Utf8, doc.as_bytes().to_vec()),
            (
                TextEncoding::Utf16Le,
                doc.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            ),
            (
                TextEncoding::Utf16Be,
                doc.encode_utf16().flat_map(u16::to_be_bytes).collect(),
            ),
        ] {
            let parts = blocks(&bytes, encoding, 64, 1 << 20);
            assert!(parts.len() >= 4, "{encoding:?}: {} blocks", parts.len());
            let parts: Vec<&[u8]> = parts.iter().map(bytes_of).collect();
            assert_eq!(
                parts.concat(),
                bytes,
                "{encoding:?}: nothing lost or repeated"
            );
            let units = Units::of(encoding);
            for p in &parts[..parts.len() - 1] {
                let tail = units.ascii_from(p, p.len() - 8 * units.width, 8);
                assert_eq!(tail, b"</Event>", "{encoding:?}");
                let text: String = (0..p.len() / units.width)
                    .filter_map(|i| units.ascii(p, i * units.width).map(char::from))
                    .collect();
                assert!(!text.ends_with("<Inner/></Event>"), "cut inside UserData");
            }
        }
    }

    #[test]
    fn a_file_without_event_ends_is_handed_on_whole() {
        let doc = EVENT.replace("</Event>", "</e:Event>").repeat(10);
        let parts = blocks(doc.as_bytes(), TextEncoding::Utf8, 64, 256);
        assert!(matches!(parts[..], [Next::Unsplittable(_, 0)]));
        assert!(bytes_of(&parts[0]).len() >= 256);
    }

    /// Decoding into the thread's reused buffer gives what a fresh decode gives, malformed UTF-16
    /// included (lone surrogates, an odd last byte: U+FFFD), whatever the buffer held before.
    #[test]
    fn decoding_into_a_reused_buffer_matches_a_fresh_decode() {
        let units = |u: &[u16], be: bool| -> Vec<u8> {
            u.iter()
                .flat_map(|u| if be { u.to_be_bytes() } else { u.to_le_bytes() })
                .collect()
        };
        let mut reused = String::from("left over from the last block, longer than some inputs");
        for enc in [encoding_rs::UTF_16LE, encoding_rs::UTF_16BE] {
            let be = enc == encoding_rs::UTF_16BE;
            let mut inputs = vec![
                vec![],
                units(&[0x3C, 0x45, 0xE9, 0x4E2D], be),
                units(&[0xD83D, 0xDE00, 0x41], be),
                units(&[0xD800, 0x41, 0xDC00, 0xDC00, 0xD800], be),
            ];
            let mut odd = units(&[0x41, 0x42], be);
            odd.push(0x43);
            inputs.push(odd);
            inputs.push(units(&[0x20AC; 5000], be));
            for bytes in inputs {
                decode_into(enc, &bytes, &mut reused);
                let (fresh, _) = enc.decode_without_bom_handling(&bytes);
                assert_eq!(reused, fresh, "{enc:?} {bytes:?}");
            }
        }
    }

    /// A Event Viewer "Save as XML" file (UTF-16LE, BOM, `<Events>` root) with damaged events
    /// among good ones, read in blocks of 2 KiB and in one stream, gives the same events,
    /// records, losses and problems.
    #[test]
    fn blocks_read_in_parallel_give_what_one_stream_gives() {
        let mut doc = String::from("<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Events>");
        for i in 0..400 {
            let ev = EVENT
                .replace("<EventRecordID>7<", &format!("<EventRecordID>{i}<"))
                .replace("1003", if i % 3 == 0 { "12288" } else { "1003" });
            match i % 97 {
                13 => doc.push_str(&ev.replace("</System>", "</Sys>")),
                50 => doc.push_str(&ev[..ev.len() / 2]),
                _ => doc.push_str(&ev),
            }
            doc.push_str("\r\n");
        }
        doc.push_str("</Events>");
        for (encoding, bytes) in [
            (TextEncoding::Utf8, doc.as_bytes().to_vec()),
            (
                TextEncoding::Utf16Le,
                [0xFF, 0xFE]
                    .into_iter()
                    .chain(doc.encode_utf16().flat_map(u16::to_le_bytes))
                    .collect(),
            ),
        ] {
            let bom = encoding != TextEncoding::Utf8;
            let mut split = SourceReport::new("x.xml".into(), SourceKind::Xml);
            read_in_blocks(&bytes[..], encoding, bom, &mut split, (2048, 1 << 20));
            let mut whole = SourceReport::new("x.xml".into(), SourceKind::Xml);
            let label = whole.source.clone();
            let text = Text::File(encoding, bom);
            read_events(&bytes[..], text, &mut whole.tally, &label, |at| at);
            assert!(split.tally.events.len() > 100, "{encoding:?}");
            assert!(
                split.tally.events.iter().eq(whole.tally.events.iter()),
                "{encoding:?}"
            );
            assert_eq!(split.tally.records, whole.tally.records, "{encoding:?}");
            assert_eq!(split.tally.lost, whole.tally.lost, "{encoding:?}");
            assert!(split.tally.lost.total() >= 4, "{encoding:?}");
            let messages = |r: &SourceReport| -> Vec<String> {
                r.tally
                    .diagnostics
                    .iter()
                    .map(|d| d.message.clone())
                    .collect()
            };
            assert_eq!(messages(&split), messages(&whole), "{encoding:?}");
            if encoding == TextEncoding::Utf8 {
                let at = |r: &SourceReport| -> Vec<String> {
                    r.tally
                        .diagnostics
                        .iter()
                        .map(|d| format!("{:?}", d.location))
                        .collect()
                };
                assert_eq!(at(&split), at(&whole), "offsets in a UTF-8 file");
            }
        }
    }

    #[test]
    fn a_file_that_cannot_be_cut_is_still_read_whole() {
        let doc = EVENT
            .replace("<Event ", "<e:Event xmlns:e='x' ")
            .replace("</Event>", "</e:Event>")
            .replace("1003", "12288")
            .repeat(50);
        let mut split = SourceReport::new("x.xml".into(), SourceKind::Xml);
        read_in_blocks(
            doc.as_bytes(),
            TextEncoding::Utf8,
            false,
            &mut split,
            (64, 1024),
        );
        assert_eq!(split.tally.records, 50);
        assert_eq!(split.tally.kms_events, 50);
    }
}
