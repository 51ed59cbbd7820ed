//! Correlate: the `attempts` table, one row per client request (12288) with its response (12289)
//! and the host record (12290) of the same request. It is computed by the SQL stage
//! `rules/stages/attempts.toml` over the event tables: the same SQL that DuckDB and Spark run over
//! `kmslens export` tables (scripts/engine-rules.py), so there is one correlation, not one per
//! engine. The reports read typed `Attempt`s back from the table.

use crate::sql::{self, Dialects};
use crate::tables::{ATTEMPTS, Tables};
use jiff::Timestamp;
use polars::prelude::*;
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::Arc;

/// The stage file, embedded like the built-in rules.
pub const STAGE_FILE: &str = "rules/stages/attempts.toml";
const STAGE_TEXT: &str = include_str!("../rules/stages/attempts.toml");

/// Stack of the thread that runs the stage (reserved, not used, until needed).
const STACK: usize = 256 << 20;

/// A SQL stage: the table its query makes, and the engines' replacements (see `sql`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub table: String,
    pub query: String,
    #[serde(default)]
    pub dialects: Dialects,
}

/// The correlation stage, checked to be portable SQL that makes the `attempts` table.
pub fn stage() -> Result<Stage, String> {
    let stage: Stage = toml::from_str(STAGE_TEXT).map_err(|e| {
        format!(
            "{STAGE_FILE}: {}",
            crate::messages::one_line(&e.to_string())
        )
    })?;
    if stage.table != ATTEMPTS.name {
        return Err(format!(
            "{STAGE_FILE}: makes {:?}, not attempts",
            stage.table
        ));
    }
    sql::check(&stage.query, &stage.dialects).map_err(|e| format!("{STAGE_FILE}: {e}"))?;
    Ok(stage)
}

/// Runs the correlation over the event tables and adds the `attempts` table, its columns in the
/// declared order and types.
pub fn run(tables: &mut Tables) -> Result<(), String> {
    let stage = stage()?;
    let failed = |e: PolarsError| {
        format!(
            "{STAGE_FILE}: {}",
            crate::messages::one_line(&e.to_string())
        )
    };
    let query = || {
        sql::context(tables)
            .execute(&stage.query)
            .and_then(|lf| lf.collect())
    };
    // Polars plans a query by recursion as deep as the query: the stage's chain of CTEs overflowed
    // a test thread's 2 MiB in a debug build (and Windows gives its main thread 1 MiB).
    let frame = std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("kmslens-correlate".into())
            .stack_size(STACK)
            .spawn_scoped(s, query)
            .map_err(|e| format!("cannot start the correlation: {e}"))?
            .join()
            .map_err(|_| format!("{STAGE_FILE}: the correlation failed (a panic in polars)"))
    })?
    .map_err(failed)?;
    let frame = ATTEMPTS.conform(&frame).map_err(failed)?;
    tables.frames.retain(|(n, _)| *n != ATTEMPTS.name);
    tables.frames.push((ATTEMPTS.name, frame));
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The response says activated.
    Activated,
    /// The response came with a count under the product's minimum (0xC004F038).
    InsufficientCount,
    /// The host logged the request with an error.
    Rejected,
    /// A response came, with an error or without activation for another reason.
    NotActivated,
    /// No response was logged.
    NoResponse,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Activated,
        Outcome::InsufficientCount,
        Outcome::Rejected,
        Outcome::NotActivated,
        Outcome::NoResponse,
    ];

    /// The `outcome` column's text.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Activated => "activated",
            Outcome::InsufficientCount => "insufficient_count",
            Outcome::Rejected => "rejected",
            Outcome::NotActivated => "not_activated",
            Outcome::NoResponse => "no_response",
        }
    }

    fn of(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.name() == name)
    }
}

/// One row of `attempts`, as the reports and tests read it. Names are shared between the rows
/// that carry them (a fleet has far fewer clients, hosts and products than attempts).
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    /// Machine identity of the client.
    pub client: Arc<str>,
    pub act_id: Arc<str>,
    pub time: Timestamp,
    /// Identity of the KMS host the client asked.
    pub kms_host: Option<Arc<str>>,
    pub min_count: Option<u32>,
    /// The count the product is counted in (`Windows`, an Office version...).
    pub count_pool: Arc<str>,
    pub response: Option<Response>,
    /// Identity of the host that logged the request.
    pub host: Option<Arc<str>>,
    /// A host record was found, or a log of the asked host covering the request is in the bundle.
    pub host_log_covers: bool,
    pub outcome: Outcome,
    /// Last attempt of this client for this product.
    pub latest: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    pub time: Timestamp,
    pub current_count: u32,
}

