//! Every field of 12288, 12289, 12290, 12293 and 12294 decoded from hand-written XML in each
//! export shape and encoding, as `kms-reference.md` §4, §9.4 and §12 describe them.

use crate::common;

use common::*;
use jiff::Timestamp;
use kmslens::ingest::report::Status;
use kmslens::kms::event::*;
use kmslens::kms::values::{Guid, LicenseStatus};
use kmslens::kms::{Hresult, KmsBody, KmsEvent};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn guid(s: &str) -> Guid {
    Guid::parse(s).unwrap()
}

fn by_record(events: &[KmsEvent], id: u64) -> &KmsEvent {
    events
        .iter()
        .find(|e| e.record_id == id)
        .unwrap_or_else(|| panic!("record {id} not kept"))
}

#[test]
fn wevtutil_rendered_stream_without_root_and_single_quotes() {
    let b = read_one(&fixture("xml/wevtutil-rendered.xml"));
    assert_eq!(b.sources.len(), 1);
    let src = &b.sources[0];
    assert_eq!(src.kind.name(), "xml");
    assert_eq!(src.status, Status::Read);
    assert_eq!(src.tally.records, 6, "six <Event> elements");
    assert!(
        src.tally.diagnostics.is_empty(),
        "{:?}",
        src.tally.diagnostics
    );
    // The line-of-business app's 12288 is not a KMS event.
    assert_eq!(b.events.len(), 5);
    assert!(b.events.iter().all(|e| e.record_id != 8530));

    let req = by_record(&b.events, 8528);
    assert_eq!(req.time, ts("2023-05-31T01:21:13.9553393Z"));
    assert_eq!(&**req.computer(), "CLIENT01.contoso.com");
    assert_eq!(&**req.channel(), "Application");
    assert_eq!(&**req.provider(), "Microsoft-Windows-Security-SPP");
    assert_eq!(req.event_id, 12288);
    let KmsBody::ClientRequest(r) = &req.body else {
        panic!("{:?}", req.body)
    };
    assert_eq!(r.hresult, Hresult(0));
    assert_eq!(r.status_flags.0, 0);
    assert_eq!(r.kms_host.as_deref(), Some("kms01.contoso.com"));
    assert_eq!(r.kms_port, Some(1688));
    assert_eq!(r.cmid, guid("5b0c1f3e-7a51-4e0c-9a43-2f1d8c6b7e90"));
    assert_eq!(r.client_time, Some(ts("2023-05-31T01:21:00Z")));
    assert!(r.vm);
    assert_eq!(r.license_status, LicenseStatus::Licensed);
    assert_eq!(r.minutes_left, 249120);
    assert_eq!(r.act_id, guid("ef6cfc9f-8c5d-44ac-9aad-de6a2ea0ae03"));
    assert_eq!(r.min_count, Some(5));

    let resp = by_record(&b.events, 8529);
    let KmsBody::ClientResponse(r) = &resp.body else {
        panic!("{:?}", resp.body)
    };
    assert_eq!(resp.time, ts("2023-05-31T01:21:14.2907688Z"));
    assert_eq!(r.hresult, Hresult(0));
    assert!(r.activated);
    assert_eq!(r.current_count, 50);
    assert_eq!(r.activation_interval, 120);
    assert_eq!(r.renewal_interval, 10080);
    assert_eq!(r.client_time, Some(ts("2023-05-31T01:21:00Z")));

    let host = by_record(&b.events, 311);
    assert_eq!(&**host.channel(), "Key Management Service");
    assert_eq!(&**host.computer(), "kms01.contoso.com");
    let KmsBody::HostRequest(h) = &host.body else {
        panic!("{:?}", host.body)
    };
    assert_eq!(h.hresult, Hresult(0));
    assert_eq!(h.min_count, 5);
    assert_eq!(h.client_name, "CLIENT01.contoso.com");
    assert_eq!(h.cmid, guid("5b0c1f3e-7a51-4e0c-9a43-2f1d8c6b7e90"));
    assert_eq!(h.client_time, Some(ts("2023-05-31T01:21:00Z")));
    assert!(h.vm);
    assert_eq!(h.license_status, LicenseStatus::Licensed);
    assert_eq!(h.minutes_left, 249120);
    assert_eq!(h.act_id, guid("ef6cfc9f-8c5d-44ac-9aad-de6a2ea0ae03"));

    let failed = by_record(&b.events, 9001);
    assert_eq!(
        failed.body,
        KmsBody::DnsPublishFailed(DnsPublishFailed {
            hresult: Hresult(0x8007_2338),
            domain: "contoso.com".into()
        })
    );
    let ok = by_record(&b.events, 9002);
    assert_eq!(
        ok.body,
        KmsBody::DnsPublishSucceeded(DnsPublishSucceeded {
            domain: "corp.contoso.com".into()
        })
    );
}

