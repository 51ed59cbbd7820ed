//! `kmslens analyze` and `kmslens rules` as a user runs them: report shapes, exit codes, rule
//! files written by users.

use assert_cmd::Command;
use serde_json::Value;

fn kmslens() -> Command {
    Command::cargo_bin("kmslens").unwrap()
}

fn samples() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn json_report(args: &[&str]) -> (Value, i32) {
    let out = kmslens()
        .arg("analyze")
        .arg(samples())
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        out.status.code().unwrap(),
    )
}

/// The findings the samples must show (their ground truth).
fn sample_truth() -> Vec<Value> {
    let text = std::fs::read_to_string(samples().join("ground-truth.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn samples_show_their_ground_truth_with_evidence_and_exit_1() {
    let out = kmslens()
        .arg("analyze")
        .arg(samples())
        .assert()
        .code(1)
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    let truth = sample_truth();
    let rules: std::collections::BTreeSet<&str> =
        truth.iter().map(|t| t["rule"].as_str().unwrap()).collect();
    assert!(rules.len() >= 5, "{rules:?}");
    for rule in &rules {
        assert!(text.contains(rule), "{rule} missing:\n{text}");
    }
    assert!(
        text.contains("Analysed: 97 sources (15 evtx, 41 slmgr, 27 xml, 13 zip)"),
        "{text}"
    );
    assert!(
        text.contains("Evidence:") && text.contains(".evtx record ") && text.contains(".zip!"),
        "{text}"
    );
    assert!(text.contains("What to do:") && text.contains("Why it matters:"));
    assert!(!text.contains("\x1b["), "no colour when piped");
}

#[test]
fn samples_open_with_one_diagnosis_per_injected_fault() {
    let (r, _) = json_report(&[]);
    let findings = r["findings"].as_array().unwrap();
    let diagnoses = r["diagnoses"].as_array().unwrap();
    let truth = sample_truth();
    let mut faults: Vec<&str> = truth.iter().filter_map(|t| t["fault"].as_str()).collect();
    faults.sort();
    faults.dedup();
    assert_eq!(faults.len(), 5, "{faults:?}");
    assert_eq!(diagnoses.len(), 5, "{diagnoses:#?}");
    let holds = |d: &Value, t: &Value| {
        d["findings"].as_array().unwrap().iter().any(|i| {
            let f = &findings[i.as_u64().unwrap() as usize];
            f["rule"] == t["rule"]
                && f["subjects"][t["subject"].as_str().unwrap()]
                    .as_array()
                    .is_some_and(|v| v.contains(&t["value"]))
        })
    };
    let mut matched = Vec::new();
    for fault in &faults {
        let items: Vec<&Value> = truth.iter().filter(|t| t["fault"] == *fault).collect();
        let d = diagnoses
            .iter()
            .position(|d| items.iter().all(|t| holds(d, t)))
            .unwrap_or_else(|| panic!("no diagnosis holds every finding of {fault}"));
        assert!(!matched.contains(&d), "{fault} shares a diagnosis");
        matched.push(d);
        // All its machines are named by the diagnosis itself.
        for t in &items {
            let subject = if t["subject"] == "host" {
                "host"
            } else {
                t["subject"].as_str().unwrap()
            };
            assert!(
                diagnoses[d]["subjects"][subject]
                    .as_array()
                    .is_some_and(|v| v.contains(&t["value"])),
                "{fault}: {t} not among the diagnosis' subjects"
            );
        }
    }
    for d in diagnoses {
        for key in [
            "id",
            "title",
            "severity",
            "cause",
            "rules",
            "subjects",
            "findings",
            "remediation",
        ] {
            assert!(d.get(key).is_some(), "{key} in {d}");
        }
        assert!(!d["remediation"].as_array().unwrap().is_empty(), "{d}");
    }
    // The text report leads with them: the headline, then one line per problem.
    let out = kmslens().arg("analyze").arg(samples()).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let head = text
        .find("5 problems (4 high, 1 medium) from 29 findings")
        .expect(&text);
    let findings_at = text.find("Findings by rule (29)").expect(&text);
    assert!(head < findings_at);
    for d in diagnoses {
        let at = text.find(d["title"].as_str().unwrap()).unwrap();
        assert!(at < findings_at, "{}", d["title"]);
    }
    assert!(
        text.contains("4 clients cannot reach kms01 on TCP 1688"),
        "{text}"
    );
    assert!(
        text.contains("Machines (4): pc008, pc018, pc028, pc038"),
        "{text}"
    );
    assert!(
        text.contains("the clocks of these clients are wrong"),
        "{text}"
    );
    // A rule's findings point to the problems they belong to, instead of repeating the remedies.
    assert!(text.contains("What to do: see problem 4"), "{text}");
    assert!(
        text.contains("these follow from problems 1, 2, 3; fix them first"),
        "{text}"
    );
    // No noise about rules that cannot fire on this bundle anyway.
    assert!(!text.contains("Not checked"), "{text}");
}

#[test]
fn samples_json_matches_the_ground_truth_exactly() {
    let (r, _) = json_report(&[]);
    let findings = r["findings"].as_array().unwrap();
    for t in sample_truth() {
        let (rule, subject, value) = (
            t["rule"].as_str().unwrap(),
            t["subject"].as_str().unwrap(),
            &t["value"],
        );
        assert!(
            findings.iter().any(|f| f["rule"] == rule
                && f["subjects"][subject]
                    .as_array()
                    .is_some_and(|v| v.contains(value))),
            "missed {t}"
        );
    }
    for f in findings {
        let backed = sample_truth().iter().any(|t| {
            f["rule"] == t["rule"]
                && f["subjects"][t["subject"].as_str().unwrap()]
                    .as_array()
                    .is_some_and(|v| v.contains(&t["value"]))
        });
        assert!(backed, "false alarm {f}");
    }
}

#[test]
fn json_report_has_the_v1_shape() {
    let (r, code) = json_report(&[]);
    assert_eq!(code, 1);
    assert_eq!(r["schema"], "kmslens/report/v1");
    assert!(r["generated"].as_str().unwrap().ends_with('Z'));
    let inputs = &r["inputs"];
    assert_eq!(inputs["sources"].as_array().unwrap().len(), 97);
    assert_eq!(inputs["hosts"], serde_json::json!(["kms01"]));
    assert_eq!(inputs["clients"].as_array().unwrap().len(), 40);
    assert!(inputs["time_span"]["first"].is_string() && inputs["time_span"]["last"].is_string());
    assert!(inputs["diagnostics"].is_array());
    for sev in ["critical", "high", "medium", "low", "info"] {
        assert!(r["summary"][sev].is_u64(), "{sev}");
    }
    let findings = r["findings"].as_array().unwrap();
    assert!(findings.len() >= 3);
    assert_eq!(
        r["summary"]["high"].as_u64().unwrap() + r["summary"]["medium"].as_u64().unwrap(),
        findings.len() as u64
    );
    for f in findings {
        for key in [
            "rule",
            "severity",
            "title",
            "message",
            "subjects",
            "evidence",
            "explanation",
            "remediation",
        ] {
            assert!(f.get(key).is_some(), "{key} in {f}");
        }
        assert!(f["rule"].as_str().unwrap().starts_with("KMS-"));
        for (k, v) in f["subjects"].as_object().unwrap() {
            assert!(
                ["client", "cmid", "host", "kms_host", "domain"].contains(&k.as_str()),
                "{k}"
            );
            assert!(!v.as_array().unwrap().is_empty());
        }
        for e in f["evidence"].as_array().unwrap() {
            assert!(e["source"].as_str().unwrap().contains("samples"));
            assert!(e["record_id"].as_u64().unwrap() > 0);
            assert!(e["time"].is_string());
        }
    }
    let dup = findings
        .iter()
        .find(|f| f["rule"] == "KMS-DUP-CMID")
        .unwrap();
    assert_eq!(
        dup["subjects"]["client"],
        serde_json::json!(["pc006", "pc007", "pc008"])
    );
    assert_eq!(dup["severity"], "high");
    assert_eq!(
        dup["evidence"].as_array().unwrap().len(),
        3,
        "one record per machine"
    );
}

#[test]
fn exit_codes_follow_fail_on() {
    assert_eq!(json_report(&["--fail-on", "never"]).1, 0);
    assert_eq!(json_report(&["--fail-on", "critical"]).1, 0);
    assert_eq!(json_report(&["--fail-on", "medium"]).1, 1);
    kmslens().args(["analyze", "/nonexistent"]).assert().code(2);
    kmslens()
        .arg("analyze")
        .arg(samples())
        .args(["--set", "skew=1"])
        .assert()
        .code(2);
    kmslens()
        .arg("analyze")
        .arg(samples())
        .args(["--fail-on", "sometimes"])
        .assert()
        .code(2);
    let dir = tempfile::tempdir().unwrap();
    let healthy = dir.path().join("fleet");
    kmslens()
        .args(["simulate", "--clients", "30", "--days", "10", "--out"])
        .arg(&healthy)
        .assert()
        .success();
    kmslens().arg("analyze").arg(&healthy).assert().code(0);
}

#[test]
fn a_malformed_rule_is_named_and_the_others_still_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad-toml.toml"),
        "id = \"BAD-TOML\"\ntitle = ",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bad-column.toml"),
        "id = \"BAD-COLUMN\"\ntitle = \"t\"\nseverity = \"low\"\nexplanation = \"e\"\nmessage = \"m\"\nquery = \"SELECT nope FROM attempts\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("my-vm-clients.toml"),
        "id = \"MY-VM-CLIENTS\"\ntitle = \"Virtual clients\"\nseverity = \"info\"\nexplanation = \"VMs\"\nmessage = \"{n} requests from {client}\"\nquery = \"SELECT client, COUNT(*) AS n FROM client_requests WHERE NOT vm GROUP BY client ORDER BY client LIMIT 1\"\n",
    )
    .unwrap();
    let out = kmslens()
        .arg("analyze")
        .arg(samples())
        .args(["--format", "json", "--rules"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("bad-toml.toml") && stderr.contains("bad-column.toml"),
        "{stderr}"
    );
    assert!(stderr.contains("nope"), "{stderr}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"MY-VM-CLIENTS") && rules.contains(&"KMS-DUP-CMID"),
        "{rules:?}"
    );

    let check = kmslens()
        .args(["rules", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(2));
    let text = String::from_utf8(check.stdout).unwrap();
    assert!(
        text.contains("FAIL") && text.contains("ok ") && text.contains("MY-VM-CLIENTS"),
        "{text}"
    );
    kmslens()
        .args([
            "rules",
            "check",
            concat!(env!("CARGO_MANIFEST_DIR"), "/rules"),
        ])
        .assert()
        .success();
}

#[test]
fn a_user_rule_overrides_a_builtin_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let builtin = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rules/kms-dns-publish-failed.toml"
    ))
    .unwrap();
    std::fs::write(
        dir.path().join("kms-dns-publish-failed.toml"),
        builtin.replace("severity = \"medium\"", "severity = \"low\""),
    )
    .unwrap();
    let out = kmslens()
        .arg("analyze")
        .arg(samples())
        .args(["--format", "json", "--rules"])
        .arg(dir.path())
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let dns = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "KMS-DNS-PUBLISH-FAILED")
        .unwrap();
    assert_eq!(dns["severity"], "low");
    let list = kmslens()
        .args(["rules", "list", "--rules"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        String::from_utf8(list.stdout)
            .unwrap()
            .contains("KMS-DNS-PUBLISH-FAILED   low")
    );
    let show = kmslens()
        .args(["rules", "show", "kms-dup-cmid"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8(show.stdout)
            .unwrap()
            .contains("sysprep /generalize")
    );
    kmslens()
        .args(["rules", "show", "KMS-NOPE"])
        .assert()
        .code(2);
}

#[test]
fn rules_that_need_a_host_log_say_they_did_not_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        samples().join("PC001/Application.xml"),
        dir.path().join("app.xml"),
    )
    .unwrap();
    let out = kmslens()
        .arg("analyze")
        .arg(dir.path())
        .args(["--format", "json"])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let nc = r["not_checked"].as_array().unwrap();
    assert!(
        nc.iter().any(|n| n["rule"] == "KMS-REQUEST-REJECTED"
            && n["reason"].as_str().unwrap().contains("no KMS host log")),
        "{nc:?}"
    );
    assert!(
        nc.iter().any(|n| n["rule"] == "KMS-DNS-PUBLISH-FAILED"),
        "{nc:?}"
    );
    let text = kmslens().arg("analyze").arg(dir.path()).output().unwrap();
    assert!(
        String::from_utf8(text.stdout)
            .unwrap()
            .contains("Not checked (the bundle cannot show it):")
    );
}

