//! Every `--set` parameter does something: changing it moves the result it names.

use crate::common;

use common::*;
use kmslens::analysis::Analysis;
use kmslens::kms::thresholds::DEFAULTS;
use std::path::Path;

const ACT: &str = "73111121-5638-40f6-bc11-f1d7b0d64300";
const KMS: &str = "Key Management Service";

fn cmid(n: usize) -> String {
    format!("0f1e2d3c-4b5a-4697-8877-aa00bb11{n:04}")
}

/// A client's 12288 to `host`, with its Info client time (empty for none).
fn request(host: &str, n: usize, client_time: &str) -> String {
    format!(
        "0x00000000, 0x00000000, {host}.contoso.com:1688, {}, {client_time}, 0, 2, 40000, {ACT}, 25",
        cmid(n)
    )
}

/// A 12289: activated, or refused for an insufficient count, with the host's count.
fn response(activated: bool, count: u32) -> String {
    let hr = if activated {
        "0x00000000"
    } else {
        "0xC004F038"
    };
    format!(
        "{hr}, 0x00000000, {}, 0, {count}, 120, 10080, 2026/06/01 10:00",
        u8::from(activated)
    )
}

/// A host's 12290 for client `n` (`pc<n>`), with the client time it carries.
fn host_record(n: usize, client_time: &str) -> String {
    format!(
        "0x0,25,pc{n}.contoso.com,{},{client_time},0,2,40000,{ACT}",
        cmid(n)
    )
}

type Ev = (u16, &'static str, String, String, String);

fn write(dir: &Path, name: &str, events: &[Ev]) {
    let refs: Vec<(u16, &str, &str, &str, &str)> = events
        .iter()
        .map(|(id, ch, c, t, d)| (*id, *ch, c.as_str(), t.as_str(), d.as_str()))
        .collect();
    write_events(dir, name, &refs);
}

fn client(n: usize, id: u16, time: &str, data: String) -> Ev {
    (
        id,
        "Application",
        format!("pc{n}.contoso.com"),
        time.into(),
        data,
    )
}

fn host(name: &str, time: &str, data: String) -> Ev {
    (12290, KMS, format!("{name}.contoso.com"), time.into(), data)
}

fn run(dir: &Path, set: &[&str]) -> Analysis {
    analyze_with(&[dir.to_path_buf()], &[], set)
}

fn rules_of(a: &Analysis, rule: &str) -> usize {
    a.findings.iter().filter(|f| f.rule == rule).count()
}

#[test]
fn response_window_minutes_decides_which_12289_answers_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let pc1 = [
        client(
            1,
            12288,
            "2026-06-01T10:00:10Z",
            request("kms01", 1, "2026/06/01 10:00"),
        ),
        client(1, 12289, "2026-06-01T10:06:10Z", response(true, 30)),
    ];
    write(dir.path(), "pc1.xml", &pc1);
    let answered = |set: &[&str]| run(dir.path(), set).attempts[0].response.is_some();
    assert!(answered(&[]), "6 minutes is within the default 10");
    assert!(!answered(&["response_window_minutes=5"]));
}

#[test]
fn client_time_match_minutes_decides_which_host_record_is_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let pc1 = [client(
        1,
        12288,
        "2026-06-01T10:00:10Z",
        request("kms01", 1, "2026/06/01 10:00"),
    )];
    write(dir.path(), "pc1.xml", &pc1);
    // The host record carries a client time 5 minutes off.
    let kms = [host(
        "kms01",
        "2026-06-01T10:00:11Z",
        host_record(1, "2026/6/1 10:05"),
    )];
    write(dir.path(), "kms.xml", &kms);
    let matched = |set: &[&str]| run(dir.path(), set).attempts[0].host.is_some();
    assert!(!matched(&[]));
    assert!(matched(&["client_time_match_minutes=10"]));
}

#[test]
fn match_window_minutes_decides_matches_without_client_times_and_log_coverage() {
    let dir = tempfile::tempdir().unwrap();
    // Without client times, the host record 5 minutes later is matched by event time.
    let pc1 = [client(
        1,
        12288,
        "2026-06-01T10:00:10Z",
        request("kms01", 1, ""),
    )];
    write(dir.path(), "pc1.xml", &pc1);
    let kms = [host("kms01", "2026-06-01T10:05:10Z", host_record(1, ""))];
    write(dir.path(), "kms.xml", &kms);
    let matched = |set: &[&str]| run(dir.path(), set).attempts[0].host.is_some();
    assert!(matched(&[]));
    assert!(!matched(&["match_window_minutes=2"]));

    // A host log that starts 20 minutes after the first request does not cover it.
    let dir = tempfile::tempdir().unwrap();
    let pc1 = [client(
        1,
        12288,
        "2026-06-01T10:00:10Z",
        request("kms01", 1, "2026/06/01 10:00"),
    )];
    write(dir.path(), "pc1.xml", &pc1);
    let kms = [host(
        "kms01",
        "2026-06-01T10:20:10Z",
        host_record(2, "2026/6/1 10:20"),
    )];
    write(dir.path(), "kms.xml", &kms);
    assert_eq!(rules_of(&run(dir.path(), &[]), "KMS-LOG-COVERAGE"), 1);
    let slack = run(dir.path(), &["match_window_minutes=30"]);
    assert_eq!(rules_of(&slack, "KMS-LOG-COVERAGE"), 0);
}

