//! Findings: what a rule's result rows become. Columns named `client`/`computer`, `cmid`, `host`,
//! `kms_host` and `domain` are the finding's subjects; `source`, `record_id`, `time` (and the same
//! with a `host_` or `response_` prefix) its evidence. Values may be single or lists.

use super::{Rule, Severity};
use jiff::Timestamp;
use polars::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Most evidence items kept per finding; the rest are counted.
pub const MAX_EVIDENCE: usize = 12;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvidenceItem {
    pub source: String,
    /// `None` for evidence that is a whole file (an slmgr output).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// An error code a finding carries, explained.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CodeNote {
    pub code: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub symbol: &'static str,
    pub meaning: &'static str,
    pub fix: &'static str,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub title: String,
    /// The message with its times in UTC (`2026-10-01 06:00:01Z`), as JSON gives it.
    pub message: String,
    /// The same message with its times kept as times, for reports shown in another zone.
    #[serde(skip)]
    pub message_parts: Vec<MessagePart>,
    /// `client`, `cmid`, `host`, `kms_host`, `domain` → values (empty lists left out).
    pub subjects: BTreeMap<&'static str, Vec<String>>,
    pub evidence: Vec<EvidenceItem>,
    /// Evidence items beyond `MAX_EVIDENCE`, not listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub evidence_omitted: usize,
    /// Error codes in the rows, with their meaning (`kmslens explain`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<CodeNote>,
    pub explanation: String,
    pub remediation: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// Earliest and latest evidence time, over all evidence (listed or not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_time: Option<String>,
    /// Result columns the rule's `[diagnosis]` reads (split, merge, title), as text values.
    #[serde(skip)]
    pub facts: BTreeMap<String, Vec<String>>,
}

/// A piece of a finding's message: text, or a time that each report shows in its own zone.
#[derive(Clone, Debug, PartialEq)]
pub enum MessagePart {
    Text(String),
    Time(Timestamp),
}

impl MessagePart {
    /// The message as one text, its times written by `time`.
    pub fn join(parts: &[MessagePart], time: impl Fn(Timestamp) -> String) -> String {
        parts
            .iter()
            .map(|p| match p {
                MessagePart::Text(t) => t.clone(),
                MessagePart::Time(t) => time(*t),
            })
            .collect()
    }
}

/// A rule's message template filled with a row's values: a slot's values sorted (lists come from
/// ARRAY_AGG, which has no order) and joined by commas; time values kept as times.
fn message_parts(
    template: &str,
    cell: impl Fn(&str) -> Vec<AnyValue<'static>>,
) -> Vec<MessagePart> {
    let mut parts = Vec::new();
    for piece in super::template_pieces(template) {
        let name = match piece {
            super::TemplatePiece::Text(t) => {
                parts.push(MessagePart::Text(t.to_string()));
                continue;
            }
            super::TemplatePiece::Slot(name) => name,
        };
        let mut vals: Vec<(String, Option<Timestamp>)> =
            cell(name).iter().map(|v| (text(v), timestamp(v))).collect();
        vals.sort();
        vals.dedup();
        for (k, (text, time)) in vals.into_iter().enumerate() {
            if k > 0 {
                parts.push(MessagePart::Text(", ".into()));
            }
            parts.push(match time {
                Some(t) => MessagePart::Time(t),
                None => MessagePart::Text(text),
            });
        }
    }
    parts
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A cell as plain values: one for a scalar, several for a list, none for null.
fn values(v: &AnyValue) -> Vec<AnyValue<'static>> {
    match v {
        AnyValue::Null => vec![],
        AnyValue::List(s) => (0..s.len())
            .filter_map(|k| s.get(k).ok().map(|x| x.into_static()))
            .filter(|x| !x.is_null())
            .collect(),
        other => vec![other.clone().into_static()],
    }
}

fn text(v: &AnyValue) -> String {
    match v {
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Datetime(us, TimeUnit::Microseconds, _)
        | AnyValue::DatetimeOwned(us, TimeUnit::Microseconds, _) => {
            timestamp(v).map_or_else(|| us.to_string(), evidence_time)
        }
        AnyValue::Float64(f) => float_text(*f),
        AnyValue::Float32(f) => float_text(*f as f64),
        AnyValue::Boolean(b) => {
            if *b {
                "yes".into()
            } else {
                "no".into()
            }
        }
        other => other.to_string().trim_matches('"').to_string(),
    }
}

fn float_text(f: f64) -> String {
    if f.fract() == 0.0 {
        format!("{f:.0}")
    } else {
        format!("{f:.1}")
    }
}

