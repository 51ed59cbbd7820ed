//! The real logs of `../shared/corpus/real`: every file read without a panic, every damaged one
//! reported, the SPP events found with the right ids, times and computers.

use crate::common;

use common::*;
use kmslens::ingest::report::{SourceReport, Status};
use kmslens::ingest::{self, IngestOptions};
use kmslens::messages::Severity;
use std::collections::BTreeMap;

fn corpus_root() -> std::path::PathBuf {
    corpus("")
}

fn by_file(b: &ingest::Ingested) -> BTreeMap<String, &SourceReport> {
    let root = corpus_root().display().to_string();
    b.sources
        .iter()
        .map(|s| {
            (
                s.source
                    .trim_start_matches(&root)
                    .trim_start_matches('/')
                    .to_string(),
                s,
            )
        })
        .collect()
}

/// `file → records` from the corpus's SOURCES.md (measured with evtx_dump).
fn documented_records() -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(corpus("SOURCES.md")).unwrap();
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (
                cells[1].trim_matches('`').to_string(),
                cells[7].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_damaged_file_is_reported_and_the_rest_is_read() {
    let b = read(&[corpus_root()]);
    let files = by_file(&b);
    let warned = |f: &str| {
        let s = files.get(f).unwrap_or_else(|| panic!("{f} not listed"));
        s.tally
            .diagnostics
            .iter()
            .any(|d| d.severity >= Severity::Warning && d.source.ends_with(f))
    };
    for f in [
        "omerbenamram__evtx/2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx",
        "omerbenamram__evtx/2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx",
        "omerbenamram__evtx/Microsoft-Windows-HelloForBusiness%4Operational.evtx",
        "omerbenamram__evtx/Microsoft-Windows-LanguagePackSetup%4Operational.evtx",
        "omerbenamram__evtx/sample-with-zero-data-size-event.evtx",
        "omerbenamram__evtx/sample_with_a_bad_chunk_magic.evtx",
        "omerbenamram__evtx/security_bad_string_cache.evtx",
        "omerbenamram__evtx/sysmon.evtx",
        "log2timeline__plaso/System2.evtx",
    ] {
        assert!(warned(f), "{f}: {:?}", files[f].tally.diagnostics);
        assert!(files[f].is_damaged(), "{f}");
    }
    // Not EVTX at all: skipped with the reason, never an error.
    assert!(
        matches!(&files["log2timeline__plaso/SysEvent.Evt"].status, Status::Skipped(r) if r.contains(".evt"))
    );
    assert!(matches!(
        &files["omerbenamram__evtx/binxml.dat"].status,
        Status::Skipped(_)
    ));
    // Padding after the last chunk is a note, not damage.
    let rdp = files["Velocidex__velociraptor/RDPAuth_System.evtx"];
    assert!(!rdp.is_damaged());
    assert!(
        rdp.tally
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Note)
    );
    // Clean logs have no warning at all.
    for f in [
        "omerbenamram__evtx/security.evtx",
        "fukusuket__evtx-parser/Application.evtx",
        "omerbenamram__evtx/system.evtx",
    ] {
        assert!(!warned(f) && !files[f].is_damaged(), "{f}");
    }
    // Every diagnostic is one line naming its file.
    for s in &b.sources {
        for d in &s.tally.diagnostics {
            assert!(!d.to_string().contains('\n'));
            assert_eq!(d.source.as_str(), &*s.source);
        }
    }
}

#[test]
fn records_seen_match_evtx_dump() {
    let b = read(&[corpus_root()]);
    let files = by_file(&b);
    let documented = documented_records();
    for (file, n) in documented {
        let Some(s) = files.get(&file) else {
            panic!("{file} not read")
        };
        if s.kind.name() != "evtx" {
            continue;
        }
        // Two records of these logs have intact headers but BinXML evtx_dump cannot parse; their
        // chunks hold no licensing record, so kmslens counts them from their headers.
        let expected = match file.as_str() {
            "omerbenamram__evtx/2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx" => {
                n + 2
            }
            "omerbenamram__evtx/2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx" => {
                n + 1
            }
            _ => n,
        };
        assert_eq!(s.tally.records, expected, "{file}");
    }
}

