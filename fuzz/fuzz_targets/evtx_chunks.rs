//! The EVTX reader as kmslens drives it: a valid file header, then fuzzed chunks, read with the
//! chunk prefilter and the typed BinXML reader on, and both off. Seeds are chunks cut from real and simulated logs.
#![no_main]

use kmslens::ingest::evtx::{EvtxOptions, read};
use kmslens::ingest::report::SourceReport;
use libfuzzer_sys::fuzz_target;

/// The 4096-byte file header of a real log of the corpus (its chunk count does not matter:
/// kmslens reads chunks until the file ends).
static HEADER: &[u8] = include_bytes!("../evtx-header.bin");

fuzz_target!(|data: &[u8]| {
    let mut file = HEADER.to_vec();
    file.extend_from_slice(data);
    for (prefilter, typed) in [(true, true), (false, false)] {
        let mut report = SourceReport::new("fuzzed.evtx".into(), kmslens::sources::sniff::SourceKind::Evtx);
        read(&mut file.as_slice(), EvtxOptions { prefilter, typed }, &mut report);
    }
});
