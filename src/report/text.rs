//! The terminal report: what was analysed, findings by severity with evidence, why and what to do,
//! then what could not be checked. Colour only when asked (a terminal, no NO_COLOR).

use crate::analysis::Analysis;
use crate::ingest::report::Status;
use crate::rules::Severity;
use std::fmt::Write;

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn severity(&self, sev: Severity) -> String {
        let label = format!("{:<8}", sev.name().to_uppercase());
        let code = match sev {
            Severity::Critical => "1;41;97",
            Severity::High => "1;31",
            Severity::Medium => "1;33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        self.paint(code, &label)
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
}

pub fn render(a: &Analysis, colour: bool) -> String {
    let st = Style { on: colour };
    let mut out = String::new();
    let srcs = &a.bundle.sources;
    let cov = super::coverage::of(a);
    let kinds: Vec<String> = cov
        .kinds
        .iter()
        .filter(|(_, c)| c.read > 0)
        .map(|(k, c)| format!("{} {k}", c.read))
        .collect();
    let skipped: usize = cov.kinds.values().map(|c| c.skipped).sum();
    let unreadable: usize = cov.kinds.values().map(|c| c.unreadable).sum();
    let damaged: usize = cov.kinds.values().map(|c| c.damaged).sum();
    let hosts = &cov.hosts;
    let clients = &cov.clients;
    let _ = writeln!(out, "{}", st.bold("kmslens: KMS activation analysis"));
    let _ = writeln!(
        out,
        "Analysed: {} sources ({}), {} KMS events",
        srcs.len(),
        kinds.join(", "),
        a.bundle.events.len()
    );
    let _ = writeln!(
        out,
        "  KMS hosts: {}",
        if hosts.is_empty() {
            "none seen".to_string()
        } else {
            hosts.join(", ")
        }
    );
    let _ = writeln!(out, "  Clients:   {}", clients.len());
    for l in cov
        .logs
        .iter()
        .filter(|l| l.channels.split(", ").any(crate::kms::ids::is_kms_channel))
    {
        let _ = writeln!(
            out,
            "  KMS host log: {} ({}), {} .. {} (UTC), {} records",
            l.computers,
            l.source,
            super::coverage::time(l.first),
            super::coverage::time(l.last),
            l.records
        );
    }
    let slmgr = srcs
        .iter()
        .filter(|s| s.kind == "slmgr" && s.status == Status::Read)
        .count();
    if slmgr > 0 {
        let _ = writeln!(out, "  slmgr outputs: {slmgr}");
    }
    if let Some((f, l)) = a.time_span() {
        let _ = writeln!(
            out,
            "  Time span: {} .. {} (UTC)",
            f.strftime("%Y-%m-%d %H:%M"),
            l.strftime("%Y-%m-%d %H:%M")
        );
    }
    if !cov.problems.is_empty() {
        let _ = writeln!(
            out,
            "  Inputs with problems: {damaged} damaged, {unreadable} unreadable, {skipped} skipped (not event logs)"
        );
        for p in &cov.problems {
            let _ = writeln!(out, "    {} {}", p.source, st.dim(&format!("({})", p.what)));
        }
    }
    let _ = writeln!(out);

    if a.findings.is_empty() {
        let _ = writeln!(
            out,
            "No findings: nothing in these logs points to a KMS activation problem the rules know."
        );
    } else {
        let mut counts = Vec::new();
        for sev in Severity::ALL {
            let n = a.findings.iter().filter(|f| f.severity == sev).count();
            if n > 0 {
                counts.push(format!("{n} {}", sev.name()));
            }
        }
        let _ = writeln!(
            out,
            "{} ({})",
            st.bold(&format!("{} findings", a.findings.len())),
            counts.join(", ")
        );
    }
    for f in &a.findings {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{} {}  {}",
            st.severity(f.severity),
            st.bold(&f.rule),
            st.bold(&f.title)
        );
        let _ = writeln!(out, "  {}", f.message);
        for (k, v) in &f.subjects {
            let label = match *k {
                "client" => "Machines",
                "cmid" => "CMIDs",
                "host" => "KMS host logs",
                "kms_host" => "KMS hosts asked",
                "domain" => "DNS domains",
                other => other,
            };
            let _ = writeln!(out, "  {label}: {}", v.join(", "));
        }
        if !f.evidence.is_empty() {
            let _ = writeln!(out, "  Evidence:");
            for e in &f.evidence {
                let when = e
                    .time
                    .as_deref()
                    .map(|t| format!(" at {t}"))
                    .unwrap_or_default();
                let record = e
                    .record_id
                    .map(|r| format!(" record {r}"))
                    .unwrap_or_default();
                let _ = writeln!(out, "    {}{}{}", e.source, record, when);
            }
            if f.evidence_omitted > 0 {
                let _ = writeln!(out, "    … and {} more records", f.evidence_omitted);
            }
        }
        for c in &f.codes {
            let symbol = if c.symbol.is_empty() {
                String::new()
            } else {
                format!(" {}", c.symbol)
            };
            let _ = writeln!(out, "  Code {}{}: {}", c.code, symbol, c.meaning);
        }
        let _ = writeln!(out, "  Why it matters: {}", one_paragraph(&f.explanation));
        if !f.remediation.is_empty() {
            let _ = writeln!(out, "  What to do:");
            for (k, r) in f.remediation.iter().enumerate() {
                let _ = writeln!(out, "    {}. {}", k + 1, r);
            }
        }
        for r in &f.references {
            let _ = writeln!(out, "  See: {r}");
        }
    }
    if !cov.not_checked.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}",
            st.bold("Not checked (the bundle cannot show it):")
        );
        for (reason, rules) in &cov.not_checked {
            let _ = writeln!(out, "  {reason}: {} did not run", rules.join(", "));
        }
    }
    if !a.rule_errors.is_empty() {
        let _ = writeln!(out);
        for e in &a.rule_errors {
            let _ = writeln!(out, "Rule error: {e}");
        }
    }
    out
}

/// The explanation as one paragraph (rule files wrap it for the editor, not for the reader).
fn one_paragraph(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
