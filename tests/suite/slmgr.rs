//! `slmgr /dli` and `/dlv` outputs of the reference (§7.2, §7.3) parse into the documented fields,
//! in UTF-8, UTF-16LE with BOM and windows-1252.

use crate::common;

use common::*;
use kmslens::ingest::report::SlmgrRecord;
use kmslens::kms::slmgr::Role;

fn variants(name: &str) -> Vec<(String, std::path::PathBuf, tempfile::TempDir)> {
    let bytes = std::fs::read(fixture(&format!("slmgr/{name}"))).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let mut out = Vec::new();
    for (label, data) in [
        ("utf8", bytes.clone()),
        ("utf16le", utf16(&text, true, true)),
        (
            "ansi",
            encoding_rs::WINDOWS_1252.encode(&text).0.into_owned(),
        ),
        ("lf", text.replace("\r\n", "\n").into_bytes()),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let machine = dir.path().join("MACHINE01");
        std::fs::create_dir(&machine).unwrap();
        let path = machine.join("slmgr.txt");
        std::fs::write(&path, data).unwrap();
        out.push((label.to_string(), path, dir));
    }
    out
}

fn one(path: &std::path::Path) -> SlmgrRecord {
    let b = read_one(path);
    assert_eq!(b.sources[0].kind.name(), "slmgr", "{path:?}");
    assert_eq!(b.sources[0].detail.as_deref(), Some("en"));
    assert_eq!(b.slmgr.len(), 1, "{:?}", b.slmgr);
    // Moved out of the source's report with its buffer: a bundle of 20 000 outputs kept 28 MB
    // of empty per-source vectors to the end of the run.
    assert_eq!(b.sources[0].tally.slmgr.capacity(), 0);
    // The bundle's lists at their size: they are held to the end of the run.
    assert_eq!(b.slmgr.capacity(), b.slmgr.len());
    assert_eq!(b.sources.capacity(), b.sources.len());
    b.slmgr[0].clone()
}

#[test]
fn server_2012_client_dli() {
    for (label, path, _dir) in variants("client-2012-dli.txt") {
        let r = one(&path);
        let p = &r.product;
        assert_eq!(
            r.computer.as_deref(),
            Some("MACHINE01"),
            "{label}: machine from the folder"
        );
        assert_eq!(
            p.name.as_deref(),
            Some("Windows(R), ServerStandard edition"),
            "{label}"
        );
        assert_eq!(
            p.description.as_deref(),
            Some("Windows(R) Operating System, VOLUME_KMSCLIENT channel")
        );
        assert_eq!(p.partial_key.as_deref(), Some("MDVJX"));
        assert_eq!(p.license_status.as_deref(), Some("Licensed"));
        assert_eq!(p.minutes_left, Some(253_564));
        assert_eq!(
            p.cmid.as_deref(),
            Some("f9d4e20a-cb8f-4050-9c0c-56420455ada1")
        );
        assert_eq!(p.kms_host.as_deref(), Some("bisv229.corp.giag.net"));
        assert_eq!(p.kms_port, Some(1688));
        assert_eq!(p.kms_host_source, Some("dns"));
        assert_eq!(p.host_caching, Some(true));
        assert_eq!(p.role(), Role::Client);
    }
}

#[test]
fn server_2008_client_with_a_wrapped_line() {
    for (label, path, _dir) in variants("client-2008-dli.txt") {
        let p = one(&path).product;
        assert_eq!(
            p.description.as_deref(),
            Some("Windows Operating System - Windows Server(R), VOLUME_KMSCLIENT channel"),
            "{label}: the 80-column wrap is joined back"
        );
        assert_eq!(p.partial_key.as_deref(), Some("R7VHC"));
        assert_eq!(p.minutes_left, Some(251_100));
        assert_eq!(
            p.cmid.as_deref(),
            Some("a885c11e-4253-4e4b-825d-24c888769334")
        );
        assert_eq!(p.kms_host.as_deref(), Some("bisv229.corp.giag.net"));
        assert_eq!(p.role(), Role::Client);
    }
}

#[test]
fn server_2012_r2_host_dlv() {
    for (label, path, _dir) in variants("host-2012r2-dlv.txt") {
        let p = one(&path).product;
        assert_eq!(
            p.product_channel.as_deref(),
            Some("Volume:CSVLK"),
            "{label}"
        );
        assert_eq!(p.license_status.as_deref(), Some("Licensed"));
        assert!(p.kms_enabled);
        assert_eq!(p.current_count, Some(0));
        assert_eq!(p.port, Some(1688));
        assert_eq!(p.dns_publishing, Some(true));
        assert_eq!(p.total_requests, Some(0));
        assert_eq!(p.failed_requests, Some(0));
        assert_eq!(p.cmid, None);
        assert_eq!(p.role(), Role::Host);
    }
}

#[test]
fn an_output_in_an_unknown_language_is_read_by_shape_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let pc = dir.path().join("PC07");
    std::fs::create_dir(&pc).unwrap();
    // Labels guessed, not verified (kms-reference §7.4): only the values' shapes are relied on.
    let text = "Nome: Windows(R), Enterprise edition\r\nDescrizione: Windows(R) Operating System, VOLUME_KMSCLIENT channel\r\nStato licenza: Con licenza\r\n    ID macchina client (CMID): 0f1e2d3c-4b5a-4697-8877-aa00bb11cc07\r\n    Nome computer KMS da DNS: kms01.contoso.com:1688\r\n";
    std::fs::write(pc.join("slmgr.txt"), utf16(text, true, true)).unwrap();
    let b = read_one(dir.path());
    assert_eq!(
        b.sources[0].detail.as_deref(),
        Some("language not recognised")
    );
    let p = &b.slmgr[0].product;
    assert_eq!(
        p.cmid.as_deref(),
        Some("0f1e2d3c-4b5a-4697-8877-aa00bb11cc07")
    );
    assert_eq!(p.kms_host.as_deref(), Some("kms01.contoso.com"));
    assert_eq!(b.slmgr[0].computer.as_deref(), Some("PC07"));
    let out = assert_cmd::Command::cargo_bin("kmslens")
        .unwrap()
        .arg("analyze")
        .arg(dir.path())
        .output()
        .unwrap();
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(
        report.contains("slmgr output in a language kmslens has no labels for"),
        "{report}"
    );
}
