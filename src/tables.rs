//! Tables: typed events and attempts as polars DataFrames, the schema rules query (see
//! `docs/architecture.md`). Times are UTC, `Datetime[μs]`; HRESULTs are `0xC004F074` strings;
//! `client`, `host` and `kms_host` hold machine identities (`machine_id`).
//!
//! Each table is one definition: a list of columns, each a name with the function that reads its
//! value from a row. The frame, the schema rules are checked against and `kmslens rules tables`
//! all come from it. Frames are built a column at a time straight from the rows (no row of
//! values in between), and a text value repeated in a column is stored once.

use crate::ingest::Ingested;
use crate::ingest::report::{ProbeRecord, SlmgrRecord, SourceReport, Status};
use crate::kms::catalog::{self, Known};
use crate::kms::probes::{Probe, SrvLookup, TimeStatus, ZoneInfo};
use crate::kms::thresholds::Params;
use crate::kms::values::{AsciiText, Guid, domain_id, machine_domain, machine_id};
use crate::kms::{KmsBody, KmsEvent};
use jiff::Timestamp;
use polars::prelude::*;
use polars_arrow::array::{
    BooleanArray, MutableBinaryViewArray, MutableBooleanArray, MutablePrimitiveArray,
    PrimitiveArray, View,
};
use std::borrow::Cow;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    Int,
    Float,
    Bool,
    Time,
}

impl Kind {
    /// The polars type of a column of this kind.
    pub fn dtype(self) -> DataType {
        match self {
            Kind::Str => DataType::String,
            Kind::Int => DataType::Int64,
            Kind::Float => DataType::Float64,
            Kind::Bool => DataType::Boolean,
            Kind::Time => DataType::Datetime(TimeUnit::Microseconds, None),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Str => "text",
            Kind::Int => "integer",
            Kind::Float => "float",
            Kind::Bool => "boolean",
            Kind::Time => "datetime (UTC)",
        }
    }
}

/// Reads one column's value from a row of type `R`.
pub enum Get<R> {
    Str(for<'a> fn(&'a R) -> Option<Cow<'a, str>>),
    /// A text column of GUIDs: written from their 16 bytes, no string per row.
    Guid(fn(&R) -> Option<Guid>),
    /// A text column of codes (HRESULTs, status flags): written from their stack text, no
    /// string per row.
    Code(fn(&R) -> Option<AsciiText<10>>),
    Int(fn(&R) -> Option<i64>),
    Float(fn(&R) -> Option<f64>),
    Bool(fn(&R) -> Option<bool>),
    Time(fn(&R) -> Option<Timestamp>),
}

pub struct Col<R> {
    pub name: &'static str,
    pub get: Get<R>,
}

impl<R> Col<R> {
    pub fn kind(&self) -> Kind {
        match self.get {
            Get::Str(_) | Get::Guid(_) | Get::Code(_) => Kind::Str,
            Get::Int(_) => Kind::Int,
            Get::Float(_) => Kind::Float,
            Get::Bool(_) => Kind::Bool,
            Get::Time(_) => Kind::Time,
        }
    }

    pub const fn str(name: &'static str, f: for<'a> fn(&'a R) -> Option<Cow<'a, str>>) -> Self {
        Col {
            name,
            get: Get::Str(f),
        }
    }
    pub const fn guid(name: &'static str, f: fn(&R) -> Option<Guid>) -> Self {
        Col {
            name,
            get: Get::Guid(f),
        }
    }
    pub const fn code(name: &'static str, f: fn(&R) -> Option<AsciiText<10>>) -> Self {
        Col {
            name,
            get: Get::Code(f),
        }
    }
    pub const fn int(name: &'static str, f: fn(&R) -> Option<i64>) -> Self {
        Col {
            name,
            get: Get::Int(f),
        }
    }
    pub const fn float(name: &'static str, f: fn(&R) -> Option<f64>) -> Self {
        Col {
            name,
            get: Get::Float(f),
        }
    }
    pub const fn bool(name: &'static str, f: fn(&R) -> Option<bool>) -> Self {
        Col {
            name,
            get: Get::Bool(f),
        }
    }
    pub const fn time(name: &'static str, f: fn(&R) -> Option<Timestamp>) -> Self {
        Col {
            name,
            get: Get::Time(f),
        }
    }
}

/// A table: its name, what it holds, which rows of type `R` it takes and its columns (the
/// leading ones shared with other tables, then its own).
pub struct Table<R: 'static> {
    pub name: &'static str,
    pub about: &'static str,
    pub keep: fn(&R) -> bool,
    pub lead: &'static [Col<R>],
    pub own: &'static [Col<R>],
}

