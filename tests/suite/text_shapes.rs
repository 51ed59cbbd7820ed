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
