//! SQL over the tables: the polars context kmslens runs it in, and the SQL a rule or the
//! correlation stage may use: what polars SQL, DuckDB and Spark SQL all accept alike, so that
//! they run unchanged over `kmslens export` tables on another engine. A rule that needs an
//! engine's own syntax says so in its file, as text replacements for that engine:
//!
//! ```toml
//! [dialects.spark]
//! replace = [["EXTRACT(EPOCH FROM a.time)", "unix_timestamp(a.time)"]]
//! ```
//!
//! The query itself is what polars runs; `kmslens rules check` rejects a construct that an
//! engine lacks unless that engine's replacements take it out.

use crate::tables::Tables;
use polars::prelude::*;
use polars::sql::SQLContext;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A polars SQL context with every table registered under its name.
pub fn context(tables: &Tables) -> SQLContext {
    let ctx = SQLContext::new();
    for (name, df) in &tables.frames {
        ctx.register(name, df.clone().lazy());
    }
    ctx
}

/// What another engine runs instead of parts of a query, by engine (`[dialects.<engine>]`).
pub type Dialects = BTreeMap<Engine, Dialect>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Polars,
    Duckdb,
    Spark,
}

impl Engine {
    pub const ALL: [Engine; 3] = [Engine::Polars, Engine::Duckdb, Engine::Spark];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Polars => "polars",
            Engine::Duckdb => "duckdb",
            Engine::Spark => "spark",
        }
    }
}

/// An engine's differences for one rule: `[from, to]` text replacements applied to the query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dialect {
    pub replace: Vec<(String, String)>,
}

/// A construct outside the portable subset: how to find it, the engines without it, what to
/// write instead.
struct Construct {
    what: &'static str,
    found: fn(&str) -> bool,
    missing_in: &'static [Engine],
    instead: &'static str,
}

/// Every known construct outside the subset. `found` sees the query upper-cased with runs of
/// white space made one space.
const CONSTRUCTS: &[Construct] = &[
    Construct {
        what: "VARCHAR without a length",
        found: varchar_without_length,
        missing_in: &[Engine::Spark],
        instead: "CAST(x AS STRING)",
    },
    Construct {
        what: "EXTRACT(EPOCH FROM ...)",
        found: |q| q.contains("EXTRACT(EPOCH") || q.contains("EXTRACT (EPOCH"),
        missing_in: &[Engine::Spark],
        instead: "unix_timestamp(x) through [dialects.spark] replace",
    },
    Construct {
        what: "STRFTIME",
        found: |q| q.contains("STRFTIME("),
        missing_in: &[Engine::Spark],
        instead: "date_format(x, 'yyyy-MM-dd HH:mm') through [dialects.spark] replace",
    },
    Construct {
        what: "ORDER BY inside an aggregate",
        found: order_by_in_aggregate,
        missing_in: &[Engine::Spark],
        instead: "an unordered ARRAY_AGG (findings sort their lists)",
    },
    Construct {
        what: "COLLECT_LIST / COLLECT_SET",
        found: |q| q.contains("COLLECT_LIST(") || q.contains("COLLECT_SET("),
        missing_in: &[Engine::Polars, Engine::Duckdb],
        instead: "ARRAY_AGG(x), which Spark accepts too",
    },
    Construct {
        what: "UNIX_TIMESTAMP / DATE_FORMAT",
        found: |q| q.contains("UNIX_TIMESTAMP(") || q.contains("DATE_FORMAT("),
        missing_in: &[Engine::Polars, Engine::Duckdb],
        instead: "EXTRACT(EPOCH FROM x) / STRFTIME in the query, the Spark form in [dialects.spark]",
    },
    Construct {
        what: "DATEDIFF / DATE_DIFF / TIMESTAMPDIFF",
        found: |q| {
            q.contains("DATEDIFF(") || q.contains("DATE_DIFF(") || q.contains("TIMESTAMPDIFF(")
        },
        missing_in: &[Engine::Polars, Engine::Duckdb, Engine::Spark],
        instead: "a difference of epoch seconds (EXTRACT(EPOCH FROM a) - EXTRACT(EPOCH FROM b)); the engines disagree on its arguments",
    },
    Construct {
        what: "QUALIFY",
        found: |q| q.contains(" QUALIFY "),
        missing_in: &[Engine::Polars],
        instead: "ROW_NUMBER() in a subquery and a WHERE on it",
    },
    Construct {
        what: "ASOF JOIN",
        found: |q| q.contains("ASOF "),
        missing_in: &[Engine::Polars, Engine::Spark],
        instead: "a join on the key and a time window, then the nearest row by ROW_NUMBER()",
    },
];

fn varchar_without_length(q: &str) -> bool {
    q.match_indices("VARCHAR")
        .any(|(i, _)| !q[i + "VARCHAR".len()..].trim_start().starts_with('('))
}

