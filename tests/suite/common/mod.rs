//! Helpers shared by the integration tests.

use indicatif::ProgressBar;
use kmslens::ingest::{self, IngestOptions, Ingested};
use std::path::{Path, PathBuf};

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub fn corpus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/real")
        .join(rel)
}

pub fn read(paths: &[PathBuf]) -> Ingested {
    ingest::ingest(paths, &IngestOptions::default(), &ProgressBar::hidden())
}

pub fn read_one(path: &Path) -> Ingested {
    read(&[path.to_path_buf()])
}

/// Rows as the `events` command prints them, without the source column.
pub fn rows_without_source(b: &Ingested) -> Vec<serde_json::Map<String, serde_json::Value>> {
    b.events
        .iter()
        .map(|e| {
            let mut r = kmslens::report::rows::row(e);
            r.remove("source");
            r
        })
        .collect()
}

pub fn utf16(text: &str, le: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(if le { &[0xFF, 0xFE] } else { &[0xFE, 0xFF] });
    }
    for u in text.encode_utf16() {
        out.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
    }
    out
}

/// Simulates a bundle into a temporary folder.
pub fn simulate(
    cfg: &kmslens::simulate::SimConfig,
) -> (tempfile::TempDir, Vec<kmslens::simulate::model::Truth>) {
    let dir = tempfile::tempdir().unwrap();
    let w = kmslens::simulate::simulate(cfg, dir.path()).unwrap();
    (dir, w.truth)
}

/// Runs the whole analysis with the built-in rules.
pub fn analyze(paths: &[PathBuf], expected_hosts: &[&str]) -> kmslens::analysis::Analysis {
    analyze_with(paths, expected_hosts, &[])
}

/// Runs the whole analysis with the built-in rules and `--set NAME=VALUE` overrides.
pub fn analyze_with(
    paths: &[PathBuf],
    expected_hosts: &[&str],
    set: &[&str],
) -> kmslens::analysis::Analysis {
    let (rules, errors) = kmslens::rules::load(&[]);
    assert!(errors.is_empty(), "{errors:?}");
    let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
    let req = kmslens::analysis::Request {
        paths,
        ingest: IngestOptions::default(),
        rules: &rules,
        params: kmslens::kms::thresholds::Params::with_overrides(&set).unwrap(),
        expected_hosts: expected_hosts.iter().map(|s| s.to_string()).collect(),
    };
    kmslens::analysis::run(req, &ProgressBar::hidden()).unwrap()
}

/// Compares findings with ground truth: every truth item of a loaded rule is found (recall), and
/// every finding at medium or above stands for a truth item (precision). Returns the mismatches.
pub fn accuracy(
    a: &kmslens::analysis::Analysis,
    truth: &[kmslens::simulate::model::Truth],
) -> Vec<String> {
    use kmslens::rules::Severity;
    let (rules, _) = kmslens::rules::load(&[]);
    let loaded: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    let mut problems = Vec::new();
    for t in truth.iter().filter(|t| loaded.contains(&t.rule.as_str())) {
        let hit = a.findings.iter().any(|f| {
            f.rule == t.rule
                && f.subjects
                    .get(t.subject.as_str())
                    .is_some_and(|v| v.contains(&t.value))
        });
        if !hit {
            problems.push(format!("missed: {} {}={}", t.rule, t.subject, t.value));
        }
    }
    for f in a.findings.iter().filter(|f| f.severity >= Severity::Medium) {
        let backed = truth.iter().any(|t| {
            t.rule == f.rule
                && f.subjects
                    .get(t.subject.as_str())
                    .is_some_and(|v| v.contains(&t.value))
        });
        if !backed {
            problems.push(format!(
                "false alarm: {} {:?}: {}",
                f.rule, f.subjects, f.message
            ));
        }
    }
    problems
}

