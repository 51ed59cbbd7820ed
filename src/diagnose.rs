//! Diagnose: findings that share a cause become one diagnosis. Which rule explains which, on what
//! key, how a rule's findings split and merge, and how a diagnosis is worded are declared in the
//! rule files (`[diagnosis]`, see `rules::DiagnosisSpec`); this module only applies them.
//!
//! 1. A finding is explained when a finding of a rule that explains its rule shares a value of
//!    every key of the link (same client, same KMS host, ...). Unexplained findings are causes.
//! 2. Causes of one family are split by their `split_by` values, then parts that share a
//!    `merge_on` value are joined again: each part is one diagnosis.
//! 3. An explained finding joins the diagnoses of the causes it traces back to.

use crate::rules::finding::Finding;
use crate::rules::{DiagnosisSpec, Key, Rule, Severity, find_cycle, links, placeholders};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Names listed in a title before "and N more".
pub const LIST_IN_TITLE: usize = 10;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnosis {
    /// Stable: the family, then the split values (`kms-clock-skew/clients`).
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub cause: String,
    /// The rules of its findings, the leading cause first.
    pub rules: Vec<String>,
    /// Every machine, host, CMID and domain of its findings, in the shape of a finding's subjects.
    pub subjects: BTreeMap<&'static str, Vec<String>>,
    /// Indexes into the analysis' findings: its causes first, then the findings they explain.
    pub findings: Vec<usize>,
    /// How many of `findings` are causes (the rest are their consequences).
    pub causes: usize,
    pub remediation: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_time: Option<String>,
    /// A consequence left unexplained (e.g. "not activated, cause not in this bundle").
    pub consequence: bool,
}

/// Diagnoses of `findings`, in the order to fix them: causes before consequences, then severity,
/// then the number of machines affected.
pub fn diagnose(findings: &[Finding], rules: &[Rule]) -> Vec<Diagnosis> {
    let default = DiagnosisSpec::default();
    let spec = |i: usize| {
        rules
            .iter()
            .find(|r| r.id == findings[i].rule)
            .map_or(&default, |r| &r.diagnosis)
    };
    // A cycle was reported when the rules loaded; without a direction nothing is explained.
    let links = links(rules);
    let links: &[(String, String, Vec<Key>)] = if find_cycle(&links).is_some() {
        &[]
    } else {
        &links
    };
    let parents = explainers(findings, links);
    let roots: Vec<usize> = (0..findings.len())
        .filter(|i| parents[*i].is_empty())
        .collect();
    let groups = group_roots(findings, &roots, &spec);
    let mut root_group: BTreeMap<usize, usize> = BTreeMap::new();
    for (g, members) in groups.iter().enumerate() {
        for r in members {
            root_group.insert(*r, g);
        }
    }
    let mut consequences: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    for i in (0..findings.len()).filter(|i| !parents[*i].is_empty()) {
        let mut gs: BTreeSet<usize> = BTreeSet::new();
        for r in root_ancestors(i, &parents) {
            gs.extend(root_group.get(&r));
        }
        for g in gs {
            consequences[g].push(i);
        }
    }
    let depth = rule_depths(rules, links);
    let mut out: Vec<Diagnosis> = groups
        .iter()
        .zip(consequences)
        .map(|(causes, cons)| build(findings, causes, &cons, rules, &spec, &depth))
        .collect();
    out.sort_by(|a, b| {
        a.consequence
            .cmp(&b.consequence)
            .then(b.severity.cmp(&a.severity))
            .then(machines(b).cmp(&machines(a)))
            .then(a.id.cmp(&b.id))
    });
    out
}

/// Machines a diagnosis names (clients and hosts).
pub fn machines(d: &Diagnosis) -> usize {
    ["client", "host", "kms_host"]
        .iter()
        .filter_map(|k| d.subjects.get(k))
        .flatten()
        .collect::<BTreeSet<_>>()
        .len()
}

/// The values of `key` (a subject key or a fact column) in a finding.
fn values<'a>(f: &'a Finding, key: &str) -> BTreeSet<&'a str> {
    match Key::parse(key) {
        Some(k) => k
            .subjects()
            .iter()
            .filter_map(|s| f.subjects.get(s))
            .flatten()
            .map(String::as_str)
            .collect(),
        None => f
            .facts
            .get(key)
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect(),
    }
}

/// For each finding, the findings that explain it (none: it is a cause). Each link is indexed on
/// its first key, so a fleet's thousands of findings are not compared pair by pair.
fn explainers(findings: &[Finding], links: &[(String, String, Vec<Key>)]) -> Vec<Vec<usize>> {
    let mut parents = vec![Vec::new(); findings.len()];
    let mut by_rule: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        by_rule.entry(f.rule.as_str()).or_default().push(i);
    }
    let of_rule = |id: &str| by_rule.get(id).map_or(&[][..], Vec::as_slice);
    for (a_rule, b_rule, on) in links {
        let Some((first, rest)) = on.split_first() else {
            continue;
        };
        let mut index: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for &a in of_rule(a_rule) {
            for v in values(&findings[a], first.name()) {
                index.entry(v).or_default().push(a);
            }
        }
        for &b in of_rule(b_rule) {
            let mut found: BTreeSet<usize> = BTreeSet::new();
            for v in values(&findings[b], first.name()) {
                found.extend(index.get(v).into_iter().flatten());
            }
            for a in found {
                let shares = rest.iter().all(|k| {
                    let (va, vb) = (
                        values(&findings[a], k.name()),
                        values(&findings[b], k.name()),
                    );
                    !va.is_disjoint(&vb)
                });
                if a != b && shares && !parents[b].contains(&a) {
                    parents[b].push(a);
                }
            }
        }
    }
    parents
}