#[test]
fn explain_gives_meaning_and_fix_and_refuses_unknown_codes() {
    for form in ["0xC004F074", "C004F074", "c004f074", "-1073418124"] {
        let out = kmslens().args(["explain", form]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{form}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.starts_with("0xC004F074 (SL_E_VL_BINDING_SERVICE_UNAVAILABLE)"),
            "{text}"
        );
        assert!(
            text.contains("No Key Management Service (KMS) could be contacted")
                && text.contains("1688"),
            "{text}"
        );
    }
    let out = kmslens().args(["explain", "0x00001234"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("0x00001234 is not an activation error code")
    );
    kmslens().args(["explain", "banana"]).assert().code(2);
}

#[test]
fn findings_that_carry_a_code_explain_it() {
    let (r, _) = json_report(&[]);
    let rejected = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "KMS-REQUEST-REJECTED")
        .unwrap();
    assert_eq!(rejected["codes"][0]["code"], "0xC004F042");
    assert!(
        rejected["codes"][0]["fix"]
            .as_str()
            .unwrap()
            .contains("CSVLK")
    );
}

#[test]
fn markdown_and_html_carry_the_same_findings_and_the_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let (json, _) = json_report(&[]);
    let messages: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    assert!(messages.len() >= 5);
    let md_path = dir.path().join("report.md");
    let html_path = dir.path().join("report.html");
    kmslens()
        .arg("analyze")
        .arg(samples())
        .args(["--format", "md", "-o"])
        .arg(&md_path)
        .assert()
        .code(1);
    kmslens()
        .arg("analyze")
        .arg(samples())
        .args(["--format", "html", "-o"])
        .arg(&html_path)
        .assert()
        .code(1);
    let md = std::fs::read_to_string(&md_path).unwrap();
    let html = std::fs::read_to_string(&html_path).unwrap();
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&apos;")
    };
    for m in &messages {
        assert!(md.contains(m.as_str()), "md lacks {m}");
        assert!(html.contains(&escape(m)), "html lacks {m}");
    }
    let titles: Vec<&str> = json["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 5);
    for t in &titles {
        assert!(md.contains(t), "md lacks {t}");
        assert!(html.contains(&escape(t)), "html lacks {t}");
    }
    // Problems come before the findings, and lead the page.
    let first = |doc: &str, t: &str| doc.find(t).unwrap();
    assert!(first(&md, titles[0]) < first(&md, "## Findings by rule"));
    assert!(first(&html, &escape(titles[0])) < first(&html, "<h2>Findings by rule</h2>"));
    assert!(
        md.contains("**5 problems (4 high, 1 medium) from 29 findings**"),
        "{md}"
    );
    for section in [
        "## Summary",
        "## Problems",
        "## Findings by rule",
        "## Coverage",
        "### Sources by kind",
        "### Time span per log",
        "### Rules that could not run",
    ] {
        assert!(md.contains(section), "md lacks {section}");
    }
    assert!(md.contains("| evidence | record | time (UTC) |"));
    // One file, nothing fetched, nothing run.
    assert!(html.starts_with("<!DOCTYPE html>"));
    for banned in ["<script", " src=", "<link", "@import", "url("] {
        assert!(!html.contains(banned), "html holds {banned}");
    }
    assert_eq!(html.matches("<svg").count(), 3, "three charts");
    for section in [
        "<h2>Summary</h2>",
        "<h2>Activity</h2>",
        "<h2>Findings by rule</h2>",
        "<h2>Coverage</h2>",
        "Time span per log",
    ] {
        assert!(html.contains(section), "html lacks {section}");
    }
    assert!(html.contains("25: Windows client OS threshold"));
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let has_chromium = std::process::Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_chromium,
        "Debian's chromium is needed for this test: apt-get install chromium (.ci/run installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let png = dir.path().join("report.png");
    kmslens()
        .arg("analyze")
        .arg(samples())
        .args(["--format", "html", "-o"])
        .arg(&html)
        .assert()
        .code(1);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/render-html.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(&html)
        .arg(&png)
        .args(["1200", "2000"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: width and height as rendered.
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (1200, 2000));
    assert!(
        bytes.len() > 50_000,
        "a page with text and charts, not a blank one ({} bytes)",
        bytes.len()
    );
}

#[test]
fn rules_show_the_diagnosis_table_and_check_refuses_a_cycle() {
    let out = kmslens()
        .args(["rules", "show", "KMS-HOST-NOT-LOGGED"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("[diagnosis]") && text.contains("[[diagnosis.explains]]"),
        "{text}"
    );
    // A user rule that the host-not-logged rule explains, and that claims to explain it back.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("my-loop.toml"),
        "id = \"MY-LOOP\"\ntitle = \"t\"\nseverity = \"low\"\nexplanation = \"e\"\nmessage = \"m\"\nquery = \"SELECT client FROM attempts\"\n[diagnosis]\nexplains = [{ rule = \"KMS-HOST-NOT-LOGGED\", on = [\"client\"] }]\nexplained_by = [{ rule = \"KMS-HOST-NOT-LOGGED\", on = [\"client\"] }]\n",
    )
    .unwrap();
    let out = kmslens()
        .args(["rules", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("cycle") && text.contains("MY-LOOP"), "{text}");
}

#[test]
fn products_and_activation_ids_are_named_from_the_catalog() {
    let out = kmslens().arg("products").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let list = String::from_utf8(out.stdout).unwrap();
    assert!(
        list.contains("fbdb3e18-a8ef-4fb3-9183-dffd60bd0984  Office LTSC Professional Plus 2021")
    );
    assert!(list.contains("Windows Server 2016 (Windows Server, count needed: 5"));
    assert!(list.contains("c052f164-cdf6-409a-a0cb-853ba0f0f55a  Windows Server 2025 Datacenter"));
    assert!(
        list.contains("8d368fc1-9470-4be2-8d66-90e836cbb051  Office LTSC Professional Plus 2024")
    );
    // explain takes an activation id too, in any case and with braces.
    let out = kmslens()
        .args(["explain", "{8C1C5410-9F39-4805-8C9D-63A07706358F}"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Product:       Windows Server 2016 Standard")
            && text.contains(
                "Host keys:     Windows Server 2025; Windows Server 2019; Windows Server 2016"
            ),
        "{text}"
    );
    let out = kmslens()
        .args(["explain", "2c060131-0e43-4e01-adc1-cf5ad1100da8"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("not in the product catalog")
    );

    // No report of the samples shows an activation id the catalog knows: products have names.
    let catalog = kmslens::kms::catalog::get();
    let ids: Vec<&str> = catalog
        .groups
        .iter()
        .flat_map(|g| g.products.iter().map(|(id, _)| id.as_str()))
        .collect();
    for format in ["text", "md", "html"] {
        let out = kmslens()
            .arg("analyze")
            .arg(samples())
            .args(["--format", format, "--verbose"])
            .output()
            .unwrap();
        let report = String::from_utf8(out.stdout).unwrap();
        assert!(
            report.contains("Windows Server 2016 Standard is refused by kms01"),
            "{format}"
        );
        for id in &ids {
            assert!(!report.contains(id), "{format} report shows {id}");
        }
    }
}

#[test]
fn rules_tables_prints_every_table_rules_query_with_its_columns() {
    let out = kmslens().args(["rules", "tables"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for table in [
        "client_requests",
        "host_requests",
        "attempts",
        "sources",
        "products",
    ] {
        assert!(
            text.lines().any(|l| l == table),
            "{table} missing from:\n{text}"
        );
    }
    let attempts = text
        .split("\n\n")
        .find(|t| t.starts_with("attempts\n"))
        .unwrap();
    assert!(
        attempts.contains("    skew_minutes           float"),
        "{attempts}"
    );
    assert!(
        attempts.contains("    time                   datetime (UTC)"),
        "{attempts}"
    );
    // Every table a built-in rule reads is there.
    for rule in std::fs::read_dir("rules").unwrap() {
        let path = rule.unwrap().path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue; // rules/stages/
        }
        let body = std::fs::read_to_string(path).unwrap();
        let Some(line) = body.lines().find(|l| l.starts_with("requires")) else {
            continue;
        };
        for t in line.split('"').skip(1).step_by(2) {
            assert!(text.lines().any(|l| l == t), "{t} (in {line}) missing");
        }
    }
}

#[test]
fn trace_memory_prints_each_stage_in_order_and_the_tables_sizes() {
    let out = kmslens()
        .env("KMSLENS_TRACE_MEMORY", "1")
        .args(["analyze", "--format", "json", "--fail-on", "never", "-o"])
        .arg(std::env::temp_dir().join("kmslens-trace-memory.json"))
        .arg(samples())
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let stages: Vec<&str> = err
        .lines()
        .filter_map(|l| l.split("memory after ").nth(1)?.split(':').next())
        .collect();
    assert_eq!(
        stages,
        ["start", "ingest", "tables", "correlation", "rules"],
        "{err}"
    );
    assert!(err.contains(" MiB peak during it ("), "{err}");
    // The allocator's own figures, where it is jemalloc: the heap grows once the tables are made.
    if cfg!(not(windows)) {
        let heap = |stage: &str| -> u64 {
            let line = err
                .lines()
                .find(|l| l.starts_with(&format!("memory after {stage}:")))
                .unwrap();
            let used = line
                .split("; heap ")
                .nth(1)
                .unwrap_or_else(|| panic!("{line}"));
            assert!(used.contains(" MiB held by the allocator"), "{line}");
            used.split(' ').next().unwrap().parse().unwrap()
        };
        assert!(
            heap("start") > 0 && heap("correlation") > heap("start"),
            "{err}"
        );
    }
    // After the correlation, every table with its rows: the attempts are the samples' requests.
    let rows = |table: &str| -> usize {
        let line = err
            .lines()
            .find_map(|l| l.strip_prefix(&format!("table {table}: ")))
            .unwrap_or_else(|| panic!("no size of {table}: {err}"));
        line.split(' ').next().unwrap().parse().unwrap()
    };
    assert!(rows("attempts") > 0, "{err}");
    assert_eq!(rows("attempts"), rows("client_requests"), "{err}");
}

/// `--tz`: the times inside findings' messages and the chart's days follow the zone in the
/// human reports; JSON keeps UTC.
#[test]
fn message_times_and_chart_days_follow_tz() {
    let report = |format: &str| {
        let out = kmslens()
            .arg("analyze")
            .arg(samples())
            .args(["--format", format, "--tz", "Europe/Rome", "--verbose"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let (json, _) = json_report(&["--tz", "Europe/Rome"]);
    let utc = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .find(|m| m.starts_with("32 requests of pc028 to kms01"))
        .unwrap();
    assert!(utc.contains("(2026-10-01 15:02:40Z to "), "{utc}");
    for format in ["text", "md"] {
        let text = report(format);
        assert!(
            text.contains("32 requests of pc028 to kms01 (2026-10-01 17:02:40 +02:00 to "),
            "{format}"
        );
        let messages_in_utc = text
            .lines()
            .filter(|l| l.contains("requests of") && l.contains("Z to "))
            .count();
        assert_eq!(messages_in_utc, 0, "{format}");
    }
    let html = report("html");
    assert!(html.contains("Activation attempts per day (Europe/Rome), by outcome"));
}
