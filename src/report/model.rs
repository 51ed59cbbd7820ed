//! One view of an analysis for every human-readable format: the summary, the problems (diagnoses)
//! with their findings, the findings grouped per rule, and the coverage. Text, Markdown and HTML
//! only format it; nothing here knows about a format.

use super::clock::Clock;
use super::coverage::{self, Coverage};
use crate::analysis::Analysis;
use crate::diagnose::Diagnosis;
use crate::ingest::report::Status;
use crate::rules::finding::{CodeNote, EvidenceItem, Finding};
use crate::rules::{RuleError, Severity};
use crate::sources::sniff::SourceKind;
use jiff::Timestamp;

/// Names shown in a machine list before "and N more" (full lists: JSON, or `--verbose`).
pub const LIST_NAMES: usize = 10;
/// Evidence items shown for a problem.
pub const PROBLEM_EVIDENCE: usize = 3;

pub const NO_PROBLEMS: &str =
    "No problems found: nothing in these logs points to a KMS activation problem the rules know.";

pub struct Report<'a> {
    pub analysis: &'a Analysis,
    pub coverage: Coverage,
    /// Sources by kind read, e.g. `15 evtx`.
    pub kinds_read: Vec<String>,
    pub slmgr_outputs: usize,
    pub time_span: Option<(Timestamp, Timestamp)>,
    /// The zone times are shown in (`--tz`).
    pub clock: Clock,
    /// Findings per severity, most severe first (every severity, zeros included).
    pub findings_by_severity: Vec<(Severity, usize)>,
    /// Problems per severity, most severe first (only those with problems).
    pub problems_by_severity: Vec<(Severity, usize)>,
    pub problems: Vec<Problem<'a>>,
    pub rules: Vec<RuleGroup<'a>>,
    pub rule_errors: &'a [RuleError],
}

/// A diagnosis as shown: numbered in the order to fix, with its findings resolved.
pub struct Problem<'a> {
    pub number: usize,
    pub diagnosis: &'a Diagnosis,
    /// Its findings per rule, `(rule, count)`, the leading rule first.
    pub per_rule: Vec<(&'a str, usize)>,
    /// `per_rule` as one line: "KMS-HOST-NOT-LOGGED ×4, KMS-NO-RESPONSE ×4".
    pub per_rule_line: String,
    /// First to last evidence time (in the report's zone), when there is any.
    pub when: Option<String>,
    /// The first evidence of its causes.
    pub evidence: Vec<&'a EvidenceItem>,
    /// Evidence items of its findings not shown.
    pub evidence_more: usize,
    /// Subject lines: label, count, names.
    pub subjects: Vec<SubjectLine<'a>>,
}

pub struct SubjectLine<'a> {
    pub label: &'static str,
    pub names: &'a [String],
}

/// The findings of one rule, with what the rule says once.
pub struct RuleGroup<'a> {
    pub rule: &'a str,
    pub severity: Severity,
    pub title: &'a str,
    /// One paragraph (rule files wrap it for the editor, not for the reader).
    pub explanation: String,
    pub remediation: &'a [String],
    pub references: &'a [String],
    pub findings: Vec<&'a Finding>,
    /// The error codes of its findings, each once.
    pub codes: Vec<&'a CodeNote>,
    /// Numbers of the problems its findings belong to.
    pub problems: Vec<usize>,
    /// Whether it leads one of those problems (its remediation is printed there).
    pub leads: bool,
}

impl Report<'_> {
    /// "4 problems (3 high, 1 medium) from 29 findings", or the no-problem sentence.
    pub fn headline(&self) -> String {
        if self.problems.is_empty() {
            return NO_PROBLEMS.to_string();
        }
        let sev: Vec<String> = self
            .problems_by_severity
            .iter()
            .map(|(s, n)| format!("{n} {}", s.name()))
            .collect();
        format!(
            "{} ({}) from {} findings",
            plural(self.problems.len(), "problem", "problems"),
            sev.join(", "),
            self.analysis.findings.len()
        )
    }
}

pub use crate::messages::plural;

/// What a subject key is called for the reader.
pub fn subject_label(key: &str) -> &'static str {
    match key {
        "client" => "Machines",
        "cmid" => "CMIDs",
        "host" => "KMS host logs",
        "kms_host" => "KMS hosts asked",
        "domain" => "DNS domains",
        _ => "Other",
    }
}

