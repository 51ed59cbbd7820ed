//! The Markdown report: to paste into a support ticket.

use super::clock::Clock;
use super::coverage::Coverage;
use super::model::{self, Problem, Report, RuleGroup};
use crate::rules::finding::EvidenceItem;
use std::fmt::Write;

/// Table cells cannot hold `|` or line breaks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// Findings listed per rule without `--verbose`.
const FINDINGS_PER_RULE: usize = 20;

pub fn render(r: &Report, generated: jiff::Timestamp, verbose: bool) -> String {
    let a = r.analysis;
    let cov = &r.coverage;
    let mut out = String::new();
    let _ = writeln!(out, "# KMS activation analysis\n");
    let _ = writeln!(
        out,
        "Generated {} by kmslens {}.\n",
        format_args!("{} ({})", r.clock.minute(generated), r.clock.name()),
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(out, "## Summary\n");
    let _ = writeln!(
        out,
        "{} sources, {} KMS events, {} KMS hosts ({}), {} clients.",
        a.bundle.sources.len(),
        a.overview.events,
        cov.hosts.len(),
        cov.hosts.join(", "),
        cov.clients.len()
    );
    if let Some((f, l)) = r.time_span {
        let _ = writeln!(
            out,
            "Events from {} to {} ({}).",
            r.clock.minute(f),
            r.clock.minute(l),
            r.clock.name()
        );
    }
    let _ = writeln!(out, "\n**{}**\n", r.headline());
    for p in &r.problems {
        let _ = writeln!(
            out,
            "{}. **{}** {}",
            p.number,
            p.diagnosis.severity.name().to_uppercase(),
            p.diagnosis.title
        );
    }
    if !r.problems.is_empty() {
        let _ = writeln!(out, "\n## Problems\n");
    }
    for p in &r.problems {
        problem(&mut out, p, &r.clock, verbose);
    }
    let _ = writeln!(out, "## Findings by rule\n");
    let _ = writeln!(out, "| severity | findings |\n|---|---|");
    for (sev, n) in &r.findings_by_severity {
        let _ = writeln!(out, "| {} | {n} |", sev.name());
    }
    let _ = writeln!(out);
    if r.rules.is_empty() {
        let _ = writeln!(out, "{}\n", model::NO_PROBLEMS);
    }
    for g in &r.rules {
        rule_group(&mut out, g, &r.clock, verbose);
    }
    coverage_section(&mut out, cov, &r.clock, verbose);
    out
}

fn problem(out: &mut String, p: &Problem, clock: &Clock, verbose: bool) {
    let d = p.diagnosis;
    let _ = writeln!(
        out,
        "### {}. {} — {}\n",
        p.number,
        d.severity.name().to_uppercase(),
        d.title
    );
    let _ = writeln!(out, "{}\n", d.cause);
    for s in &p.subjects {
        let _ = writeln!(
            out,
            "- **{}** ({}): {}",
            s.label,
            s.names.len(),
            cell(&model::names(s.names, verbose))
        );
    }
    let _ = writeln!(out, "- **Findings**: {}", p.per_rule_line);
    if let Some(s) = &p.when {
        let _ = writeln!(out, "- **When** ({}): {s}", clock.name());
    }
    let _ = writeln!(out, "- **Id**: `{}`", d.id);
    if !p.evidence.is_empty() {
        let _ = writeln!(
            out,
            "\n| evidence | record | time ({}) |\n|---|---|---|",
            clock.name()
        );
        for e in &p.evidence {
            evidence_row(out, e, clock);
        }
        if p.evidence_more > 0 {
            let _ = writeln!(out, "\n… and {} more records.", p.evidence_more);
        }
    }
    if !d.remediation.is_empty() {
        let _ = writeln!(out, "\n**What to do.**\n");
        for (k, r) in d.remediation.iter().enumerate() {
            let _ = writeln!(out, "{}. {r}", k + 1);
        }
    }
    let _ = writeln!(out);
}

fn evidence_row(out: &mut String, e: &EvidenceItem, clock: &Clock) {
    let rec = e.record_id.map(|r| r.to_string()).unwrap_or_default();
    let _ = writeln!(
        out,
        "| `{}` | {rec} | {} |",
        cell(&e.source),
        e.time
            .as_deref()
            .map(|t| clock.evidence_time(t))
            .unwrap_or_default()
    );
}

fn rule_group(out: &mut String, g: &RuleGroup, clock: &Clock, verbose: bool) {
    let _ = writeln!(
        out,
        "### {} · {} — {} ({})\n",
        g.severity.name().to_uppercase(),
        g.rule,
        g.title,
        model::plural(g.findings.len(), "finding", "findings")
    );
    let _ = writeln!(out, "**Why it matters.** {}\n", g.explanation);
    for c in &g.codes {
        let _ = writeln!(
            out,
            "- **code {}** {}: {} {}",
            c.code, c.symbol, c.meaning, c.fix
        );
    }
    if !g.codes.is_empty() {
        let _ = writeln!(out);
    }
    let (rows, more) = g.rows(clock, FINDINGS_PER_RULE, verbose);
    let _ = writeln!(
        out,
        "| finding | machines | KMS hosts | first evidence |\n|---|---|---|---|"
    );
    for r in rows {
        let first = r
            .evidence
            .first()
            .map(|e| clock.evidence_line(e))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {} | {} | `{}` |",
            cell(&r.message),
            cell(&r.machines),
            cell(&r.hosts),
            cell(&first)
        );
    }
    if more > 0 {
        let _ = writeln!(
            out,
            "\n… and {more} more (`--verbose` or `--format json` lists them all)."
        );
    }
    if g.leads {
        let _ = writeln!(
            out,
            "\n**What to do.** See {}.",
            model::problem_refs(&g.problems)
        );
    } else if !g.problems.is_empty() {
        let _ = writeln!(
            out,
            "\n**What to do.** These follow from {}: fix {} first.",
            model::problem_refs(&g.problems),
            model::them(&g.problems)
        );
    }
    if verbose && !g.remediation.is_empty() {
        let _ = writeln!(out, "\n**The rule's remedies.**\n");
        for (k, r) in g.remediation.iter().enumerate() {
            let _ = writeln!(out, "{}. {r}", k + 1);
        }
    }
    for r in g.references {
        let _ = writeln!(out, "\nSee <{r}>.");
    }
    let _ = writeln!(out);
}

