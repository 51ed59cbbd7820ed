//! Bundles as support engineers receive them: folders zipped, zips inside folders and inside
//! zips, and archives built to hurt (bombs, too many entries, traversal names, corrupt files).

use crate::common;

use common::*;
use kmslens::ingest::report::Status;
use kmslens::ingest::{self, IngestOptions};
use kmslens::sources::archive::ZipLimits;
use std::io::Write;
use std::path::Path;
use zip::write::SimpleFileOptions;

fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        if name.ends_with('/') {
            w.add_directory(*name, opts).unwrap();
        } else {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

fn fixture_bytes(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap()
}

fn with_limits(paths: &[&Path], zip: ZipLimits) -> ingest::Ingested {
    let paths: Vec<_> = paths.iter().map(|p| p.to_path_buf()).collect();
    ingest::ingest(
        &paths,
        &IngestOptions {
            zip,
            ..IngestOptions::default()
        },
        &indicatif::ProgressBar::hidden(),
    )
}

#[test]
fn zipped_folders_and_nested_zips_give_the_same_events_as_the_files() {
    let plain = read(&[
        fixture("xml/wevtutil-rendered.xml"),
        fixture("xml/eventviewer-saved.xml"),
    ]);
    let inner = zip_bytes(&[(
        "client02/Application.xml",
        &fixture_bytes("xml/eventviewer-saved.xml"),
    )]);
    let outer = zip_bytes(&[
        ("bundle/", b""),
        (
            "bundle/kms01/Application-export",
            &fixture_bytes("xml/wevtutil-rendered.xml"),
        ),
        ("bundle/client02.zip", &inner),
        ("bundle/notes.txt", b"collected by the help desk"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case-12345.zip");
    std::fs::write(&path, outer).unwrap();
    let zipped = read_one(&path);
    assert_eq!(rows_without_source(&zipped).len(), plain.events.len());
    let mut a = rows_without_source(&zipped);
    let mut b = rows_without_source(&plain);
    let key = |r: &serde_json::Map<String, serde_json::Value>| {
        (r["time"].to_string(), r["record_id"].to_string())
    };
    a.sort_by_key(key);
    b.sort_by_key(key);
    assert_eq!(a, b);
    let labels: Vec<&str> = zipped.sources.iter().map(|s| &*s.source).collect();
    let outer_label = path.display().to_string();
    assert!(
        labels.contains(&format!("{outer_label}!bundle/kms01/Application-export").as_str()),
        "{labels:?}"
    );
    assert!(
        labels.contains(
            &format!("{outer_label}!bundle/client02.zip!client02/Application.xml").as_str()
        ),
        "{labels:?}"
    );
    let notes = zipped
        .sources
        .iter()
        .find(|s| s.source.ends_with("notes.txt"))
        .unwrap();
    assert!(matches!(notes.status, Status::Skipped(_)));
    // Evidence names the path inside the bundle.
    assert!(zipped.events.iter().any(|e| {
        e.source()
            .ends_with("client02.zip!client02/Application.xml")
    }));
}

#[test]
fn evtx_inside_a_zip_is_streamed() {
    let evtx = std::fs::read(corpus("fukusuket__evtx-parser/Application.evtx")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs.zip");
    std::fs::write(&path, zip_bytes(&[("PC/Application.evtx", &evtx)])).unwrap();
    let zipped = read_one(&path);
    let direct = read_one(&corpus("fukusuket__evtx-parser/Application.evtx"));
    assert_eq!(rows_without_source(&zipped), rows_without_source(&direct));
    assert_eq!(zipped.events.len(), 57);
}

#[test]
fn a_zip_bomb_is_stopped_and_the_rest_still_read() {
    // Looks like an event export, so it is read, and expands a thousandfold.
    let mut padded = b"<Events><Event>".to_vec();
    padded.resize(8 << 20, b' ');
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.zip");
    std::fs::write(
        &bomb,
        zip_bytes(&[
            ("zeros.bin", &padded),
            ("app.xml", &fixture_bytes("xml/wevtutil-rendered.xml")),
        ]),
    )
    .unwrap();
    let limits = ZipLimits {
        max_ratio: 50,
        ratio_floor_bytes: 1 << 20,
        ..ZipLimits::default()
    };
    let b = with_limits(&[&bomb], limits);
    let entry = b
        .sources
        .iter()
        .find(|s| s.source.ends_with("zeros.bin"))
        .unwrap();
    let msg = entry
        .tally
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        msg.contains("zip bomb guard") && msg.contains("zeros.bin"),
        "{msg}"
    );
    assert_eq!(b.events.len(), 5, "the other entry is still read");

    // The total across an archive is capped too.
    let limits = ZipLimits {
        max_total_bytes: 1 << 20,
        ..ZipLimits::default()
    };
    let b = with_limits(&[&bomb], limits);
    let all = b
        .sources
        .iter()
        .flat_map(|s| &s.tally.diagnostics)
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(all.contains("archive expands beyond"), "{all}");
}

#[test]
fn hostile_names_counts_and_depth() {
    let dir = tempfile::tempdir().unwrap();
    // Names are labels only: nothing is written, control characters cannot forge output lines.
    let traversal = dir.path().join("names.zip");
    std::fs::write(
        &traversal,
        zip_bytes(&[
            (
                "../../../../tmp/evil\n.xml",
                &fixture_bytes("xml/wevtutil-rendered.xml"),
            ),
            ("C:\\Windows\\x.xml", b"<Events></Events>"),
        ]),
    )
    .unwrap();
    let b = read_one(&traversal);
    assert_eq!(b.events.len(), 5);
    assert!(
        b.sources
            .iter()
            .any(|s| s.source.ends_with("!../../../../tmp/evil?.xml"))
    );
    assert!(
        b.sources
            .iter()
            .any(|s| s.source.ends_with("!C:/Windows/x.xml"))
    );
    assert!(!Path::new("/tmp/evil\n.xml").exists());

    let many: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| (format!("f{i}.txt"), b"x".to_vec()))
        .collect();
    let refs: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let crowded = dir.path().join("crowded.zip");
    std::fs::write(&crowded, zip_bytes(&refs)).unwrap();
    let b = with_limits(
        &[&crowded],
        ZipLimits {
            max_entries: 5,
            ..ZipLimits::default()
        },
    );
    assert_eq!(b.sources.len(), 6, "the archive and its first 5 entries");
    assert!(
        b.sources[0].tally.diagnostics[0]
            .message
            .contains("20 entries, over the limit of 5")
    );

    // Zips nested deeper than the limit are not opened.
    let mut nested = zip_bytes(&[("app.xml", &fixture_bytes("xml/wevtutil-rendered.xml"))]);
    for i in 0..3 {
        nested = zip_bytes(&[(&format!("level{i}.zip"), &nested)]);
    }
    let deep = dir.path().join("deep.zip");
    std::fs::write(&deep, nested).unwrap();
    assert_eq!(
        read_one(&deep).events.len(),
        5,
        "4 levels are within the default limit"
    );
    let b = with_limits(
        &[&deep],
        ZipLimits {
            max_depth: 2,
            ..ZipLimits::default()
        },
    );
    assert_eq!(b.events.len(), 0);
    assert!(
        b.sources
            .iter()
            .any(|s| matches!(&s.status, Status::Skipped(r) if r.contains("nested")))
    );
}

#[test]
fn a_corrupt_or_truncated_zip_is_one_diagnostic_and_the_bundle_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let good = zip_bytes(&[("app.xml", &fixture_bytes("xml/wevtutil-rendered.xml"))]);
    std::fs::write(dir.path().join("truncated.zip"), &good[..good.len() / 2]).unwrap();
    let mut flipped = good.clone();
    let mid = flipped.len() / 3;
    flipped[mid..mid + 64].iter_mut().for_each(|b| *b ^= 0x5A);
    std::fs::write(dir.path().join("corrupt.zip"), flipped).unwrap();
    std::fs::copy(
        fixture("xml/eventviewer-saved.xml"),
        dir.path().join("ok.xml"),
    )
    .unwrap();
    let b = read_one(dir.path());
    assert_eq!(b.events.len(), 6, "ok.xml is still read");
    let truncated = b
        .sources
        .iter()
        .find(|s| s.source.ends_with("truncated.zip"))
        .unwrap();
    // Cut in the middle of its only entry: what the entry held up to the cut is read, and both
    // the archive and the entry say they were cut.
    assert!(truncated.is_damaged(), "{:?}", truncated.tally.diagnostics);
    let said = truncated
        .tally
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(said.contains("local headers"), "{said}");
    assert!(
        b.sources
            .iter()
            .any(|s| s.source.ends_with("truncated.zip!app.xml") && s.is_damaged())
    );
    let corrupt: Vec<_> = b
        .sources
        .iter()
        .filter(|s| s.source.contains("corrupt.zip"))
        .collect();
    assert!(
        corrupt
            .iter()
            .any(|s| s.is_damaged() || !s.tally.diagnostics.is_empty()),
        "corrupt entry reported"
    );
}

#[test]
fn a_zip_cut_before_its_central_directory_is_read_from_its_local_headers() {
    let dir = tempfile::tempdir().unwrap();
    let whole = zip_bytes(&[
        (
            "PC1/Application.xml",
            &fixture_bytes("xml/wevtutil-rendered.xml"),
        ),
        (
            "PC2/Application.xml",
            &fixture_bytes("xml/eventviewer-saved.xml"),
        ),
    ]);
    // The end-of-central-directory record gives where the directory starts: cut there.
    let eocd = whole.len() - 22;
    assert_eq!(&whole[eocd..eocd + 4], b"PK\x05\x06");
    let cd = u32::from_le_bytes(whole[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    let path = dir.path().join("download.zip");
    std::fs::write(&path, &whole[..cd]).unwrap();
    let b = read_one(&path);
    assert_eq!(b.events.len(), 11, "both entries, read in full");
    let archive = &b.sources[0];
    assert_eq!(
        archive.detail.as_deref(),
        Some("2 entries, no central directory")
    );
    assert!(archive.is_damaged());
    assert!(
        b.sources
            .iter()
            .any(|s| s.source.ends_with("download.zip!PC2/Application.xml"))
    );
}
