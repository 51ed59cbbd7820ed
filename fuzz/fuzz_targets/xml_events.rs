//! The XML event reader on any bytes, in each encoding it is told to read (UTF-8, UTF-16LE/BE,
//! with or without BOM), every event decoded as the ingest would.
#![no_main]

use kmslens::ingest::xml::event_reader;
use kmslens::sources::encoding::TextEncoding;
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else { return };
    let encoding = match mode % 3 {
        0 => TextEncoding::Utf8,
        1 => TextEncoding::Utf16Le,
        _ => TextEncoding::Utf16Be,
    };
    let source: Arc<str> = "fuzzed.xml".into();
    let mut reader = event_reader(body, encoding, mode & 4 != 0);
    let mut n = 0;
    while let Some(item) = reader.next_event() {
        if let Ok(raw) = item {
            let _ = kmslens::kms::decode::decode(&raw, &source, &mut Default::default());
        }
        n += 1;
        assert!(n <= body.len() + 1, "more events than bytes: the reader does not advance");
    }
});