/// A table's schema, whatever its row type.
pub trait Schema: Sync {
    fn name(&self) -> &'static str;
    fn about(&self) -> &'static str;
    fn columns(&self) -> Vec<(&'static str, Kind)>;
    /// The table with no rows.
    fn empty(&self) -> PolarsResult<DataFrame>;
    /// Computed by a SQL stage from the other tables, not read from the bundle.
    fn derived(&self) -> bool {
        false
    }
}

impl<R: 'static> Schema for Table<R> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn about(&self) -> &'static str {
        self.about
    }
    fn columns(&self) -> Vec<(&'static str, Kind)> {
        Table::columns(self).map(|c| (c.name, c.kind())).collect()
    }
    fn empty(&self) -> PolarsResult<DataFrame> {
        self.frame([])
    }
}

/// A table a SQL stage computes from the other tables (`correlate`): its columns are declared
/// here, and the stage's result is made to fit them.
pub struct Derived {
    pub name: &'static str,
    pub about: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

impl Derived {
    /// The stage's result with the declared columns, in order, of the declared types; a missing
    /// column is an error.
    pub fn conform(&self, frame: &DataFrame) -> PolarsResult<DataFrame> {
        let columns = self
            .columns
            .iter()
            .map(|(name, kind)| frame.column(name)?.cast(&kind.dtype()))
            .collect::<PolarsResult<Vec<Column>>>()?;
        DataFrame::new(frame.height(), columns)
    }
}

impl Schema for Derived {
    fn name(&self) -> &'static str {
        self.name
    }
    fn about(&self) -> &'static str {
        self.about
    }
    fn columns(&self) -> Vec<(&'static str, Kind)> {
        self.columns.to_vec()
    }
    fn empty(&self) -> PolarsResult<DataFrame> {
        let columns = self
            .columns
            .iter()
            .map(|(name, kind)| Column::full_null((*name).into(), 0, &kind.dtype()))
            .collect();
        DataFrame::new(0, columns)
    }
    fn derived(&self) -> bool {
        true
    }
}

impl<R: 'static> Table<R> {
    pub fn columns(&self) -> impl Iterator<Item = &Col<R>> {
        self.lead.iter().chain(self.own)
    }

    /// The frame of the rows this table keeps. Rows are read once each, every column's value
    /// taken in that one visit: a pass per column would fetch every row from memory again.
    pub fn frame<'r>(&self, rows: impl IntoIterator<Item = &'r R>) -> PolarsResult<DataFrame> {
        let rows: Vec<&R> = rows.into_iter().filter(|r| (self.keep)(r)).collect();
        let mut builders: Vec<Builder<R>> = self
            .columns()
            .map(|c| Builder::new(&c.get, rows.len()))
            .collect();
        for r in &rows {
            for b in &mut builders {
                b.push(r);
            }
        }
        let columns = self
            .columns()
            .zip(builders)
            .map(|(c, b)| b.finish(c.name.into()))
            .collect();
        DataFrame::new(rows.len(), columns)
    }
}

/// One column being filled, with the getter of its values.
enum Builder<R> {
    Text(for<'a> fn(&'a R) -> Option<Cow<'a, str>>, TextColumn),
    Guid(fn(&R) -> Option<Guid>, TextColumn),
    Code(fn(&R) -> Option<AsciiText<10>>, TextColumn),
    // Arrow arrays filled in place: 8 bytes and a validity bit a cell, the frame's own memory.
    Int(fn(&R) -> Option<i64>, MutablePrimitiveArray<i64>),
    Float(fn(&R) -> Option<f64>, MutablePrimitiveArray<f64>),
    Bool(fn(&R) -> Option<bool>, MutableBooleanArray),
    /// Microseconds since the Unix epoch.
    Time(fn(&R) -> Option<Timestamp>, MutablePrimitiveArray<i64>),
}

impl<R> Builder<R> {
    fn new(get: &Get<R>, rows: usize) -> Builder<R> {
        match *get {
            Get::Str(f) => Builder::Text(f, TextColumn::with_capacity(rows)),
            Get::Guid(f) => Builder::Guid(f, TextColumn::with_capacity(rows)),
            Get::Code(f) => Builder::Code(f, TextColumn::with_capacity(rows)),
            Get::Int(f) => Builder::Int(f, MutablePrimitiveArray::with_capacity(rows)),
            Get::Float(f) => Builder::Float(f, MutablePrimitiveArray::with_capacity(rows)),
            Get::Bool(f) => Builder::Bool(f, MutableBooleanArray::with_capacity(rows)),
            Get::Time(f) => Builder::Time(f, MutablePrimitiveArray::with_capacity(rows)),
        }
    }

