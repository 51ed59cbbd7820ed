//! Text renderings of events (Event Viewer "Copy details", Get-WinEvent | Format-List, wevtutil
//! /f:text), in any encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source: std::sync::Arc<str> = "fuzzed.txt".into();
    let text = kmslens::sources::encoding::decode(data);
    for e in kmslens::ingest::text::parse(&text, &jiff::tz::TimeZone::UTC) {
        let _ = kmslens::kms::decode::decode(&e.raw, &source, &mut Default::default());
    }
});