/// One shared copy of each name (the set finds an `Arc<str>` by its text).
#[derive(Default)]
struct Names(HashSet<Arc<str>>);

impl Names {
    fn get(&mut self, v: Option<&str>) -> Option<Arc<str>> {
        let v = v?;
        if let Some(a) = self.0.get(v) {
            return Some(a.clone());
        }
        let a: Arc<str> = Arc::from(v);
        self.0.insert(a.clone());
        Some(a)
    }
}

/// The typed rows of an `attempts` table built by `run`.
pub fn attempts(frame: &DataFrame) -> PolarsResult<Vec<Attempt>> {
    let text = |name: &str| -> PolarsResult<Vec<Option<&str>>> {
        Ok(frame.column(name)?.str()?.iter().collect())
    };
    let int = |name: &str| -> PolarsResult<Vec<Option<i64>>> {
        Ok(frame.column(name)?.i64()?.iter().collect())
    };
    let times = |name: &str| -> PolarsResult<Vec<Option<i64>>> {
        Ok(frame.column(name)?.datetime()?.physical().iter().collect())
    };
    let flag = |name: &str| -> PolarsResult<Vec<Option<bool>>> {
        Ok(frame.column(name)?.bool()?.iter().collect())
    };
    let (client, act_id, kms_host, host) = (
        text("client")?,
        text("act_id")?,
        text("kms_host")?,
        text("host")?,
    );
    let (outcome, count_pool) = (text("outcome")?, text("count_pool")?);
    let (time, response_time) = (times("time")?, times("response_time")?);
    let (min_count, current_count) = (int("min_count")?, int("current_count")?);
    let (latest, covers) = (flag("latest")?, flag("host_log_covers")?);
    let at = |us: Option<i64>| us.and_then(|us| Timestamp::from_microsecond(us).ok());
    let count = |n: Option<i64>| n.and_then(|n| u32::try_from(n).ok());
    let mut names = Names::default();
    let mut name = |v: Option<&str>| names.get(v);
    Ok((0..frame.height())
        .map(|i| Attempt {
            client: name(client[i]).unwrap_or_else(|| Arc::from("")),
            act_id: name(act_id[i]).unwrap_or_else(|| Arc::from("")),
            time: at(time[i]).unwrap_or(Timestamp::UNIX_EPOCH),
            kms_host: name(kms_host[i]),
            min_count: count(min_count[i]),
            count_pool: name(count_pool[i]).unwrap_or_else(|| Arc::from("")),
            response: at(response_time[i]).map(|time| Response {
                time,
                current_count: count(current_count[i]).unwrap_or(0),
            }),
            host: name(host[i]),
            host_log_covers: covers[i].unwrap_or(false),
            outcome: outcome[i]
                .and_then(Outcome::of)
                .unwrap_or(Outcome::NoResponse),
            latest: latest[i].unwrap_or(false),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polars SQL resolves each `alias.column` by converting the whole plan of the relation
    /// behind the alias again: with qualified names in its last selects the stage planned to
    /// over 7 000 nodes and took 90 ms to plan; with plain names where they are unique, 527
    /// nodes and 20 ms. Counted, not timed.
    #[test]
    fn the_stage_plans_to_a_small_tree() {
        let s = stage().unwrap();
        let tables = Tables::empty().unwrap();
        let nodes = std::thread::Builder::new()
            .stack_size(STACK)
            .spawn(move || {
                let lf = sql::context(&tables).execute(&s.query).unwrap();
                lf.to_alp().unwrap().lp_arena.len()
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(nodes < 1_000, "the stage plans to {nodes} nodes");
    }

    #[test]
    fn the_stage_is_portable_and_makes_attempts() {
        let s = stage().unwrap();
        assert_eq!(s.table, "attempts");
        assert!(s.dialects.contains_key(&sql::Engine::Spark));
    }

    #[test]
    fn outcomes_read_back_from_their_names() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::of(o.name()), Some(o));
        }
        assert_eq!(Outcome::of("nope"), None);
    }
}