    fn push(&mut self, r: &R) {
        match self {
            Builder::Text(f, t) => t.push(f(r).as_deref()),
            Builder::Guid(f, t) => t.push(f(r).map(|g| g.text()).as_deref()),
            Builder::Code(f, t) => t.push(f(r).as_deref()),
            Builder::Int(f, v) => v.push(f(r)),
            Builder::Float(f, v) => v.push(f(r)),
            Builder::Bool(f, v) => v.push(f(r)),
            Builder::Time(f, v) => v.push(f(r).map(|t| t.as_microsecond())),
        }
    }

    fn finish(self, name: PlSmallStr) -> Column {
        match self {
            Builder::Text(_, t) | Builder::Guid(_, t) | Builder::Code(_, t) => {
                t.finish(name).into_column()
            }
            Builder::Int(_, v) => {
                Int64Chunked::with_chunk(name, PrimitiveArray::from(v)).into_column()
            }
            Builder::Float(_, v) => {
                Float64Chunked::with_chunk(name, PrimitiveArray::from(v)).into_column()
            }
            Builder::Bool(_, v) => {
                BooleanChunked::with_chunk(name, BooleanArray::from(v)).into_column()
            }
            Builder::Time(_, v) => Int64Chunked::with_chunk(name, PrimitiveArray::from(v))
                .into_datetime(TimeUnit::Microseconds, None)
                .into_column(),
        }
    }
}

/// A text column that stores each distinct value once: the same source, machine, CMID or
/// product name on thousands of rows points at one copy.
struct TextColumn {
    array: MutableBinaryViewArray<str>,
    seen: HashMap<Box<str>, View, foldhash::fast::FixedState>,
    /// Bytes of the values pushed as a view of an earlier copy: added to the array's total
    /// once, at the end (setting it checks every view in debug builds).
    reused_bytes: usize,
}

impl TextColumn {
    fn with_capacity(rows: usize) -> Self {
        TextColumn {
            array: MutableBinaryViewArray::with_capacity(rows),
            seen: HashMap::default(),
            reused_bytes: 0,
        }
    }

    fn push(&mut self, value: Option<&str>) {
        let Some(v) = value else {
            return self.array.push_null();
        };
        // Short values live in the view itself.
        if v.len() <= View::MAX_INLINE_SIZE as usize {
            return self.array.push_value(v);
        }
        match self.seen.get(v) {
            Some(&view) => {
                // SAFETY: `view` was made by this array for the same bytes; its buffer index and
                // offset stay valid, as the array only ever appends to its buffers. The total
                // length is made right in `finish`, before the array is read.
                unsafe { self.array.views_mut().push(view) };
                self.reused_bytes += v.len();
                if let Some(validity) = self.array.validity() {
                    validity.push(true);
                }
            }
            None => {
                self.array.push_value(v);
                if let Some(&view) = self.array.views().last() {
                    self.seen.insert(v.into(), view);
                }
            }
        }
    }

    fn finish(mut self, name: PlSmallStr) -> StringChunked {
        let total = self.array.total_bytes_len() + self.reused_bytes;
        // SAFETY: the total of the lengths of every view pushed, as the array counts it.
        unsafe { self.array.set_total_bytes_len(total) };
        StringChunked::with_chunk(name, self.array.freeze())
    }
}

/// A borrowed text value.
fn text(v: &str) -> Option<Cow<'_, str>> {
    Some(Cow::Borrowed(v))
}

/// A text made for the cell, moved in as it is.
fn made(v: String) -> Option<Cow<'static, str>> {
    Some(Cow::Owned(v))
}

/// The text a value shows.
fn shown(v: impl std::fmt::Display) -> Option<Cow<'static, str>> {
    made(v.to_string())
}

fn all<R>(_: &R) -> bool {
    true
}

/// The body of an event of the variant a table holds (getters give a null for any other).
macro_rules! body {
    ($e:expr, $variant:ident) => {
        match &$e.body {
            KmsBody::$variant(b) => b,
            _ => return None,
        }
    };
}

/// Leading columns of the tables of client events.
const CLIENT_LEAD: &[Col<KmsEvent>] = &[
    Col::str("source", |e| text(e.source())),
    Col::int("record_id", |e| Some(e.record_id as i64)),
    Col::str("computer", |e| text(e.computer())),
    Col::str("client", |e| text(e.machine())),
    Col::time("time", |e| Some(e.time)),
];

/// Leading columns of the tables of KMS host events.
const HOST_LEAD: &[Col<KmsEvent>] = &[
    Col::str("source", |e| text(e.source())),
    Col::int("record_id", |e| Some(e.record_id as i64)),
    Col::str("host", |e| text(e.machine())),
    Col::time("time", |e| Some(e.time)),
];