/// The explanation as one paragraph.
pub fn one_paragraph(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn of(a: &Analysis) -> Report<'_> {
    let clock = Clock::new(a.bundle.zone.clone());
    let coverage = coverage::of(a);
    let kinds_read = coverage
        .kinds
        .iter()
        .filter(|(_, c)| c.read > 0)
        .map(|(k, c)| format!("{} {k}", c.read))
        .collect();
    let slmgr_outputs = a
        .bundle
        .sources
        .iter()
        .filter(|s| s.kind == SourceKind::Slmgr && s.status == Status::Read)
        .count();
    let count = |sev: Severity| a.findings.iter().filter(|f| f.severity == sev).count();
    let findings_by_severity = Severity::ALL.iter().map(|s| (*s, count(*s))).collect();
    let problems_by_severity = Severity::ALL
        .iter()
        .map(|s| (*s, a.diagnoses.iter().filter(|d| d.severity == *s).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let problems: Vec<Problem> = a
        .diagnoses
        .iter()
        .enumerate()
        .map(|(k, d)| problem(a, k + 1, d, &clock))
        .collect();
    let rules = rule_groups(a, &problems);
    Report {
        analysis: a,
        coverage,
        kinds_read,
        slmgr_outputs,
        time_span: a.time_span(),
        clock,
        findings_by_severity,
        problems_by_severity,
        problems,
        rules,
        rule_errors: &a.rule_errors,
    }
}

fn problem<'a>(a: &'a Analysis, number: usize, d: &'a Diagnosis, clock: &Clock) -> Problem<'a> {
    let mut per_rule: Vec<(&str, usize)> = Vec::new();
    for i in &d.findings {
        let rule = a.findings[*i].rule.as_str();
        match per_rule.iter_mut().find(|(r, _)| *r == rule) {
            Some((_, n)) => *n += 1,
            None => per_rule.push((rule, 1)),
        }
    }
    let causes = &d.findings[..d.causes.min(d.findings.len())];
    // Round robin over the causes: the first records of several machines, not many of one.
    let mut evidence: Vec<&EvidenceItem> = Vec::new();
    for k in 0..PROBLEM_EVIDENCE {
        for i in causes {
            if let Some(e) = a.findings[*i].evidence.get(k)
                && evidence.len() < PROBLEM_EVIDENCE
            {
                evidence.push(e);
            }
        }
    }
    let total: usize = causes
        .iter()
        .map(|i| a.findings[*i].evidence.len() + a.findings[*i].evidence_omitted)
        .sum();
    let subjects = ["client", "kms_host", "host", "cmid", "domain"]
        .iter()
        .filter_map(|k| {
            d.subjects.get(k).map(|names| SubjectLine {
                label: subject_label(k),
                names,
            })
        })
        .collect();
    Problem {
        number,
        diagnosis: d,
        per_rule_line: per_rule
            .iter()
            .map(|(r, n)| format!("{r} ×{n}"))
            .collect::<Vec<_>>()
            .join(", "),
        per_rule,
        when: clock.span(d.first_time.as_deref(), d.last_time.as_deref()),
        evidence_more: total.saturating_sub(evidence.len()),
        evidence,
        subjects,
    }
}

fn rule_groups<'a>(a: &'a Analysis, problems: &[Problem<'a>]) -> Vec<RuleGroup<'a>> {
    let mut of_finding: Vec<Vec<&Problem>> = vec![Vec::new(); a.findings.len()];
    for p in problems {
        for i in &p.diagnosis.findings {
            of_finding[*i].push(p);
        }
    }
    let mut groups: Vec<RuleGroup> = Vec::new();
    for (f, in_problems) in a.findings.iter().zip(of_finding) {
        let k = match groups.iter().position(|g| g.rule == f.rule) {
            Some(k) => k,
            None => {
                groups.push(RuleGroup {
                    rule: &f.rule,
                    severity: f.severity,
                    title: &f.title,
                    explanation: one_paragraph(&f.explanation),
                    remediation: &f.remediation,
                    references: &f.references,
                    findings: Vec::new(),
                    codes: Vec::new(),
                    problems: Vec::new(),
                    leads: false,
                });
                groups.len() - 1
            }
        };
        let g = &mut groups[k];
        g.findings.push(f);
        for c in &f.codes {
            if !g.codes.iter().any(|x| x.code == c.code) {
                g.codes.push(c);
            }
        }
        for p in in_problems {
            if !g.problems.contains(&p.number) {
                g.problems.push(p.number);
            }
            if p.diagnosis.rules.first() == Some(&f.rule) {
                g.leads = true;
            }
        }
    }
    for g in &mut groups {
        g.problems.sort();
    }
    groups
}

/// `a, b, c` or `a, b, … and 7 more` past `LIST_NAMES` names, unless `all`.
pub fn names(list: &[String], all: bool) -> String {
    crate::diagnose::list(list, if all { usize::MAX } else { LIST_NAMES })
}

/// "problem 2" / "problems 1, 3", each number as `number` writes it (text, a link).
pub fn problem_refs_with(numbers: &[usize], number: impl Fn(usize) -> String) -> String {
    let n: Vec<String> = numbers.iter().map(|n| number(*n)).collect();
    let noun = if numbers.len() == 1 {
        "problem"
    } else {
        "problems"
    };
    format!("{noun} {}", n.join(", "))
}

/// "it" for one problem, "them" for several (what to fix first).
pub fn them(numbers: &[usize]) -> &'static str {
    if numbers.len() == 1 { "it" } else { "them" }
}

pub fn problem_refs(numbers: &[usize]) -> String {
    problem_refs_with(numbers, |n| n.to_string())
}

/// A finding as a row of its rule's table.
pub struct FindingRow<'a> {
    /// With its times in the report's zone.
    pub message: String,
    pub machines: String,
    /// KMS hosts: the host that logged, and the host asked.
    pub hosts: String,
    pub evidence: &'a [EvidenceItem],
    /// Evidence records beyond those listed.
    pub evidence_omitted: usize,
}

impl<'a> RuleGroup<'a> {
    /// The rows to list (`limit` of them, all when `all`), and how many are left out.
    pub fn rows(&self, clock: &Clock, limit: usize, all: bool) -> (Vec<FindingRow<'a>>, usize) {
        let shown = if all { self.findings.len() } else { limit };
        let rows = self
            .findings
            .iter()
            .take(shown)
            .map(|f| {
                let get = |k: &str| f.subjects.get(k).map(|v| v.join(", "));
                let hosts: Vec<String> =
                    ["host", "kms_host"].iter().filter_map(|k| get(k)).collect();
                FindingRow {
                    message: clock.message(f),
                    machines: get("client").unwrap_or_default(),
                    hosts: hosts.join(", "),
                    evidence: &f.evidence,
                    evidence_omitted: f.evidence_omitted,
                }
            })
            .collect();
        (rows, self.findings.len().saturating_sub(shown))
    }
}
