//! The HTML report: one self-contained page (inline CSS and SVG, no script, no network) to attach
//! to a support case.

use super::clock::Clock;
use super::coverage::Coverage;
use super::model::{self, Problem, Report, RuleGroup};
use super::{charts, esc};
use crate::rules::finding::EvidenceItem;
use std::fmt::Write;

/// `code` spans for backquoted text of rule files.
fn inline(s: &str) -> String {
    let e = esc(&s.split_whitespace().collect::<Vec<_>>().join(" "));
    let mut out = String::new();
    for (k, part) in e.split('`').enumerate() {
        if k % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1b1b;background:#f5f6f8}
header{background:#0b3d91;color:#fff;padding:18px 32px}header h1{margin:0;font-size:24px}header p{margin:4px 0 0;opacity:.85}
main{max-width:1000px;margin:0 auto;padding:16px 32px 48px}
section{background:#fff;border-radius:8px;padding:16px 20px;margin:16px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{font-size:19px;margin:0 0 12px}h3{font-size:16px;margin:18px 0 8px}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{flex:1;min-width:110px;border-radius:6px;padding:10px 12px;background:#eef1f6}
.card b{display:block;font-size:26px}.sev-critical{background:#b71c1c;color:#fff}.sev-high{background:#ffebee}.sev-medium{background:#fff8e1}.sev-low{background:#e3f2fd}.sev-info{background:#f3f3f3}
.finding{border-left:6px solid #999;padding:8px 14px;margin:14px 0;background:#fff}
.finding.critical{border-color:#b71c1c}.finding.high{border-color:#d32f2f}.finding.medium{border-color:#f9a825}.finding.low{border-color:#1976d2}.finding.info{border-color:#9e9e9e}
.badge{display:inline-block;font-size:12px;font-weight:700;padding:2px 8px;border-radius:10px;margin-right:6px;background:#eee}
.badge.critical,.badge.high{background:#d32f2f;color:#fff}.badge.medium{background:#f9a825}.badge.low{background:#1976d2;color:#fff}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}th,td{border-bottom:1px solid #e3e3e3;text-align:left;padding:4px 6px;vertical-align:top}
th{background:#f0f2f5}code{background:#f0f2f5;padding:1px 4px;border-radius:3px;font-size:12px}
.muted{color:#666}svg{width:100%;height:auto;font-family:inherit}
"#;

/// Findings listed per rule without `--verbose` (the page stays small at fleet size).
const FINDINGS_PER_RULE: usize = 100;

pub fn render(r: &Report, generated: jiff::Timestamp, verbose: bool) -> String {
    let a = r.analysis;
    let cov = &r.coverage;
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>KMS activation analysis</title><style>{STYLE}</style></head><body>"
    );
    let span = r
        .time_span
        .map(|(f, l)| {
            format!(
                "{} to {} {}",
                r.clock.minute(f),
                r.clock.minute(l),
                r.clock.name()
            )
        })
        .unwrap_or_else(|| "no KMS events".into());
    let _ = write!(
        out,
        "<header><h1>KMS activation analysis</h1><p>{} sources · {} KMS events · {} KMS hosts · {} clients · {span} · generated {} by kmslens {}</p></header><main>",
        a.bundle.sources.len(),
        a.overview.events,
        cov.hosts.len(),
        cov.clients.len(),
        format_args!("{} {}", r.clock.minute(generated), r.clock.name()),
        env!("CARGO_PKG_VERSION")
    );
    summary(&mut out, r);
    for p in &r.problems {
        problem(&mut out, p, &r.clock, verbose);
    }
    charts_section(&mut out, a, &r.clock);
    let _ = write!(
        out,
        "<section><h2>Findings by rule</h2><div class=\"cards\">"
    );
    for (sev, n) in &r.findings_by_severity {
        let _ = write!(
            out,
            "<div class=\"card sev-{0}\"><b>{n}</b>{0}</div>",
            sev.name()
        );
    }
    let _ = write!(out, "</div>");
    for g in &r.rules {
        rule_group(&mut out, g, &r.clock, verbose);
    }
    if r.rules.is_empty() {
        let _ = write!(out, "<p>None.</p>");
    }
    let _ = write!(out, "</section>");
    coverage_section(&mut out, cov, &r.clock, verbose);
    let _ = writeln!(out, "</main></body></html>");
    out
}

fn summary(out: &mut String, r: &Report) {
    let _ = write!(
        out,
        "<section><h2>Summary</h2><p><b>{}</b></p>",
        esc(&r.headline())
    );
    if !r.problems.is_empty() {
        let _ = write!(
            out,
            "<table><tr><th>#</th><th>severity</th><th>problem</th><th>machines</th></tr>"
        );
        for p in &r.problems {
            let d = p.diagnosis;
            let _ = write!(
                out,
                "<tr><td>{0}</td><td><span class=\"badge {1}\">{1}</span></td><td><a href=\"#p{0}\">{2}</a></td><td>{3}</td></tr>",
                p.number,
                d.severity.name(),
                esc(&d.title),
                crate::diagnose::machines(d)
            );
        }
        let _ = write!(out, "</table>");
    }
    let _ = write!(out, "</section>");
}

fn problem(out: &mut String, p: &Problem, clock: &Clock, verbose: bool) {
    let d = p.diagnosis;
    let sev = d.severity.name();
    let _ = write!(
        out,
        "<section class=\"finding {sev}\" id=\"p{}\"><h2><span class=\"badge {sev}\">{sev}</span>Problem {}: {}</h2><p>{}</p><p>",
        p.number,
        p.number,
        esc(&d.title),
        inline(&d.cause)
    );
    for s in &p.subjects {
        let _ = write!(
            out,
            "<b>{}</b> ({}): {}<br>",
            s.label,
            s.names.len(),
            esc(&model::names(s.names, verbose))
        );
    }
    let _ = write!(out, "<b>Findings</b>: {}", esc(&p.per_rule_line));
    if let Some(s) = &p.when {
        let _ = write!(out, "<br><b>When</b> ({}): {}", clock.name(), esc(s));
    }
    let _ = write!(
        out,
        "<br><span class=\"muted\">id {}</span></p>",
        esc(&d.id)
    );
    evidence_table(out, &p.evidence, p.evidence_more, clock);
    if !d.remediation.is_empty() {
        let _ = write!(out, "<p><b>What to do.</b></p><ol>");
        for r in &d.remediation {
            let _ = write!(out, "<li>{}</li>", inline(r));
        }
        let _ = write!(out, "</ol>");
    }
    let _ = write!(out, "</section>");
}

fn evidence_table(out: &mut String, evidence: &[&EvidenceItem], more: usize, clock: &Clock) {
    if evidence.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<table><tr><th>evidence</th><th>record</th><th>time ({})</th></tr>",
        clock.name()
    );
    for e in evidence {
        let rec = e.record_id.map(|r| r.to_string()).unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{rec}</td><td>{}</td></tr>",
            esc(&e.source),
            esc(&e
                .time
                .as_deref()
                .map(|t| clock.evidence_time(t))
                .unwrap_or_default())
        );
    }
    let _ = write!(out, "</table>");
    if more > 0 {
        let _ = write!(out, "<p class=\"muted\">… and {more} more records.</p>");
    }
}

fn charts_section(out: &mut String, a: &crate::analysis::Analysis, clock: &Clock) {
    let per_day = format!("Activation attempts per day ({}), by outcome", clock.name());
    let charts = [
        (per_day.as_str(), charts::attempts_per_day(a, clock)),
        (
            "Count reported by each KMS host, against the activation thresholds",
            charts::host_counts(a, clock),
        ),
        ("Requests per KMS host", charts::requests_per_host(a)),
    ];
    if charts.iter().any(|(_, c)| c.is_some()) {
        let _ = write!(out, "<section><h2>Activity</h2>");
        for (title, svg) in charts {
            if let Some(svg) = svg {
                let _ = write!(out, "<h3>{title}</h3>{svg}");
            }
        }
        let _ = write!(out, "</section>");
    }
}

fn rule_group(out: &mut String, g: &RuleGroup, clock: &Clock, verbose: bool) {
    let sev = g.severity.name();
    let _ = write!(
        out,
        "<div class=\"finding {sev}\" id=\"{}\"><h3><span class=\"badge {sev}\">{sev}</span>{} — {} ({})</h3><p><b>Why it matters.</b> {}</p>",
        esc(g.rule),
        esc(g.rule),
        esc(g.title),
        model::plural(g.findings.len(), "finding", "findings"),
        inline(&g.explanation)
    );
    for c in &g.codes {
        let _ = write!(
            out,
            "<p><code>{}</code> {} — {} {}</p>",
            esc(&c.code),
            esc(c.symbol),
            esc(c.meaning),
            inline(c.fix)
        );
    }
    let (rows, more) = g.rows(clock, FINDINGS_PER_RULE, verbose);
    let _ = write!(
        out,
        "<table><tr><th>finding</th><th>machines</th><th>KMS hosts</th><th>evidence</th></tr>"
    );
    for r in rows {
        let evidence: Vec<String> = r
            .evidence
            .iter()
            .take(if verbose { usize::MAX } else { 1 })
            .map(|e| esc(&clock.evidence_line(e)))
            .collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            esc(&r.message),
            esc(&r.machines),
            esc(&r.hosts),
            evidence.join("<br>")
        );
    }
    let _ = write!(out, "</table>");
    if more > 0 {
        let _ = write!(
            out,
            "<p class=\"muted\">… and {more} more (<code>--verbose</code> or <code>--format json</code> lists them all).</p>"
        );
    }
    if g.leads {
        let _ = write!(out, "<p><b>What to do.</b> See {}.</p>", refs(&g.problems));
    } else if !g.problems.is_empty() {
        let _ = write!(
            out,
            "<p><b>What to do.</b> These follow from {}: fix {} first.</p>",
            refs(&g.problems),
            model::them(&g.problems)
        );
    }
    if verbose && !g.remediation.is_empty() {
        let _ = write!(out, "<p><b>The rule's remedies.</b></p><ol>");
        for r in g.remediation {
            let _ = write!(out, "<li>{}</li>", inline(r));
        }
        let _ = write!(out, "</ol>");
    }
    for r in g.references {
        let _ = write!(out, "<p class=\"muted\">See {}</p>", esc(r));
    }
    let _ = write!(out, "</div>");
}

/// Links to problems: "problem <a>2</a>".
fn refs(numbers: &[usize]) -> String {
    model::problem_refs_with(numbers, |n| format!("<a href=\"#p{n}\">{n}</a>"))
}

fn coverage_section(out: &mut String, cov: &Coverage, clock: &Clock, verbose: bool) {
    let _ = write!(
        out,
        "<section><h2>Coverage</h2><h3>Sources by kind</h3><table><tr><th>kind</th><th>read</th><th>skipped</th><th>unreadable</th><th>damaged</th></tr>"
    );
    for (k, c) in &cov.kinds {
        let _ = write!(
            out,
            "<tr><td>{k}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.read, c.skipped, c.unreadable, c.damaged
        );
    }
    let _ = write!(out, "</table>");
    if !cov.problems.is_empty() {
        let _ = write!(
            out,
            "<h3>Damaged, skipped or unreadable inputs</h3><table><tr><th>source</th><th>problem</th></tr>"
        );
        for p in &cov.problems {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td></tr>",
                esc(&p.source),
                esc(&p.what)
            );
        }
        let _ = write!(out, "</table>");
    }
    if let Some(c) = cov.channels_line() {
        let _ = write!(out, "<p><b>Activation channels</b>: {}</p>", esc(&c));
    }
    let _ = write!(
        out,
        "<h3>Machines</h3><p><b>KMS hosts</b>: {}<br><b>Clients</b> ({}): {}</p>",
        esc(&cov.hosts.join(", ")),
        cov.clients.len(),
        esc(&model::names(&cov.clients, verbose))
    );
    let _ = write!(
        out,
        "<h3>Time span per log</h3><table><tr><th>log</th><th>computer</th><th>channel</th><th>records</th><th>KMS events</th><th>first ({zone})</th><th>last ({zone})</th></tr>",
        zone = clock.name()
    );
    let (logs, hidden) = cov.logs_to_list(verbose);
    for l in logs {
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&l.source),
            esc(&l.computers),
            esc(&l.channels),
            l.records,
            l.kms_events,
            clock.minute_or_dash(l.first),
            clock.minute_or_dash(l.last)
        );
    }
    let _ = write!(out, "</table>");
    if hidden > 0 {
        let _ = write!(
            out,
            "<p class=\"muted\">… and {hidden} client logs read without a problem (<code>--verbose</code> lists them).</p>"
        );
    }
    if !cov.notes.is_empty() {
        let _ = write!(out, "<h3>Notes</h3><ul>");
        for n in &cov.notes {
            let _ = write!(out, "<li>{}</li>", esc(n));
        }
        let _ = write!(out, "</ul>");
    }
    let _ = write!(out, "<h3>Rules that could not run</h3>");
    if cov.not_checked.is_empty() {
        let _ = write!(out, "<p>Every rule ran.</p>");
    } else {
        let _ = write!(out, "<ul>");
        for (reason, rules) in &cov.not_checked {
            let _ = write!(
                out,
                "<li><b>{}</b>: {}</li>",
                esc(&rules.join(", ")),
                esc(reason)
            );
        }
        let _ = write!(out, "</ul>");
    }
    let _ = write!(out, "</section>");
}