pub static CLIENT_REQUESTS: Table<KmsEvent> = Table {
    name: "client_requests",
    about: "Activation requests clients sent (12288).",
    keep: |e| matches!(e.body, KmsBody::ClientRequest(_)),
    lead: CLIENT_LEAD,
    own: &[
        Col::code("hresult", |e| Some(body!(e, ClientRequest).hresult.text())),
        Col::code("status_flags", |e| {
            Some(body!(e, ClientRequest).status_flags.text())
        }),
        Col::str("kms_host", |e| {
            Some(machine_id(body!(e, ClientRequest).kms_host.as_deref()?).into())
        }),
        Col::int("kms_port", |e| {
            body!(e, ClientRequest).kms_port.map(i64::from)
        }),
        Col::guid("cmid", |e| Some(body!(e, ClientRequest).cmid)),
        Col::time("client_time", |e| body!(e, ClientRequest).client_time),
        Col::bool("vm", |e| Some(body!(e, ClientRequest).vm)),
        Col::int("license_status", |e| {
            Some(body!(e, ClientRequest).license_status.code().into())
        }),
        Col::int("minutes_left", |e| {
            Some(body!(e, ClientRequest).minutes_left.into())
        }),
        Col::guid("act_id", |e| Some(body!(e, ClientRequest).act_id)),
        Col::int("min_count", |e| {
            body!(e, ClientRequest).min_count.map(i64::from)
        }),
        Col::str("domain", |e| Some(machine_domain(e.computer())?.into())),
    ],
};

pub static CLIENT_RESPONSES: Table<KmsEvent> = Table {
    name: "client_responses",
    about: "Responses clients processed (12289).",
    keep: |e| matches!(e.body, KmsBody::ClientResponse(_)),
    lead: CLIENT_LEAD,
    own: &[
        Col::code("hresult", |e| Some(body!(e, ClientResponse).hresult.text())),
        Col::code("status_flags", |e| {
            Some(body!(e, ClientResponse).status_flags.text())
        }),
        Col::bool("activated", |e| Some(body!(e, ClientResponse).activated)),
        Col::int("current_count", |e| {
            Some(body!(e, ClientResponse).current_count.into())
        }),
        Col::int("activation_interval", |e| {
            Some(body!(e, ClientResponse).activation_interval.into())
        }),
        Col::int("renewal_interval", |e| {
            Some(body!(e, ClientResponse).renewal_interval.into())
        }),
        Col::time("client_time", |e| body!(e, ClientResponse).client_time),
    ],
};

pub static HOST_REQUESTS: Table<KmsEvent> = Table {
    name: "host_requests",
    about: "Requests KMS hosts processed (12290).",
    keep: |e| matches!(e.body, KmsBody::HostRequest(_)),
    lead: HOST_LEAD,
    own: &[
        Col::code("hresult", |e| Some(body!(e, HostRequest).hresult.text())),
        Col::int("min_count", |e| {
            Some(body!(e, HostRequest).min_count.into())
        }),
        Col::str("client_name", |e| text(&body!(e, HostRequest).client_name)),
        Col::str("client", |e| {
            made(machine_id(&body!(e, HostRequest).client_name))
        }),
        Col::guid("cmid", |e| Some(body!(e, HostRequest).cmid)),
        Col::time("client_time", |e| body!(e, HostRequest).client_time),
        Col::bool("vm", |e| Some(body!(e, HostRequest).vm)),
        Col::int("license_status", |e| {
            Some(body!(e, HostRequest).license_status.code().into())
        }),
        Col::int("minutes_left", |e| {
            Some(body!(e, HostRequest).minutes_left.into())
        }),
        Col::guid("act_id", |e| Some(body!(e, HostRequest).act_id)),
    ],
};

pub static HOST_DNS: Table<KmsEvent> = Table {
    name: "host_dns",
    about: "DNS publishing of KMS hosts: failed (12293) and succeeded (12294).",
    keep: |e| {
        matches!(
            e.body,
            KmsBody::DnsPublishFailed(_) | KmsBody::DnsPublishSucceeded(_)
        )
    },
    lead: HOST_LEAD,
    own: &[
        Col::int("event_id", |e| Some(e.event_id.into())),
        Col::code("hresult", |e| {
            Some(body!(e, DnsPublishFailed).hresult.text())
        }),
        Col::str("domain", |e| match &e.body {
            KmsBody::DnsPublishFailed(d) => made(domain_id(&d.domain)),
            KmsBody::DnsPublishSucceeded(d) => made(domain_id(&d.domain)),
            _ => None,
        }),
    ],
};

