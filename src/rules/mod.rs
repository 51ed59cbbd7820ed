//! Rules: one TOML file per known cause, its `query` plain SQL over the tables. Built-in rules are
//! embedded from `rules/` at build time; `--rules DIR` adds rules or overrides them by id.

pub mod engine;
pub mod finding;

use crate::tables::{ALL, Tables};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
}

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub explanation: String,
    #[serde(default)]
    pub remediation: Vec<String>,
    #[serde(default)]
    pub references: Vec<String>,
    pub message: String,
    pub query: String,
    /// Tables that must have rows for the rule to say anything; otherwise it is reported as not
    /// checked, with the reason.
    #[serde(default)]
    pub requires: Vec<String>,
    /// How this rule's findings group into diagnoses and which other findings they explain.
    #[serde(default)]
    pub diagnosis: DiagnosisSpec,
    /// What another engine runs instead of parts of the query (see `portable`).
    #[serde(default)]
    pub dialects: crate::sql::Dialects,
    /// Where the rule came from (`built-in` or a path); not part of the file.
    #[serde(skip_deserializing, default)]
    pub origin: String,
}

/// A subject two findings can share: the same client machine, KMS host (a host that logged, or a
/// host clients asked: `host` and `kms_host` subjects alike), CMID or DNS domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Key {
    Client,
    KmsHost,
    Cmid,
    Domain,
}

impl Key {
    pub const ALL: [Key; 4] = [Key::Client, Key::KmsHost, Key::Cmid, Key::Domain];

    pub fn name(self) -> &'static str {
        match self {
            Key::Client => "client",
            Key::KmsHost => "kms_host",
            Key::Cmid => "cmid",
            Key::Domain => "domain",
        }
    }

    pub fn parse(name: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The finding subjects (`Finding::subjects` keys) this key reads.
    pub fn subjects(self) -> &'static [&'static str] {
        match self {
            Key::Client => &["client"],
            Key::KmsHost => &["host", "kms_host"],
            Key::Cmid => &["cmid"],
            Key::Domain => &["domain"],
        }
    }
}

/// `rule` explains (or is explained by) another rule's findings that share a value of every key
/// in `on` with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub rule: String,
    pub on: Vec<Key>,
}

/// The `[diagnosis]` table of a rule file: how its findings become diagnoses (see
/// `src/diagnose.rs`). Every field is optional; a rule without it gives one diagnosis per rule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnosisSpec {
    /// Diagnoses of rules with the same family (and the same `split_by` values) are one; defaults
    /// to the rule id.
    pub family: Option<String>,
    /// Subjects (`client`, `kms_host`, `cmid`, `domain`) or result columns whose values split the
    /// findings into several diagnoses; none: one diagnosis for all.
    #[serde(default)]
    pub split_by: Vec<String>,
    /// Diagnoses split apart that still share a value of one of these subjects or columns are
    /// joined again (e.g. the same clients failing against every host: one problem, not one per host).
    #[serde(default)]
    pub merge_on: Vec<String>,
    /// The cause in one line, `{placeholders}` filled over the diagnosis (see `diagnose::AGGREGATES`
    /// and the query's columns). Defaults to the rule title.
    pub title: Option<String>,
    /// What is wrong, in one or two sentences, with the same placeholders.
    pub cause: Option<String>,
    /// What to do about the cause; defaults to the rule's remediation.
    pub remediation: Option<Vec<String>>,
    /// Findings of other rules this rule's findings explain (they become its symptoms).
    #[serde(default)]
    pub explains: Vec<Link>,
    /// Findings of other rules that explain this rule's findings.
    #[serde(default)]
    pub explained_by: Vec<Link>,
    /// A consequence, not a cause: its diagnosis, when nothing explains it, comes after the causes.
    #[serde(default)]
    pub consequence: bool,
}

impl DiagnosisSpec {
    /// The result columns the diagnosis stage reads from findings (split, merge, placeholders that
    /// are not aggregates).
    pub fn fact_columns(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let texts = [self.title.as_deref(), self.cause.as_deref()];
        let names = self
            .split_by
            .iter()
            .chain(&self.merge_on)
            .cloned()
            .chain(texts.into_iter().flatten().flat_map(placeholders));
        for n in names {
            if Key::parse(&n).is_none() && !AGGREGATES.contains(&n.as_str()) && !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }
}

/// Placeholders a diagnosis title or cause may use besides the query's columns: counts and lists
/// of the subjects of the diagnosis' own findings.
pub const AGGREGATES: [&str; 9] = [
    "clients",
    "client",
    "kms_hosts",
    "kms_host",
    "cmids",
    "cmid",
    "domains",
    "domain",
    "findings",
];

/// A rule file that was rejected, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleError {
    pub file: String,
    pub error: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rule {}: {}", self.file, self.error)
    }
}

