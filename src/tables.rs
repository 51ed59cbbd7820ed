//! Tables: typed events and attempts as polars DataFrames, the schema rules query (see
//! `docs/architecture.md`). Times are UTC, `Datetime[μs]`; HRESULTs are `0xC004F074` strings;
//! `client`, `host` and `kms_host` hold machine identities (`machine_id`).

use crate::correlate::Attempt;
use crate::ingest::Ingested;
use crate::ingest::report::Status;
use crate::kms::thresholds::Params;
use crate::kms::values::{domain_id, machine_domain, machine_id};
use crate::kms::{KmsBody, KmsEvent};
use jiff::Timestamp;
use polars::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    Int,
    Float,
    Bool,
    Time,
}

/// One cell, typed by its column.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    S(Option<String>),
    I(Option<i64>),
    F(Option<f64>),
    B(Option<bool>),
    T(Option<Timestamp>),
}

fn s(v: impl Into<String>) -> Val {
    Val::S(Some(v.into()))
}
fn os(v: Option<impl Into<String>>) -> Val {
    Val::S(v.map(Into::into))
}
fn i(v: impl Into<i64>) -> Val {
    Val::I(Some(v.into()))
}
fn oi<T: Into<i64>>(v: Option<T>) -> Val {
    Val::I(v.map(Into::into))
}
fn t(v: Timestamp) -> Val {
    Val::T(Some(v))
}
fn b(v: bool) -> Val {
    Val::B(Some(v))
}

use Kind::*;

