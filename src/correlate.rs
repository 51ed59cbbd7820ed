//! Correlate: one attempt per client request (12288) with its response (12289, same machine, the
//! next one within a window and before the next request) and the host record (12290) of the same
//! request (same CMID and client, the same client time, or failing that a close host time).
//! Only UTC times are compared; machine names are compared by `machine_id`.

use crate::ingest::Ingested;
use crate::ingest::report::Status;
use crate::kms::event::{ClientRequest, ClientResponse, HostRequest};
use crate::kms::ids;
use crate::kms::thresholds::Params;
use crate::kms::values::{Guid, machine_id};
use crate::kms::{Hresult, KmsBody, KmsEvent};
use jiff::{SignedDuration, Timestamp};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Where a record came from, to cite it.
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    pub source: Arc<str>,
    pub record_id: u64,
    pub time: Timestamp,
}

impl Evidence {
    fn of(e: &KmsEvent) -> Evidence {
        Evidence {
            source: e.source().clone(),
            record_id: e.record_id,
            time: e.time,
        }
    }
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
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Activated => "activated",
            Outcome::InsufficientCount => "insufficient_count",
            Outcome::Rejected => "rejected",
            Outcome::NotActivated => "not_activated",
            Outcome::NoResponse => "no_response",
        }
    }
}

