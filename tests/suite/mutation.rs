//! Damaged copies of real logs (bytes flipped, cut, zeroed): never a panic, never a stop, and
//! each damage reported against its file.

use crate::common;

use common::*;
use kmslens::ingest::report::Status;

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn flipped_cut_and_zeroed_copies_of_real_logs() {
    let dir = tempfile::tempdir().unwrap();
    // A zip of a client folder, as support sends it, damaged like the rest.
    let zipped = dir.path().join("client.zip.orig");
    {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::fs::File::create(&zipped).unwrap());
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, path) in [
            (
                "PC/Application.evtx",
                corpus("omerbenamram__evtx/Application_no_crc32.evtx"),
            ),
            ("PC/app.xml", fixture("xml/wevtutil-rendered.xml")),
        ] {
            w.start_file(name, opts).unwrap();
            w.write_all(&std::fs::read(path).unwrap()).unwrap();
        }
        w.finish().unwrap();
    }
    let originals = [
        corpus("fukusuket__evtx-parser/Application.evtx"),
        corpus("omerbenamram__evtx/Application_no_crc32.evtx"),
        fixture("exported/Mandumpal-Application.viewer.xml"),
        fixture("xml/wevtutil-rendered.xml"),
        fixture("slmgr/host-2012r2-dlv.txt"),
        fixture("text/wevtutil-text.txt"),
        zipped,
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut paths = Vec::new();
    for (i, orig) in originals.iter().enumerate() {
        let data = std::fs::read(orig).unwrap();
        for k in 0..12 {
            let mut d = data.clone();
            match k % 3 {
                0 => {
                    for _ in 0..64 {
                        let at = (rng.next() as usize) % d.len();
                        d[at] ^= 1 << (rng.next() % 8);
                    }
                }
                1 => d.truncate((rng.next() as usize) % d.len()),
                _ => {
                    let at = (rng.next() as usize) % d.len();
                    let end = (at + 4096).min(d.len());
                    d[at..end].iter_mut().for_each(|b| *b = 0);
                }
            }
            let p = dir.path().join(format!("m{i}-{k}"));
            std::fs::write(&p, d).unwrap();
            paths.push(p);
        }
    }
    let good = dir.path().join("good.xml");
    std::fs::copy(fixture("xml/eventviewer-saved.xml"), &good).unwrap();
    paths.push(good.clone());
    let b = read(&paths);
    // The intact file is read in full whatever happened to the others.
    let good_label = good.display().to_string();
    assert_eq!(
        b.events
            .iter()
            .filter(|e| **e.source() == *good_label)
            .count(),
        6
    );
    for s in &b.sources {
        assert!(
            !s.tally
                .diagnostics
                .iter()
                .any(|d| d.message.contains("internal error")),
            "{}: {:?}",
            s.source,
            s.tally.diagnostics
        );
        if matches!(s.status, Status::Unreadable(_)) {
            assert!(!s.tally.diagnostics.is_empty());
        }
    }
}
