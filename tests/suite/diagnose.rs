//! The diagnosis stage: explanation links, split and merge, wording and order, from rule files;
//! and diagnoses of a simulated 2000-client fleet against its ground truth, with a report that
//! stays short.

use crate::common;

use kmslens::diagnose::diagnose;
use kmslens::rules::finding::Finding;
use kmslens::rules::{Rule, Severity};
use std::collections::BTreeMap;

fn rule(id: &str, severity: Severity, diagnosis: &str) -> Rule {
    let text = format!(
        "id = \"{id}\"\ntitle = \"title of {id}\"\nseverity = \"{}\"\nexplanation = \"e\"\nremediation = [\"fix {id}\"]\nmessage = \"m\"\nquery = \"SELECT client, kms_host, act_id FROM attempts\"\n{diagnosis}",
        severity.name()
    );
    let empty = kmslens::tables::Tables::empty().unwrap();
    kmslens::rules::parse(&format!("{}.toml", id.to_lowercase()), &text, &empty)
        .unwrap_or_else(|e| panic!("{id}: {e}"))
}

fn finding(rule: &Rule, subjects: &[(&'static str, &[&str])], facts: &[(&str, &str)]) -> Finding {
    Finding {
        rule: rule.id.clone(),
        severity: rule.severity,
        title: rule.title.clone(),
        message: format!("{} {subjects:?}", rule.id),
        message_parts: vec![],
        subjects: subjects
            .iter()
            .map(|(k, v)| (*k, v.iter().map(|s| s.to_string()).collect()))
            .collect(),
        evidence: vec![],
        evidence_omitted: 0,
        codes: vec![],
        explanation: String::new(),
        remediation: rule.remediation.clone(),
        references: vec![],
        first_time: None,
        last_time: None,
        facts: facts
            .iter()
            .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[test]
fn a_cause_takes_the_findings_it_explains_and_the_rest_stay_alone() {
    let cause = rule(
        "CAUSE",
        Severity::High,
        "[diagnosis]\nsplit_by = [\"kms_host\"]\ntitle = \"{clients} clients cannot reach {kms_host}\"\nexplains = [{ rule = \"SYMPTOM\", on = [\"client\"] }]",
    );
    let symptom = rule(
        "SYMPTOM",
        Severity::Medium,
        "[diagnosis]\nconsequence = true\ntitle = \"{clients} clients unexplained\"",
    );
    let findings = vec![
        finding(
            &cause,
            &[("client", &["pc1"]), ("kms_host", &["kms01"])],
            &[],
        ),
        finding(
            &cause,
            &[("client", &["pc2"]), ("kms_host", &["kms01"])],
            &[],
        ),
        finding(
            &cause,
            &[("client", &["pc3"]), ("kms_host", &["kms02"])],
            &[],
        ),
        finding(&symptom, &[("client", &["pc1"])], &[]),
        finding(&symptom, &[("client", &["pc9"])], &[]),
    ];
    let rules = vec![cause, symptom];
    let d = diagnose(&findings, &rules);
    let titles: Vec<&str> = d.iter().map(|d| d.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "2 clients cannot reach kms01",
            "1 client cannot reach kms02",
            "1 client unexplained"
        ]
    );
    assert_eq!(
        d[0].findings,
        [0, 1, 3],
        "causes first, then what they explain"
    );
    assert_eq!(d[0].causes, 2);
    assert_eq!(d[0].rules, ["CAUSE", "SYMPTOM"]);
    assert_eq!(d[0].severity, Severity::High);
    assert_eq!(d[0].remediation, ["fix CAUSE"]);
    assert_eq!(d[0].id, "cause/kms01");
    assert_eq!(d[0].subjects["client"], ["pc1", "pc2"]);
    assert_eq!(d[2].findings, [4]);
    assert!(d[2].consequence, "an unexplained consequence comes last");
}

#[test]
fn parts_that_share_a_merge_value_are_one_diagnosis_and_facts_split() {
    let r = rule(
        "NET",
        Severity::High,
        "[diagnosis]\nsplit_by = [\"kms_host\"]\nmerge_on = [\"client\"]\ntitle = \"{clients} clients, {kms_hosts} hosts\"",
    );
    // pc1 fails on both hosts: one problem; pc5 alone on kms03: another.
    let findings = vec![
        finding(&r, &[("client", &["pc1"]), ("kms_host", &["kms01"])], &[]),
        finding(&r, &[("client", &["pc1"]), ("kms_host", &["kms02"])], &[]),
        finding(&r, &[("client", &["pc2"]), ("kms_host", &["kms02"])], &[]),
        finding(&r, &[("client", &["pc5"]), ("kms_host", &["kms03"])], &[]),
    ];
    let d = diagnose(&findings, std::slice::from_ref(&r));
    let titles: Vec<&str> = d.iter().map(|d| d.title.as_str()).collect();
    assert_eq!(titles, ["2 clients, 2 hosts", "1 client, 1 host"]);

    let by_product = rule(
        "REJECTED",
        Severity::High,
        "[diagnosis]\nsplit_by = [\"act_id\"]\ntitle = \"{act_id} refused by {kms_host}\"",
    );
    let findings = vec![
        finding(&by_product, &[("host", &["kms01"])], &[("act_id", "p1")]),
        finding(&by_product, &[("host", &["kms02"])], &[("act_id", "p1")]),
        finding(&by_product, &[("host", &["kms02"])], &[("act_id", "p2")]),
    ];
    let d = diagnose(&findings, &[by_product]);
    let titles: Vec<&str> = d.iter().map(|d| d.title.as_str()).collect();
    assert_eq!(
        titles,
        ["p1 refused by kms01, kms02", "p2 refused by kms02"],
        "`host` and `kms_host` subjects are both the KMS host key"
    );
}

#[test]
fn without_a_diagnosis_table_a_rule_is_one_diagnosis_and_cycles_are_refused() {
    let plain = rule("PLAIN", Severity::Low, "");
    let findings = vec![
        finding(&plain, &[("client", &["a"])], &[]),
        finding(&plain, &[("client", &["b"])], &[]),
    ];
    let d = diagnose(&findings, std::slice::from_ref(&plain));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].title, "title of PLAIN");
    assert_eq!(d[0].findings, [0, 1]);

    let a = rule(
        "A",
        Severity::High,
        "[diagnosis]\nexplains = [{ rule = \"B\", on = [\"client\"] }]",
    );
    let b = rule(
        "B",
        Severity::High,
        "[diagnosis]\nexplains = [{ rule = \"A\", on = [\"client\"] }]",
    );
    let errors = kmslens::rules::check_links(&[a.clone(), b.clone()]);
    assert!(
        errors.iter().any(|e| e.error.contains("cycle")),
        "{errors:?}"
    );
    // Without a direction nothing is explained: both stay causes.
    let findings = vec![
        finding(&a, &[("client", &["x"])], &[]),
        finding(&b, &[("client", &["x"])], &[]),
    ];
    assert_eq!(diagnose(&findings, &[a, b]).len(), 2);
}

#[test]
fn a_rule_naming_an_unknown_column_or_rule_in_its_diagnosis_is_rejected() {
    let empty = kmslens::tables::Tables::empty().unwrap();
    let base = "id = \"X\"\ntitle = \"t\"\nseverity = \"low\"\nexplanation = \"e\"\nmessage = \"m\"\nquery = \"SELECT client FROM attempts\"\n";
    let bad_split = format!("{base}[diagnosis]\nsplit_by = [\"nope\"]\n");
    let e = kmslens::rules::parse("x.toml", &bad_split, &empty).unwrap_err();
    assert!(e.contains("nope"), "{e}");
    let bad_title = format!("{base}[diagnosis]\ntitle = \"{{missing}} clients\"\n");
    let e = kmslens::rules::parse("x.toml", &bad_title, &empty).unwrap_err();
    assert!(e.contains("missing"), "{e}");
    let bad_key =
        format!("{base}[diagnosis]\nexplains = [{{ rule = \"Y\", on = [\"machine\"] }}]\n");
    assert!(kmslens::rules::parse("x.toml", &bad_key, &empty).is_err());
    let unknown =
        format!("{base}[diagnosis]\nexplains = [{{ rule = \"KMS-NOPE\", on = [\"client\"] }}]\n");
    let r = kmslens::rules::parse("x.toml", &unknown, &empty).unwrap();
    let errors = kmslens::rules::check_links(&[r]);
    assert!(errors[0].error.contains("KMS-NOPE"), "{errors:?}");
}

#[test]
fn the_built_in_rules_link_without_errors() {
    let (rules, errors) = kmslens::rules::load(&[]);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(kmslens::rules::links(&rules).len() >= 20);
}

/// The fleet of the issue: 2000 clients, 2 hosts, 14 days, 4 faults, mixed formats.
#[test]
fn a_2000_client_fleet_with_4_faults_gives_4_diagnoses_and_a_short_report() {
    use kmslens::simulate::{Fault, SimConfig, SimFormat};
    let cfg = SimConfig {
        clients: 2000,
        hosts: 2,
        days: 14,
        seed: 4,
        faults: vec![
            Fault::DupCmid,
            Fault::NoResponse,
            Fault::ClockSkew,
            Fault::RejectedProduct,
        ],
        format: SimFormat::Mixed,
        ..SimConfig::default()
    };
    let (dir, truth) = common::simulate(&cfg);
    let a = common::analyze(&[dir.path().to_path_buf()], &[]);
    assert!(a.findings.len() > 1000, "{}", a.findings.len());
    let problems = common::accuracy(&a, &truth);
    assert!(problems.is_empty(), "{problems:#?}");
    let problems = common::diagnosis_mismatches(&a, &truth);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(a.diagnoses.len(), 4, "{:#?}", a.diagnoses);

    let report = kmslens::report::model::of(&a);
    let opts = kmslens::report::text::Options {
        colour: false,
        verbose: false,
    };
    let text = kmslens::report::text::render(&report, &opts);
    assert!(
        text.lines().count() < 150,
        "{} lines:\n{text}",
        text.lines().count()
    );
    assert!(text.contains("4 problems (4 high) from"), "{text}");
    let verbose = kmslens::report::text::render(
        &report,
        &kmslens::report::text::Options {
            colour: false,
            verbose: true,
        },
    );
    for f in &a.findings {
        assert!(
            verbose.contains(&f.message),
            "--verbose misses {}",
            f.message
        );
    }
    let now = jiff::Timestamp::now();
    let html = kmslens::report::html::render(&report, now, false);
    assert!(html.len() < 1_000_000, "{} bytes of HTML", html.len());
    // The count chart keeps only the points that draw something (a point per response was 676 KB).
    let chart = kmslens::report::charts::host_counts(
        &a,
        &kmslens::report::clock::Clock::new(jiff::tz::TimeZone::UTC),
    )
    .unwrap();
    assert!(chart.len() < 50_000, "{} bytes of count chart", chart.len());
    // Past 60 logs the coverage lists the KMS host logs only; --verbose lists them all.
    assert!(html.contains("client logs read without a problem"));
    assert!(html.contains("Key Management Service"));
    assert!(!html.contains("PC1999/Application"));
    let all = kmslens::report::html::render(&report, now, true);
    assert!(all.contains("PC1999/Application"));
    let md = kmslens::report::markdown::render(&report, now, false);
    assert!(md.len() < 1_000_000, "{} bytes of Markdown", md.len());
    // Every diagnosis names all its machines in JSON.
    let json: serde_json::Value =
        serde_json::from_str(&kmslens::report::json::render(&a, now)).unwrap();
    let ds = json["diagnoses"].as_array().unwrap();
    assert_eq!(ds.len(), 4);
    let unreachable = ds
        .iter()
        .find(|d| d["rules"][0] == "KMS-HOST-NOT-LOGGED")
        .unwrap();
    assert_eq!(
        unreachable["subjects"]["client"].as_array().unwrap().len(),
        200
    );
}