/// Parses and validates one rule file: TOML fields, id against the file name, required tables,
/// and the query itself, run against empty tables (unknown tables, columns or SQL errors), with
/// every `{placeholder}` of the message a column of its result.
pub fn parse(file: &str, text: &str, empty: &Tables) -> Result<Rule, String> {
    let mut rule: Rule =
        toml::from_str(text).map_err(|e| crate::messages::one_line(&e.to_string()))?;
    let stem = Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if rule.id.to_ascii_lowercase() != stem {
        return Err(format!(
            "id {:?} does not match the file name (expected {stem}.toml)",
            rule.id
        ));
    }
    if !rule
        .id
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(format!(
            "id {:?} must be upper case letters, digits and dashes",
            rule.id
        ));
    }
    for t in &rule.requires {
        if !ALL.iter().any(|d| d.name() == t) {
            return Err(format!("requires unknown table {t:?}"));
        }
    }
    crate::sql::check(&rule.query, &rule.dialects)?;
    let schema = query_schema(&rule.query, empty)?;
    for c in rule.diagnosis.fact_columns() {
        if schema.get(c.as_str()).is_none() {
            return Err(format!(
                "[diagnosis] names {c:?}, which is neither a subject ({}), a count ({}) nor a column of the query",
                Key::ALL.map(Key::name).join(", "),
                AGGREGATES.join(", ")
            ));
        }
    }
    for p in placeholders(&rule.message) {
        if schema.get(p.as_str()).is_none() {
            let cols: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
            return Err(format!(
                "message placeholder {{{p}}} is not a column of the query (columns: {})",
                cols.join(", ")
            ));
        }
    }
    rule.origin = file.to_string();
    Ok(rule)
}

/// The result schema of a query over `tables`, or the SQL error.
fn query_schema(query: &str, tables: &Tables) -> Result<Schema, String> {
    let mut ctx = crate::sql::context(tables);
    let mut lf = ctx
        .execute(query)
        .map_err(|e| format!("query: {}", crate::messages::one_line(&e.to_string())))?;
    // Planning alone misses some errors; the empty tables make running it cheap.
    let df = lf
        .clone()
        .collect()
        .map_err(|e| format!("query: {}", crate::messages::one_line(&e.to_string())))?;
    let _ = lf.collect_schema();
    Ok(df.schema().as_ref().clone())
}

/// `{name}` placeholders of a message.
pub fn placeholders(message: &str) -> Vec<String> {
    template_pieces(message)
        .into_iter()
        .filter_map(|p| match p {
            TemplatePiece::Slot(name) => Some(name.to_string()),
            TemplatePiece::Text(_) => None,
        })
        .collect()
}

/// A piece of a message template: text as written, or a `{column}` slot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TemplatePiece<'a> {
    Text(&'a str),
    Slot(&'a str),
}

/// A template cut into its text and its `{column}` slots (an unclosed `{` is text).
pub fn template_pieces(message: &str) -> Vec<TemplatePiece<'_>> {
    let mut out = Vec::new();
    let mut rest = message;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start + 1..].find('}') else {
            break;
        };
        if start > 0 {
            out.push(TemplatePiece::Text(&rest[..start]));
        }
        out.push(TemplatePiece::Slot(&rest[start + 1..start + 1 + len]));
        rest = &rest[start + 1 + len + 1..];
    }
    if !rest.is_empty() {
        out.push(TemplatePiece::Text(rest));
    }
    out
}

/// The built-in rules, then the rules of `dirs` (a later rule with the same id replaces an earlier
/// one). Rejected files are returned beside the rules; the others still load.
pub fn load(dirs: &[std::path::PathBuf]) -> (Vec<Rule>, Vec<RuleError>) {
    let empty = match Tables::empty() {
        Ok(t) => t,
        Err(e) => {
            return (
                Vec::new(),
                vec![RuleError {
                    file: "(tables)".into(),
                    error: e.to_string(),
                }],
            );
        }
    };
    // (file, its text or why it could not be read, origin), built-ins first.
    let mut inputs: Vec<(String, Result<String, String>, String)> = builtin::BUILTIN
        .iter()
        .map(|(n, t)| (n.to_string(), Ok(t.to_string()), "built-in".to_string()))
        .collect();
    for dir in dirs {
        match rule_files(dir) {
            Ok(files) => {
                for f in files {
                    let label = f.display().to_string();
                    let text = std::fs::read_to_string(&f).map_err(|e| format!("cannot read: {e}"));
                    inputs.push((label.clone(), text, label));
                }
            }
            Err(e) => inputs.push((dir.display().to_string(), Err(e), String::new())),
        }
    }
    let parsed = parse_all(&inputs, &empty);
    let mut rules: Vec<Rule> = Vec::new();
    let mut errors = Vec::new();
    for ((file, _, origin), parsed) in inputs.into_iter().zip(parsed) {
        match parsed {
            Ok(mut r) => {
                r.origin = origin;
                rules.retain(|x| x.id != r.id);
                rules.push(r);
            }
            Err(error) => errors.push(RuleError { file, error }),
        }
    }
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    errors.extend(check_links(&rules));
    (rules, errors)
}