pub struct TableDef {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

pub const SOURCES: TableDef = TableDef {
    name: "sources",
    columns: &[
        ("source", Str),
        ("kind", Str),
        ("computer", Str),
        ("channel", Str),
        ("records", Int),
        ("kms_events", Int),
        ("first_time", Time),
        ("last_time", Time),
        ("damaged", Int),
        ("note", Str),
    ],
};
pub const CLIENT_REQUESTS: TableDef = TableDef {
    name: "client_requests",
    columns: &[
        ("source", Str),
        ("record_id", Int),
        ("computer", Str),
        ("client", Str),
        ("time", Time),
        ("hresult", Str),
        ("status_flags", Str),
        ("kms_host", Str),
        ("kms_port", Int),
        ("cmid", Str),
        ("client_time", Time),
        ("vm", Bool),
        ("license_status", Int),
        ("minutes_left", Int),
        ("act_id", Str),
        ("min_count", Int),
        ("domain", Str),
    ],
};
pub const CLIENT_RESPONSES: TableDef = TableDef {
    name: "client_responses",
    columns: &[
        ("source", Str),
        ("record_id", Int),
        ("computer", Str),
        ("client", Str),
        ("time", Time),
        ("hresult", Str),
        ("status_flags", Str),
        ("activated", Bool),
        ("current_count", Int),
        ("activation_interval", Int),
        ("renewal_interval", Int),
        ("client_time", Time),
    ],
};
pub const HOST_REQUESTS: TableDef = TableDef {
    name: "host_requests",
    columns: &[
        ("source", Str),
        ("record_id", Int),
        ("host", Str),
        ("time", Time),
        ("hresult", Str),
        ("min_count", Int),
        ("client_name", Str),
        ("client", Str),
        ("cmid", Str),
        ("client_time", Time),
        ("vm", Bool),
        ("license_status", Int),
        ("minutes_left", Int),
        ("act_id", Str),
    ],
};
pub const HOST_DNS: TableDef = TableDef {
    name: "host_dns",
    columns: &[
        ("source", Str),
        ("record_id", Int),
        ("host", Str),
        ("time", Time),
        ("event_id", Int),
        ("hresult", Str),
        ("domain", Str),
    ],
};
pub const SPP_ERRORS: TableDef = TableDef {
    name: "spp_errors",
    columns: &[
        ("source", Str),
        ("record_id", Int),
        ("computer", Str),
        ("client", Str),
        ("time", Time),
        ("event_id", Int),
        ("hresult", Str),
        ("detail", Str),
        ("domain", Str),
    ],
};
pub const SLMGR: TableDef = TableDef {
    name: "slmgr",
    columns: &[
        ("source", Str),
        ("computer", Str),
        ("role", Str),
        ("name", Str),
        ("description", Str),
        ("product_channel", Str),
        ("partial_key", Str),
        ("license_status", Str),
        ("minutes_left", Int),
        ("cmid", Str),
        ("kms_host", Str),
        ("kms_port", Int),
        ("host_caching", Bool),
        ("current_count", Int),
        ("port", Int),
        ("dns_publishing", Bool),
        ("total_requests", Int),
        ("failed_requests", Int),
        ("kms_host_source", Str),
        ("activation_object", Str),
    ],
};
pub const ATTEMPTS: TableDef = TableDef {
    name: "attempts",
    columns: &[
        ("client", Str),
        ("computer", Str),
        ("cmid", Str),
        ("act_id", Str),
        ("source", Str),
        ("record_id", Int),
        ("time", Time),
        ("request_time", Time),
        ("kms_host", Str),
        ("request_hresult", Str),
        ("response_time", Time),
        ("response_source", Str),
        ("response_record_id", Int),
        ("response_hresult", Str),
        ("activated", Bool),
        ("current_count", Int),
        ("min_count", Int),
        ("host", Str),
        ("host_time", Time),
        ("host_hresult", Str),
        ("host_source", Str),
        ("host_record_id", Int),
        ("host_log_covers", Bool),
        ("skew_minutes", Float),
        ("outcome", Str),
        ("latest", Bool),
        ("license_status", Int),
        ("minutes_left", Int),
        ("product", Str),
        ("product_group", Str),
        ("count_pool", Str),
    ],
};
/// Every event of a Key Management Service log that is not a well-formed 12290.
pub const KMS_LOG_EVENTS: TableDef = TableDef {
    name: "kms_log_events",
    columns: &[
        ("source", Str),
        ("record_id", Int),
        ("host", Str),
        ("time", Time),
        ("provider", Str),
        ("event_id", Int),
        ("has_binary", Bool),
        ("problem", Str),
    ],
};
/// The Key Management Service logs in the bundle and the time they span.
pub const HOST_LOGS: TableDef = TableDef {
    name: "host_logs",
    columns: &[
        ("source", Str),
        ("host", Str),
        ("first_time", Time),
        ("last_time", Time),
        ("records", Int),
    ],
};
pub const PARAMS: TableDef = TableDef {
    name: "params",
    columns: &[("name", Str), ("value", Float)],
};
pub const EXPECTED_HOSTS: TableDef = TableDef {
    name: "expected_hosts",
    columns: &[("name", Str), ("host", Str)],
};

/// Clients activated through another channel than KMS: AD-based activation (12308, `via` = `ad`)
/// and Automatic VM Activation (12309, `via` = `avma`).
pub const OTHER_ACTIVATIONS: TableDef = TableDef {
    name: "other_activations",
    columns: &[
        ("source", Str),
        ("record_id", Int),
        ("computer", Str),
        ("client", Str),
        ("time", Time),
        ("via", Str),
        ("act_id", Str),
        ("hresult", Str),
        ("succeeded", Bool),
        ("detail", Str),
    ],
};

/// The product catalog (`data/products.toml`): one row per activation id, with its KMS product
/// group, the count the group needs and the host keys that activate it.
pub const PRODUCTS: TableDef = TableDef {
    name: "products",
    columns: &[
        ("act_id", Str),
        ("product", Str),
        ("product_group", Str),
        ("family", Str),
        ("min_count", Int),
        ("host_keys", Str),
    ],
};

pub const ALL: [&TableDef; 14] = [
    &SOURCES,
    &CLIENT_REQUESTS,
    &CLIENT_RESPONSES,
    &HOST_REQUESTS,
    &HOST_DNS,
    &SPP_ERRORS,
    &SLMGR,
    &ATTEMPTS,
    &PARAMS,
    &EXPECTED_HOSTS,
    &KMS_LOG_EVENTS,
    &HOST_LOGS,
    &OTHER_ACTIVATIONS,
    &PRODUCTS,
];

/// Builds a frame from rows laid out as `def` says.
pub fn frame(def: &TableDef, rows: &[Vec<Val>]) -> PolarsResult<DataFrame> {
    owned_frame(def, rows.to_vec())
}

/// A frame from rows it consumes: strings move into the columns instead of being copied.
fn owned_frame(def: &TableDef, mut rows: Vec<Vec<Val>>) -> PolarsResult<DataFrame> {
    if let Some(r) = rows.iter().find(|r| r.len() != def.columns.len()) {
        polars_bail!(ShapeMismatch: "table {}: a row has {} values for {} columns", def.name, r.len(), def.columns.len());
    }
    let mut columns = Vec::with_capacity(def.columns.len());
    for (k, (name, kind)) in def.columns.iter().enumerate() {
        let name: PlSmallStr = (*name).into();
        let col = match kind {
            Str => Column::new(
                name,
                cells(def, &mut rows, k, |v| {
                    if let Val::S(x) = v {
                        Some(x.take())
                    } else {
                        None
                    }
                })?,
            ),
            Int => Column::new(
                name,
                cells(def, &mut rows, k, |v| {
                    if let Val::I(x) = v { Some(*x) } else { None }
                })?,
            ),
            Float => Column::new(
                name,
                cells(def, &mut rows, k, |v| {
                    if let Val::F(x) = v { Some(*x) } else { None }
                })?,
            ),
            Bool => Column::new(
                name,
                cells(def, &mut rows, k, |v| {
                    if let Val::B(x) = v { Some(*x) } else { None }
                })?,
            ),
            Time => Column::new(
                name,
                cells(def, &mut rows, k, |v| {
                    if let Val::T(x) = v {
                        Some(x.map(|t| t.as_microsecond()))
                    } else {
                        None
                    }
                })?,
            )
            .cast(&DataType::Datetime(TimeUnit::Microseconds, None))?,
        };
        columns.push(col);
    }
    DataFrame::new(rows.len(), columns)
}

/// Column `k` of `rows`; a value of another type than the column's is an error, not a null.
fn cells<T>(
    def: &TableDef,
    rows: &mut [Vec<Val>],
    k: usize,
    pick: impl Fn(&mut Val) -> Option<Option<T>>,
) -> PolarsResult<Vec<Option<T>>> {
    rows.iter_mut()
        .map(|r| {
            pick(&mut r[k]).ok_or_else(|| polars_err!(SchemaMismatch: "table {}: column {} holds a value of another type", def.name, def.columns[k].0))
        })
        .collect()
}

/// All tables of one analysis, by name.
pub struct Tables {
    pub frames: Vec<(&'static str, DataFrame)>,
}

impl Tables {
    pub fn get(&self, name: &str) -> Option<&DataFrame> {
        self.frames.iter().find(|(n, _)| *n == name).map(|(_, f)| f)
    }

