//! No panic path from input or environment: extreme values in logs, closed pipes, and what a
//! CI job sees (`--strict`, the watchdog).

use crate::common;

use common::event_xml as event;
use std::path::Path;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kmslens"))
}

fn samples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// A bundle whose values sit at the ends of what each field can hold.
fn extreme_bundle(dir: &Path) {
    let act = "73111121-5638-40f6-bc11-f1d7b0d64300";
    let cmid = "0f1e2d3c-4b5a-4697-8877-aa00bb11cc01";
    let huge = "x".repeat(200_000);
    let mut client = String::new();
    // Request times at both ends of the calendar, Info client times at the other end.
    for (k, (time, info_time)) in [
        ("1601-01-01T00:00:00Z", "9999/12/31 23:59"),
        ("9999-12-31T23:59:59.9999999Z", "1601/01/01 00:00"),
        ("2026-06-01T10:00:00Z", "2026/06/01 10:00"),
    ]
    .into_iter()
    .enumerate()
    {
        let req = format!(
            "0x00000000, 0x00000000, kms01.contoso.com:1688, {cmid}, {info_time}, 0, 2, 40000, {act}, 25"
        );
        client += &event(
            12288,
            "Application",
            "PC1.contoso.com",
            time,
            k as u64 + 1,
            &[&req],
        );
        let resp = format!("0xC004F038, 0x00000000, 0, 0, 4294967295, 120, 10080, {info_time}");
        client += &event(
            12289,
            "Application",
            "PC1.contoso.com",
            time,
            k as u64 + 10,
            &[&resp],
        );
    }
    // A thousand requests from one client, an empty and a huge computer name, duplicated ids.
    for k in 0..1000u64 {
        let req = format!(
            "0x80070005, 0x00000000, kms01.contoso.com:1688, {cmid}, 2026/06/01 10:00, 0, 2, 40000, {act}, 25"
        );
        client += &event(
            12288,
            "Application",
            "PC1.contoso.com",
            "2026-06-01T10:00:00Z",
            7,
            &[&req],
        );
        let _ = k;
    }
    client += &event(
        12288,
        "Application",
        "",
        "2026-06-01T10:00:00Z",
        9,
        &["0x0"],
    );
    client += &event(
        12288,
        "Application",
        &huge,
        "2026-06-01T10:00:00Z",
        9,
        &[&huge],
    );
    std::fs::write(dir.join("pc1.xml"), client).unwrap();

    let mut host = String::new();
    for (k, (time, client_time)) in [
        ("9999-12-31T23:59:59Z", "1601/1/1 0:00"),
        ("1601-01-01T00:00:00Z", "9999/12/31 23:59"),
        ("2026-06-01T10:00:01Z", "2026/6/1 10:00"),
    ]
    .into_iter()
    .enumerate()
    {
        let fields = format!("0x0,4294967295,PC1.contoso.com,{cmid},{client_time},0,2,40000,{act}");
        host += &event(
            12290,
            "Key Management Service",
            "kms01.contoso.com",
            time,
            k as u64 + 1,
            &[&fields],
        );
    }
    std::fs::write(dir.join("kms01.xml"), host).unwrap();
}

#[test]
fn times_at_the_ends_of_the_calendar_give_a_report_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    extreme_bundle(dir.path());
    for format in ["text", "json", "md", "html"] {
        let out = bin()
            .arg("analyze")
            .arg(dir.path())
            .args(["--format", format, "--verbose"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{format}: {:?} {stderr}",
            out.status
        );
        assert!(!stderr.contains("internal error"), "{format}: {stderr}");
        assert!(!out.stdout.is_empty(), "{format}");
    }
}

/// Runs a command whose stdout and stderr are pipes nobody reads: every write fails with EPIPE.
fn with_closed_pipes(args: &[&str]) -> std::process::ExitStatus {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    child.wait().unwrap()
}

#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    let samples = samples();
    let samples = samples.to_str().unwrap();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let rules = rules.to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    let sim = out.path().join("sim");
    let sim = sim.to_str().unwrap();
    let commands: [&[&str]; 11] = [
        &["analyze", samples],
        &["analyze", samples, "--format", "json"],
        &["analyze", samples, "--format", "html", "--verbose"],
        &["events", samples],
        &["events", samples, "--format", "csv"],
        &["rules", "list"],
        &["rules", "show", "KMS-DUP-CMID"],
        &["rules", "check", rules],
        &["products"],
        &["explain", "0xC004F074"],
        &["simulate", "--out", sim, "--clients", "5", "--days", "2"],
    ];
    for args in commands {
        let status = with_closed_pipes(args);
        // 101 is Rust's panic exit code; a signal has no code.
        assert!(
            matches!(status.code(), Some(0..=3)),
            "{args:?} ended with {status:?}"
        );
    }
}

