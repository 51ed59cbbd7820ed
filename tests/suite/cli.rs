//! The `events` command as a user runs it: formats, output file, summary and exit codes.

use crate::common;

use assert_cmd::Command;
use common::*;

fn kmslens() -> Command {
    Command::cargo_bin("kmslens").unwrap()
}

fn samples() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

#[test]
fn events_on_the_samples_prints_every_event_including_zipped_and_evtx_ones() {
    let out = kmslens()
        .arg("events")
        .arg(samples())
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1375, "every event the simulator wrote");
    // The lines hold the rows of the library, cell for cell (the source as the command names it).
    let bundle = read(&[samples()]);
    for (line, ev) in rows.iter().zip(&bundle.events) {
        let mut want = kmslens::report::rows::row(ev);
        want.remove("source");
        let mut got = line.as_object().unwrap().clone();
        got.remove("source");
        assert_eq!(got, want);
    }
    for key in [
        "source",
        "record_id",
        "time",
        "computer",
        "channel",
        "provider",
        "event_id",
    ] {
        assert!(rows.iter().all(|r| r.get(key).is_some()), "{key}");
    }
    let source = |r: &serde_json::Value| r["source"].as_str().unwrap().to_string();
    assert!(
        rows.iter()
            .any(|r| source(r).contains(".zip!") && r["event_id"] == 12288)
    );
    assert!(
        rows.iter()
            .any(|r| source(r).ends_with(".evtx") && r["event_id"] == 12289)
    );
    assert!(
        rows.iter()
            .any(|r| r["event_id"] == 12290 && r["channel"] == "Key Management Service")
    );
    assert!(
        rows.iter()
            .any(|r| r["event_id"] == 12293 && r["domain"] == "contoso.com")
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("96 sources read (15 evtx, 41 slmgr, 27 xml, 13 zip), 1 skipped"),
        "{stderr}"
    );
    assert!(stderr.contains("1375 KMS events kept"), "{stderr}");
    // A large bundle lists only the sources with problems.
    assert!(
        stderr.contains("... and 96 sources read without a problem (--verbose lists them)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("samples/ground-truth.json | skipped: JSON document"),
        "{stderr}"
    );
}

#[test]
fn csv_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.csv");
    kmslens()
        .args(["events", "--format", "csv", "--quiet", "--output"])
        .arg(&file)
        .arg(fixture("xml/eventviewer-saved.xml"))
        .assert()
        .success();
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        kmslens::report::rows::COLUMNS.join(",")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 6);
    // The 1003 status holds commas, so its cell is quoted.
    assert!(
        rows.iter()
            .any(|r| r.contains("\"1: 2077f0b2-1a2b-4c3d-8e9f-0a1b2c3d4e5f, 1, 0")),
        "{text}"
    );
    assert!(rows[0].starts_with(&format!(
        "{},",
        fixture("xml/eventviewer-saved.xml").display()
    )));
}

#[test]
fn exit_2_when_nothing_could_be_read() {
    let out = kmslens()
        .args(["events", "/nonexistent/bundle"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("/nonexistent/bundle: cannot read"),
        "{stderr}"
    );
    assert!(stderr.contains("no event log could be read"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("readme.txt"), "not a log").unwrap();
    kmslens().arg("events").arg(dir.path()).assert().code(2);
    kmslens().arg("events").assert().code(2); // usage error: BUNDLE is required
}

#[test]
fn a_bundle_with_no_log_stops_before_the_analysis_and_says_why() {
    let empty = tempfile::tempdir().unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        let out = kmslens().args(args).assert().code(2).get_output().clone();
        assert!(out.stdout.is_empty(), "no report: {out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let stderr = run(&["analyze".as_ref(), empty.path().as_os_str()]);
    assert!(
        stderr.contains("no event log could be read: the given paths hold no file"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("readme.txt"), "not a log").unwrap();
    let out_dir = dir.path().join("tables");
    for args in [
        vec!["analyze".as_ref(), dir.path().as_os_str()],
        vec![
            "events".as_ref(),
            "--quiet".as_ref(),
            dir.path().as_os_str(),
        ],
        vec![
            "export".as_ref(),
            "--out".as_ref(),
            out_dir.as_os_str(),
            dir.path().as_os_str(),
        ],
    ] {
        let stderr = run(&args);
        // The file and why it was not read are listed, then the reason the run stops.
        assert!(
            stderr.contains(
                "readme.txt | skipped: text that is neither an event export nor slmgr output"
            ),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains(
                "no event log could be read from the given paths (1 source: 1 skipped, listed above)"
            ),
            "{args:?}: {stderr}"
        );
    }
    assert!(!out_dir.exists(), "export wrote nothing");
}

#[test]
fn exit_0_with_damaged_and_unknown_files_beside_a_good_log() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        corpus("omerbenamram__evtx/sysmon.evtx"),
        dir.path().join("sysmon.evtx"),
    )
    .unwrap();
    std::fs::copy(
        corpus("log2timeline__plaso/System2.evtx"),
        dir.path().join("cut.evtx"),
    )
    .unwrap();
    std::fs::write(dir.path().join("junk.evtx"), b"ElfFile\0garbage").unwrap();
    std::fs::copy(
        fixture("xml/wevtutil-rendered.xml"),
        dir.path().join("app.xml"),
    )
    .unwrap();
    let out = kmslens()
        .arg("events")
        .arg(dir.path())
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 5);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("junk.evtx: file is 15 bytes, shorter than the 4096-byte EVTX header"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cut.evtx: offset 0x21000: file ends inside a chunk"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sysmon.evtx: chunk 9: unreadable chunk"),
        "{stderr}"
    );
    assert!(
        stderr.contains("app.xml | 6 records, 5 KMS"),
        "a small bundle lists every source: {stderr}"
    );
}

#[test]
fn verbose_lists_every_source_of_a_large_bundle() {
    let out = kmslens()
        .args(["events", "--verbose", "-o", "/dev/null"])
        .arg(samples())
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("--verbose lists them"), "{stderr}");
    assert!(
        stderr.contains("samples/kms01/Key Management Service.evtx |"),
        "{stderr}"
    );
    assert!(
        stderr.lines().filter(|l| l.starts_with("  ")).count() >= 97,
        "{stderr}"
    );
}

/// The binary allocates with jemalloc, configured to give freed pages back within 100 ms from one
/// arena: the peak memory figures of the README depend on it (glibc's allocator kept ~80 MB more
/// on a 20 000-client bundle). jemalloc prints its options when asked to through its variable.
#[cfg(not(windows))]
#[test]
fn the_binary_allocates_with_jemalloc_returning_freed_pages_soon() {
    let out = kmslens()
        .arg("--version")
        .env("_RJEM_MALLOC_CONF", "stats_print:true")
        .assert()
        .success()
        .get_output()
        .clone();
    let stats = String::from_utf8_lossy(&out.stderr);
    assert!(stats.contains("Begin jemalloc statistics"), "{stats}");
    for option in [
        "opt.background_thread: true",
        "opt.dirty_decay_ms: 100",
        "opt.muzzy_decay_ms: 0",
        "opt.narenas: 1",
    ] {
        assert!(stats.contains(option), "{option} not in:\n{stats}");
    }
}
