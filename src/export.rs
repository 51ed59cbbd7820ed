//! `kmslens export`: the tables of a bundle as Parquet (or CSV) files beside a `manifest.json`,
//! for DuckDB, Spark or any engine that runs the rules when a fleet outgrows one machine.
//!
//! A table either comes from the bundle's files (`shard`: the union of several exports is the
//! fleet's table) or is the same in every export (`global`: the product catalog, the parameters,
//! the expected hosts; an engine reads one copy). Source paths are written as given on the command
//! line, so exports of different parts of a bundle do not share ids. The `attempts` table is not
//! written: it is derived, by the SQL stage an engine runs over the union of the shards.

use crate::tables::{self, Kind, Tables};
use polars::prelude::*;
use polars_parquet::write::{
    CompressionOptions, FileWriter, StatisticsOptions, Version, WriteOptions, get_dtype_encoding,
    row_group_iter, to_parquet_schema,
};
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// The manifest's schema name; bumped when a table loses or renames a column.
pub const SCHEMA: &str = "kmslens/tables/v1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Parquet,
    Csv,
}

impl ExportFormat {
    fn extension(self) -> &'static str {
        match self {
            ExportFormat::Parquet => "parquet",
            ExportFormat::Csv => "csv",
        }
    }
}

/// Whether the union of several exports is the fleet's table, or every export holds it whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Shard,
    Global,
}

/// Tables that do not come from the bundle's files.
pub fn scope(table: &str) -> Scope {
    match table {
        "params" | "expected_hosts" | "products" => Scope::Global,
        _ => Scope::Shard,
    }
}

#[derive(Debug, Serialize)]
pub struct Manifest {
    pub schema: &'static str,
    pub kmslens_version: &'static str,
    pub format: ExportFormat,
    pub created: String,
    /// The paths the export read, as given.
    pub inputs: Vec<String>,
    pub tables: Vec<TableEntry>,
    /// Tables an engine computes from these with the SQL stages of `rules/stages/` (the
    /// correlation needs every shard's events: a client's request and its host's record may be
    /// in different exports).
    pub derived: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct TableEntry {
    pub name: &'static str,
    pub file: String,
    pub rows: usize,
    pub scope: Scope,
    pub columns: Vec<ColumnEntry>,
}

#[derive(Debug, Serialize)]
pub struct ColumnEntry {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// Writes every table into `dir` (created if missing) and the manifest last, so a directory with
/// a manifest is a complete export.
pub fn write(
    tables: &Tables,
    dir: &Path,
    format: ExportFormat,
    inputs: Vec<String>,
) -> Result<Manifest, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut entries = Vec::new();
    for schema in tables::ALL.iter().filter(|t| !t.derived()) {
        let name = schema.name();
        let frame = tables
            .get(name)
            .ok_or_else(|| format!("table {name} was not built"))?;
        let file = format!("{name}.{}", format.extension());
        let path = dir.join(&file);
        let written = match format {
            ExportFormat::Parquet => write_parquet(frame, &path),
            ExportFormat::Csv => write_csv(frame, &path),
        };
        written.map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        entries.push(TableEntry {
            name,
            file,
            rows: frame.height(),
            scope: scope(name),
            columns: schema
                .columns()
                .into_iter()
                .map(|(name, kind)| ColumnEntry {
                    name,
                    kind: kind_name(kind),
                })
                .collect(),
        });
    }
    let manifest = Manifest {
        schema: SCHEMA,
        kmslens_version: env!("CARGO_PKG_VERSION"),
        format,
        created: jiff::Timestamp::now().to_string(),
        inputs,
        tables: entries,
        derived: tables::ALL
            .iter()
            .filter(|t| t.derived())
            .map(|t| t.name())
            .collect(),
    };
    let path = dir.join("manifest.json");
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    std::fs::write(&path, json + "\n")
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(manifest)
}

/// Column types as engines name them.
fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Str => "string",
        Kind::Int => "int64",
        Kind::Float => "double",
        Kind::Bool => "boolean",
        Kind::Time => "timestamp_us_utc",
    }
}

/// One row group per chunk of the frame (the tables are built as one chunk), snappy-compressed.
fn write_parquet(frame: &DataFrame, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let schema = frame.schema().to_arrow(CompatLevel::newest());
    let parquet_schema = to_parquet_schema(&schema)?;
    let encodings: Vec<_> = schema
        .iter_values()
        .map(|f| get_dtype_encoding(&f.dtype))
        .collect();
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        version: Version::V1,
        compression: CompressionOptions::Snappy,
        data_page_size: None,
    };
    let out = BufWriter::new(File::create(path)?);
    let mut writer = FileWriter::new_with_parquet_schema(out, schema, parquet_schema, options);
    let fields = writer.parquet_schema().fields().to_vec();
    for batch in frame.iter_chunks(CompatLevel::newest(), false) {
        let rows = batch.len() as u64;
        if rows == 0 {
            continue;
        }
        let group = row_group_iter(batch, encodings.clone().into(), fields.clone(), options);
        writer.write(rows, group)?;
    }
    writer.end(None)?;
    writer.into_inner().flush()?;
    Ok(())
}

/// A header row, then one row per table row: times as RFC 3339 UTC, lists never occur.
fn write_csv(frame: &DataFrame, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut w = csv::Writer::from_writer(BufWriter::new(File::create(path)?));
    w.write_record(frame.get_column_names().iter().map(|n| n.as_str()))?;
    let columns = frame.columns();
    let mut record = Vec::with_capacity(columns.len());
    for i in 0..frame.height() {
        record.clear();
        for c in columns {
            record.push(cell(&c.get(i)?));
        }
        w.write_record(&record)?;
    }
    w.flush()?;
    Ok(())
}

fn cell(v: &AnyValue) -> String {
    match v {
        AnyValue::Null => String::new(),
        AnyValue::String(s) => (*s).to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Datetime(us, _, _) | AnyValue::DatetimeOwned(us, _, _) => {
            jiff::Timestamp::from_microsecond(*us)
                .map(|t| t.to_string())
                .unwrap_or_default()
        }
        other => other.to_string(),
    }
}
