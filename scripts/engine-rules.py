#!/usr/bin/env python3
"""Run kmslens's rules on DuckDB or Spark over the tables `kmslens export` wrote.

usage: scripts/engine-rules.py --engine duckdb|spark --tables DIR [DIR...] --out REPORT.json
                               [--rules DIR...] [--spark-master URL]

Each DIR is one export (a shard): its manifest.json lists the tables, their rows and whether a
table is a shard's part of the fleet (`shard`: the engine reads the union over all DIRs) or the
same in every export (`global`: read from the first DIR). The SQL stages of rules/stages/ then
derive their tables over that union (the correlation: `attempts`), and every rule of the
repository's `rules/` (and of --rules DIR) runs as SQL. A rule or stage whose file has
`[dialects.<engine>] replace = [[from, to]]` runs with those replacements on that engine (see
src/sql.rs). Findings are written in the `kmslens/report/v1` JSON shape (rule, severity, title,
message, subjects, evidence) as `kmslens analyze --format json` writes them.

DuckDB comes from the `duckdb` Python package; Spark from `pyspark` in local[2] mode (Java 17).
"""
import argparse
import concurrent.futures
import datetime
import decimal
import json
import os
import re
import sys
import time
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLES_SCHEMA = "kmslens/tables/v1"
MAX_EVIDENCE = 12
# Result columns that name a finding's subjects, and the subject each fills.
SUBJECTS = [("client", "client"), ("computer", "client"), ("cmid", "cmid"), ("host", "host"),
            ("kms_host", "kms_host"), ("domain", "domain")]
SEVERITY_ORDER = ["info", "low", "medium", "high", "critical"]


def load_rules(dirs):
    """Rule files by id: the repository's, then those of each DIR (same id replaces)."""
    rules = {}
    for d in [os.path.join(ROOT, "rules")] + list(dirs):
        for rule in load_toml_files(d):
            rules[rule["id"]] = rule
    return list(rules.values())


def load_toml_files(d):
    """The .toml files of a folder (not its subfolders), parsed, in file name order."""
    out = []
    for name in sorted(os.listdir(d)):
        if name.endswith(".toml"):
            with open(os.path.join(d, name), "rb") as f:
                out.append(tomllib.load(f))
    return out


def load_stages():
    """The SQL stages that derive tables (the correlation), in file order."""
    return load_toml_files(os.path.join(ROOT, "rules", "stages"))


def engine_sql(engine, spec):
    """A rule's or stage's query with the engine's replacements (`[dialects.<engine>]`)."""
    sql = spec["query"]
    for before, after in spec.get("dialects", {}).get(engine.name, {}).get("replace", []):
        sql = sql.replace(before, after)
    return sql


def load_exports(dirs):
    """Table name -> (files, rows, column names) over the exports in `dirs`."""
    tables = {}
    for i, d in enumerate(dirs):
        path = os.path.join(d, "manifest.json")
        try:
            with open(path, encoding="utf-8") as f:
                manifest = json.load(f)
        except (OSError, ValueError) as e:
            sys.exit(f"error: {path}: not a kmslens export ({e})")
        if manifest.get("schema") != TABLES_SCHEMA:
            sys.exit(f"error: {path}: schema {manifest.get('schema')!r}, this script reads {TABLES_SCHEMA}")
        if manifest.get("format") != "parquet":
            sys.exit(f"error: {path}: tables are {manifest.get('format')}; export with --format parquet")
        for t in manifest["tables"]:
            entry = tables.setdefault(t["name"], {"files": [], "rows": 0, "scope": t["scope"],
                                                  "columns": [c["name"] for c in t["columns"]]})
            if t["scope"] == "global" and i > 0:
                continue
            entry["files"].append(os.path.abspath(os.path.join(d, t["file"])))
            entry["rows"] += t["rows"]
    return tables


class DuckDb:
    name = "duckdb"
    # One connection runs one query at a time, and each query already uses every core.
    concurrent_queries = 1

    def __init__(self):
        import duckdb
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")

    def register(self, name, files):
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        self.con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM read_parquet([{listed}], union_by_name = true)')

    def derive(self, name, sql):
        self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS {sql}')
        return self.con.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]

    def query(self, sql):
        cur = self.con.execute(sql)
        columns = [d[0] for d in cur.description]
        return columns, cur.fetchall()

    def close(self):
        self.con.close()


class Spark:
    name = "spark"
    # The driver plans each query alone (seconds for a rule), so two overlap planning and running.
    concurrent_queries = 2

    def __init__(self, master):
        from pyspark.sql import SparkSession
        # getOrCreate: inside a running Spark application (a Databricks notebook) its session is used.
        builder = SparkSession.builder.master(master).appName("kmslens-rules")
        if master.startswith("local"):
            # The driver JVM is also the executor and lives a minute: the optimizing JIT (C2)
            # costs more CPU than it gives back (measured: stage 31 -> 22 s on 2 cores).
            builder = builder.config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1")
        self.spark = (builder
                      .config("spark.sql.session.timeZone", "UTC")
                      .config("spark.sql.shuffle.partitions", "2")
                      .config("spark.ui.enabled", "false")
                      .config("spark.ui.showConsoleProgress", "false")
                      .config("spark.sql.parquet.inferTimestampNTZ.enabled", "false")
                      .getOrCreate())
        # A failing rule is reported in the report's rule_errors, not as a JVM stack trace.
        self.spark.sparkContext.setLogLevel("OFF")

    def register(self, name, files):
        self.spark.read.parquet(*files).createOrReplaceTempView(name)

    def derive(self, name, sql):
        # A checkpoint, not cache(): Spark matches a cached plan to a view's plan only when they
        # canonicalize alike, which the stage's CTEs defeat, so every rule recomputed the stage.
        df = self.spark.sql(sql).localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)
        return df.count()

    def query(self, sql):
        df = self.spark.sql(sql)
        return df.columns, [tuple(r) for r in df.collect()]

    def close(self):
        self.spark.stop()


