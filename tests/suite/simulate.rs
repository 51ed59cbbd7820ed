//! The simulator writes what Windows writes: EVTX files that the `evtx` crate reads with checksum
//! validation and that python-evtx (an independent parser) reads to the same events, with the
//! same content as the XML export of the same seed.

use crate::common;

use common::*;
use kmslens::simulate::{Fault, SimConfig, SimFormat};
use std::path::{Path, PathBuf};

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p, ext));
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn without_source(dir: &Path) -> Vec<String> {
    let mut rows: Vec<String> = rows_without_source(&read_one(dir))
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    rows.sort();
    rows
}

#[test]
fn evtx_and_xml_of_one_seed_hold_the_same_events_and_findings() {
    let base = SimConfig {
        faults: vec![Fault::DupCmid, Fault::NoResponse, Fault::Tampered],
        noise: 2,
        seed: 21,
        ..SimConfig::default()
    };
    let (xml, truth_x) = simulate(&SimConfig {
        format: SimFormat::Xml,
        ..base.clone()
    });
    let (evtx, truth_e) = simulate(&SimConfig {
        format: SimFormat::Evtx,
        ..base.clone()
    });
    let (mixed, _) = simulate(&SimConfig {
        format: SimFormat::Mixed,
        zip_some: true,
        ..base
    });
    assert_eq!(truth_x, truth_e);
    assert!(!files(evtx.path(), "evtx").is_empty() && files(evtx.path(), "xml").is_empty());
    let rows = without_source(xml.path());
    assert!(rows.len() > 500);
    assert_eq!(rows, without_source(evtx.path()));
    assert_eq!(rows, without_source(mixed.path()));
    let a = analyze(&[evtx.path().to_path_buf()], &[]);
    let b = analyze(&[xml.path().to_path_buf()], &[]);
    let key = |a: &kmslens::analysis::Analysis| {
        a.findings
            .iter()
            .map(|f| (f.rule.clone(), f.message.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&a), key(&b));
    // The reports' event count and time span cover every KMS event read, kept by the analysis or
    // not (an EVTX file's chunks are tallied apart, then merged).
    let read = kmslens::ingest::ingest(
        &[evtx.path().to_path_buf()],
        &Default::default(),
        &indicatif::ProgressBar::hidden(),
    )
    .events;
    assert_eq!(a.overview.events, read.len());
    let span = read.first().zip(read.last()).map(|(f, l)| (f.time, l.time));
    assert_eq!(a.overview.time_span, span);
    assert_eq!(
        (a.overview.events, a.overview.time_span),
        (b.overview.events, b.overview.time_span)
    );
    assert!(
        accuracy(&a, &truth_e).is_empty(),
        "{:#?}",
        accuracy(&a, &truth_e)
    );
}

#[test]
fn evtx_files_pass_full_parsing_with_checksum_validation() {
    let (dir, _) = simulate(&SimConfig {
        clients: 60,
        days: 40,
        format: SimFormat::Evtx,
        noise: 3,
        faults: vec![Fault::NoResponse],
        seed: 4,
        ..SimConfig::default()
    });
    let mut chunks_seen = 0;
    for f in files(dir.path(), "evtx") {
        let settings = evtx::ParserSettings::default()
            .validate_checksums(true)
            .num_threads(1);
        let mut p = evtx::EvtxParser::from_path(&f)
            .unwrap()
            .with_configuration(settings);
        assert!(p.header().validate_checksum(), "{f:?}: file header CRC");
        let mut n = 0;
        for r in p.records() {
            let r = r.unwrap_or_else(|e| panic!("{f:?}: {e}"));
            assert!(r.data.contains("<Event xmlns"));
            n += 1;
        }
        chunks_seen += p.chunks().count();
        let ours = read_one(&f);
        assert_eq!(ours.sources[0].tally.records, n, "{f:?}");
        assert!(
            ours.sources[0].tally.diagnostics.is_empty(),
            "{f:?}: {:?}",
            ours.sources[0].tally.diagnostics
        );
    }
    assert!(
        chunks_seen > 60,
        "logs long enough to span several chunks ({chunks_seen})"
    );
}

#[test]
fn python_evtx_reads_the_same_events() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/export-xml-python-evtx.py");
    let probe = std::process::Command::new("python3")
        .args(["-c", "import Evtx.Evtx"])
        .output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "python-evtx is needed for this test: pip install python-evtx (.ci/run installs it)"
    );
    let (dir, _) = simulate(&SimConfig {
        clients: 12,
        days: 10,
        format: SimFormat::Evtx,
        noise: 1,
        faults: vec![Fault::Tampered, Fault::DnsPublish],
        seed: 8,
        ..SimConfig::default()
    });
    let out = tempfile::tempdir().unwrap();
    for (k, f) in files(dir.path(), "evtx").iter().enumerate() {
        let xml = out.path().join(format!("{k}.xml"));
        let run = std::process::Command::new("python3")
            .arg(&script)
            .arg("viewer")
            .arg(f)
            .arg(&xml)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{f:?}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let from_evtx = rows_without_source(&read_one(f));
        let from_py = rows_without_source(&read_one(&xml));
        assert_eq!(from_evtx.len(), from_py.len(), "{f:?}");
        for (a, b) in from_evtx.iter().zip(&from_py) {
            let (mut a, mut b) = (a.clone(), b.clone());
            let ta: jiff::Timestamp = a.remove("time").unwrap().as_str().unwrap().parse().unwrap();
            let tb: jiff::Timestamp = b.remove("time").unwrap().as_str().unwrap().parse().unwrap();
            assert_eq!(a, b, "{f:?}");
            assert!(ta.duration_since(tb).abs() < jiff::SignedDuration::from_micros(10));
        }
    }
}