/// A request and a host record are matched by host time when either lacks a client time (each
/// side in turn), and never when their CMIDs differ, whatever the times.
#[test]
fn a_record_without_client_time_matches_by_host_time_and_only_its_own_cmid() {
    let matched = |request_time: &str, record_time: &str, record_cmid: usize| {
        let dir = tempfile::tempdir().unwrap();
        let pc1 = [client(
            1,
            12288,
            "2026-06-01T10:00:10Z",
            request("kms01", 1, request_time),
        )];
        write(dir.path(), "pc1.xml", &pc1);
        let record = host_record(1, record_time).replace(&cmid(1), &cmid(record_cmid));
        write(
            dir.path(),
            "kms.xml",
            &[host("kms01", "2026-06-01T10:05:10Z", record)],
        );
        run(dir.path(), &[]).attempts[0].host.is_some()
    };
    assert!(
        matched("2026/06/01 10:00", "", 1),
        "record without client time"
    );
    assert!(
        matched("", "2026/6/1 10:00", 1),
        "request without client time"
    );
    assert!(matched("2026/06/01 10:00", "2026/6/1 10:00", 1));
    for (request_time, record_time) in [
        ("2026/06/01 10:00", "2026/6/1 10:00"),
        ("2026/06/01 10:00", ""),
        ("", ""),
    ] {
        assert!(
            !matched(request_time, record_time, 2),
            "another CMID ({request_time:?}, {record_time:?})"
        );
    }
}

#[test]
fn skew_minutes_is_the_clock_difference_that_counts_as_skew() {
    let dir = tempfile::tempdir().unwrap();
    // The host logs the request 3 hours after the client's own time.
    let pc1 = [
        client(
            1,
            12288,
            "2026-06-01T10:00:10Z",
            request("kms01", 1, "2026/06/01 10:00"),
        ),
        client(1, 12289, "2026-06-01T10:00:11Z", response(true, 30)),
    ];
    write(dir.path(), "pc1.xml", &pc1);
    let kms = [host(
        "kms01",
        "2026-06-01T13:00:11Z",
        host_record(1, "2026/6/1 10:00"),
    )];
    write(dir.path(), "kms.xml", &kms);
    assert_eq!(rules_of(&run(dir.path(), &[]), "KMS-CLOCK-SKEW"), 0);
    assert_eq!(
        rules_of(&run(dir.path(), &["skew_minutes=60"]), "KMS-CLOCK-SKEW"),
        1
    );
}

#[test]
fn count_window_days_is_the_window_the_fleet_is_counted_over() {
    // 15 clients asked kms01 twelve days ago, 15 others ask kms02 today: split over the 30-day
    // window, not over a 7-day one.
    let dir = tempfile::tempdir().unwrap();
    for n in 1..=30 {
        let (kms, day, count) = if n <= 15 {
            ("kms01", "05-20", 12)
        } else {
            ("kms02", "06-01", 15)
        };
        let t = format!("2026-{day}T10:00:10Z");
        let r = format!("2026-{day}T10:00:11Z");
        let events = [
            client(n, 12288, &t, request(kms, n, "")),
            client(n, 12289, &r, response(false, count)),
        ];
        write(dir.path(), &format!("pc{n}.xml"), &events);
    }
    let default = run(dir.path(), &[]);
    let split: Vec<_> = default
        .findings
        .iter()
        .filter(|f| f.rule == "KMS-SPLIT-COUNT")
        .collect();
    assert_eq!(split.len(), 1, "{:#?}", default.findings);
    assert!(
        split[0].message.contains("30 asked in the last 30 days"),
        "{}",
        split[0].message
    );
    let week = run(dir.path(), &["count_window_days=7"]);
    assert_eq!(rules_of(&week, "KMS-SPLIT-COUNT"), 0);
}

#[test]
fn every_parameter_has_a_test_here() {
    // A new parameter needs a test above that changes it; this list keeps them in step.
    let tested = [
        "skew_minutes",
        "response_window_minutes",
        "match_window_minutes",
        "client_time_match_minutes",
        "count_window_days",
    ];
    let names: Vec<&str> = DEFAULTS.iter().map(|d| d.0).collect();
    assert_eq!(names, tested);
    let source = include_str!("params.rs");
    for name in tested {
        assert!(
            source.matches(&format!("\"{name}=")).count() >= 1,
            "no test sets {name}"
        );
    }
}