    /// The same tables with no rows: what rule queries are validated against.
    pub fn empty() -> PolarsResult<Tables> {
        let frames = ALL
            .iter()
            .map(|d| Ok((d.name, frame(d, &[])?)))
            .collect::<PolarsResult<_>>()?;
        Ok(Tables { frames })
    }
}

fn rows_of(events: &[KmsEvent], row: fn(&KmsEvent) -> Option<Vec<Val>>) -> Vec<Vec<Val>> {
    events.iter().filter_map(row).collect()
}

/// Events of the KMS host log that are not request records: tampering evidence.
fn kms_log_row(e: &KmsEvent) -> Option<Vec<Val>> {
    if !crate::kms::ids::is_kms_channel(&e.channel) {
        return None;
    }
    let problem = match &e.body {
        KmsBody::HostRequest(_) => return None,
        KmsBody::Malformed(m) => format!(
            "event {} with a malformed payload: {}",
            e.event_id, m.reason
        ),
        _ => format!("event {} from {}", e.event_id, e.provider),
    };
    let has_binary = matches!(&e.body, KmsBody::OtherKmsLog(o) if o.has_binary);
    Some(vec![
        s(&*e.source),
        i(e.record_id as i64),
        s(machine_id(&e.computer)),
        t(e.time),
        s(&*e.provider),
        i(e.event_id),
        b(has_binary),
        s(problem),
    ])
}

fn client_request_row(e: &KmsEvent) -> Option<Vec<Val>> {
    let KmsBody::ClientRequest(r) = &e.body else {
        return None;
    };
    Some(vec![
        s(&*e.source),
        i(e.record_id as i64),
        s(&*e.computer),
        s(machine_id(&e.computer)),
        t(e.time),
        s(r.hresult.to_string()),
        s(r.status_flags.to_string()),
        os(r.kms_host.as_deref().map(machine_id)),
        oi(r.kms_port),
        s(r.cmid.as_str()),
        Val::T(r.client_time),
        b(r.vm),
        i(r.license_status.code()),
        i(r.minutes_left),
        s(r.act_id.as_str()),
        oi(r.min_count),
        os(machine_domain(&e.computer)),
    ])
}

fn client_response_row(e: &KmsEvent) -> Option<Vec<Val>> {
    let KmsBody::ClientResponse(r) = &e.body else {
        return None;
    };
    Some(vec![
        s(&*e.source),
        i(e.record_id as i64),
        s(&*e.computer),
        s(machine_id(&e.computer)),
        t(e.time),
        s(r.hresult.to_string()),
        s(r.status_flags.to_string()),
        b(r.activated),
        i(r.current_count),
        i(r.activation_interval),
        i(r.renewal_interval),
        Val::T(r.client_time),
    ])
}

fn host_request_row(e: &KmsEvent) -> Option<Vec<Val>> {
    let KmsBody::HostRequest(h) = &e.body else {
        return None;
    };
    Some(vec![
        s(&*e.source),
        i(e.record_id as i64),
        s(machine_id(&e.computer)),
        t(e.time),
        s(h.hresult.to_string()),
        i(h.min_count),
        s(&h.client_name),
        s(machine_id(&h.client_name)),
        s(h.cmid.as_str()),
        Val::T(h.client_time),
        b(h.vm),
        i(h.license_status.code()),
        i(h.minutes_left),
        s(h.act_id.as_str()),
    ])
}

fn other_activation_row(e: &KmsEvent) -> Option<Vec<Val>> {
    let KmsBody::OtherActivation(x) = &e.body else {
        return None;
    };
    Some(vec![
        s(&*e.source),
        i(e.record_id as i64),
        s(&*e.computer),
        s(machine_id(&e.computer)),
        t(e.time),
        s(x.channel.name()),
        os(x.act_id.as_ref().map(|g| g.as_str().to_string())),
        s(x.hresult.to_string()),
        b(x.succeeded()),
        s(&x.detail),
    ])
}

fn spp_error_row(e: &KmsEvent) -> Option<Vec<Val>> {
    let KmsBody::SppError(x) = &e.body else {
        return None;
    };
    Some(vec![
        s(&*e.source),
        i(e.record_id as i64),
        s(&*e.computer),
        s(machine_id(&e.computer)),
        t(e.time),
        i(e.event_id),
        os(x.hresult.map(|h| h.to_string())),
        os(x.detail.clone()),
        os(machine_domain(&e.computer)),
    ])
}

fn host_dns_row(e: &KmsEvent) -> Option<Vec<Val>> {
    match &e.body {
        KmsBody::DnsPublishFailed(d) => Some(vec![
            s(&*e.source),
            i(e.record_id as i64),
            s(machine_id(&e.computer)),
            t(e.time),
            i(e.event_id),
            s(d.hresult.to_string()),
            s(domain_id(&d.domain)),
        ]),
        KmsBody::DnsPublishSucceeded(d) => Some(vec![
            s(&*e.source),
            i(e.record_id as i64),
            s(machine_id(&e.computer)),
            t(e.time),
            i(e.event_id),
            Val::S(None),
            s(domain_id(&d.domain)),
        ]),
        _ => None,
    }
}

pub fn build(
    bundle: &Ingested,
    attempts: &[Attempt],
    params: &Params,
    expected_hosts: &[String],
) -> PolarsResult<Tables> {
    // Each table's rows are dropped as soon as its frame exists: rows of values weigh far more
    // than the frames, and attempts are the largest.
    let attempts_frame = owned_frame(&ATTEMPTS, attempts.iter().map(attempt_row).collect())?;
    // One table at a time: only one table's rows of values exist at once (they weigh far more
    // than the frames).
    let events = &bundle.events;
    let creq = owned_frame(&CLIENT_REQUESTS, rows_of(events, client_request_row))?;
    let cresp = owned_frame(&CLIENT_RESPONSES, rows_of(events, client_response_row))?;
    let hreq = owned_frame(&HOST_REQUESTS, rows_of(events, host_request_row))?;
    let dns = owned_frame(&HOST_DNS, rows_of(events, host_dns_row))?;
    let spp = owned_frame(&SPP_ERRORS, rows_of(events, spp_error_row))?;
    let other = owned_frame(&OTHER_ACTIVATIONS, rows_of(events, other_activation_row))?;
    let kms_log = owned_frame(&KMS_LOG_EVENTS, rows_of(events, kms_log_row))?;
    let sources: Vec<Vec<Val>> = bundle
        .sources
        .iter()
        .map(|r| {
            let note = match &r.status {
                Status::Read if r.is_damaged() => format!("read in part: {}", r.tally.lost),
                Status::Read => String::new(),
                Status::Skipped(why) => format!("skipped: {why}"),
                Status::Unreadable(why) => format!("unreadable: {why}"),
            };
            vec![
                s(&*r.source),
                s(r.kind),
                s(join(&r.tally.computers)),
                s(join(&r.tally.channels)),
                i(r.tally.records as i64),
                i(r.tally.kms_events as i64),
                Val::T(r.tally.first_time),
                Val::T(r.tally.last_time),
                i(r.tally.lost.total() as i64),
                s(note),
            ]
        })
        .collect();
    let host_logs: Vec<Vec<Val>> = bundle
        .sources
        .iter()
        .filter(|r| {
            r.status == Status::Read
                && r.tally
                    .channels
                    .iter()
                    .any(|c| crate::kms::ids::is_kms_channel(c))
        })
        .flat_map(|r| {
            r.tally.computers.iter().map(move |c| {
                vec![
                    s(&*r.source),
                    s(machine_id(c)),
                    Val::T(r.tally.first_time),
                    Val::T(r.tally.last_time),
                    i(r.tally.records as i64),
                ]
            })
        })
        .collect();
    let params: Vec<Vec<Val>> = params
        .iter()
        .map(|(n, v)| vec![s(n), Val::F(Some(v))])
        .collect();
    let expected: Vec<Vec<Val>> = expected_hosts
        .iter()
        .map(|h| vec![s(h), s(machine_id(h))])
        .collect();
    let frames = vec![
        ("sources", owned_frame(&SOURCES, sources)?),
        ("client_requests", creq),
        ("client_responses", cresp),
        ("host_requests", hreq),
        ("host_dns", dns),
        ("spp_errors", spp),
        ("slmgr", owned_frame(&SLMGR, slmgr_rows(bundle))?),
        ("attempts", attempts_frame),
        ("params", owned_frame(&PARAMS, params)?),
        ("expected_hosts", owned_frame(&EXPECTED_HOSTS, expected)?),
        ("kms_log_events", kms_log),
        ("host_logs", owned_frame(&HOST_LOGS, host_logs)?),
        ("other_activations", other),
        ("products", owned_frame(&PRODUCTS, product_rows())?),
    ];
    Ok(Tables { frames })
}

fn product_rows() -> Vec<Vec<Val>> {
    let c = crate::kms::catalog::get();
    c.groups
        .iter()
        .flat_map(|g| {
            let keys = c.host_keys_for(&g.id).join("; ");
            g.products.iter().map(move |(id, name)| {
                vec![
                    s(id),
                    s(name),
                    s(&g.name),
                    s(g.family.name()),
                    i(g.min_count),
                    s(&keys),
                ]
            })
        })
        .collect()
}

fn attempt_row(a: &Attempt) -> Vec<Val> {
    let known = crate::kms::catalog::get().product(a.act_id.as_str());
    let (resp_time, resp_src, resp_rid, resp_hr, activated, count) = match &a.response {
        Some((e, f)) => (
            t(e.time),
            s(&*e.source),
            i(e.record_id as i64),
            s(f.hresult.to_string()),
            b(f.activated),
            i(f.current_count),
        ),
        None => (
            Val::T(None),
            Val::S(None),
            Val::I(None),
            Val::S(None),
            Val::B(None),
            Val::I(None),
        ),
    };
    let (host, host_time, host_hr, host_src, host_rid, skew) = match &a.host {
        Some((e, h)) => (
            s(&h.host),
            t(e.time),
            s(h.hresult.to_string()),
            s(&*e.source),
            i(e.record_id as i64),
            Val::F(h.skew_minutes),
        ),
        None => (
            Val::S(None),
            Val::T(None),
            Val::S(None),
            Val::S(None),
            Val::I(None),
            Val::F(None),
        ),
    };
    vec![
        s(&a.client),
        s(&*a.computer),
        s(a.cmid.as_str()),
        s(a.act_id.as_str()),
        s(&*a.request.source),
        i(a.request.record_id as i64),
        t(a.request.time),
        t(a.request.time),
        os(a.kms_host.clone()),
        s(a.request_hresult.to_string()),
        resp_time,
        resp_src,
        resp_rid,
        resp_hr,
        activated,
        count,
        oi(a.min_count),
        host,
        host_time,
        host_hr,
        host_src,
        host_rid,
        b(a.host_log_covers),
        skew,
        s(a.outcome.name()),
        b(a.latest),
        i(a.license_status),
        i(a.minutes_left),
        os(known.as_ref().map(|k| k.name.to_string())),
        os(known.as_ref().map(|k| k.group.name.clone())),
        s(crate::kms::catalog::pool_of(known.as_ref(), a.min_count)),
    ]
}

fn slmgr_rows(bundle: &Ingested) -> Vec<Vec<Val>> {
    let u = |v: Option<u64>| Val::I(v.and_then(|n| i64::try_from(n).ok()));
    // An output of an unknown machine could only give findings without a subject: the coverage
    // names it instead.
    bundle
        .slmgr
        .iter()
        .filter(|r| r.computer.is_some())
        .map(|r| {
            let p = &r.product;
            vec![
                s(&*r.source),
                os(r.computer.as_deref().map(machine_id)),
                s(p.role().name()),
                os(p.name.clone()),
                os(p.description.clone()),
                os(p.product_channel.clone()),
                os(p.partial_key.clone()),
                os(p.license_status.clone()),
                u(p.minutes_left),
                os(p.cmid.clone()),
                os(p.kms_host.as_deref().map(machine_id)),
                oi(p.kms_port),
                Val::B(p.host_caching),
                u(p.current_count),
                oi(p.port),
                Val::B(p.dns_publishing),
                u(p.total_requests),
                u(p.failed_requests),
                os(p.kms_host_source),
                os(p.activation_object.clone()),
            ]
        })
        .collect()
}

fn join(set: &std::collections::BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_that_does_not_fit_its_table_is_an_error_not_nulls() {
        let short = vec![vec![s("x")]];
        assert!(frame(&PARAMS, &short).is_err());
        let mistyped = vec![vec![s("skew_minutes"), s("240")]];
        assert!(
            frame(&PARAMS, &mistyped).is_err(),
            "a string in a float column"
        );
        let ok = vec![vec![s("skew_minutes"), Val::F(Some(240.0))]];
        assert_eq!(frame(&PARAMS, &ok).unwrap().height(), 1);
        for def in ALL {
            assert_eq!(
                frame(def, &[]).unwrap().width(),
                def.columns.len(),
                "{}",
                def.name
            );
        }
    }
}