fn timestamp(v: &AnyValue) -> Option<Timestamp> {
    match v {
        AnyValue::Datetime(us, TimeUnit::Microseconds, _)
        | AnyValue::DatetimeOwned(us, TimeUnit::Microseconds, _) => {
            Timestamp::from_microsecond(*us).ok()
        }
        _ => None,
    }
}

/// A time as findings carry it in JSON (evidence, messages): `2026-10-01 06:00:01Z`.
fn evidence_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%SZ").to_string()
}

fn as_u64(v: &AnyValue) -> Option<u64> {
    match v {
        AnyValue::Int64(n) => u64::try_from(*n).ok(),
        AnyValue::Int32(n) => u64::try_from(*n).ok(),
        AnyValue::UInt32(n) => Some(*n as u64),
        AnyValue::UInt64(n) => Some(*n),
        _ => None,
    }
}

const SUBJECTS: [(&str, &str); 6] = [
    ("client", "client"),
    ("computer", "client"),
    ("cmid", "cmid"),
    ("host", "host"),
    ("kms_host", "kms_host"),
    ("domain", "domain"),
];

/// One finding per row of a rule's result.
pub fn from_rows(rule: &Rule, df: &DataFrame) -> Vec<Finding> {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let fact_columns = rule.diagnosis.fact_columns();
    let mut out = Vec::with_capacity(df.height());
    for row in 0..df.height() {
        let cell = |name: &str| -> Vec<AnyValue<'static>> {
            df.column(name)
                .ok()
                .and_then(|c| c.get(row).ok())
                .map(|v| values(&v))
                .unwrap_or_default()
        };
        // Sets: a row can aggregate thousands of clients; ARRAY_AGG has no order, reports sort.
        let mut subject_sets: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
        for (col, key) in SUBJECTS {
            if names.iter().any(|n| n == col) {
                let set = subject_sets.entry(key).or_default();
                set.extend(cell(col).iter().map(text).filter(|t| !t.is_empty()));
            }
        }
        let subjects: BTreeMap<&'static str, Vec<String>> = subject_sets
            .into_iter()
            .filter(|(_, set)| !set.is_empty())
            .map(|(key, set)| (key, set.into_iter().collect()))
            .collect();
        // Ordered by time, file and record; a set, as a row can repeat a record thousands of times.
        let mut seen: BTreeSet<(Option<String>, String, Option<u64>)> = BTreeSet::new();
        for prefix in ["", "host_", "response_"] {
            let (src, rid, time) = (
                format!("{prefix}source"),
                format!("{prefix}record_id"),
                format!("{prefix}time"),
            );
            if !names.contains(&src) {
                continue;
            }
            let (s, r, t) = (cell(&src), cell(&rid), cell(&time));
            seen.extend(
                s.iter()
                    .enumerate()
                    .map(|(k, sv)| (t.get(k).map(text), text(sv), r.get(k).and_then(as_u64))),
            );
        }
        let mut evidence: Vec<EvidenceItem> = seen
            .into_iter()
            .map(|(time, source, record_id)| EvidenceItem {
                source,
                record_id,
                time,
            })
            .collect();
        let first_time = evidence.iter().filter_map(|e| e.time.clone()).min();
        let last_time = evidence.iter().filter_map(|e| e.time.clone()).max();
        let omitted = evidence.len().saturating_sub(MAX_EVIDENCE);
        evidence.truncate(MAX_EVIDENCE);
        let mut codes: Vec<CodeNote> = Vec::new();
        for col in [
            "hresult",
            "request_hresult",
            "host_hresult",
            "response_hresult",
        ] {
            for v in cell(col) {
                let Some(h) = crate::kms::Hresult::parse(&text(&v)) else {
                    continue;
                };
                if let Some(info) = crate::kms::codes::lookup(h)
                    && !codes.iter().any(|c| c.code == h.to_string())
                {
                    codes.push(CodeNote {
                        code: h.to_string(),
                        symbol: info.symbol,
                        meaning: info.meaning,
                        fix: info.fix,
                    });
                }
            }
        }
        let message_parts = message_parts(&rule.message, cell);
        let facts = fact_columns
            .iter()
            .map(|c| {
                let mut v: Vec<String> = cell(c).iter().map(text).collect();
                v.sort();
                v.dedup();
                (c.clone(), v)
            })
            .collect();
        out.push(Finding {
            rule: rule.id.clone(),
            severity: rule.severity,
            title: rule.title.clone(),
            message: MessagePart::join(&message_parts, evidence_time),
            message_parts,
            subjects,
            evidence,
            evidence_omitted: omitted,
            codes,
            explanation: rule.explanation.trim().to_string(),
            remediation: rule.remediation.clone(),
            references: rule.references.clone(),
            first_time,
            last_time,
            facts,
        });
    }
    out
}