#[test]
fn event_viewer_saved_file_and_the_odd_cases_of_the_reference() {
    let b = read_one(&fixture("xml/eventviewer-saved.xml"));
    let src = &b.sources[0];
    assert_eq!(src.tally.records, 6);
    assert!(
        src.tally.diagnostics.is_empty(),
        "{:?}",
        src.tally.diagnostics
    );
    assert_eq!(b.events.len(), 6);

    // Azure-style 12288: error HRESULT, upper-case CMID, empty trailing N-Policy (§5.2).
    let az = by_record(&b.events, 14121);
    assert_eq!(
        az.time,
        ts("2021-03-02T09:15:41.8296725Z"),
        "9-digit Event Viewer fraction"
    );
    let KmsBody::ClientRequest(r) = &az.body else {
        panic!("{:?}", az.body)
    };
    assert_eq!(r.hresult.to_string(), "0xC004F06C");
    assert_eq!(r.kms_host.as_deref(), Some("azkms.core.windows.net"));
    assert_eq!(r.cmid.to_string(), "08c3bda0-c556-4b61-9e4e-7bf6d4df80be");
    assert_eq!(r.license_status, LicenseStatus::Notification);
    assert_eq!(r.minutes_left, 0);
    assert_eq!(r.min_count, None);

    // Doc-example 12289: `0x0`, flags NOT_ENOUGH_COUNT|OTHER_PC, not activated, M/D/Y time.
    let resp = by_record(&b.events, 14122);
    let KmsBody::ClientResponse(r) = &resp.body else {
        panic!("{:?}", resp.body)
    };
    assert_eq!(r.status_flags.0, 0x0400_0008);
    assert!(!r.activated);
    assert_eq!(r.current_count, 4);
    assert_eq!(r.client_time, Some(ts("2006-01-14T02:30:00Z")));

    // Server 2008 host (Licensing-SLC), Data[0] only, `","` separators, short client name.
    let host = by_record(&b.events, 77);
    assert_eq!(
        &**host.provider(),
        "Microsoft-Windows-Security-Licensing-SLC"
    );
    let KmsBody::HostRequest(h) = &host.body else {
        panic!("{:?}", host.body)
    };
    assert_eq!(h.hresult, Hresult(0xC004_F06C));
    assert_eq!(h.client_name, "WKSTN27");
    assert_eq!(h.client_time, Some(ts("2010-09-29T21:46:00Z")));
    assert!(!h.vm);
    assert_eq!(h.license_status, LicenseStatus::InitialGrace);
    assert_eq!(h.minutes_left, 41520);

    // Office 2010 (OSPP source) 12288.
    let office = by_record(&b.events, 5120);
    assert_eq!(
        &**office.provider(),
        "Office Software Protection Platform Service"
    );
    let KmsBody::ClientRequest(r) = &office.body else {
        panic!("{:?}", office.body)
    };
    assert_eq!(r.kms_host.as_deref(), Some("kms.corp.example"));
    assert_eq!(r.min_count, Some(5));

    // 8198 with hr= and the slui command line.
    let e = by_record(&b.events, 53);
    let KmsBody::SppError(s) = &e.body else {
        panic!("{:?}", e.body)
    };
    assert_eq!(s.hresult, Some(Hresult(0x8007_04CF)));
    assert!(s.detail.as_deref().unwrap().starts_with("RuleId=31e71c49"));

    // 1003 with entity and character references resolved.
    let e = by_record(&b.events, 54);
    let KmsBody::LicensingStatus(l) = &e.body else {
        panic!("{:?}", e.body)
    };
    assert_eq!(l.app_id, Some(guid("55c92734-d682-4d71-983e-d6ec3f16059f")));
    assert_eq!(
        &*l.status,
        "1: 2077f0b2-1a2b-4c3d-8e9f-0a1b2c3d4e5f, 1, 0 [(0 [0xC004F014, 0, 0], & <x>)]"
    );
}

