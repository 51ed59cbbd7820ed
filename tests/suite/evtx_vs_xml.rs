//! The same events read from a real EVTX file and from its XML export (made by python-evtx,
//! an independent parser) give identical normalized rows.

use crate::common;

use common::*;
use serde_json::{Map, Value};

type Rows = std::collections::BTreeMap<u64, (jiff::Timestamp, Map<String, Value>)>;

/// Rows keyed by record id, the time apart: python-evtx converts FILETIMEs through floats and is
/// off by a few microseconds.
fn rows(path: &std::path::Path) -> Rows {
    let b = read_one(path);
    assert!(
        b.sources
            .iter()
            .all(|s| s.status == kmslens::ingest::report::Status::Read),
        "{path:?}"
    );
    rows_without_source(&b)
        .into_iter()
        .map(|mut r| {
            let t: jiff::Timestamp = r.remove("time").unwrap().as_str().unwrap().parse().unwrap();
            (r["record_id"].as_u64().unwrap(), (t, r))
        })
        .collect()
}

fn same_rows(evtx: &str, xml: &str, at_least: usize) {
    let from_evtx = rows(&corpus(evtx));
    let from_xml = rows(&fixture(&format!("exported/{xml}")));
    assert!(from_xml.len() >= at_least, "{xml}: {} rows", from_xml.len());
    for (id, (time, row)) in &from_xml {
        let (t, r) = from_evtx
            .get(id)
            .unwrap_or_else(|| panic!("record {id} of {xml} not read from {evtx}"));
        assert_eq!(r, row, "record {id} of {evtx}");
        let gap = t.duration_since(*time).abs();
        assert!(
            gap < jiff::SignedDuration::from_micros(10),
            "record {id}: {t} vs {time}"
        );
    }
}

#[test]
fn fukusuket_application_log_8198_1003_and_more() {
    // python-evtx reads 38 of the 57 SPP records (only the chunks the header lists).
    same_rows(
        "fukusuket__evtx-parser/Application.evtx",
        "fukusuket-Application.wevtutil.xml",
        38,
    );
    let evtx = rows(&corpus("fukusuket__evtx-parser/Application.evtx"));
    assert_eq!(evtx.len(), 57, "every SPP record of the log (SOURCES.md)");
    let ids: Vec<u64> = evtx
        .values()
        .map(|(_, r)| r["event_id"].as_u64().unwrap())
        .collect();
    for (id, n) in [
        (8198, 3),
        (1003, 45),
        (900, 1),
        (902, 1),
        (16384, 1),
        (16394, 2),
    ] {
        assert_eq!(ids.iter().filter(|x| **x == id).count(), n, "event {id}");
    }
}

#[test]
fn mandumpal_application_log() {
    same_rows(
        "Mandumpal__DemoApp/Application.evtx",
        "Mandumpal-Application.viewer.xml",
        10,
    );
}

#[test]
fn omerbenamram_application_log_without_checksums() {
    same_rows(
        "omerbenamram__evtx/Application_no_crc32.evtx",
        "omerbenamram-Application_no_crc32.viewer.xml",
        6,
    );
}