/// The samples copied into a folder, with one extra copy of a log named `name`.
fn samples_plus(dir: &Path, name: &str) -> std::path::PathBuf {
    let bundle = dir.join("bundle");
    copy_dir(&samples(), &bundle);
    std::fs::copy(samples().join("PC001/Application.xml"), bundle.join(name)).unwrap();
    bundle
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn a_bug_met_reading_a_source_or_checking_or_running_a_rule_costs_it_alone() {
    let dup = "KMS-DUP-CMID";
    for (step, name, said) in [
        (
            "read",
            "PC001/Application.xml",
            "internal error while reading this file (test panic: read",
        ),
        (
            "check",
            "kms-dup-cmid.toml",
            "internal error while checking the query (test panic: check",
        ),
        (
            "run",
            dup,
            "internal error while running the query (test panic: run",
        ),
    ] {
        let out = bin()
            .args(["analyze", "--format", "json", "--fail-on", "never"])
            .arg(samples())
            .env("KMSLENS_TEST_PANIC", format!("{step}:{name}"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{step}: the run goes on: {stderr}"
        );
        assert!(stderr.contains(said), "{step}: {stderr}");
        assert!(
            !stderr.contains("panicked at"),
            "{step}: no backtrace dump: {stderr}"
        );
        let report = json_of(&out);
        let findings = report["findings"].as_array().unwrap();
        let rules: std::collections::BTreeSet<&str> = findings
            .iter()
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert!(
            rules.contains("KMS-CLOCK-SKEW"),
            "{step}: the others still ran: {rules:?}"
        );
        let diagnostics = report["inputs"]["diagnostics"].to_string();
        if step == "read" {
            let sources = report["inputs"]["sources"].as_array().unwrap();
            let lost = sources
                .iter()
                .find(|s| s["source"].as_str().unwrap().ends_with(name));
            assert_eq!(lost.unwrap()["status"], "unreadable", "{step}");
            assert!(
                sources.iter().filter(|s| s["status"] == "read").count() > 90,
                "{step}"
            );
        } else {
            assert!(!rules.contains(dup), "{step}: {rules:?}");
            assert!(
                diagnostics.contains(said)
                    && diagnostics.contains(if step == "run" { dup } else { name }),
                "{step}: {diagnostics}"
            );
        }
    }
}

#[test]
fn a_stuck_source_is_abandoned_and_the_rest_is_analysed() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = samples_plus(dir.path(), "stuck.xml");
    let run = |extra: &[&str]| {
        // Output to files and a bounded wait: a broken watchdog fails this test, not hangs CI.
        let report = dir.path().join("report.json");
        let errors = std::fs::File::create(dir.path().join("stderr.txt")).unwrap();
        let mut child = bin()
            .args(["analyze", "--format", "json", "--fail-on", "never"])
            .args(["--source-timeout", "1", "--output"])
            .arg(&report)
            .args(extra)
            .arg(&bundle)
            .env("KMSLENS_TEST_STALL", "stuck.xml")
            .stdout(Stdio::null())
            .stderr(errors)
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed().as_secs() > 60 {
                let _ = child.kill();
                panic!("the run waited for the stuck source");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        std::process::Output {
            status,
            stdout: std::fs::read(&report).unwrap_or_default(),
            stderr: std::fs::read(dir.path().join("stderr.txt")).unwrap(),
        }
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "lenient by default");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("stuck.xml") && stderr.contains("timed out"),
        "{stderr}"
    );
    let report = json_of(&out);
    let sources = report["inputs"]["sources"].as_array().unwrap();
    let stuck: Vec<_> = sources
        .iter()
        .filter(|s| s["source"].as_str().unwrap().ends_with("stuck.xml"))
        .collect();
    assert_eq!(stuck.len(), 1);
    assert_eq!(stuck[0]["status"], "unreadable");
    let reason = stuck[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("timed out: still reading after 1 s"),
        "{reason}"
    );
    let read = sources.iter().filter(|s| s["status"] == "read").count();
    assert!(read > 40, "the rest of the bundle was read: {read}");
    assert!(!report["findings"].as_array().unwrap().is_empty());

    let strict = run(&["--strict"]);
    assert_eq!(strict.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&strict.stderr).contains("--strict: the analysis is incomplete")
    );
}

