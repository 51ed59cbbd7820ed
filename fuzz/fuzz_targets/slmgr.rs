//! `slmgr /dlv` and `/dli` output in any encoding Windows writes text files in.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = kmslens::sources::encoding::decode(data);
    let _ = kmslens::ingest::slmgr::parse(&text);
});
