//! What an analysis covered and what it could not see: the same facts for every report format.

use crate::analysis::Analysis;
use crate::ingest::report::Status;
use crate::sources::sniff::SourceKind;
use jiff::Timestamp;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct KindCount {
    pub read: usize,
    pub skipped: usize,
    pub unreadable: usize,
    pub damaged: usize,
}

pub struct Problem {
    pub source: String,
    pub what: String,
}

pub struct LogSpan {
    pub source: String,
    pub kind: &'static str,
    pub computers: String,
    pub channels: String,
    pub records: u64,
    pub kms_events: usize,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    pub damaged: u64,
}

pub struct Coverage {
    pub kinds: BTreeMap<&'static str, KindCount>,
    pub problems: Vec<Problem>,
    pub hosts: Vec<String>,
    pub clients: Vec<String>,
    /// Clients per activation channel (`kms`, `ad`, `avma`).
    pub channels: BTreeMap<&'static str, usize>,
    pub logs: Vec<LogSpan>,
    /// reason → rules that did not run for it
    pub not_checked: BTreeMap<String, Vec<String>>,
    /// Facts worth knowing that are not problems (e.g. a host kept out of DNS on purpose).
    pub notes: Vec<String>,
}

pub fn of(a: &Analysis) -> Coverage {
    let mut kinds: BTreeMap<&'static str, KindCount> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut logs = Vec::new();
    for s in &a.bundle.sources {
        let k = kinds.entry(s.kind.name()).or_default();
        match &s.status {
            Status::Read => {
                k.read += 1;
                if s.tally.lost.total() > 0 {
                    k.damaged += 1;
                    let first = s
                        .tally
                        .diagnostics
                        .iter()
                        .find(|d| d.severity >= crate::messages::Severity::Warning);
                    let detail = first
                        .map(|d| format!(", first: {}", d.message))
                        .unwrap_or_default();
                    problems.push(Problem {
                        source: s.source.to_string(),
                        what: format!("{}{detail}", s.tally.lost),
                    });
                }
                if s.kind == SourceKind::Slmgr && s.tally.computers.is_empty() {
                    problems.push(Problem {
                        source: s.source.to_string(),
                        what: "slmgr output of an unknown machine (no name in its file, folder or zip name, no single computer in the logs beside it): not analysed".into(),
                    });
                }
                if s.kind == SourceKind::Slmgr && s.unknown_language {
                    problems.push(Problem {
                        source: s.source.to_string(),
                        what: "slmgr output in a language kmslens has no labels for: only the CMID and KMS host were read".into(),
                    });
                }
                if s.kind.is_event_log() {
                    logs.push(LogSpan {
                        source: s.source.to_string(),
                        kind: s.kind.name(),
                        computers: s.tally.computers.joined(),
                        channels: s.tally.channels.joined(),
                        records: s.tally.records,
                        kms_events: s.tally.kms_events,
                        first: s.tally.first_time,
                        last: s.tally.last_time,
                        damaged: s.tally.lost.total(),
                    });
                }
            }
            Status::Skipped(r) => {
                k.skipped += 1;
                problems.push(Problem {
                    source: s.source.to_string(),
                    what: format!("skipped: {r}"),
                });
            }
            Status::Unreadable(r) => {
                k.unreadable += 1;
                problems.push(Problem {
                    source: s.source.to_string(),
                    what: format!("unreadable: {r}"),
                });
            }
        }
    }
    let mut not_checked: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in &a.not_checked {
        not_checked
            .entry(n.reason.clone())
            .or_default()
            .push(n.rule.clone());
    }
    Coverage {
        notes: notes(a).into_iter().chain(zone_note(a)).collect(),
        kinds,
        problems,
        hosts: a.hosts().iter().cloned().collect(),
        clients: a.clients().iter().cloned().collect(),
        channels: a.activation_channels(),
        logs,
        not_checked,
    }
}

/// Hosts whose slmgr shows DNS publishing disabled without a finding about it: another host
/// publishes and clients find hosts, a normal setup for a second host.
fn notes(a: &Analysis) -> Vec<String> {
    let flagged: Vec<&String> = a
        .findings
        .iter()
        .filter(|f| f.rule == "KMS-HOST-DNS-PUBLISHING-OFF")
        .filter_map(|f| f.subjects.get("host"))
        .flatten()
        .collect();
    (a.overview.dns_publishing_off.iter())
        .filter(|h| !flagged.contains(h))
        .map(|h| {
            format!("{h} does not publish its SRV record in DNS (slmgr: DNS publishing disabled); another host publishes and no client fails to find one, so this is not a problem")
        })
        .collect()
}

/// When the report shows UTC and the machines' `timezone.txt` give their zone: the `--tz` that
/// shows their clocks.
fn zone_note(a: &Analysis) -> Option<String> {
    if !crate::kms::zones::is_utc(&a.bundle.zone) {
        return None;
    }
    let zones: std::collections::BTreeSet<(String, String)> = a
        .bundle
        .probes
        .iter()
        .filter_map(|p| match &p.probe {
            crate::kms::probes::Probe::Zone(z) => z.machine_zone(),
            _ => None,
        })
        .filter_map(|z| Some((z.zone.iana_name()?.to_string(), z.label)))
        .collect();
    let (iana, label) = zones.iter().next()?;
    Some(match zones.len() {
        1 => format!(
            "times are in UTC; the machines' timezone.txt give {label}: add --tz {iana} to see their local time"
        ),
        n => format!(
            "times are in UTC; the machines' timezone.txt give {n} zones ({}): --tz shows one of them",
            zones
                .iter()
                .map(|(_, l)| l.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

impl Coverage {
    /// "38 send KMS requests, 7 activated through Active Directory", or nothing.
    pub fn channels_line(&self) -> Option<String> {
        let name = |c: &str| match c {
            "kms" => "send KMS requests",
            "ad" => "activated through Active Directory",
            "avma" => "activated by AVMA (Hyper-V host)",
            _ => "other",
        };
        let parts: Vec<String> = self
            .channels
            .iter()
            .map(|(c, n)| format!("{n} {}", name(c)))
            .collect();
        (self.channels.keys().any(|c| *c != "kms")).then(|| parts.join(", "))
    }
}

/// Up to this many logs, every one is listed in the coverage.
pub const LIST_ALL_LOGS_UP_TO: usize = 60;

impl Coverage {
    /// The logs to list, and how many are left out: all of them when `all` or when there are few,
    /// else the KMS host logs and the damaged ones.
    pub fn logs_to_list(&self, all: bool) -> (Vec<&LogSpan>, usize) {
        if all || self.logs.len() <= LIST_ALL_LOGS_UP_TO {
            return (self.logs.iter().collect(), 0);
        }
        let shown: Vec<&LogSpan> = self
            .logs
            .iter()
            .filter(|l| {
                l.damaged > 0 || l.channels.split(", ").any(crate::kms::ids::is_kms_channel)
            })
            .collect();
        let hidden = self.logs.len() - shown.len();
        (shown, hidden)
    }
}