#[test]
fn strict_fails_on_damaged_inputs_and_failing_rules_only() {
    let analyze = |bundle: &Path, extra: &[&str]| {
        bin()
            .args([
                "analyze",
                "--format",
                "json",
                "--fail-on",
                "never",
                "--strict",
            ])
            .args(extra)
            .arg(bundle)
            .output()
            .unwrap()
    };
    // The samples are whole: --strict passes.
    let whole = analyze(&samples(), &[]);
    assert_eq!(
        whole.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&whole.stderr)
    );
    // Every EVTX source says how many records needed the XML fallback: none in the samples.
    let whole_report = json_of(&whole);
    let evtx: Vec<_> = whole_report["inputs"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "evtx")
        .collect();
    assert!(!evtx.is_empty());
    for s in evtx {
        assert_eq!(s["rendered_as_xml"], 0, "{s}");
        assert_eq!(s["lost"]["records"], 0, "{s}");
    }
    // A log cut in the middle of a record: damaged, exit 3, and the JSON says what was lost.
    let dir = tempfile::tempdir().unwrap();
    let bundle = samples_plus(dir.path(), "cut.xml");
    let text = std::fs::read(bundle.join("cut.xml")).unwrap();
    std::fs::write(bundle.join("cut.xml"), &text[..text.len() * 2 / 3]).unwrap();
    let cut = analyze(&bundle, &[]);
    assert_eq!(cut.status.code(), Some(3));
    let report = json_of(&cut);
    let src = report["inputs"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"].as_str().unwrap().ends_with("cut.xml"))
        .unwrap()
        .clone();
    assert_eq!(src["status"], "read");
    assert_eq!(src["lost"]["records"], 1, "{src}");
    // Lenient without --strict.
    let lenient = bin()
        .args(["analyze", "--format", "json", "--fail-on", "never"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(lenient.status.code(), Some(0));
    // A rule whose SQL fails at run time.
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(
        rules.path().join("broken.toml"),
        "id = \"X-BROKEN\"\ntitle = \"t\"\nseverity = \"low\"\nexplanation = \"e\"\nremediation = [\"r\"]\nmessage = \"m\"\nrequires = [\"attempts\"]\nquery = \"SELECT no_such_column FROM attempts\"\n",
    )
    .unwrap();
    let broken = analyze(&samples(), &["--rules", rules.path().to_str().unwrap()]);
    assert_eq!(
        broken.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&broken.stderr)
    );
}

/// Reads in-memory files as a bundle.
fn read_files(files: &[(&str, &[u8])]) -> kmslens::ingest::Ingested {
    kmslens::ingest::ingest_bytes(files, &kmslens::ingest::IngestOptions::default())
}

#[test]
fn crafted_xml_costs_its_record_not_the_memory_of_the_run() {
    let good = event(
        12288,
        "Application",
        "pc1.contoso.com",
        "2026-06-01T10:00:00Z",
        9,
        &[
            "0x00000000, 0x00000000, kms01.contoso.com:1688, 0f1e2d3c-4b5a-4697-8877-aa00bb11cc01, 2026/06/01 10:00, 0, 2, 40000, 73111121-5638-40f6-bc11-f1d7b0d64300, 25",
        ],
    );
    let huge_field = event(
        12288,
        "Application",
        "pc2",
        "2026-06-01T10:00:00Z",
        1,
        &[&"A".repeat(1 << 20)],
    );
    let many: Vec<&str> = vec!["1"; 5000];
    let many_values = event(
        12288,
        "Application",
        "pc3",
        "2026-06-01T10:00:00Z",
        2,
        &many,
    );
    let deep = format!(
        "<Event><System><EventID>12288</EventID></System><UserData>{}{}</UserData></Event>\r\n",
        "<a>".repeat(100_000),
        "</a>".repeat(100_000)
    );
    let laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\"><!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\"><!ENTITY lol9 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">]>";
    let laugh_event = event(
        12288,
        "Application",
        "&lol9;",
        "2026-06-01T10:00:00Z",
        3,
        &["&lol9;"],
    );
    let file =
        format!("{laughs}<Events>{huge_field}{many_values}{deep}{laugh_event}{good}</Events>");
    let b = read_files(&[("case/PC1/Application.xml", file.as_bytes())]);
    let src = &b.sources[0];
    let messages: Vec<&str> = src
        .tally
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    let has = |what: &str| messages.iter().any(|m| m.contains(what));
    assert!(has("a field longer than 64 KiB"), "{messages:#?}");
    assert!(has("more than 1024 <Data> values"), "{messages:#?}");
    assert!(has("nested deeper than 256 levels"), "{messages:#?}");
    assert_eq!(src.tally.lost.records, 3, "{messages:#?}");
    // The entity is not expanded: its event is read with the reference as text, not a billion lols.
    assert!(
        b.events.iter().all(|e| e.computer().len() < 100),
        "an entity was expanded"
    );
    assert!(
        b.events
            .iter()
            .any(|e| &**e.computer() == "pc1.contoso.com"),
        "the event after the crafted ones is read"
    );
}