pub static SPP_ERRORS: Table<KmsEvent> = Table {
    name: "spp_errors",
    about: "Software Protection errors on clients (8198, 8200, 8208, 8233).",
    keep: |e| matches!(e.body, KmsBody::SppError(_)),
    lead: CLIENT_LEAD,
    own: &[
        Col::int("event_id", |e| Some(e.event_id.into())),
        Col::code("hresult", |e| Some(body!(e, SppError).hresult?.text())),
        Col::str("detail", |e| text(body!(e, SppError).detail.as_deref()?)),
        Col::str("domain", |e| Some(machine_domain(e.computer())?.into())),
    ],
};

pub static OTHER_ACTIVATIONS: Table<KmsEvent> = Table {
    name: "other_activations",
    about: "Clients activated through another channel than KMS: AD-based activation (12308, \
            `via` = `ad`) and Automatic VM Activation (12309, `via` = `avma`).",
    keep: |e| matches!(e.body, KmsBody::OtherActivation(_)),
    lead: CLIENT_LEAD,
    own: &[
        Col::str("via", |e| text(body!(e, OtherActivation).channel.name())),
        Col::guid("act_id", |e| body!(e, OtherActivation).act_id),
        Col::code("hresult", |e| {
            Some(body!(e, OtherActivation).hresult.text())
        }),
        Col::bool("succeeded", |e| Some(body!(e, OtherActivation).succeeded())),
        Col::str("detail", |e| text(&body!(e, OtherActivation).detail)),
    ],
};

/// Every event of a Key Management Service log that is not a well-formed 12290.
pub static KMS_LOG_EVENTS: Table<KmsEvent> = Table {
    name: "kms_log_events",
    about: "Events of a Key Management Service log that are not a well-formed 12290: \
            tampering evidence.",
    keep: |e| {
        crate::kms::ids::is_kms_channel(e.channel()) && !matches!(e.body, KmsBody::HostRequest(_))
    },
    lead: HOST_LEAD,
    own: &[
        Col::str("provider", |e| text(e.provider())),
        Col::int("event_id", |e| Some(e.event_id.into())),
        Col::bool("has_binary", |e| {
            Some(matches!(&e.body, KmsBody::OtherKmsLog(o) if o.has_binary))
        }),
        Col::str("problem", |e| match &e.body {
            KmsBody::Malformed(m) => shown(format_args!(
                "event {} with a malformed payload: {}",
                e.event_id, m.reason
            )),
            _ => shown(format_args!("event {} from {}", e.event_id, e.provider())),
        }),
    ],
};

pub static SOURCES: Table<SourceReport> = Table {
    name: "sources",
    about: "Every input of the bundle: files, archives and archive entries, read or not.",
    keep: all,
    lead: &[],
    own: &[
        Col::str("source", |r| text(&r.source)),
        Col::str("kind", |r| text(r.kind.name())),
        Col::str("computer", |r| made(r.tally.computers.joined())),
        Col::str("channel", |r| made(r.tally.channels.joined())),
        Col::int("records", |r| Some(r.tally.records as i64)),
        Col::int("kms_events", |r| Some(r.tally.kms_events as i64)),
        Col::time("first_time", |r| r.tally.first_time),
        Col::time("last_time", |r| r.tally.last_time),
        Col::int("damaged", |r| Some(r.tally.lost.total() as i64)),
        Col::str("note", |r| match &r.status {
            Status::Read if r.is_damaged() => shown(format_args!("read in part: {}", r.tally.lost)),
            Status::Read => text(""),
            Status::Skipped(why) => shown(format_args!("skipped: {why}")),
            Status::Unreadable(why) => shown(format_args!("unreadable: {why}")),
        }),
    ],
};

/// A Key Management Service log and one computer it names.
pub struct HostLog {
    source: std::sync::Arc<str>,
    host: String,
    first_time: Option<Timestamp>,
    last_time: Option<Timestamp>,
    records: u64,
}

pub static HOST_LOGS: Table<HostLog> = Table {
    name: "host_logs",
    about: "The Key Management Service logs in the bundle and the time they span.",
    keep: all,
    lead: &[],
    own: &[
        Col::str("source", |l| text(&l.source)),
        Col::str("host", |l| text(&l.host)),
        Col::time("first_time", |l| l.first_time),
        Col::time("last_time", |l| l.last_time),
        Col::int("records", |l| Some(l.records as i64)),
    ],
};

fn host_logs(sources: &[SourceReport]) -> Vec<HostLog> {
    sources
        .iter()
        .filter(|r| {
            r.status == Status::Read && r.tally.channels.iter().any(crate::kms::ids::is_kms_channel)
        })
        .flat_map(|r| {
            r.tally.computers.iter().map(|c| HostLog {
                source: r.source.clone(),
                host: machine_id(c),
                first_time: r.tally.first_time,
                last_time: r.tally.last_time,
                records: r.tally.records,
            })
        })
        .collect()
}

