//! Text renderings (§9.4): Event Viewer "Copy details as text" and `wevtutil qe /f:text`, in UTF-8
//! and UTF-16LE: the payload comes from the `Info:` lines.

use crate::common;

use common::*;
use kmslens::kms::{Hresult, KmsBody};

#[test]
fn event_viewer_copied_text_and_wevtutil_text() {
    let b = read(&[
        fixture("text/eventviewer-copied.txt"),
        fixture("text/wevtutil-text.txt"),
    ]);
    assert!(
        b.sources.iter().all(|s| s.kind.name() == "text"),
        "{:?}",
        b.sources.iter().map(|s| s.kind).collect::<Vec<_>>()
    );
    assert_eq!(b.events.len(), 4);
    let req = b.events.iter().find(|e| e.event_id == 12288).unwrap();
    let KmsBody::ClientRequest(r) = &req.body else {
        panic!("{:?}", req.body)
    };
    assert_eq!(r.hresult, Hresult(0xC004_F06C));
    assert_eq!(r.kms_host.as_deref(), Some("kms01.contoso.com"));
    assert_eq!(
        req.time.to_string(),
        "2010-09-29T17:52:13Z",
        "local time read as UTC"
    );
    assert_eq!(req.record_id, 1, "the line the event starts on");
    let host = b.events.iter().find(|e| e.event_id == 12290).unwrap();
    assert_eq!(&**host.channel(), "Key Management Service");
    assert!(matches!(&host.body, KmsBody::HostRequest(h) if h.client_name == "PC1.contoso.com"));
    let resp = b.events.iter().find(|e| e.event_id == 12289).unwrap();
    assert!(
        matches!(&resp.body, KmsBody::ClientResponse(r) if r.activated && r.current_count == 50)
    );
    assert_eq!(resp.time.to_string(), "2023-05-31T01:21:13.955Z");
    let dns = b.events.iter().find(|e| e.event_id == 12293).unwrap();
    assert!(
        matches!(&dns.body, KmsBody::DnsPublishFailed(d) if d.domain == "contoso.com" && d.hresult == Hresult(0x8007_2338))
    );
    // The note says how times were read.
    assert!(
        b.sources[0]
            .tally
            .diagnostics
            .iter()
            .any(|d| d.message.contains("local time"))
    );
}

#[test]
fn text_saved_as_utf16_by_powershell() {
    let text = std::fs::read_to_string(fixture("text/wevtutil-text.txt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.txt");
    std::fs::write(&path, utf16(&text, true, true)).unwrap();
    let b = read_one(&path);
    assert_eq!(b.sources[0].kind.name(), "text");
    assert_eq!(b.events.len(), 2);
}

/// A text rendering beside the machine's `timezone.txt` (collection script, UTF-16) is read in
/// that machine's zone, whatever `--tz` says; one without it is read in `--tz`.
#[test]
fn text_renderings_are_read_in_the_zone_their_machine_collected() {
    let text = std::fs::read_to_string(fixture("text/wevtutil-text.txt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let zone_file = |id: &str, offset: &str| {
        utf16(
            &format!("Time zone: {id}\r\nUTC offset: {offset}\r\nComputer: X\r\n"),
            true,
            true,
        )
    };
    for (machine, zone) in [
        ("CLIENT01", Some(("W. Europe Standard Time", "02:00:00"))),
        ("PC2", Some(("Pacific Standard Time_dstoff", "-08:00:00"))),
        ("PC3", None),
    ] {
        let folder = dir.path().join(machine);
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("events.txt"), &text).unwrap();
        if let Some((id, offset)) = zone {
            std::fs::write(folder.join("timezone.txt"), zone_file(id, offset)).unwrap();
        }
    }
    let opts = kmslens::ingest::IngestOptions {
        zone: jiff::tz::TimeZone::get("Europe/Rome").unwrap(),
        ..Default::default()
    };
    let b = kmslens::ingest::ingest(
        &[dir.path().to_path_buf()],
        &opts,
        &indicatif::ProgressBar::hidden(),
    );
    let time_in = |machine: &str| {
        let e = b
            .events
            .iter()
            .find(|e| e.event_id == 12289 && e.source().contains(machine))
            .unwrap();
        e.time.to_string()
    };
    // 01:21 local on 31 May: CEST (+2) in Berlin and Rome; PST all year (-8) with DST off.
    assert_eq!(time_in("CLIENT01"), "2023-05-30T23:21:13.955Z");
    assert_eq!(time_in("PC2"), "2023-05-31T09:21:13.955Z");
    assert_eq!(time_in("PC3"), "2023-05-30T23:21:13.955Z");
    let note = |machine: &str| {
        let s = b
            .sources
            .iter()
            .find(|s| s.source.contains(machine) && s.source.ends_with("events.txt"))
            .unwrap();
        let d = s
            .tally
            .diagnostics
            .iter()
            .find(|d| d.message.contains("local time"));
        d.unwrap().message.clone()
    };
    assert!(
        note("CLIENT01").contains("W. Europe Standard Time (Europe/Berlin)"),
        "{}",
        note("CLIENT01")
    );
    assert!(note("PC2").contains("UTC-08:00 (Pacific Standard Time, daylight saving time off)"));
    assert!(
        note("PC3").contains("Europe/Rome time (--tz)"),
        "{}",
        note("PC3")
    );
    // The source's first and last times moved with its events.
    let pc2 = b
        .sources
        .iter()
        .find(|s| s.source.ends_with("PC2/events.txt"))
        .unwrap();
    assert_eq!(
        pc2.tally.first_time.unwrap().to_string(),
        "2023-05-31T09:21:13.955Z"
    );
    // So did the span of its KMS events, which the reports show.
    let times: Vec<jiff::Timestamp> = (b.events.iter())
        .filter(|e| e.source().ends_with("PC2/events.txt"))
        .map(|e| e.time)
        .collect();
    let span = times.iter().min().copied().zip(times.iter().max().copied());
    assert!(span.is_some());
    assert_eq!(pc2.tally.kms_span, span);
}

/// A bundle whose machines collected different zones: the report in UTC names them all.
#[test]
fn a_report_in_utc_names_every_zone_the_machines_collected() {
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let dir = tempfile::tempdir().unwrap();
    for (machine, zone, offset) in [
        ("PC001", "W. Europe Standard Time", "01:00:00"),
        ("PC003", "Eastern Standard Time", "-05:00:00"),
    ] {
        let folder = dir.path().join(machine);
        std::fs::create_dir(&folder).unwrap();
        for entry in std::fs::read_dir(samples.join(machine)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, folder.join(path.file_name().unwrap())).unwrap();
        }
        let text = format!("Time zone: {zone}\r\nUTC offset: {offset}\r\nComputer: {machine}\r\n");
        std::fs::write(folder.join("timezone.txt"), utf16(&text, true, true)).unwrap();
    }
    let a = analyze(&[dir.path().to_path_buf()], &[]);
    let notes = kmslens::report::coverage::of(&a).notes;
    assert!(
        notes.iter().any(|n| n.contains(
            "give 2 zones (Eastern Standard Time (America/New_York), W. Europe Standard Time (Europe/Berlin))"
        )),
        "{notes:?}"
    );
}
