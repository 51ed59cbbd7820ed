//! Zip archives: the central directory walk, the local-header walk of a damaged archive, nested
//! zips, the bomb and traversal limits. Seeds are the zips of `samples/`.
#![no_main]

use kmslens::ingest::report::Status;
use kmslens::ingest::{INTERNAL_ERROR, IngestOptions, ingest_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = IngestOptions { source_timeout: None, ..IngestOptions::default() };
    let bundle = ingest_bytes(&[("case/PC1.zip", data)], &opts);
    for s in &bundle.sources {
        if let Status::Unreadable(reason) = &s.status {
            assert!(!reason.starts_with(INTERNAL_ERROR), "{}: {reason}", s.source);
        }
    }
});