/// One client request and what became of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    /// Machine identity of the client (`machine_id` of its `Computer`).
    pub client: Arc<str>,
    pub computer: Arc<str>,
    pub cmid: Guid,
    pub act_id: Guid,
    pub request: Evidence,
    /// Identity of the KMS host the client asked (`None` when the field was empty).
    pub kms_host: Option<Arc<str>>,
    pub request_hresult: Hresult,
    pub min_count: Option<u32>,
    /// License status and minutes left the client reported in its request.
    pub license_status: u32,
    pub minutes_left: u32,
    pub response: Option<(Evidence, ResponseFacts)>,
    pub host: Option<(Evidence, HostFacts)>,
    /// A log of the asked host covering the request time is in the bundle.
    pub host_log_covers: bool,
    pub outcome: Outcome,
    /// Last attempt of this client for this product.
    pub latest: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResponseFacts {
    pub hresult: Hresult,
    pub activated: bool,
    pub current_count: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HostFacts {
    /// Identity of the host that logged the request.
    pub host: Arc<str>,
    pub hresult: Hresult,
    /// Host clock minus the client clock the request carried, in minutes.
    pub skew_minutes: Option<f64>,
}

/// The time span of each KMS host log in the bundle, by host identity.
pub fn host_log_spans(bundle: &Ingested) -> HashMap<String, Vec<(Timestamp, Timestamp)>> {
    let mut spans: HashMap<String, Vec<(Timestamp, Timestamp)>> = HashMap::new();
    for s in &bundle.sources {
        if s.status != Status::Read || !s.tally.channels.iter().any(ids::is_kms_channel) {
            continue;
        }
        if let (Some(a), Some(b)) = (s.tally.first_time, s.tally.last_time) {
            for c in s.tally.computers.iter() {
                spans.entry(machine_id(c)).or_default().push((a, b));
            }
        }
    }
    spans
}

pub fn correlate(bundle: &Ingested, params: &Params) -> Vec<Attempt> {
    let minutes = |name: &str| SignedDuration::from_secs((params.get(name) * 60.0) as i64);
    let response_window = minutes("response_window_minutes");
    let match_window = minutes("match_window_minutes");
    let client_time_window = minutes("client_time_match_minutes");

    let mut requests: HashMap<Arc<str>, Vec<(&KmsEvent, &ClientRequest)>> = HashMap::new();
    let mut responses: HashMap<Arc<str>, Vec<(&KmsEvent, &ClientResponse)>> = HashMap::new();
    let mut host_records: HashMap<(Guid, String), Vec<(&KmsEvent, &HostRequest)>> = HashMap::new();
    for e in &bundle.events {
        match &e.body {
            KmsBody::ClientRequest(r) => requests
                .entry(e.machine().clone())
                .or_default()
                .push((e, r)),
            KmsBody::ClientResponse(r) => responses
                .entry(e.machine().clone())
                .or_default()
                .push((e, r)),
            KmsBody::HostRequest(h) => host_records
                .entry((h.cmid, machine_id(&h.client_name)))
                .or_default()
                .push((e, h)),
            _ => {}
        }
    }
    let spans = host_log_spans(bundle);
    // Machine identities, shared by the attempts that name them.
    let mut ids = Ids::default();
    let mut used_host: HashSet<(Arc<str>, u64)> = HashSet::new();
    let mut out = Vec::new();
    let mut clients: Vec<&Arc<str>> = requests.keys().collect();
    clients.sort();
    for client in clients {
        let reqs = &requests[client];
        let offset = info_time_offset(reqs);
        let resps = responses.get(client).map(Vec::as_slice).unwrap_or(&[]);
        let mut next_resp = 0usize;
        let first = out.len();
        for (i, (e, r)) in reqs.iter().enumerate() {
            let next_req = reqs.get(i + 1).map(|(n, _)| n.time);
            // Response: the next 12289 of this machine, before the next request, within the window.
            while next_resp < resps.len() && resps[next_resp].0.time < e.time {
                next_resp += 1;
            }
            let response = resps.get(next_resp).filter(|(re, _)| {
                re.time.duration_since(e.time) <= response_window
                    && next_req.is_none_or(|n| re.time < n)
            });
            if response.is_some() {
                next_resp += 1;
            }
            let kms_host = r.kms_host.as_deref().map(|h| ids.get(&machine_id(h)));
            let host = match_host(
                e,
                r,
                client,
                &host_records,
                &mut used_host,
                match_window,
                client_time_window,
            );
            let covered = host.is_some()
                || kms_host
                    .as_ref()
                    .and_then(|h| spans.get(&**h))
                    .is_some_and(|v| v.iter().any(|(a, b)| *a <= e.time && e.time <= *b));
            let response = response.map(|(re, rr)| {
                (
                    Evidence::of(re),
                    ResponseFacts {
                        hresult: rr.hresult,
                        activated: rr.activated,
                        current_count: rr.current_count,
                    },
                )
            });
            let host = host.map(|(he, h)| {
                // The client time the request carries, in UTC: less the client's own offset
                // between that time and its event times (its time zone, if it writes local time).
                // Checked: a crafted time at the end of the calendar has no UTC, not a panic.
                let skew = h.client_time.and_then(|ct| {
                    let utc = ct.checked_sub(SignedDuration::from_secs(offset)).ok()?;
                    Some(he.time.duration_since(utc).as_secs_f64() / 60.0)
                });
                (
                    Evidence::of(he),
                    HostFacts {
                        host: he.machine().clone(),
                        hresult: h.hresult,
                        skew_minutes: skew,
                    },
                )
            });
            let outcome = outcome(
                r,
                response.as_ref().map(|(_, f)| f),
                host.as_ref().map(|(_, h)| h),
            );
            out.push(Attempt {
                client: Arc::clone(client),
                computer: e.computer().clone(),
                cmid: r.cmid,
                act_id: r.act_id,
                request: Evidence::of(e),
                kms_host,
                request_hresult: r.hresult,
                min_count: r.min_count,
                license_status: r.license_status.code(),
                minutes_left: r.minutes_left,
                response,
                host,
                host_log_covers: covered,
                outcome,
                latest: false,
            });
        }
        // The latest attempt per product of this client.
        let mut last: HashMap<Guid, usize> = HashMap::new();
        for (k, a) in out[first..].iter().enumerate() {
            last.insert(a.act_id, first + k);
        }
        let idx: Vec<usize> = last.into_values().collect();
        for k in idx {
            out[k].latest = true;
        }
    }
    out.sort_by(|a, b| (a.request.time, &a.client).cmp(&(b.request.time, &b.client)));
    // Kept to the end of the run: not with up to twice the room the pushes left.
    out.shrink_to_fit();
    out
}

/// One shared copy of each machine identity.
#[derive(Default)]
struct Ids(HashSet<Arc<str>>);

impl Ids {
    fn get(&mut self, id: &str) -> Arc<str> {
        if let Some(v) = self.0.get(id) {
            return v.clone();
        }
        let v: Arc<str> = Arc::from(id);
        self.0.insert(v.clone());
        v
    }
}

/// How far ahead of its own event times (UTC) a client writes the time of its requests, in seconds,
/// rounded to the quarter hour: 0 when the Info time is UTC, the zone's offset when it is local.
/// A wrong clock moves both times alike, so clock skew stays visible. The most common value wins.
fn info_time_offset(reqs: &[(&KmsEvent, &ClientRequest)]) -> i64 {
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for (e, r) in reqs {
        if let Some(ct) = r.client_time {
            // The Info time has minute precision and is truncated: add half a minute back.
            let diff = ct.duration_since(e.time).as_secs() + 30;
            *counts
                .entry((diff as f64 / 900.0).round() as i64 * 900)
                .or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|(off, n)| (*n, -off.abs()))
        .map(|(off, _)| off)
        .unwrap_or(0)
}

/// The host record of this request: same CMID and client; the same client time when both carry
/// one (immune to clock skew), else the closest host time within the window.
fn match_host<'a>(
    e: &KmsEvent,
    r: &ClientRequest,
    client: &str,
    host_records: &HashMap<(Guid, String), Vec<(&'a KmsEvent, &'a HostRequest)>>,
    used: &mut HashSet<(Arc<str>, u64)>,
    match_window: SignedDuration,
    client_time_window: SignedDuration,
) -> Option<(&'a KmsEvent, &'a HostRequest)> {
    let candidates = host_records.get(&(r.cmid, client.to_string()))?;
    let best = candidates
        .iter()
        .filter(|(he, _)| !used.contains(&(he.source().clone(), he.record_id)))
        .filter_map(|(he, h)| {
            let gap = match (r.client_time, h.client_time) {
                (Some(a), Some(b)) => {
                    let g = a.duration_since(b).abs();
                    (g <= client_time_window).then_some(g)
                }
                _ => {
                    let g = he.time.duration_since(e.time).abs();
                    (g <= match_window).then_some(g)
                }
            }?;
            // Among equal client times, the host record nearest in time.
            Some(((gap, he.time.duration_since(e.time).abs()), (*he, *h)))
        })
        .min_by_key(|(k, _)| *k)
        .map(|(_, m)| m)?;
    used.insert((best.0.source().clone(), best.0.record_id));
    Some(best)
}

fn outcome(r: &ClientRequest, resp: Option<&ResponseFacts>, host: Option<&HostFacts>) -> Outcome {
    if host.is_some_and(|h| !h.hresult.is_success()) {
        return Outcome::Rejected;
    }
    match resp {
        Some(f) if f.activated => Outcome::Activated,
        // 0xC004F038: "the count reported by your KMS is insufficient".
        Some(f) if f.hresult == Hresult(0xC004_F038) => Outcome::InsufficientCount,
        Some(f) if !f.hresult.is_success() => Outcome::NotActivated,
        Some(f) if r.min_count.is_some_and(|m| f.current_count < m) => Outcome::InsufficientCount,
        Some(_) => Outcome::NotActivated,
        None => Outcome::NoResponse,
    }
}
