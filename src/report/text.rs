//! The terminal report: what was analysed, the problems in the order to fix them, the findings
//! per rule, then what could not be checked. Formats `model::Report`; styled with `anstyle`
//! when asked, and the caller's stream (`anstream`) keeps colour only where it is wanted.

use super::clock::Clock;
use super::model::{self, Problem, Report, RuleGroup};
use crate::rules::Severity;
use std::fmt::Write;

/// Findings listed per rule without `--verbose`.
const FINDINGS_PER_RULE: usize = 3;

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, style: anstyle::Style, s: &str) -> String {
        if self.on {
            format!("{style}{s}{style:#}")
        } else {
            s.to_string()
        }
    }
    fn severity(&self, sev: Severity) -> String {
        use anstyle::{AnsiColor, Color};
        let label = format!("{:<8}", sev.name().to_uppercase());
        let style = match sev {
            Severity::Critical => AnsiColor::BrightWhite.on(AnsiColor::Red).bold(),
            Severity::High => AnsiColor::Red.on_default().bold(),
            Severity::Medium => AnsiColor::Yellow.on_default().bold(),
            Severity::Low => anstyle::Style::new().fg_color(Some(Color::Ansi(AnsiColor::Cyan))),
            Severity::Info => anstyle::Style::new().dimmed(),
        };
        self.paint(style, &label)
    }
    fn bold(&self, s: &str) -> String {
        self.paint(anstyle::Style::new().bold(), s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint(anstyle::Style::new().dimmed(), s)
    }
}

pub struct Options {
    pub colour: bool,
    /// Every finding with its evidence, and full machine lists.
    pub verbose: bool,
}

pub fn render(r: &Report, opts: &Options) -> String {
    let st = Style { on: opts.colour };
    let mut out = String::new();
    header(&mut out, r, &st);
    let _ = writeln!(out, "{}", st.bold(&r.headline()));
    for p in &r.problems {
        let d = p.diagnosis;
        let _ = writeln!(
            out,
            "  {:>2}. {} {}",
            p.number,
            st.severity(d.severity),
            d.title
        );
    }
    for p in &r.problems {
        let _ = writeln!(out);
        problem(&mut out, p, &st, &r.clock, opts.verbose);
    }
    if !r.rules.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}",
            st.bold(&format!("Findings by rule ({})", r.analysis.findings.len()))
        );
    }
    for g in &r.rules {
        let _ = writeln!(out);
        rule_group(&mut out, g, &st, &r.clock, opts.verbose);
    }
    footer(&mut out, r, &st);
    out
}

fn header(out: &mut String, r: &Report, st: &Style) {
    let a = r.analysis;
    let cov = &r.coverage;
    let _ = writeln!(out, "{}", st.bold("kmslens: KMS activation analysis"));
    let _ = writeln!(
        out,
        "Analysed: {} sources ({}), {} KMS events",
        a.bundle.sources.len(),
        r.kinds_read.join(", "),
        a.overview.events
    );
    let hosts = if cov.hosts.is_empty() {
        "none seen".to_string()
    } else {
        cov.hosts.join(", ")
    };
    let _ = writeln!(out, "  KMS hosts: {hosts}");
    match cov.channels_line() {
        Some(c) => {
            let _ = writeln!(out, "  Clients:   {} ({c})", cov.clients.len());
        }
        None => {
            let _ = writeln!(out, "  Clients:   {}", cov.clients.len());
        }
    }
    for l in cov
        .logs
        .iter()
        .filter(|l| l.channels.split(", ").any(crate::kms::ids::is_kms_channel))
    {
        let _ = writeln!(
            out,
            "  KMS host log: {} ({}), {} .. {} ({}), {} records",
            l.computers,
            l.source,
            r.clock.minute_or_dash(l.first),
            r.clock.minute_or_dash(l.last),
            r.clock.name(),
            l.records
        );
    }
    if r.slmgr_outputs > 0 {
        let _ = writeln!(out, "  slmgr outputs: {}", r.slmgr_outputs);
    }
    if let Some((f, l)) = r.time_span {
        let _ = writeln!(
            out,
            "  Time span: {} .. {} ({})",
            r.clock.minute(f),
            r.clock.minute(l),
            r.clock.name()
        );
    }
    for n in &cov.notes {
        let _ = writeln!(out, "  Note: {n}");
    }
    if !cov.problems.is_empty() {
        let c = |f: fn(&super::coverage::KindCount) -> usize| -> usize {
            cov.kinds.values().map(f).sum()
        };
        let _ = writeln!(
            out,
            "  Inputs with problems: {} damaged, {} unreadable, {} skipped (not event logs)",
            c(|k| k.damaged),
            c(|k| k.unreadable),
            c(|k| k.skipped)
        );
        for p in &cov.problems {
            let _ = writeln!(out, "    {} {}", p.source, st.dim(&format!("({})", p.what)));
        }
    }
    let _ = writeln!(out);
}