/// Parses the rule files side by side, in their order: each query is planned and run on the
/// empty tables, a few milliseconds apiece, every run.
fn parse_all(
    inputs: &[(String, Result<String, String>, String)],
    empty: &Tables,
) -> Vec<Result<Rule, String>> {
    // A panic in polars (a bug, met on a strange query) costs its file only.
    let parse_one = |(file, text, _): &(String, Result<String, String>, String)| {
        let run = std::panic::AssertUnwindSafe(|| {
            crate::messages::panic_for_tests("check", file);
            text.clone().and_then(|t| parse(file, &t, empty))
        });
        crate::messages::with_caught_panics(run).unwrap_or_else(|panic| {
            Err(crate::messages::internal_error(
                "checking the query",
                &*panic,
            ))
        })
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // At least one file a part: `chunks` takes no zero.
    let per_thread = inputs.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = inputs
            .chunks(per_thread)
            .map(|part| {
                // Polars plans a query by recursion: a deep user rule needs more than 2 MiB.
                std::thread::Builder::new()
                    .stack_size(PLAN_STACK)
                    .spawn_scoped(s, move || part.iter().map(parse_one).collect::<Vec<_>>())
            })
            .collect();
        let mut out = Vec::with_capacity(inputs.len());
        for (part, thread) in inputs.chunks(per_thread).zip(parts) {
            match thread.map(|t| t.join()) {
                Ok(Ok(parsed)) => out.extend(parsed),
                // No thread to be had (or one lost): checked here.
                _ => out.extend(part.iter().map(parse_one)),
            }
        }
        out
    })
}

/// Stack of the threads that check rules (reserved, not used, until needed).
const PLAN_STACK: usize = 64 << 20;

/// Explanation links between rules, `(explaining rule, explained rule, keys)`, from both sides'
/// declarations; links to rules that are not loaded are left out.
pub fn links(rules: &[Rule]) -> Vec<(String, String, Vec<Key>)> {
    let known = |id: &str| rules.iter().any(|r| r.id == id);
    let mut out: Vec<(String, String, Vec<Key>)> = Vec::new();
    for r in rules {
        let d = &r.diagnosis;
        let pairs = d
            .explains
            .iter()
            .map(|l| (r.id.clone(), l.rule.clone(), l.on.clone()))
            .chain(
                d.explained_by
                    .iter()
                    .map(|l| (l.rule.clone(), r.id.clone(), l.on.clone())),
            );
        for (a, b, on) in pairs {
            if known(&a) && known(&b) && !out.iter().any(|x| x.0 == a && x.1 == b && x.2 == on) {
                out.push((a, b, on));
            }
        }
    }
    out
}

/// Links that name unknown rules or no key, and cycles (a rule explaining itself, directly or
/// through others): the diagnosis stage needs a direction from causes to consequences.
pub fn check_links(rules: &[Rule]) -> Vec<RuleError> {
    let mut errors = Vec::new();
    for r in rules {
        let d = &r.diagnosis;
        for l in d.explains.iter().chain(&d.explained_by) {
            let problem = if !rules.iter().any(|x| x.id == l.rule) {
                Some(format!("[diagnosis] links to unknown rule {:?}", l.rule))
            } else if l.on.is_empty() {
                Some(format!("[diagnosis] link to {} has no key in `on`", l.rule))
            } else if l.rule == r.id {
                Some("[diagnosis] links the rule to itself".to_string())
            } else {
                None
            };
            if let Some(error) = problem {
                errors.push(RuleError {
                    file: format!("{} ({})", r.id, r.origin),
                    error,
                });
            }
        }
    }
    if let Some(cycle) = find_cycle(&links(rules)) {
        errors.push(RuleError {
            file: "(rules)".into(),
            error: format!(
                "[diagnosis] links form a cycle: {} (each explains the next); diagnoses ignore these links",
                cycle.join(" -> ")
            ),
        });
    }
    errors
}