/// A number of `slmgr` that fits a column of integers.
fn int(v: Option<u64>) -> Option<i64> {
    v.and_then(|n| i64::try_from(n).ok())
}

/// Products read from `slmgr /dlv` outputs of known machines (an output of an unknown machine
/// could only give findings without a subject: the coverage names it instead).
pub static SLMGR: Table<SlmgrRecord> = Table {
    name: "slmgr",
    about: "Products read from `slmgr /dlv` outputs, one row per product.",
    keep: |r| r.computer.is_some(),
    lead: &[],
    own: &[
        Col::str("source", |r| text(&r.source)),
        Col::str("computer", |r| made(machine_id(r.computer.as_deref()?))),
        Col::str("role", |r| text(r.product.role().name())),
        Col::str("name", |r| text(r.product.name.as_deref()?)),
        Col::str("description", |r| text(r.product.description.as_deref()?)),
        Col::str("product_channel", |r| {
            text(r.product.product_channel.as_deref()?)
        }),
        Col::str("partial_key", |r| text(r.product.partial_key.as_deref()?)),
        Col::str("license_status", |r| {
            text(r.product.license_status.as_deref()?)
        }),
        Col::int("minutes_left", |r| int(r.product.minutes_left)),
        Col::str("cmid", |r| text(r.product.cmid.as_deref()?)),
        Col::str("kms_host", |r| {
            made(machine_id(r.product.kms_host.as_deref()?))
        }),
        Col::int("kms_port", |r| r.product.kms_port.map(i64::from)),
        Col::bool("host_caching", |r| r.product.host_caching),
        Col::int("current_count", |r| int(r.product.current_count)),
        Col::int("port", |r| r.product.port.map(i64::from)),
        Col::bool("dns_publishing", |r| r.product.dns_publishing),
        Col::int("total_requests", |r| int(r.product.total_requests)),
        Col::int("failed_requests", |r| int(r.product.failed_requests)),
        Col::str("kms_host_source", |r| text(r.product.kms_host_source?)),
        Col::str("activation_object", |r| {
            text(r.product.activation_object.as_deref()?)
        }),
    ],
};

fn srv(r: &ProbeRecord) -> Option<&SrvLookup> {
    match &r.probe {
        Probe::Srv(l) => Some(l),
        _ => None,
    }
}

fn clock(r: &ProbeRecord) -> Option<&TimeStatus> {
    match &r.probe {
        Probe::Time(t) => Some(t),
        _ => None,
    }
}

fn zone(r: &ProbeRecord) -> Option<&ZoneInfo> {
    match &r.probe {
        Probe::Zone(z) => Some(z),
        _ => None,
    }
}

/// `nslookup -type=srv _vlmcs._tcp.<domain>` answers saved beside the logs (collection script).
pub static SRV_LOOKUPS: Table<ProbeRecord> = Table {
    name: "srv_lookups",
    about: "Answers of `nslookup -type=srv _vlmcs._tcp.<domain>` run on a machine, one row each.",
    keep: |r| r.computer.is_some() && srv(r).is_some(),
    lead: &[],
    own: &[
        Col::str("source", |r| text(&r.source)),
        Col::str("client", |r| made(machine_id(r.computer.as_deref()?))),
        Col::str("query", |r| text(srv(r)?.query.as_deref()?)),
        Col::str("domain", |r| made(domain_id(srv(r)?.domain()?))),
        Col::str("dns_server", |r| text(srv(r)?.server.as_deref()?)),
        Col::bool("found", |r| Some(!srv(r)?.targets.is_empty())),
        Col::str("targets", |r| made(srv(r)?.targets.join(", "))),
        Col::str("target_hosts", |r| {
            let hosts: Vec<String> = srv(r)?
                .targets
                .iter()
                .map(|t| machine_id(t.rsplit_once(':').map_or(t.as_str(), |(h, _)| h)))
                .collect();
            made(hosts.join(", "))
        }),
        Col::str("error", |r| text(srv(r)?.error.as_deref()?)),
    ],
};