/// `ARRAY_AGG(x ORDER BY y)` and the like: an ORDER BY before an aggregate's closing parenthesis.
fn order_by_in_aggregate(q: &str) -> bool {
    ["ARRAY_AGG(", "STRING_AGG(", "LISTAGG("].iter().any(|f| {
        q.match_indices(f).any(|(i, _)| {
            let rest = &q[i + f.len()..];
            let mut depth = 0usize;
            for (k, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' if depth == 0 => return rest[..k].contains("ORDER BY"),
                    ')' => depth -= 1,
                    _ => {}
                }
            }
            false
        })
    })
}

/// The query an engine runs: the rule's, with that engine's replacements.
pub fn query_for(query: &str, dialects: &Dialects, engine: Engine) -> String {
    let mut q = query.to_string();
    if let Some(d) = dialects.get(&engine) {
        for (from, to) in &d.replace {
            q = q.replace(from.as_str(), to);
        }
    }
    q
}

/// Checks that the query, with each engine's replacements, stays inside what that engine runs.
pub fn check(query: &str, dialects: &Dialects) -> Result<(), String> {
    if dialects.contains_key(&Engine::Polars) {
        return Err(
            "[dialects.polars]: the query itself is what polars runs; write it there".into(),
        );
    }
    for (engine, d) in dialects {
        if let Some((from, _)) = d
            .replace
            .iter()
            .find(|(from, _)| !query.contains(from.as_str()))
        {
            return Err(format!(
                "[dialects.{}] replaces {from:?}, which is not in the query",
                engine.name()
            ));
        }
    }
    for engine in Engine::ALL {
        let q = query_for(query, dialects, engine);
        let norm = q
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_uppercase();
        if let Some(c) = CONSTRUCTS
            .iter()
            .find(|c| c.missing_in.contains(&engine) && (c.found)(&norm))
        {
            let fix = if engine == Engine::Polars {
                String::new()
            } else {
                format!(", or replace it in [dialects.{}]", engine.name())
            };
            return Err(format!(
                "not portable: {} is not in {}'s SQL; write {}{fix}",
                c.what,
                engine.name(),
                c.instead
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spark(pairs: &[(&str, &str)]) -> Dialects {
        BTreeMap::from([(
            Engine::Spark,
            Dialect {
                replace: pairs
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
            },
        )])
    }

    #[test]
    fn engine_specific_constructs_are_rejected_with_the_portable_form() {
        let none = BTreeMap::new();
        let e = check("SELECT CAST(n AS VARCHAR) AS t FROM attempts", &none).unwrap_err();
        assert!(
            e.contains("VARCHAR without a length")
                && e.contains("spark")
                && e.contains("AS STRING"),
            "{e}"
        );
        assert!(check("SELECT CAST(n AS VARCHAR(20)) AS t FROM attempts", &none).is_ok());
        assert!(check("SELECT CAST(n AS STRING) AS t FROM attempts", &none).is_ok());
        let e = check(
            "SELECT ARRAY_AGG(client ORDER BY time) AS c FROM attempts",
            &none,
        )
        .unwrap_err();
        assert!(e.contains("ORDER BY inside an aggregate"), "{e}");
        assert!(
            check(
                "SELECT ARRAY_AGG(client) AS c FROM attempts ORDER BY c",
                &none
            )
            .is_ok()
        );
        let e = check("SELECT collect_list(client) AS c FROM attempts", &none).unwrap_err();
        assert!(e.contains("polars") && e.contains("ARRAY_AGG"), "{e}");
        let e = check(
            "SELECT a FROM t QUALIFY ROW_NUMBER() OVER (ORDER BY a) = 1",
            &none,
        )
        .unwrap_err();
        assert!(e.contains("QUALIFY"), "{e}");
    }

    #[test]
    fn a_dialect_replacement_makes_a_query_portable_and_must_match() {
        let q = "SELECT client FROM attempts WHERE EXTRACT(EPOCH FROM time) > 0";
        assert!(
            check(q, &BTreeMap::new())
                .unwrap_err()
                .contains("EXTRACT(EPOCH")
        );
        let d = spark(&[("EXTRACT(EPOCH FROM time)", "unix_timestamp(time)")]);
        assert_eq!(check(q, &d), Ok(()));
        assert_eq!(
            query_for(q, &d, Engine::Spark),
            "SELECT client FROM attempts WHERE unix_timestamp(time) > 0"
        );
        assert_eq!(query_for(q, &d, Engine::Duckdb), q);
        let e = check(q, &spark(&[("EXTRACT(EPOCH FROM t)", "unix_timestamp(t)")])).unwrap_err();
        assert!(e.contains("not in the query"), "{e}");
        // The replacement itself must not bring in what the engine lacks.
        let e = check(
            q,
            &spark(&[("EXTRACT(EPOCH FROM time)", "DATEDIFF(time, 0)")]),
        )
        .unwrap_err();
        assert!(e.contains("DATEDIFF"), "{e}");
    }
}