fn coverage_section(out: &mut String, cov: &Coverage, clock: &Clock, verbose: bool) {
    let _ = writeln!(
        out,
        "## Coverage\n\n### Sources by kind\n\n| kind | read | skipped | unreadable | damaged |\n|---|---|---|---|---|"
    );
    for (k, c) in &cov.kinds {
        let _ = writeln!(
            out,
            "| {k} | {} | {} | {} | {} |",
            c.read, c.skipped, c.unreadable, c.damaged
        );
    }
    if !cov.problems.is_empty() {
        let _ = writeln!(
            out,
            "\n### Damaged, skipped or unreadable inputs\n\n| source | problem |\n|---|---|"
        );
        for p in &cov.problems {
            let _ = writeln!(out, "| `{}` | {} |", cell(&p.source), cell(&p.what));
        }
    }
    if let Some(c) = cov.channels_line() {
        let _ = writeln!(out, "\nActivation channels: {c}.");
    }
    let _ = writeln!(
        out,
        "\n### Machines\n\n- KMS hosts: {}\n- Clients ({}): {}",
        cov.hosts.join(", "),
        cov.clients.len(),
        model::names(&cov.clients, verbose)
    );
    let _ = writeln!(
        out,
        "\n### Time span per log\n\n| log | computer | channel | records | KMS events | first ({zone}) | last ({zone}) |\n|---|---|---|---|---|---|---|",
        zone = clock.name()
    );
    let (logs, hidden) = cov.logs_to_list(verbose);
    for l in logs {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            cell(&l.source),
            cell(&l.computers),
            cell(&l.channels),
            l.records,
            l.kms_events,
            clock.minute_or_dash(l.first),
            clock.minute_or_dash(l.last)
        );
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "\n… and {hidden} client logs read without a problem (`--verbose` lists them)."
        );
    }
    if !cov.notes.is_empty() {
        let _ = writeln!(out, "\n### Notes\n");
        for n in &cov.notes {
            let _ = writeln!(out, "- {}", cell(n));
        }
    }
    let _ = writeln!(out, "\n### Rules that could not run\n");
    if cov.not_checked.is_empty() {
        let _ = writeln!(out, "Every rule ran.");
    }
    for (reason, rules) in &cov.not_checked {
        let _ = writeln!(out, "- {}: {reason}", rules.join(", "));
    }
}