fn problem(out: &mut String, p: &Problem, st: &Style, clock: &Clock, verbose: bool) {
    let d = p.diagnosis;
    let _ = writeln!(
        out,
        "{} {}  {}",
        st.severity(d.severity),
        st.bold(&format!("Problem {}", p.number)),
        st.bold(&d.title)
    );
    let _ = writeln!(out, "  Cause: {}", d.cause);
    for s in &p.subjects {
        let _ = writeln!(
            out,
            "  {} ({}): {}",
            s.label,
            s.names.len(),
            model::names(s.names, verbose)
        );
    }
    let when = p
        .when
        .as_ref()
        .map(|s| format!(", {s}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  Findings: {}{when} {}",
        p.per_rule_line,
        st.dim(&format!("[{}]", d.id))
    );
    if !p.evidence.is_empty() {
        let _ = writeln!(out, "  Evidence:");
        for e in &p.evidence {
            let _ = writeln!(out, "    {}", clock.evidence_line(e));
        }
        if p.evidence_more > 0 {
            let _ = writeln!(out, "    … and {} more records", p.evidence_more);
        }
    }
    if !d.remediation.is_empty() {
        let _ = writeln!(out, "  What to do:");
        for (k, r) in d.remediation.iter().enumerate() {
            let _ = writeln!(out, "    {}. {}", k + 1, r);
        }
    }
}

fn rule_group(out: &mut String, g: &RuleGroup, st: &Style, clock: &Clock, verbose: bool) {
    let _ = writeln!(
        out,
        "{} {}  {} ({})",
        st.severity(g.severity),
        st.bold(g.rule),
        st.bold(g.title),
        model::plural(g.findings.len(), "finding", "findings")
    );
    let _ = writeln!(out, "  Why it matters: {}", g.explanation);
    for c in &g.codes {
        let symbol = if c.symbol.is_empty() {
            String::new()
        } else {
            format!(" {}", c.symbol)
        };
        let _ = writeln!(out, "  Code {}{}: {}", c.code, symbol, c.meaning);
    }
    let (rows, more) = g.rows(clock, FINDINGS_PER_RULE, verbose);
    for r in rows {
        let _ = writeln!(out, "  - {}", r.message);
        if verbose {
            for e in r.evidence {
                let _ = writeln!(out, "      {}", clock.evidence_line(e));
            }
            if r.evidence_omitted > 0 {
                let _ = writeln!(out, "      … and {} more records", r.evidence_omitted);
            }
        }
    }
    if more > 0 {
        let _ = writeln!(
            out,
            "  … and {more} more (--verbose or --format json lists them all)"
        );
    }
    if g.leads && !verbose {
        let _ = writeln!(
            out,
            "  What to do: see {}",
            model::problem_refs(&g.problems)
        );
    } else if !g.leads && !g.problems.is_empty() && !verbose {
        let _ = writeln!(
            out,
            "  What to do: these follow from {}; fix {} first",
            model::problem_refs(&g.problems),
            model::them(&g.problems)
        );
    } else if !g.remediation.is_empty() {
        let _ = writeln!(out, "  What to do:");
        for (k, r) in g.remediation.iter().enumerate() {
            let _ = writeln!(out, "    {}. {}", k + 1, r);
        }
    }
    if verbose {
        for r in g.references {
            let _ = writeln!(out, "  See: {r}");
        }
    }
}

fn footer(out: &mut String, r: &Report, st: &Style) {
    if !r.coverage.not_checked.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}",
            st.bold("Not checked (the bundle cannot show it):")
        );
        for (reason, rules) in &r.coverage.not_checked {
            let _ = writeln!(out, "  {reason}: {} did not run", rules.join(", "));
        }
    }
    if !r.rule_errors.is_empty() {
        let _ = writeln!(out);
        for e in r.rule_errors {
            let _ = writeln!(out, "Rule error: {e}");
        }
    }
}
