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
        // A derived table is the engine's to compute over all shards, never exported.
        assert_eq!(names.contains(&t.name()), !t.derived(), "{}", t.name());
    }
    assert_eq!(manifest["derived"], serde_json::json!(["attempts"]));
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
    // The shipped bundle: 502 client requests, 97 sources.
    assert_eq!(rows("client_requests"), 502);
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
    let requests = std::fs::read_to_string(dir.path().join("client_requests.csv")).unwrap();
    // Times are RFC 3339 UTC.
    assert!(requests.lines().nth(1).unwrap().contains("T") && requests.contains("Z,"));
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

/// A simulated fleet with several faults, its machine folders split in three shards (the hosts'
/// folders in one of them, their clients spread over all three), each exported, and kmslens's
/// own report on the whole fleet: made once, shared by the tests below. It lives in cargo's
/// per-target scratch folder, replaced on each run: a static is never dropped, so a temporary
/// folder would leak ~350 MB a run.
struct Fleet {
    root: PathBuf,
    bundle: PathBuf,
    shards: Vec<Vec<PathBuf>>,
    parts: Vec<PathBuf>,
    report: Value,
}

fn fleet() -> &'static Fleet {
    static FLEET: std::sync::OnceLock<Fleet> = std::sync::OnceLock::new();
    FLEET.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("engines-fleet");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let bundle = root.join("fleet");
        kmslens()
            .args([
                "simulate",
                "--clients",
                "2000",
                "--hosts",
                "2",
                "--seed",
                "12",
            ])
            .args(["--format", "evtx", "--command-outputs", "--out"])
            .arg(&bundle)
            .args([
                "--fault",
                "dup-cmid",
                "--fault",
                "no-response",
                "--fault",
                "rogue-host",
            ])
            .args([
                "--fault",
                "clock-skew",
                "--fault",
                "rejected-product",
                "--fault",
                "office",
            ])
            .args([
                "--fault",
                "srv-not-found",
                "--fault",
                "log-wrapped",
                "--fault",
                "tampered",
            ])
            .assert()
            .success();
        let mut machines: Vec<PathBuf> = std::fs::read_dir(&bundle)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        machines.sort();
        let mut shards = vec![Vec::new(), Vec::new(), Vec::new()];
        for (i, m) in machines.into_iter().enumerate() {
            shards[i % 3].push(m);
        }
        let parts = shards
            .iter()
            .enumerate()
            .map(|(i, machines)| {
                let out = root.join(format!("shard-{i}"));
                let paths: Vec<&Path> = machines.iter().map(PathBuf::as_path).collect();
                export(&paths, &out, "parquet");
                out
            })
            .collect();
        let report = analyze(&[&bundle], &root.join("kmslens.json"));
        Fleet {
            root,
            bundle,
            shards,
            parts,
            report,
        }
    })
}

/// The union of the shards' exports is the export of the whole fleet, table by table (DuckDB
/// compares the rows as multisets).
#[test]
fn shards_of_a_fleet_export_to_the_tables_of_the_whole_fleet() {
    if let Some(why) = engine_missing("duckdb") {
        eprintln!("SKIPPED: comparing Parquet exports needs {why}");
        return;
    }
    let f = fleet();
    let all_machines: Vec<&Path> = f.shards.iter().flatten().map(PathBuf::as_path).collect();
    let whole = f.root.join("whole");
    let manifest = export(&all_machines, &whole, "parquet");
    let script = r#"
import duckdb, json, sys
whole, parts = sys.argv[1], sys.argv[2:]
manifest = json.load(open(whole + "/manifest.json"))
con = duckdb.connect()
for t in manifest["tables"]:
    files = [p + "/" + t["file"] for p in (parts if t["scope"] == "shard" else parts[:1])]
    union = "read_parquet([" + ", ".join(repr(f) for f in files) + "])"
    full = repr(whole + "/" + t["file"])
    extra = con.execute(f"SELECT COUNT(*) FROM (SELECT * FROM {union} EXCEPT ALL SELECT * FROM {full})").fetchone()[0]
    missing = con.execute(f"SELECT COUNT(*) FROM (SELECT * FROM {full} EXCEPT ALL SELECT * FROM {union})").fetchone()[0]
    print(t["name"], t["rows"], extra, missing)
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&whole)
        .args(&f.parts)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().count(),
        manifest["tables"].as_array().unwrap().len()
    );
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!((f[2], f[3]), ("0", "0"), "{}: rows differ ({line})", f[0]);
    }
    let rows = |name: &str| {
        let l = text
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap();
        l.split(' ').nth(1).unwrap().parse::<u64>().unwrap()
    };
    assert!(rows("client_requests") > 10_000 && rows("host_requests") > 10_000);
}

fn engine_agrees_over_shards(engine: &str) {
    if let Some(why) = engine_missing(engine) {
        eprintln!("SKIPPED: running the rules on {engine} needs {why}");
        return;
    }
    let f = fleet();
    assert!(f.bundle.is_dir());
    let theirs = engine_report(engine, &f.parts, &f.root.join(format!("{engine}.json")));
    assert_eq!(theirs["rule_errors"], Value::Array(vec![]), "{engine}");
    let rules: std::collections::BTreeSet<&str> = f.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    // The faults show: clones, blocked clients, a rogue host, skew, a refused product, a lost
    // DNS record, a wrapped log, a planted event.
    for r in [
        "KMS-DUP-CMID",
        "KMS-NO-RESPONSE",
        "KMS-ROGUE-HOST",
        "KMS-CLOCK-SKEW",
        "KMS-REQUEST-REJECTED",
        "KMS-SRV-NOT-FOUND",
        "KMS-LOG-COVERAGE",
        "KMS-LOG-TAMPERED",
    ] {
        assert!(rules.contains(r), "{r} not found in {rules:?}");
    }
    assert_eq!(
        comparable(&theirs),
        comparable(&f.report),
        "{engine} over 3 shards"
    );
}

#[test]
fn duckdb_over_three_shards_gives_the_findings_of_kmslens_on_the_whole_fleet() {
    engine_agrees_over_shards("duckdb");
}

#[test]
fn spark_over_three_shards_gives_the_findings_of_kmslens_on_the_whole_fleet() {
    engine_agrees_over_shards("spark");
}
