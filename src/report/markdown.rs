//! The Markdown report: to paste into a support ticket.

use super::coverage::{self, Coverage};
use crate::analysis::Analysis;
use crate::rules::Severity;
use std::fmt::Write;

/// Table cells cannot hold `|` or line breaks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\r', '\n'], " ")
}

pub fn render(a: &Analysis, generated: jiff::Timestamp) -> String {
    let cov = coverage::of(a);
    let mut out = String::new();
    let _ = writeln!(out, "# KMS activation analysis\n");
    let _ = writeln!(
        out,
        "Generated {} by kmslens {}.\n",
        generated.strftime("%Y-%m-%d %H:%M UTC"),
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(out, "## Summary\n");
    let _ = writeln!(
        out,
        "{} sources, {} KMS events, {} KMS hosts ({}), {} clients.",
        a.bundle.sources.len(),
        a.bundle.events.len(),
        cov.hosts.len(),
        cov.hosts.join(", "),
        cov.clients.len()
    );
    if let Some((f, l)) = a.time_span() {
        let _ = writeln!(
            out,
            "Events from {} to {} (UTC).",
            f.strftime("%Y-%m-%d %H:%M"),
            l.strftime("%Y-%m-%d %H:%M")
        );
    }
    let _ = writeln!(out, "\n| severity | findings |\n|---|---|");
    for sev in Severity::ALL {
        let n = a.findings.iter().filter(|f| f.severity == sev).count();
        let _ = writeln!(out, "| {} | {n} |", sev.name());
    }
    let _ = writeln!(out, "\n## Findings\n");
    if a.findings.is_empty() {
        let _ = writeln!(
            out,
            "No findings: nothing in these logs points to a KMS activation problem the rules know.\n"
        );
    }
    for f in &a.findings {
        let _ = writeln!(
            out,
            "### {} · {} — {}\n",
            f.severity.name().to_uppercase(),
            f.rule,
            f.title
        );
        let _ = writeln!(out, "{}\n", f.message);
        for (k, v) in &f.subjects {
            let _ = writeln!(out, "- **{k}**: {}", v.join(", "));
        }
        for c in &f.codes {
            let _ = writeln!(
                out,
                "- **code {}** {}: {} {}",
                c.code, c.symbol, c.meaning, c.fix
            );
        }
        if !f.evidence.is_empty() {
            let _ = writeln!(out, "\n| evidence | record | time (UTC) |\n|---|---|---|");
            for e in &f.evidence {
                let rec = e.record_id.map(|r| r.to_string()).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "| `{}` | {rec} | {} |",
                    cell(&e.source),
                    e.time.as_deref().unwrap_or("")
                );
            }
            if f.evidence_omitted > 0 {
                let _ = writeln!(out, "\n… and {} more records.", f.evidence_omitted);
            }
        }
        let _ = writeln!(
            out,
            "\n**Why it matters.** {}\n",
            f.explanation
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        );
        if !f.remediation.is_empty() {
            let _ = writeln!(out, "**What to do.**\n");
            for (k, r) in f.remediation.iter().enumerate() {
                let _ = writeln!(out, "{}. {r}", k + 1);
            }
        }
        for r in &f.references {
            let _ = writeln!(out, "\nSee <{r}>.");
        }
        let _ = writeln!(out);
    }
    coverage_section(&mut out, &cov);
    out
}

fn coverage_section(out: &mut String, cov: &Coverage) {
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
    let _ = writeln!(
        out,
        "\n### Machines\n\n- KMS hosts: {}\n- Clients ({}): {}",
        cov.hosts.join(", "),
        cov.clients.len(),
        cov.clients.join(", ")
    );
    let _ = writeln!(
        out,
        "\n### Time span per log\n\n| log | computer | channel | records | KMS events | first (UTC) | last (UTC) |\n|---|---|---|---|---|---|---|"
    );
    for l in &cov.logs {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            cell(&l.source),
            cell(&l.computers),
            cell(&l.channels),
            l.records,
            l.kms_events,
            coverage::time(l.first),
            coverage::time(l.last)
        );
    }
    let _ = writeln!(out, "\n### Rules that could not run\n");
    if cov.not_checked.is_empty() {
        let _ = writeln!(out, "Every rule ran.");
    }
    for (reason, rules) in &cov.not_checked {
        let _ = writeln!(out, "- {}: {reason}", rules.join(", "));
    }
}
