//! Rules: one TOML file per known cause, its `query` plain SQL over the tables. Built-in rules are
//! embedded from `rules/` at build time; `--rules DIR` adds rules or overrides them by id.

pub mod engine;
pub mod finding;

use crate::tables::{ALL, Tables};
use polars::prelude::*;
use polars::sql::SQLContext;
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
    /// Where the rule came from (`built-in` or a path); not part of the file.
    #[serde(skip_deserializing, default)]
    pub origin: String,
}

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
        if !ALL.iter().any(|d| d.name == t) {
            return Err(format!("requires unknown table {t:?}"));
        }
    }
    let schema = query_schema(&rule.query, empty)?;
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
    let mut ctx = context(tables);
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

pub fn context(tables: &Tables) -> SQLContext {
    let ctx = SQLContext::new();
    for (name, df) in &tables.frames {
        ctx.register(name, df.clone().lazy());
    }
    ctx
}

/// `{name}` placeholders of a message.
pub fn placeholders(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = message;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start + 1..].find('}') else {
            break;
        };
        out.push(rest[start + 1..start + 1 + len].to_string());
        rest = &rest[start + 1 + len + 1..];
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
    let mut rules: Vec<Rule> = Vec::new();
    let mut errors = Vec::new();
    for (file, text, origin) in inputs {
        match text.and_then(|t| parse(&file, &t, &empty)) {
            Ok(mut r) => {
                r.origin = origin;
                rules.retain(|x| x.id != r.id);
                rules.push(r);
            }
            Err(error) => errors.push(RuleError { file, error }),
        }
    }
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    (rules, errors)
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
    Ok(rule_files(path)?
        .into_iter()
        .map(|f| {
            let file = f.display().to_string();
            let text = std::fs::read_to_string(&f).map_err(|e| RuleError {
                file: file.clone(),
                error: format!("cannot read: {e}"),
            })?;
            parse(&file, &text, &empty).map_err(|error| RuleError { file, error })
        })
        .collect())
}