#[test]
fn every_encoding_gives_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["wevtutil-rendered.xml", "eventviewer-saved.xml"] {
        let text = std::fs::read_to_string(fixture(&format!("xml/{name}"))).unwrap();
        let utf8 = rows_without_source(&read_one(&fixture(&format!("xml/{name}"))));
        assert!(!utf8.is_empty());
        let declared16 = text.replace("encoding=\"utf-8\"", "encoding=\"UTF-16\"");
        let variants: Vec<(&str, Vec<u8>)> = vec![
            ("utf8-bom", [&b"\xEF\xBB\xBF"[..], text.as_bytes()].concat()),
            ("utf16le-bom", utf16(&declared16, true, true)),
            ("utf16le-nobom", utf16(&declared16, true, false)),
            ("utf16be-bom", utf16(&declared16, false, true)),
            ("crlf", text.replace('\n', "\r\n").into_bytes()),
        ];
        for (label, bytes) in variants {
            let path = dir.path().join(format!("{label}-{name}"));
            std::fs::write(&path, bytes).unwrap();
            let b = read_one(&path);
            assert!(
                b.sources[0].tally.diagnostics.is_empty(),
                "{label} {name}: {:?}",
                b.sources[0].tally.diagnostics
            );
            assert_eq!(rows_without_source(&b), utf8, "{label} {name}");
        }
    }
}

#[test]
fn malformed_payloads_and_truncation_are_diagnosed_not_dropped() {
    let path = fixture("xml/malformed.xml");
    let b = read_one(&path);
    let src = &b.sources[0];
    let diags: Vec<String> = src
        .tally
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect();
    let has = |needle: &str| diags.iter().any(|d| d.contains(needle));
    assert!(
        has("record 100: event 12288 payload does not parse: CMID \"not-a-guid\" is not a GUID"),
        "{diags:#?}"
    );
    assert!(
        has(
            "record 101: event 12289 payload does not parse: expected 8 comma-separated fields, found 4"
        ),
        "{diags:#?}"
    );
    assert!(has("record 102: Data[0]") && has("disagree"), "{diags:#?}");
    assert!(has("ends inside an <Event>"), "{diags:#?}");
    assert!(
        diags.iter().all(|d| d.contains("malformed.xml")),
        "{diags:#?}"
    );
    // The bad events are kept, typed as malformed; the good ones decode; the cut one is lost.
    assert_eq!(b.events.len(), 4);
    assert!(
        matches!(&by_record(&b.events, 100).body, KmsBody::Malformed(m) if m.kind == kmslens::kms::EventKind::ClientRequest)
    );
    let KmsBody::HostRequest(h) = &by_record(&b.events, 102).body else {
        panic!()
    };
    assert_eq!(h.client_name, "PC2", "Data[1..9] wins over Data[0]");
    assert!(matches!(
        by_record(&b.events, 103).body,
        KmsBody::DnsPublishSucceeded(_)
    ));
    assert!(src.tally.lost.records >= 1);
}

#[test]
fn a_utf16_file_is_never_silently_empty() {
    // The stack notes' trap: UTF-16 read as UTF-8 parses "successfully" into 0 events.
    let text = std::fs::read_to_string(fixture("xml/wevtutil-rendered.xml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.xml");
    std::fs::write(&path, utf16(&text, true, false)).unwrap();
    let b = read_one(&path);
    assert_eq!(b.sources[0].detail.as_deref(), Some("UTF-16LE"));
    assert_eq!(b.events.len(), 5);
}