def text(v):
    """A cell value as kmslens writes it in findings."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, decimal.Decimal):
        v = float(v)
    if isinstance(v, float):
        return f"{v:.0f}" if v == int(v) else f"{v:.1f}"
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc)
        return v.strftime("%Y-%m-%d %H:%M:%SZ")
    return str(v)


def values(v):
    """A cell as plain values: one for a scalar, several for a list, none for null."""
    if v is None:
        return []
    if isinstance(v, (list, tuple)):
        return [x for x in v if x is not None]
    return [v]


def findings_of(rule, columns, rows):
    out = []
    for row in rows:
        cells = dict(zip(columns, row))

        def cell(name):
            return values(cells.get(name))

        subjects = {}
        for col, key in SUBJECTS:
            if col in cells:
                found = subjects.setdefault(key, set())
                found.update(t for t in map(text, cell(col)) if t)
        subjects = {k: sorted(v) for k, v in sorted(subjects.items()) if v}
        evidence, seen = [], set()
        for prefix in ["", "host_", "response_"]:
            if f"{prefix}source" not in cells:
                continue
            srcs, rids, times = cell(f"{prefix}source"), cell(f"{prefix}record_id"), cell(f"{prefix}time")
            for k, s in enumerate(srcs):
                item = {"source": text(s)}
                if k < len(rids) and isinstance(rids[k], int) and rids[k] >= 0:
                    item["record_id"] = rids[k]
                if k < len(times):
                    item["time"] = text(times[k])
                key = tuple(sorted(item.items()))
                if key not in seen:
                    seen.add(key)
                    evidence.append(item)
        evidence.sort(key=lambda e: (e.get("time") is not None, e.get("time") or "", e["source"],
                                     e.get("record_id") is not None, e.get("record_id") or 0))
        stamps = [e["time"] for e in evidence if "time" in e]
        message = rule["message"]
        for p in set(re.findall(r"\{([a-z_][a-z0-9_]*)\}", message)):
            vals = sorted(set(text(v) for v in cell(p)))
            message = message.replace("{" + p + "}", ", ".join(vals))
        finding = {
            "rule": rule["id"],
            "severity": rule["severity"],
            "title": rule["title"],
            "message": message,
            "subjects": subjects,
            "evidence": evidence[:MAX_EVIDENCE],
        }
        if len(evidence) > MAX_EVIDENCE:
            finding["evidence_omitted"] = len(evidence) - MAX_EVIDENCE
        finding["explanation"] = rule["explanation"].strip()
        finding["remediation"] = rule.get("remediation", [])
        if rule.get("references"):
            finding["references"] = rule["references"]
        if stamps:
            finding["first_time"], finding["last_time"] = min(stamps), max(stamps)
        out.append(finding)
    return out


def run(engine, tables, rules):
    findings, not_checked, errors = [], [], []
    runnable = []
    for rule in rules:
        empty = [t for t in rule.get("requires", []) if tables.get(t, {}).get("rows", 0) == 0]
        if empty:
            not_checked.append({"rule": rule["id"], "reason": f"table {empty[0]} is empty"})
        else:
            runnable.append(rule)

    def attempt(rule):
        try:
            return engine.query(engine_sql(engine, rule)), None
        except Exception as e:  # an engine's own error type; reported, the other rules still run
            return None, " ".join(str(e).split())[:500]

    # Queries overlap where the engine plans one while it runs another (Spark); results keep rule order.
    with concurrent.futures.ThreadPoolExecutor(max_workers=engine.concurrent_queries) as pool:
        for rule, (result, error) in zip(runnable, pool.map(attempt, runnable)):
            if error is not None:
                errors.append({"file": rule["id"], "error": error})
            else:
                findings.extend(findings_of(rule, *result))
    findings.sort(key=lambda f: (-SEVERITY_ORDER.index(f["severity"]), f["rule"], f["message"]))
    return findings, not_checked, errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", choices=["duckdb", "spark"], required=True)
    ap.add_argument("--tables", nargs="+", required=True, metavar="DIR")
    ap.add_argument("--out", required=True, metavar="REPORT.json")
    ap.add_argument("--rules", nargs="*", default=[], metavar="DIR")
    ap.add_argument("--spark-master", default="local[2]", metavar="URL",
                    help="Spark master (local[N], spark://host:7077, yarn); default local[2]")
    args = ap.parse_args()
    tables = load_exports(args.tables)
    rules = load_rules(args.rules)
    started = time.monotonic()
    engine = DuckDb() if args.engine == "duckdb" else Spark(args.spark_master)
    try:
        for name, t in tables.items():
            engine.register(name, t["files"])
        for stage in load_stages():
            # A derived table's row count decides the rules' `requires` like any other's.
            tables[stage["table"]] = {"rows": engine.derive(stage["table"], engine_sql(engine, stage))}
        findings, not_checked, errors = run(engine, tables, rules)
    finally:
        engine.close()
    summary = {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITY_ORDER}
    report = {
        "schema": "kmslens/report/v1",
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "engine": args.engine,
        "inputs": {"exports": [os.path.abspath(d) for d in args.tables]},
        "summary": summary,
        "findings": findings,
        "not_checked": not_checked,
        "rule_errors": errors,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"{args.engine}: {len(rules)} rules over {len(args.tables)} export(s), {len(findings)} findings, "
          f"{len(errors)} rule errors, {time.monotonic() - started:.1f} s", file=sys.stderr)
    for e in errors:
        print(f"error: rule {e['file']}: {e['error']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
