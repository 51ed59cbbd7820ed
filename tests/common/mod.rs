#![allow(dead_code)]
//! Helpers shared by the integration tests.

use indicatif::ProgressBar;
use kmslens::ingest::{self, IngestOptions, Ingested};
use std::path::{Path, PathBuf};

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub fn corpus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/real")
        .join(rel)
}

pub fn read(paths: &[PathBuf]) -> Ingested {
    ingest::ingest(paths, &IngestOptions::default(), &ProgressBar::hidden())
}

pub fn read_one(path: &Path) -> Ingested {
    read(&[path.to_path_buf()])
}

/// Rows as the `events` command prints them, without the source column.
pub fn rows_without_source(b: &Ingested) -> Vec<serde_json::Map<String, serde_json::Value>> {
    b.events
        .iter()
        .map(|e| {
            let mut r = kmslens::report::rows::row(e);
            r.remove("source");
            r
        })
        .collect()
}

pub fn utf16(text: &str, le: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(if le { &[0xFF, 0xFE] } else { &[0xFE, 0xFF] });
    }
    for u in text.encode_utf16() {
        out.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
    }
    out
}
