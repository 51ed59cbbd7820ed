//! Any bytes as a file of a bundle: sniffed by content, then read by whichever reader claims it
//! (EVTX, XML in every encoding, text renderings, slmgr output, zip). A panic in a reader is
//! caught by kmslens and reported as an internal error: that counts as a crash here.
#![no_main]

use kmslens::ingest::{INTERNAL_ERROR, IngestOptions, ingest_bytes};
use kmslens::ingest::report::Status;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = IngestOptions { source_timeout: None, ..IngestOptions::default() };
    let bundle = ingest_bytes(&[("case/PC1/fuzzed.log", data)], &opts);
    for s in &bundle.sources {
        if let Status::Unreadable(reason) = &s.status {
            assert!(!reason.starts_with(INTERNAL_ERROR), "{}: {reason}", s.source);
        }
    }
});