#[test]
fn the_same_seed_writes_the_same_bytes() {
    let cfg = SimConfig {
        clients: 10,
        days: 5,
        format: SimFormat::Mixed,
        seed: 99,
        ..SimConfig::default()
    };
    let (a, _) = simulate(&cfg);
    let (b, _) = simulate(&cfg);
    let fa = files(a.path(), "evtx");
    assert!(!fa.is_empty());
    for f in fa.iter().chain(files(a.path(), "xml").iter()) {
        let rel = f.strip_prefix(a.path()).unwrap();
        assert_eq!(
            std::fs::read(f).unwrap(),
            std::fs::read(b.path().join(rel)).unwrap(),
            "{rel:?}"
        );
    }
}

#[test]
fn two_hundred_clients_two_hosts_dup_cmid_and_no_response_in_evtx() {
    let cfg = SimConfig {
        clients: 200,
        hosts: 2,
        days: 30,
        format: SimFormat::Evtx,
        faults: vec![Fault::DupCmid, Fault::NoResponse],
        ..SimConfig::default()
    };
    let (dir, truth) = simulate(&cfg);
    assert!(
        truth.iter().any(|t| t.rule == "KMS-DUP-CMID")
            && truth.iter().any(|t| t.rule == "KMS-NO-RESPONSE")
    );
    let a = analyze(&[dir.path().to_path_buf()], &[]);
    let problems = accuracy(&a, &truth);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_record_prefilter_loses_no_event_among_noise() {
    // Noise records share chunks (and templates tables) with the KMS ones.
    let (dir, _) = simulate(&SimConfig {
        clients: 20,
        days: 10,
        format: SimFormat::Evtx,
        noise: 4,
        faults: vec![Fault::Tampered],
        seed: 31,
        ..SimConfig::default()
    });
    let fast = read_one(dir.path());
    let full = kmslens::ingest::ingest(
        &[dir.path().to_path_buf()],
        &kmslens::ingest::IngestOptions {
            evtx: kmslens::ingest::evtx::EvtxOptions {
                prefilter: false,
                ..Default::default()
            },
            ..Default::default()
        },
        &indicatif::ProgressBar::hidden(),
    );
    assert!(fast.events.len() > 300);
    assert_eq!(fast.events, full.events);
    let records =
        |b: &kmslens::ingest::Ingested| b.sources.iter().map(|s| s.tally.records).sum::<u64>();
    assert_eq!(records(&fast), records(&full));
}

#[test]
fn clients_log_the_spp_events_around_activation() {
    let (dir, _) = simulate(&SimConfig {
        clients: 30,
        days: 3,
        seed: 5,
        ..SimConfig::default()
    });
    let b = read_one(dir.path());
    let count = |id: u16| b.events.iter().filter(|e| e.event_id == id).count();
    assert_eq!(count(900), 30, "one service start per client");
    assert_eq!(count(902), 31, "one per client and the host");
    let activated = b
        .events
        .iter()
        .filter(|e| matches!(&e.body, kmslens::kms::KmsBody::ClientResponse(r) if r.activated))
        .count();
    assert!(activated >= 30);
    assert_eq!(
        count(1003),
        activated,
        "a licensing status check per activation"
    );
    assert_eq!(
        count(16384),
        activated,
        "a scheduled service start per activation"
    );
    assert!(
        b.events
            .iter()
            .all(|e| !matches!(e.body, kmslens::kms::KmsBody::Malformed(_)))
    );
}
