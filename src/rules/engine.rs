//! Runs the rules over the tables.

use super::Rule;
use super::finding::{Finding, from_rows};
use crate::sql::context;
use crate::tables::Tables;
use serde::Serialize;

/// A rule that could not say anything about this bundle, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NotChecked {
    pub rule: String,
    pub reason: String,
}

/// Why an empty table leaves a rule without evidence, in the admin's terms.
pub fn missing_reason(table: &str) -> &'static str {
    match table {
        "client_requests" => {
            "no client Application log with KMS requests (event 12288) in the bundle"
        }
        "client_responses" => "no client KMS responses (event 12289) in the bundle",
        "host_requests" => {
            "no KMS host log (\"Key Management Service\", event 12290) in the bundle"
        }
        "host_dns" => {
            "no KMS host Application log with DNS publishing events (12293/12294) in the bundle"
        }
        "attempts" => "no client KMS requests (event 12288) in the bundle",
        "expected_hosts" => "no --expected-host given",
        "slmgr" => "no slmgr /dlv output in the bundle",
        "host_logs" => "no KMS host log (\"Key Management Service\") in the bundle",
        "spp_errors" => {
            "no activation error events (8198, 8200, 8208, 8213, 8215, 8233) in the bundle"
        }
        _ => "a table it needs is empty",
    }
}

pub struct Outcome {
    pub findings: Vec<Finding>,
    pub not_checked: Vec<NotChecked>,
    /// Rules that failed at run time (file, error).
    pub errors: Vec<super::RuleError>,
}

/// One rule's rows. A panic in polars (a bug, met on a strange query or strange data) costs this
/// rule only, as it does when the rule is checked at load.
fn run_one(rule: &Rule, tables: &Tables) -> Result<polars::prelude::DataFrame, String> {
    let run = std::panic::AssertUnwindSafe(|| {
        crate::messages::panic_for_tests("run", &rule.id);
        context(tables).execute(&rule.query)?.collect()
    });
    match crate::messages::with_caught_panics(run) {
        Ok(rows) => rows.map_err(|e| {
            format!(
                "query failed: {}",
                crate::messages::one_line(&e.to_string())
            )
        }),
        Err(panic) => Err(format!(
            "{}; please report it",
            crate::messages::internal_error("running the query", &*panic)
        )),
    }
}

pub fn run(rules: &[Rule], tables: &Tables) -> Outcome {
    let mut findings = Vec::new();
    let mut not_checked = Vec::new();
    let mut errors = Vec::new();
    for rule in rules {
        if let Some(t) = rule
            .requires
            .iter()
            .find(|t| tables.get(t).is_none_or(|df| df.height() == 0))
        {
            not_checked.push(NotChecked {
                rule: rule.id.clone(),
                reason: missing_reason(t).to_string(),
            });
            continue;
        }
        match run_one(rule, tables) {
            Ok(df) => findings.extend(from_rows(rule, &df)),
            // Named by its id too: the built-ins share one origin.
            Err(error) => errors.push(super::RuleError {
                file: format!("{} {}", rule.origin, rule.id),
                error,
            }),
        }
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.message.cmp(&b.message))
    });
    Outcome {
        findings,
        not_checked,
        errors,
    }
}