/// A cycle in the explanation links, as rule ids, if there is one.
pub fn find_cycle(links: &[(String, String, Vec<Key>)]) -> Option<Vec<String>> {
    fn visit<'a>(
        node: &'a str,
        links: &'a [(String, String, Vec<Key>)],
        path: &mut Vec<&'a str>,
        done: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| *p == node) {
            let mut c: Vec<String> = path[at..].iter().map(|s| s.to_string()).collect();
            c.push(node.to_string());
            return Some(c);
        }
        if done.contains(&node) {
            return None;
        }
        path.push(node);
        for (a, b, _) in links {
            if a == node
                && let Some(c) = visit(b, links, path, done)
            {
                return Some(c);
            }
        }
        path.pop();
        done.push(node);
        None
    }
    let mut done = Vec::new();
    for (a, _, _) in links {
        let mut path = Vec::new();
        if let Some(c) = visit(a, links, &mut path, &mut done) {
            return Some(c);
        }
    }
    None
}

/// The `.toml` files of a folder (or the file itself).
pub fn rule_files(path: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let rd = std::fs::read_dir(path).map_err(|e| format!("cannot read rules folder: {e}"))?;
    let mut files: Vec<_> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Checks every rule file of a folder on its own (for rule authors).
pub fn check(path: &Path) -> Result<Vec<Result<Rule, RuleError>>, String> {
    let empty = Tables::empty().map_err(|e| e.to_string())?;
    let mut results: Vec<Result<Rule, RuleError>> = rule_files(path)?
        .into_iter()
        .map(|f| {
            let file = f.display().to_string();
            let text = std::fs::read_to_string(&f).map_err(|e| RuleError {
                file: file.clone(),
                error: format!("cannot read: {e}"),
            })?;
            parse(&file, &text, &empty).map_err(|error| RuleError { file, error })
        })
        .collect();
    // Links are checked against the rules a run would load: the built-ins and this folder's.
    let (mut all, _) = load(&[]);
    for r in results.iter().flatten() {
        all.retain(|x| x.id != r.id);
        all.push(r.clone());
    }
    results.extend(check_links(&all).into_iter().map(Err));
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// KMS-DUP-CMID names its duplicated CMIDs four times: polars' common-subplan elimination
    /// (the `cse` feature, off unless asked for) computes them once. Planned, not timed.
    #[test]
    fn a_subplan_a_rule_names_twice_is_computed_once() {
        let empty = Tables::empty().unwrap();
        let (file, text) = builtin::BUILTIN
            .iter()
            .find(|(n, _)| n.ends_with("kms-dup-cmid.toml"))
            .unwrap();
        let rule = parse(file, text, &empty).unwrap();
        let plan = crate::sql::context(&empty)
            .execute(&rule.query)
            .and_then(|lf| lf.describe_optimized_plan())
            .unwrap();
        assert!(plan.contains("CACHE"), "{plan}");
    }

    /// The files are checked side by side, but each result stays with its file: the built-ins,
    /// a rule naming a column no table has and a file that could not be read, in that order.
    #[test]
    fn rule_files_checked_side_by_side_keep_their_order() {
        let mut inputs: Vec<(String, Result<String, String>, String)> = builtin::BUILTIN
            .iter()
            .map(|(n, t)| (n.to_string(), Ok(t.to_string()), String::new()))
            .collect();
        let bad = "id = \"BAD-COLUMN\"\ntitle = \"t\"\nseverity = \"low\"\nexplanation = \"e\"\nmessage = \"m\"\nquery = \"SELECT nope FROM attempts\"\n";
        inputs.insert(5, ("bad-column.toml".into(), Ok(bad.into()), String::new()));
        inputs.push((
            "gone.toml".into(),
            Err("cannot read: gone".into()),
            String::new(),
        ));
        let empty = Tables::empty().unwrap();
        let parsed = parse_all(&inputs, &empty);
        assert_eq!(parsed.len(), inputs.len());
        for ((file, _, _), result) in inputs.iter().zip(&parsed) {
            match (file.as_str(), result) {
                ("bad-column.toml", Err(e)) => assert!(e.contains("nope"), "{e}"),
                ("gone.toml", Err(e)) => assert_eq!(e, "cannot read: gone"),
                (_, Ok(rule)) => {
                    let stem = file.rsplit('/').next().unwrap().trim_end_matches(".toml");
                    assert_eq!(rule.id, stem.to_uppercase(), "{file}");
                }
                (file, Err(e)) => panic!("{file}: {e}"),
            }
        }
    }
}