/// Compares diagnoses with ground truth: one diagnosis per injected fault (at medium or above),
/// holding every finding the truth ties to that fault, and no two faults in one diagnosis.
/// Returns the mismatches.
pub fn diagnosis_mismatches(
    a: &kmslens::analysis::Analysis,
    truth: &[kmslens::simulate::model::Truth],
) -> Vec<String> {
    use kmslens::rules::Severity;
    use std::collections::BTreeMap;
    let mut by_fault: BTreeMap<kmslens::simulate::Fault, Vec<&kmslens::simulate::model::Truth>> =
        BTreeMap::new();
    for t in truth {
        if let Some(f) = t.fault {
            by_fault.entry(f).or_default().push(t);
        }
    }
    let holds = |d: &kmslens::diagnose::Diagnosis, t: &kmslens::simulate::model::Truth| {
        d.findings.iter().any(|i| {
            let f = &a.findings[*i];
            f.rule == t.rule
                && f.subjects
                    .get(t.subject.as_str())
                    .is_some_and(|v| v.contains(&t.value))
        })
    };
    let mut problems = Vec::new();
    let mut used: Vec<usize> = Vec::new();
    for (fault, items) in &by_fault {
        let found = a
            .diagnoses
            .iter()
            .position(|d| items.iter().all(|t| holds(d, t)));
        match found {
            Some(k) if used.contains(&k) => problems.push(format!(
                "{fault:?} shares diagnosis {} with another fault",
                a.diagnoses[k].id
            )),
            Some(k) => used.push(k),
            None => {
                // The diagnosis that holds most of them, and what it misses (a few).
                let best = a
                    .diagnoses
                    .iter()
                    .max_by_key(|d| items.iter().filter(|t| holds(d, t)).count());
                let missing: Vec<String> = items
                    .iter()
                    .filter(|t| best.is_none_or(|d| !holds(d, t)))
                    .map(|t| {
                        let ds: Vec<&str> = a
                            .diagnoses
                            .iter()
                            .filter(|d| holds(d, t))
                            .map(|d| d.id.as_str())
                            .collect();
                        format!("{} {}={} in {ds:?}", t.rule, t.subject, t.value)
                    })
                    .collect();
                problems.push(format!(
                    "{fault:?}: {} holds all but {} of its {} findings, e.g. {:?}",
                    best.map_or("no diagnosis", |d| d.id.as_str()),
                    missing.len(),
                    items.len(),
                    &missing[..missing.len().min(4)]
                ));
            }
        }
    }
    let extra: Vec<&str> = (0..a.diagnoses.len())
        .filter(|k| !used.contains(k) && a.diagnoses[*k].severity >= Severity::Medium)
        .map(|k| a.diagnoses[k].id.as_str())
        .collect();
    if !extra.is_empty() {
        problems.push(format!(
            "diagnoses at medium or above that no fault explains: {extra:?}"
        ));
    }
    problems
}

/// One event as `wevtutil qe /f:xml` writes it (no root element), each value a `<Data>`.
pub fn event_xml(
    id: u16,
    channel: &str,
    computer: &str,
    time: &str,
    record: u64,
    data: &[&str],
) -> String {
    let data: String = data.iter().map(|d| format!("<Data>{d}</Data>")).collect();
    format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-SPP'/><EventID Qualifiers='16384'>{id}</EventID><TimeCreated SystemTime='{time}'/><EventRecordID>{record}</EventRecordID><Channel>{channel}</Channel><Computer>{computer}</Computer></System><EventData>{data}</EventData></Event>\r\n"
    )
}

/// Writes one machine's events as a wevtutil stream; `|` separates the `<Data>` values.
pub fn write_events(dir: &std::path::Path, name: &str, events: &[(u16, &str, &str, &str, &str)]) {
    let body: String = events
        .iter()
        .enumerate()
        .map(|(k, (id, channel, computer, time, data))| {
            let data: Vec<&str> = data.split('|').collect();
            event_xml(*id, channel, computer, time, k as u64 + 1, &data)
        })
        .collect();
    std::fs::write(dir.join(name), body).unwrap();
}
