//! `kmslens export` and the rules on other engines: the tables as Parquet/CSV with a manifest, and
//! the findings DuckDB and Spark give over them (scripts/engine-rules.py) equal to those of
//! `kmslens analyze`. The engine tests are skipped, saying why, where the engine is missing
//! (`.ci/run` installs both).

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn kmslens() -> Command {
    Command::cargo_bin("kmslens").unwrap()
}

fn export(bundle: &[&Path], out: &Path, format: &str) -> Value {
    kmslens()
        .arg("export")
        .args(bundle)
        .args(["--quiet", "--format", format, "--out"])
        .arg(out)
        .assert()
        .success();
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

fn analyze(bundle: &[&Path], out: &Path) -> Value {
    kmslens()
        .arg("analyze")
        .args(bundle)
        .args([
            "--quiet",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--output",
        ])
        .arg(out)
        .assert()
        .success();
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

/// Findings without what only kmslens computes (code notes, diagnoses), sorted.
fn comparable(report: &Value) -> Vec<String> {
    const FIELDS: [&str; 12] = [
        "rule",
        "severity",
        "title",
        "message",
        "subjects",
        "evidence",
        "evidence_omitted",
        "first_time",
        "last_time",
        "explanation",
        "remediation",
        "references",
    ];
    let mut out: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let kept: serde_json::Map<String, Value> = FIELDS
                .iter()
                .filter_map(|k| f.get(*k).map(|v| (k.to_string(), v.clone())))
                .collect();
            serde_json::to_string(&kept).unwrap()
        })
        .collect();
    out.sort();
    out
}

#[test]
fn export_writes_every_table_as_parquet_with_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = export(&[&root().join("samples")], dir.path(), "parquet");
    assert_eq!(manifest["schema"], "kmslens/tables/v1");
    assert_eq!(manifest["format"], "parquet");
    let tables = manifest["tables"].as_array().unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for t in kmslens::tables::ALL {
        assert!(names.contains(&t.name()), "{} not exported", t.name());
    }
    for t in tables {
        let name = t["name"].as_str().unwrap();
        let bytes = std::fs::read(dir.path().join(t["file"].as_str().unwrap())).unwrap();
        assert!(
            bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"),
            "{name}: not a Parquet file"
        );
        let scope = t["scope"].as_str().unwrap();
        let global = ["params", "expected_hosts", "products"].contains(&name);
        assert_eq!(scope, if global { "global" } else { "shard" }, "{name}");
    }
    let rows = |name: &str| {
        tables.iter().find(|t| t["name"] == name).unwrap()["rows"]
            .as_u64()
            .unwrap()
    };
    // The shipped bundle: 502 client requests, each an attempt; 97 sources.
    assert_eq!(rows("client_requests"), 502);
    assert_eq!(rows("attempts"), rows("client_requests"));
    assert_eq!(rows("sources"), 97);
    assert!(rows("products") > 100);
}

#[test]
fn export_as_csv_writes_the_manifest_columns_and_rows() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = export(&[&root().join("samples")], dir.path(), "csv");
    for t in manifest["tables"].as_array().unwrap() {
        let path = dir.path().join(t["file"].as_str().unwrap());
        let mut reader = csv::Reader::from_path(&path).unwrap();
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        let columns: Vec<&str> = t["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(header, columns, "{}", t["name"]);
        assert_eq!(
            reader.records().count() as u64,
            t["rows"].as_u64().unwrap(),
            "{}",
            t["name"]
        );
    }
    let attempts = std::fs::read_to_string(dir.path().join("attempts.csv")).unwrap();
    // Times are RFC 3339 UTC.
    assert!(attempts.lines().nth(1).unwrap().contains("T") && attempts.contains("Z,"));
}

/// Why an engine cannot run here, if it cannot.
fn engine_missing(engine: &str) -> Option<String> {
    let module = if engine == "spark" {
        "pyspark"
    } else {
        "duckdb"
    };
    let ok = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return Some(format!(
            "the Python package {module} (pip install {module})"
        ));
    }
    if engine == "spark"
        && !std::process::Command::new("java")
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    {
        return Some("Java (17) for Spark".into());
    }
    None
}

fn engine_report(engine: &str, exports: &[PathBuf], out: &Path) -> Value {
    let status = std::process::Command::new("python3")
        .arg(root().join("scripts/engine-rules.py"))
        .args(["--engine", engine, "--tables"])
        .args(exports)
        .arg("--out")
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "engine-rules.py --engine {engine} failed");
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

fn engines_agree_on(engine: &str) {
    if let Some(why) = engine_missing(engine) {
        eprintln!("SKIPPED: running the rules on {engine} needs {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let samples = root().join("samples");
    let tables = dir.path().join("tables");
    export(&[&samples], &tables, "parquet");
    let ours = analyze(&[&samples], &dir.path().join("kmslens.json"));
    let theirs = engine_report(
        engine,
        &[tables],
        &dir.path().join(format!("{engine}.json")),
    );
    assert_eq!(theirs["schema"], "kmslens/report/v1");
    assert_eq!(theirs["rule_errors"], Value::Array(vec![]), "{engine}");
    assert!(
        comparable(&ours).len() > 20,
        "the samples show many findings"
    );
    assert_eq!(comparable(&theirs), comparable(&ours), "{engine}");
}

#[test]
fn duckdb_gives_the_findings_of_kmslens_on_the_samples() {
    engines_agree_on("duckdb");
}

#[test]
fn spark_gives_the_findings_of_kmslens_on_the_samples() {
    engines_agree_on("spark");
}
