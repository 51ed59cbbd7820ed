//! Structure-aware, end to end: a bundle of KMS events with extreme values (times at the ends of
//! the calendar, clients with thousands of requests, empty and huge names, duplicated record ids)
//! goes through ingest → correlate → tables → rules → every report format.
#![no_main]

use arbitrary::Arbitrary;
use kmslens::analysis;
use kmslens::ingest::{IngestOptions, ingest_bytes};
use kmslens::kms::thresholds::Params;
use kmslens::report::{html, json, markdown, model, text};
use kmslens::rules::Rule;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const ACTS: [&str; 5] = [
    "73111121-5638-40f6-bc11-f1d7b0d64300",
    "5f94a0bb-d5a0-4081-a685-5819418b2fe0",
    "7dc26449-db21-4e09-ba37-28f2958506a6",
    "8c8f0ad3-9a43-4e05-b840-93b8d1475cbc",
    "00000000-0000-0000-0000-000000000000",
];
const HRESULTS: [u32; 6] = [0, 0xC004F038, 0xC004F042, 0xC004F074, 0xC004F06C, 0x8007232B];

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Time {
    First,
    Last,
    Near(i32),
    Any(i64),
}

impl Time {
    fn at(self) -> jiff::Timestamp {
        let secs = match self {
            Time::First => -11_644_473_600, // 1601-01-01, FILETIME zero
            Time::Last => 253_402_300_799,  // 9999-12-31T23:59:59
            Time::Near(s) => 1_780_000_000 + i64::from(s),
            Time::Any(s) => s,
        };
        jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
}

#[derive(Arbitrary, Debug)]
enum Name {
    Pc(u8),
    Empty,
    Huge(u16),
}

impl Name {
    fn text(&self) -> String {
        match self {
            Name::Pc(n) => format!("pc{}.contoso.com", n % 16),
            Name::Empty => String::new(),
            Name::Huge(n) => "x".repeat(usize::from(*n) * 4),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Kind {
    Request,
    Response { activated: bool, count: u16 },
    HostRecord { host: u8 },
    DnsFailed { host: u8 },
    AdActivated,
}

#[derive(Arbitrary, Debug)]
struct Event {
    kind: Kind,
    machine: Name,
    time: Time,
    client_time: Time,
    cmid: u8,
    act: u8,
    hresult: u8,
    kms_host: u8,
    record_id: Option<u8>,
    /// Repeats of this event (a client with thousands of requests).
    repeat: u8,
}

#[derive(Arbitrary, Debug)]
struct Bundle {
    events: Vec<Event>,
    skew_minutes: u16,
    count_window_days: u8,
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| kmslens::rules::load(&[]).0)
}

fn xml(id: u16, channel: &str, computer: &str, time: jiff::Timestamp, record: u64, data: &str) -> String {
    format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-SPP'/><EventID Qualifiers='16384'>{id}</EventID><TimeCreated SystemTime='{time}'/><EventRecordID>{record}</EventRecordID><Channel>{channel}</Channel><Computer>{computer}</Computer></System><EventData><Data>{data}</Data></EventData></Event>\r\n"
    )
}

fn render(e: &Event, record: u64) -> String {
    let cmid = format!("0f1e2d3c-4b5a-4697-8877-aa00bb11cc{:02x}", e.cmid % 8);
    let act = ACTS[usize::from(e.act) % ACTS.len()];
    let hr = HRESULTS[usize::from(e.hresult) % HRESULTS.len()];
    let ct = e.client_time.at().strftime("%Y/%m/%d %H:%M");
    let machine = e.machine.text();
    let host = format!("kms{}.contoso.com", e.kms_host % 3);
    let t = e.time.at();
    match &e.kind {
        Kind::Request => xml(12288, "Application", &machine, t, record, &format!(
            "0x{hr:08X}, 0x00000000, {host}:1688, {cmid}, {ct}, 0, 2, 40000, {act}, 25"
        )),
        Kind::Response { activated, count } => xml(12289, "Application", &machine, t, record, &format!(
            "0x{hr:08X}, 0x00000000, {}, 0, {count}, 120, 10080, {ct}", u8::from(*activated)
        )),
        Kind::HostRecord { host } => xml(12290, "Key Management Service", &format!("kms{}.contoso.com", host % 3), t, record, &format!(
            "0x{hr:X},25,{machine},{cmid},{ct},0,2,40000,{act}"
        )),
        Kind::DnsFailed { host } => xml(12293, "Key Management Service", &format!("kms{}.contoso.com", host % 3), t, record, "contoso.com, 0x0000232A"),
        Kind::AdActivated => xml(12308, "Application", &machine, t, record, &format!(
            "{act}, CN=Windows,CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,DC=contoso,DC=com"
        )),
    }
}

fuzz_target!(|b: Bundle| {
    let mut files: Vec<String> = vec![String::new(); 4];
    let mut record = 1u64;
    for e in b.events.iter().take(64) {
        for _ in 0..=usize::from(e.repeat % 64) {
            let id = e.record_id.map_or(record, u64::from);
            files[record as usize % 4].push_str(&render(e, id));
            record += 1;
        }
    }
    let named: Vec<(String, &[u8])> = files
        .iter()
        .enumerate()
        .map(|(k, f)| (format!("case/PC{k}/Application.xml"), f.as_bytes()))
        .collect();
    let refs: Vec<(&str, &[u8])> = named.iter().map(|(n, f)| (n.as_str(), *f)).collect();
    let opts = IngestOptions { source_timeout: None, ..IngestOptions::default() };
    let bundle = ingest_bytes(&refs, &opts);
    let params = Params::with_overrides(&[
        format!("skew_minutes={}", b.skew_minutes),
        format!("count_window_days={}", b.count_window_days),
    ])
    .expect("valid parameters");
    let a = analysis::run_on(bundle, rules(), params, vec!["kms0.contoso.com".into()])
        .expect("tables build");
    assert!(a.rule_errors.is_empty(), "{:?}", a.rule_errors);
    let now = jiff::Timestamp::UNIX_EPOCH;
    let m = model::of(&a);
    let _ = text::render(&m, &text::Options { colour: true, verbose: true });
    let _ = markdown::render(&m, now, true);
    let _ = html::render(&m, now, true);
    let _ = json::render(&a, now);
});