/// The causes (findings explained by nothing) a finding traces back to.
fn root_ancestors(i: usize, parents: &[Vec<usize>]) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut stack = vec![i];
    while let Some(n) = stack.pop() {
        if !seen.insert(n) {
            continue;
        }
        if parents[n].is_empty() {
            out.insert(n);
        } else {
            stack.extend(&parents[n]);
        }
    }
    out
}

/// Causes grouped: same family and split values, then joined on shared merge values.
fn group_roots<'a>(
    findings: &[Finding],
    roots: &[usize],
    spec: &impl Fn(usize) -> &'a DiagnosisSpec,
) -> Vec<Vec<usize>> {
    // (family, split values) → part
    let mut parts: BTreeMap<(String, Vec<String>), Vec<usize>> = BTreeMap::new();
    for &r in roots {
        let s = spec(r);
        let family = family(s, &findings[r]);
        let split: Vec<String> = s
            .split_by
            .iter()
            .map(|k| {
                values(&findings[r], k)
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        parts.entry((family, split)).or_default().push(r);
    }
    let parts: Vec<Vec<usize>> = parts.into_values().collect();
    // Union-find over parts of one family sharing a merge value.
    let mut up: Vec<usize> = (0..parts.len()).collect();
    fn find(up: &mut [usize], x: usize) -> usize {
        let mut x = x;
        while up[x] != x {
            up[x] = up[up[x]];
            x = up[x];
        }
        x
    }
    let mut first: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for (p, members) in parts.iter().enumerate() {
        for &r in members {
            let s = spec(r);
            let fam = family(s, &findings[r]);
            for k in &s.merge_on {
                for v in values(&findings[r], k) {
                    let key = (fam.clone(), k.clone(), v.to_string());
                    let q = *first.entry(key).or_insert(p);
                    let (a, b) = (find(&mut up, p), find(&mut up, q));
                    up[a] = b;
                }
            }
        }
    }
    let mut joined: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (p, members) in parts.into_iter().enumerate() {
        let root = find(&mut up, p);
        joined.entry(root).or_default().extend(members);
    }
    joined.into_values().collect()
}

fn family(s: &DiagnosisSpec, f: &Finding) -> String {
    s.family
        .clone()
        .unwrap_or_else(|| f.rule.to_ascii_lowercase())
}

/// Each rule's depth in the explanation graph: 0 for a rule nothing explains, else one more than
/// the deepest rule that explains it. The leading cause of a diagnosis is its shallowest rule.
fn rule_depths(rules: &[Rule], links: &[(String, String, Vec<Key>)]) -> BTreeMap<String, usize> {
    let mut depth: BTreeMap<String, usize> = rules.iter().map(|r| (r.id.clone(), 0)).collect();
    // Longest path: relax as many times as there are rules.
    for _ in 0..rules.len() {
        let mut changed = false;
        for (a, b, _) in links {
            let d = depth.get(a).copied().unwrap_or(0) + 1;
            if depth.get(b).copied().unwrap_or(0) < d {
                depth.insert(b.clone(), d);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    depth
}

fn build<'a>(
    findings: &[Finding],
    causes: &[usize],
    consequences: &[usize],
    rules: &[Rule],
    spec: &impl Fn(usize) -> &'a DiagnosisSpec,
    depth: &BTreeMap<String, usize>,
) -> Diagnosis {
    let mut causes = causes.to_vec();
    causes.sort_by(|a, b| {
        let (fa, fb) = (&findings[*a], &findings[*b]);
        let (da, db) = (depth.get(&fa.rule), depth.get(&fb.rule));
        da.cmp(&db)
            .then(fb.severity.cmp(&fa.severity))
            .then(fa.rule.cmp(&fb.rule))
            .then(a.cmp(b))
    });
    let lead = causes[0];
    let s = spec(lead);
    let lead_rule = rules.iter().find(|r| r.id == findings[lead].rule);
    let is_cause: BTreeSet<usize> = causes.iter().copied().collect();
    let all: Vec<usize> = causes
        .iter()
        .chain(consequences.iter().filter(|c| !is_cause.contains(c)))
        .copied()
        .collect();
    let mut rule_ids: Vec<String> = Vec::new();
    for i in &all {
        if !rule_ids.contains(&findings[*i].rule) {
            rule_ids.push(findings[*i].rule.clone());
        }
    }
    let mut subjects: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for i in &all {
        for (k, v) in &findings[*i].subjects {
            subjects.entry(k).or_default().extend(v.iter().cloned());
        }
    }
    for v in subjects.values_mut() {
        v.sort_by(|a, b| natural(a, b));
        v.dedup();
    }
    let family = family(s, &findings[lead]);
    let split: Vec<String> = s
        .split_by
        .iter()
        .map(|k| {
            let vs: BTreeSet<&str> = causes
                .iter()
                .flat_map(|i| values(&findings[*i], k))
                .collect();
            vs.into_iter().collect::<Vec<_>>().join(",")
        })
        .filter(|v| !v.is_empty())
        .collect();
    let id = std::iter::once(family)
        .chain(split)
        .collect::<Vec<_>>()
        .join("/");
    let fill = |template: &str| fill(template, findings, &causes);
    let title = s
        .title
        .as_deref()
        .map(fill)
        .unwrap_or_else(|| findings[lead].title.clone());
    let cause = s
        .cause
        .as_deref()
        .map(fill)
        .unwrap_or_else(|| findings[lead].message.clone());
    let remediation = s
        .remediation
        .clone()
        .or_else(|| lead_rule.map(|r| r.remediation.clone()))
        .unwrap_or_default();
    Diagnosis {
        id,
        title,
        severity: all
            .iter()
            .map(|i| findings[*i].severity)
            .max()
            .unwrap_or(Severity::Info),
        cause,
        rules: rule_ids,
        subjects,
        causes: causes.len(),
        first_time: all
            .iter()
            .filter_map(|i| findings[*i].first_time.clone())
            .min(),
        last_time: all
            .iter()
            .filter_map(|i| findings[*i].last_time.clone())
            .max(),
        findings: all,
        remediation,
        consequence: s.consequence,
    }
}

/// A title or cause with its placeholders filled over the causes: `{clients}` counts, `{client}`
/// lists (at most `LIST_IN_TITLE` names), any other name the distinct values of that column.
fn fill(template: &str, findings: &[Finding], causes: &[usize]) -> String {
    let mut out = template.to_string();
    for p in placeholders(template) {
        let (key, count) = match p.as_str() {
            "clients" => ("client", true),
            "kms_hosts" => ("kms_host", true),
            "cmids" => ("cmid", true),
            "domains" => ("domain", true),
            other => (other, false),
        };
        let text = if p == "findings" {
            causes.len().to_string()
        } else {
            let vs: BTreeSet<&str> = causes
                .iter()
                .flat_map(|i| values(&findings[*i], key))
                .collect();
            if count {
                vs.len().to_string()
            } else {
                list(&vs.into_iter().collect::<Vec<_>>(), LIST_IN_TITLE)
            }
        };
        out = if text == "1" {
            singular_after(&out, &format!("{{{p}}}"))
        } else {
            out.replace(&format!("{{{p}}}"), &text)
        };
    }
    out
}

/// Fills `placeholder` with 1 and makes the plural noun that follows it singular (`{clients}
/// clients` → `1 client`).
fn singular_after(text: &str, placeholder: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(placeholder) {
        out.push_str(&rest[..at]);
        out.push('1');
        rest = &rest[at + placeholder.len()..];
        let word_len = rest
            .strip_prefix(' ')
            .map(|r| r.find(|c: char| !c.is_alphanumeric()).unwrap_or(r.len()))
            .unwrap_or(0);
        let word = rest.get(1..1 + word_len).unwrap_or("");
        if word.len() > 1 && word.ends_with('s') {
            out.push(' ');
            out.push_str(&word[..word.len() - 1]);
            rest = &rest[1 + word_len..];
        }
    }
    out.push_str(rest);
    out
}

/// `a, b, c` or `a, b, … and 7 more` past `max` names.
pub fn list<S: AsRef<str>>(names: &[S], max: usize) -> String {
    let shown: Vec<&str> = names.iter().take(max).map(AsRef::as_ref).collect();
    let more = names.len().saturating_sub(max);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Names in the order a reader expects: digit runs compare as numbers (`pc98` before `pc1008`).
pub fn natural(a: &str, b: &str) -> std::cmp::Ordering {
    fn parts(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for k in 1..=bytes.len() {
            if k == bytes.len() || bytes[k].is_ascii_digit() != bytes[k - 1].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..k]));
                start = k;
            }
        }
        out
    }
    let (pa, pb) = (parts(a), parts(b));
    for ((da, sa), (db, sb)) in pa.iter().zip(&pb) {
        let ord = if *da && *db {
            let (ta, tb) = (sa.trim_start_matches('0'), sb.trim_start_matches('0'));
            ta.len().cmp(&tb.len()).then(ta.cmp(tb))
        } else {
            sa.cmp(sb)
        };
        if ord != std::cmp::Ordering::Equal {
            return ord;
        }
    }
    pa.len().cmp(&pb.len()).then(a.cmp(b))
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_sort_naturally() {
        let mut v = vec!["pc1008", "pc098", "pc008", "srv15", "pc8", "kms01", ""];
        v.sort_by(|a, b| super::natural(a, b));
        assert_eq!(v, ["", "kms01", "pc008", "pc8", "pc098", "pc1008", "srv15"]);
    }
}