#[test]
fn spp_events_of_the_corpus() {
    let b = read(&[corpus_root()]);
    let files = by_file(&b);
    for (f, n) in [
        ("omerbenamram__evtx/Application_no_crc32.evtx", 6),
        ("fukusuket__evtx-parser/Application.evtx", 57),
        ("Mandumpal__DemoApp/Application.evtx", 10),
        (
            "sans-blue-team__DeepBlueCLI/many-events-application.evtx",
            418,
        ),
        (
            "sbousseaden__EVTX-ATTACK-SAMPLES/rogue_msi_url_1040_1042.evtx",
            5,
        ),
        (
            "Yamato-Security__hayabusa-sample-evtx/SharpEventPersistHiddenShellcode.evtx",
            1,
        ),
        ("fukusuket__evtx-parser/Key Management Service.evtx", 0),
        ("omerbenamram__evtx/security.evtx", 0),
    ] {
        assert_eq!(files[f].tally.kms_events, n, "{f}");
    }
    assert_eq!(b.events.len(), 497);

    let e = b
        .events
        .iter()
        .find(|e| {
            e.source()
                .ends_with("fukusuket__evtx-parser/Application.evtx")
                && e.record_id == 51
        })
        .unwrap();
    let row = kmslens::report::rows::row(e);
    assert_eq!(row["event_id"], 8198);
    assert_eq!(row["time"], "2022-06-08T23:48:17.8165453Z");
    assert_eq!(row["computer"], "FUKUSUKE16E9");
    assert_eq!(row["hresult"], "0x803F7001");
    assert_eq!(row["table"], "spp_errors");

    // The attack sample: a foreign event in the KMS log, kept with its real (XML) time.
    let p = b
        .events
        .iter()
        .find(|e| &**e.provider() == "Persistence")
        .unwrap();
    assert_eq!(kmslens::report::rows::row(p)["table"], "other_kms_log");
    assert_eq!(p.time.to_string(), "2022-05-24T04:59:06.9098014Z");
    assert_eq!(p.record_id, 2);
}

#[test]
fn the_chunk_prefilter_loses_no_event() {
    let fast = read(&[corpus_root()]);
    let full = ingest::ingest(
        &[corpus_root()],
        &IngestOptions {
            evtx: ingest::evtx::EvtxOptions {
                prefilter: false,
                ..Default::default()
            },
            ..IngestOptions::default()
        },
        &indicatif::ProgressBar::hidden(),
    );
    assert_eq!(fast.events, full.events);
}

#[test]
fn a_real_attack_sample_in_the_kms_log_is_reported_as_tampering() {
    let a = analyze(
        &[corpus(
            "Yamato-Security__hayabusa-sample-evtx/SharpEventPersistHiddenShellcode.evtx",
        )],
        &[],
    );
    assert_eq!(
        a.findings.len(),
        1,
        "{:?}",
        a.findings.iter().map(|f| &f.message).collect::<Vec<_>>()
    );
    let f = &a.findings[0];
    assert_eq!(f.rule, "KMS-LOG-TAMPERED");
    assert_eq!(f.subjects["host"], vec!["yamatosecurity".to_string()]);
    assert_eq!(f.evidence[0].record_id, Some(2));
    assert!(
        f.message.contains("event 1337 from Persistence"),
        "{}",
        f.message
    );
    // Client-side rules say why they could not run.
    assert!(
        a.not_checked
            .iter()
            .any(|n| n.rule == "KMS-NO-RESPONSE" && n.reason.contains("12288"))
    );
}

#[test]
fn the_whole_corpus_analyses_without_a_false_alarm() {
    let a = analyze(&[corpus_root()], &[]);
    let rules: Vec<&str> = a.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(
        rules,
        vec!["KMS-LOG-TAMPERED"],
        "only the planted event is a problem in these real logs"
    );
}

/// The typed BinXML reader (whole chunks from record headers, no record model) against the
/// reference path that renders every record to XML: same events, same records seen, same losses.
#[test]
fn typed_reading_equals_rendering_every_record() {
    let rendered_opts = IngestOptions {
        evtx: ingest::evtx::EvtxOptions {
            typed: false,
            ..Default::default()
        },
        ..IngestOptions::default()
    };
    let sim = tempfile::tempdir().unwrap();
    let cfg = kmslens::simulate::SimConfig {
        clients: 40,
        hosts: 2,
        days: 10,
        noise: 3,
        format: kmslens::simulate::SimFormat::Evtx,
        faults: vec![kmslens::simulate::Fault::DupCmid],
        ..Default::default()
    };
    kmslens::simulate::simulate(&cfg, sim.path()).unwrap();
    for root in [corpus_root(), sim.path().to_path_buf()] {
        let typed = read(std::slice::from_ref(&root));
        let rendered = ingest::ingest(
            std::slice::from_ref(&root),
            &rendered_opts,
            &indicatif::ProgressBar::hidden(),
        );
        assert_eq!(typed.events, rendered.events, "{}", root.display());
        let facts = |b: &ingest::Ingested| -> Vec<(String, u64, u64)> {
            b.sources
                .iter()
                .map(|s| (s.source.to_string(), s.tally.records, s.tally.lost.total()))
                .collect()
        };
        assert_eq!(facts(&typed), facts(&rendered), "{}", root.display());
        let via_xml: u64 = typed.sources.iter().map(|s| s.tally.rendered_as_xml).sum();
        // Windows' own shapes all take the typed path; the corpus has a few records of other
        // providers that pass the byte prefilter and are rendered.
        if root == sim.path() {
            assert_eq!(via_xml, 0);
        } else {
            assert!(via_xml < 10, "{via_xml}");
        }
    }
}