#[test]
fn random_and_huge_inputs_are_named_and_skipped() {
    // Bytes of no format, a text file of one 20 MB line, a lone EVTX magic.
    let mut noise = Vec::with_capacity(1 << 16);
    let mut x: u32 = 12345;
    for _ in 0..(1 << 16) {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        noise.push((x >> 16) as u8);
    }
    let line = "Log Name: Application ".repeat(1 << 20);
    let magic = b"ElfFile\0".to_vec();
    let b = read_files(&[
        ("case/noise.bin", &noise),
        ("case/line.txt", line.as_bytes()),
        ("case/magic.evtx", &magic),
    ]);
    assert_eq!(b.sources.len(), 3);
    assert!(b.events.is_empty());
    for s in &b.sources {
        assert!(
            !matches!(&s.status, kmslens::ingest::report::Status::Unreadable(r) if r.contains("internal error")),
            "{}: {:?}",
            s.source,
            s.status
        );
    }
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn a_hostile_bundle_gives_a_valid_report_naming_every_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = samples_plus(dir.path(), "good-copy.xml");
    let sim = dir.path().join("sim");
    let made = bin()
        .args([
            "simulate",
            "--clients",
            "3",
            "--days",
            "2",
            "--format",
            "evtx",
            "--out",
        ])
        .arg(&sim)
        .output()
        .unwrap();
    assert!(made.status.success());
    let evtx = std::fs::read(sim.join("kms01/Key Management Service.evtx")).unwrap();
    let xml_event = std::fs::read(samples().join("PC001/Application.xml")).unwrap();
    let bad = bundle.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let put = |name: &str, data: &[u8]| std::fs::write(bad.join(name), data).unwrap();
    // A bomb: 64 MiB of spaces after an event start, ~1000:1.
    let mut padded = b"<Events><Event>".to_vec();
    padded.resize(64 << 20, b' ');
    put("bomb.zip", &zip_of(&[("zeros.xml", &padded)]));
    put(
        "traversal.zip",
        &zip_of(&[("../../../../tmp/kmslens-evil.xml", &xml_event)]),
    );
    put(
        "laughs.xml",
        b"<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><Events><Event><System><EventID>12288</EventID><Computer>&c;</Computer></System><EventData><Data>&c;</Data></EventData></Event></Events>",
    );
    put(
        "deep.xml",
        format!("<Events><Event>{}</Event></Events>", "<a>".repeat(200_000)).as_bytes(),
    );
    put(
        "line.txt",
        "Log Name: Application ".repeat(50 << 20 >> 4).as_bytes(),
    );
    let mut noise = vec![0u8; 1 << 20];
    let mut x: u64 = 7;
    for b in noise.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    put("noise.bin", &noise);
    put("truncated.evtx", &evtx[..4096 + 30_000]);
    let mut flipped = evtx.clone();
    for k in (4096 + 600..flipped.len().min(4096 + 65536)).step_by(997) {
        flipped[k] ^= 0x5A;
    }
    put("flipped.evtx", &flipped);

    let out = bin()
        .args(["analyze", "--format", "json", "--fail-on", "never"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!Path::new("/tmp/kmslens-evil.xml").exists());
    let report = json_of(&out);
    assert!(!report["findings"].as_array().unwrap().is_empty());
    let sources = report["inputs"]["sources"].as_array().unwrap();
    let find = |name: &str| {
        sources
            .iter()
            .find(|s| s["source"].as_str().unwrap().contains(name))
            .unwrap_or_else(|| panic!("{name} is not in the report's sources"))
    };
    // Each damaged input is named with what it cost.
    for name in [
        "bomb.zip!zeros.xml",
        "deep.xml",
        "truncated.evtx",
        "flipped.evtx",
    ] {
        let s = find(name);
        let lost = s["lost"]
            .as_object()
            .map_or(0, |l| l.values().map(|v| v.as_u64().unwrap()).sum::<u64>());
        assert!(s["status"] != "read" || lost > 0, "{name}: {s}");
    }
    assert_eq!(find("noise.bin")["status"], "skipped");
    assert_eq!(
        find("traversal.zip!").as_object().unwrap()["status"],
        "read"
    );
    for name in ["laughs.xml", "line.txt"] {
        let s = find(name);
        assert!(s["records"].as_u64().unwrap() <= 1, "{name}: {s}");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    for name in ["bomb.zip", "deep.xml", "truncated.evtx", "flipped.evtx"] {
        assert!(
            stderr.contains(name),
            "{name} not named on stderr: {stderr}"
        );
    }
}