/// `w32tm /query /status` outputs saved beside the logs, with the machine's time zone when its
/// `timezone.txt` is there too.
pub static TIME_STATUS: Table<ProbeRecord> = Table {
    name: "time_status",
    about: "Outputs of `w32tm /query /status` (time source, last sync, whether the clock follows \
            a time server) and of the collection script's `timezone.txt`, one row each.",
    keep: |r| r.computer.is_some() && (clock(r).is_some() || zone(r).is_some()),
    lead: &[],
    own: &[
        Col::str("source", |r| text(&r.source)),
        Col::str("client", |r| made(machine_id(r.computer.as_deref()?))),
        Col::str("time_source", |r| text(clock(r)?.source.as_deref()?)),
        Col::str("last_sync", |r| text(clock(r)?.last_sync.as_deref()?)),
        Col::int("stratum", |r| clock(r)?.stratum.map(i64::from)),
        Col::bool("synced", |r| clock(r)?.synced()),
        Col::str("problem", |r| made(clock(r)?.problem()?)),
        Col::str("time_zone", |r| text(&zone(r)?.zone)),
        Col::str("utc_offset", |r| text(zone(r)?.utc_offset.as_deref()?)),
    ],
};

pub static ATTEMPTS: Derived = Derived {
    name: "attempts",
    about: "One row per client request, with its response and host record when found \
            (correlation: rules/stages/attempts.toml).",
    columns: &[
        ("client", Kind::Str),
        ("computer", Kind::Str),
        ("cmid", Kind::Str),
        ("act_id", Kind::Str),
        ("source", Kind::Str),
        ("record_id", Kind::Int),
        ("time", Kind::Time),
        ("request_time", Kind::Time),
        ("kms_host", Kind::Str),
        ("request_hresult", Kind::Str),
        ("response_time", Kind::Time),
        ("response_source", Kind::Str),
        ("response_record_id", Kind::Int),
        ("response_hresult", Kind::Str),
        ("activated", Kind::Bool),
        ("current_count", Kind::Int),
        ("min_count", Kind::Int),
        ("host", Kind::Str),
        ("host_time", Kind::Time),
        ("host_hresult", Kind::Str),
        ("host_source", Kind::Str),
        ("host_record_id", Kind::Int),
        ("host_log_covers", Kind::Bool),
        ("skew_minutes", Kind::Float),
        ("outcome", Kind::Str),
        ("latest", Kind::Bool),
        ("license_status", Kind::Int),
        ("minutes_left", Kind::Int),
        ("product", Kind::Str),
        ("product_group", Kind::Str),
        ("count_pool", Kind::Str),
    ],
};

pub static PARAMS: Table<(String, f64)> = Table {
    name: "params",
    about: "The thresholds rules read (`--set NAME=VALUE`).",
    keep: all,
    lead: &[],
    own: &[
        Col::str("name", |p| text(&p.0)),
        Col::float("value", |p| Some(p.1)),
    ],
};

pub static EXPECTED_HOSTS: Table<String> = Table {
    name: "expected_hosts",
    about: "The KMS hosts the bundle should use (`--expected-host`).",
    keep: all,
    lead: &[],
    own: &[
        Col::str("name", |h| text(h)),
        Col::str("host", |h| made(machine_id(h))),
    ],
};

/// The product catalog (`data/products.toml`): one row per activation id.
pub static PRODUCTS: Table<Known<'static>> = Table {
    name: "products",
    about: "The product catalog: activation id, product, KMS product group, family, the \
            count the group needs and the host keys that activate it.",
    keep: all,
    lead: &[],
    own: &[
        Col::str("act_id", |k| text(k.act_id)),
        Col::str("product", |k| text(k.name)),
        Col::str("product_group", |k| text(&k.group.name)),
        Col::str("family", |k| text(k.group.family.name())),
        Col::int("min_count", |k| Some(k.group.min_count.into())),
        Col::str("host_keys", |k| {
            made(catalog::get().host_keys_for(&k.group.id).join("; "))
        }),
    ],
};

fn products() -> Vec<Known<'static>> {
    let c = catalog::get();
    c.groups
        .iter()
        .flat_map(|g| {
            g.products.iter().map(move |(id, name)| Known {
                act_id: id,
                name,
                group: g,
            })
        })
        .collect()
}

pub static ALL: [&dyn Schema; 16] = [
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
    &SRV_LOOKUPS,
    &TIME_STATUS,
];

/// All tables of one analysis, by name.
pub struct Tables {
    pub frames: Vec<(&'static str, DataFrame)>,
}

impl Tables {
    pub fn get(&self, name: &str) -> Option<&DataFrame> {
        self.frames.iter().find(|(n, _)| *n == name).map(|(_, f)| f)
    }

    /// One table, the others let go.
    pub fn into_table(self, name: &str) -> Option<DataFrame> {
        self.frames
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| f)
    }

    /// With `KMSLENS_TRACE_MEMORY` set, prints each table's rows and size (polars' estimate:
    /// buffers shared between columns are counted in each), to tell what a stage's memory holds.
    pub fn trace_sizes(&self) {
        if !crate::messages::tracing_memory() {
            return;
        }
        for (name, frame) in &self.frames {
            crate::messages::eprint_line(format_args!(
                "table {name}: {} rows, {:.1} MiB",
                frame.height(),
                frame.estimated_size() as f64 / (1 << 20) as f64
            ));
        }
    }

    /// The same tables with no rows: what rule queries are validated against.
    pub fn empty() -> PolarsResult<Tables> {
        let frames = ALL
            .iter()
            .map(|t| Ok((t.name(), t.empty()?)))
            .collect::<PolarsResult<_>>()?;
        Ok(Tables { frames })
    }
}

/// The tables read from a bundle (all but the derived ones, see `correlate`), from its events
/// (moved out of it: the caller lets them go once the tables are built).
pub fn build(
    bundle: &Ingested,
    events: &[KmsEvent],
    params: &Params,
    expected_hosts: &[String],
) -> PolarsResult<Tables> {
    // Every table is built on its own, each reading all its rows: on every core at once.
    let (of_events, others) = rayon::join(
        || event_frames(events),
        || other_frames(bundle, params, expected_hosts),
    );
    let mut frames = others?;
    frames.extend(of_events?);
    Ok(Tables { frames })
}

type Frames = Vec<(&'static str, DataFrame)>;

/// The tables of events: each reads every event and holds the ones it keeps.
static EVENT_TABLES: [&Table<KmsEvent>; 7] = [
    &CLIENT_REQUESTS,
    &CLIENT_RESPONSES,
    &HOST_REQUESTS,
    &HOST_DNS,
    &SPP_ERRORS,
    &KMS_LOG_EVENTS,
    &OTHER_ACTIVATIONS,
];

/// True when a table holds the event: the analysis keeps no other (licensing status checks and
/// other Software Protection events are counted, not kept).
pub fn holds(e: &KmsEvent) -> bool {
    EVENT_TABLES.iter().any(|t| (t.keep)(e))
}

fn event_frames(events: &[KmsEvent]) -> PolarsResult<Frames> {
    use rayon::prelude::*;
    EVENT_TABLES
        .par_iter()
        .map(|t| Ok((t.name, t.frame(events)?)))
        .collect()
}

fn other_frames(
    bundle: &Ingested,
    params: &Params,
    expected_hosts: &[String],
) -> PolarsResult<Frames> {
    let params: Vec<(String, f64)> = params.iter().map(|(n, v)| (n.to_string(), v)).collect();
    Ok(vec![
        (SOURCES.name, SOURCES.frame(&bundle.sources)?),
        (SLMGR.name, SLMGR.frame(&bundle.slmgr)?),
        (PARAMS.name, PARAMS.frame(&params)?),
        (EXPECTED_HOSTS.name, EXPECTED_HOSTS.frame(expected_hosts)?),
        (
            HOST_LOGS.name,
            HOST_LOGS.frame(&host_logs(&bundle.sources))?,
        ),
        (PRODUCTS.name, PRODUCTS.frame(&products())?),
        (SRV_LOOKUPS.name, SRV_LOOKUPS.frame(&bundle.probes)?),
        (TIME_STATUS.name, TIME_STATUS.frame(&bundle.probes)?),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_its_columns_and_distinct_names() {
        for t in ALL {
            let frame = t.empty().unwrap();
            let names: Vec<&str> = t.columns().iter().map(|c| c.0).collect();
            let got: Vec<&str> = frame
                .get_column_names()
                .iter()
                .map(|n| n.as_str())
                .collect();
            assert_eq!(got, names, "{}", t.name());
            let mut unique = names.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(
                unique.len(),
                names.len(),
                "{}: a column named twice",
                t.name()
            );
        }
    }

    #[test]
    fn a_repeated_text_value_is_stored_once_and_reads_back() {
        let long = "bundle.zip!client-0001.corp.example.com/Application.evtx";
        let mut col = TextColumn::with_capacity(4);
        for v in [
            Some(long),
            None,
            Some("short"),
            Some(long),
            Some("another long value here"),
        ] {
            col.push(v);
        }
        let mut again = TextColumn::with_capacity(0);
        again.push(Some(long));
        let ca = col.finish("c".into());
        let values: Vec<Option<&str>> = ca.iter().collect();
        assert_eq!(
            values,
            [
                Some(long),
                None,
                Some("short"),
                Some(long),
                Some("another long value here")
            ]
        );
        let buffers: usize = ca.chunks()[0]
            .as_any()
            .downcast_ref::<polars_arrow::array::Utf8ViewArray>()
            .unwrap()
            .total_buffer_len();
        assert_eq!(buffers, long.len() + "another long value here".len());
    }
}
