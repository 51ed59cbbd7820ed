//! The fleet model: KMS hosts and clients living through `days` days, following §8 (thresholds,
//! 30-day count window, 120-minute retries, 7-day renewals, daily SRV publishing), with faults
//! changing the model the way they happen in reality.

use super::rng::Rng;
use super::{Fault, SimConfig};
use crate::kms::hresult::Hresult;
use crate::kms::ids;
use crate::kms::products::{self, Product};
use jiff::{SignedDuration, Timestamp};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

pub const DOMAIN: &str = "contoso.com";
pub const ROGUE_HOST: &str = "kms-test.contoso.com";
/// The DNS domain of the clients that find no SRV record (srv-not-found fault): no KMS host
/// publishes there.
pub const BRANCH_DOMAIN: &str = "branch.contoso.com";
/// The Active Directory activation object of the ad-activation option.
const AD_OBJECT: &str = "Contoso volume activation object Volume:CSVLK";
const SKEW: SignedDuration = SignedDuration::from_hours(5);
const SPP_SOURCE: &str = "Software Protection Platform Service";
/// A product newer than the hosts' KMS key covers (rejected-product fault): the simulated hosts
/// have a Windows Server 2012 R2 host key (VOLUME_KMS_2012-R2_WIN10), which the product catalog
/// says does not activate Windows Server 2016.
const UNCOVERED_PRODUCT: Product = Product {
    act_id: "8c1c5410-9f39-4805-8c9d-63a07706358f",
    name: "Windows Server 2016 Standard",
    min_count: 5,
};

/// One event as a log holds it.
#[derive(Clone, Debug)]
pub struct SimEvent {
    pub time: Timestamp,
    pub provider: &'static str,
    pub source_name: &'static str,
    pub event_id: u16,
    pub qualifiers: u16,
    pub level: u8,
    pub data: Vec<String>,
    pub binary: Option<Vec<u8>>,
}

/// One log file of one machine.
#[derive(Clone, Debug)]
pub struct SimLog {
    /// FQDN of the machine.
    pub machine: String,
    pub channel: &'static str,
    pub events: Vec<SimEvent>,
}

/// A finding a correct analysis must report.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Truth {
    pub rule: String,
    pub subject: String,
    pub value: String,
    /// The injected fault this finding comes from: its diagnosis must hold it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
}

pub struct Fleet {
    pub logs: Vec<SimLog>,
    pub truth: Vec<Truth>,
    /// `(machine FQDN, slmgr /dlv output)`.
    pub slmgr: Vec<(String, String)>,
    /// What each machine's nslookup and w32tm would show (the collection script's outputs).
    pub probes: Vec<MachineProbe>,
}

/// The facts behind a machine's `nslookup-vlmcs.txt`, `w32tm-status.txt` and `timezone.txt`.
pub struct MachineProbe {
    pub fqdn: String,
    pub domain: &'static str,
    /// `host:port` of the `_vlmcs._tcp` records of its domain.
    pub srv_targets: Vec<String>,
    /// Its clock runs on its own (a skewed client, or the skewed host).
    pub free_running: bool,
    pub host: bool,
}

struct Client {
    /// A VM activated by its Hyper-V host (avma option).
    avma: bool,
    /// An Office installation on the machine `id` (office option): its own CMID and requests, the
    /// machine's Application log.
    office: bool,
    /// When it activates through Active Directory instead (ad-activation option).
    ad_from: Option<Timestamp>,
    fqdn: String,
    id: String,
    cmid: String,
    product: Product,
    /// Hosts it may ask (DNS), and the one it sticks to once activated (host caching).
    host: Option<usize>,
    blocked: bool,
    skewed: bool,
    /// Finds no SRV record: never sends a request, logs 8198 at each logon.
    no_srv: bool,
    activated_at: Option<Timestamp>,
    grace_start: Timestamp,
    last_error: Hresult,
    app: Vec<SimEvent>,
    /// Outcome of the latest attempt: (host index, count echoed, activated).
    last: Option<(usize, u32, bool)>,
    /// The host refused its latest request with an error.
    last_rejected: bool,
    /// Has a retail key: never asks a KMS host (not-kms-client fault).
    retail: bool,
    /// Every host it sent a request to.
    used_hosts: Vec<usize>,
    /// Requests (12288) it logged.
    requests: u32,
}

struct Host {
    fqdn: String,
    id: String,
    in_bundle: bool,
    /// CMID → last request time (30-day window).
    /// CMIDs counted, per count (Windows, or Office) (§8).
    seen: HashMap<(bool, String), Timestamp>,
    kms_log: Vec<SimEvent>,
    app: Vec<SimEvent>,
    /// Best count echoed, per (Office, minimum count).
    best_echo: HashMap<(bool, u32), u32>,
    /// Its own KMS key is not activated (host-unlicensed fault).
    unlicensed: bool,
    /// Its clock runs `SKEW` ahead (host-clock-skew fault).
    clock_ahead: bool,
}

fn ev(time: Timestamp, event_id: u16, qualifiers: u16, data: Vec<String>) -> SimEvent {
    SimEvent {
        time,
        provider: ids::PROVIDER_SPP,
        source_name: SPP_SOURCE,
        event_id,
        qualifiers,
        level: 4,
        data,
        binary: None,
    }
}

fn client_time_padded(t: Timestamp) -> String {
    t.strftime("%Y/%m/%d %H:%M").to_string()
}

fn client_time_host(t: Timestamp) -> String {
    let z = t.to_zoned(jiff::tz::TimeZone::UTC);
    format!(
        "{}/{}/{} {}:{:02}",
        z.year(),
        z.month(),
        z.day(),
        z.hour(),
        z.minute()
    )
}

fn ms(n: u64) -> SignedDuration {
    SignedDuration::from_millis(n as i64)
}

pub fn build(cfg: &SimConfig) -> Fleet {
    let mut rng = Rng::new(cfg.seed);
    let has = |f: Fault| cfg.faults.contains(&f);
    let start: Timestamp = "2026-10-01T06:00:00Z".parse().unwrap();
    let end = start + SignedDuration::from_hours(24 * cfg.days as i64);
    let n_hosts = if has(Fault::SplitCount) {
        cfg.hosts.max(2)
    } else {
        cfg.hosts.max(1)
    };
    let n_clients = if has(Fault::InsufficientCount) {
        cfg.clients.min(20)
    } else {
        cfg.clients
    };

    let mut hosts: Vec<Host> = (0..n_hosts)
        .map(|k| {
            let fqdn = format!("kms{:02}.{DOMAIN}", k + 1);
            Host {
                id: crate::kms::values::machine_id(&fqdn),
                fqdn,
                in_bundle: true,
                seen: HashMap::new(),
                kms_log: vec![],
                app: vec![],
                best_echo: HashMap::new(),
                unlicensed: has(Fault::HostUnlicensed) && k == 0,
                clock_ahead: has(Fault::HostClockSkew) && k == 0,
            }
        })
        .collect();
    if has(Fault::RogueHost) {
        hosts.push(Host {
            fqdn: ROGUE_HOST.into(),
            id: crate::kms::values::machine_id(ROGUE_HOST),
            in_bundle: false,
            seen: HashMap::new(),
            kms_log: vec![],
            app: vec![],
            best_echo: HashMap::new(),
            unlicensed: false,
            clock_ahead: false,
        });
    }
    let rogue = has(Fault::RogueHost).then(|| hosts.len() - 1);

    // Host start: service events, then SRV publishing every 24 h.
    for (k, h) in hosts.iter_mut().enumerate() {
        let ahead = if h.clock_ahead {
            SKEW
        } else {
            SignedDuration::ZERO
        };
        let boot = start - SignedDuration::from_hours(2) + ahead + ms(rng.range(0, 600_000));
        h.app.push(SimEvent {
            level: 0,
            ..ev(boot, 902, 16384, vec!["10.0.20348.2527".into()])
        });
        let mut t = boot + ms(rng.range(20_000, 90_000));
        while t < end + ahead {
            if has(Fault::DnsPublish) && k == 0 {
                h.app.push(ev(
                    t,
                    ids::DNS_PUBLISH_FAILED,
                    16384,
                    vec!["0x80072338".into(), DOMAIN.into()],
                ));
            } else {
                h.app.push(ev(
                    t,
                    ids::DNS_PUBLISH_SUCCEEDED,
                    16384,
                    vec![DOMAIN.into()],
                ));
            }
            t += SignedDuration::from_hours(24) + ms(rng.range(0, 5_000));
        }
    }

    let mut clients = clients(cfg, &mut rng, start, n_clients, n_hosts, rogue);

    let any_client_os = clients.iter().any(|c| c.product.min_count == 25);
    // Requests in time order across the fleet: the host's count depends on who came before.
    let mut queue: BinaryHeap<Reverse<(Timestamp, usize)>> = BinaryHeap::new();
    for (i, c) in clients.iter().enumerate() {
        let first = start + ms(rng.range(0, 20 * 3_600_000));
        // A machine with a retail key never asks a KMS host.
        if !c.retail {
            queue.push(Reverse((first, i)));
        }
    }
    while let Some(Reverse((t, i))) = queue.pop() {
        if t >= end {
            continue;
        }
        let next = visit(
            &mut clients[i],
            &mut hosts,
            t,
            &mut rng,
            rogue,
            any_client_os,
        );
        if let Some(next) = next {
            queue.push(Reverse((next, i)));
        }
    }

    for h in hosts.iter_mut().filter(|h| h.in_bundle) {
        if has(Fault::LogWrapped) {
            // The log is too small for the period: only the last fifth of it is left.
            let keep_from = start + SignedDuration::from_hours((24 * cfg.days as i64 * 4) / 5);
            h.kms_log.retain(|e| e.time >= keep_from);
        }
        if has(Fault::Tampered) {
            // A foreign event planted in the KMS log (SharpEventPersist style, §10).
            h.kms_log.push(SimEvent {
                time: start + SignedDuration::from_hours(30),
                provider: "Persistence",
                source_name: "Persistence",
                event_id: 1337,
                qualifiers: 0,
                level: 4,
                data: vec!["FCE8820000006089E531C0648B50308B520C8B5214".into()],
                binary: Some(vec![0xFC, 0xE8, 0x82, 0, 0, 0, 0x60, 0x89]),
            });
        }
    }
    let probes = machine_probes(cfg, &clients, &hosts);
    let mut truth = truth(cfg, &clients, &hosts, rogue, end);
    if cfg.command_outputs {
        truth.extend(probe_truth(&probes));
        truth.sort();
    }
    let slmgr = slmgr_outputs(&clients, &hosts, start, end, any_client_os);
    let mut logs = Vec::new();
    for h in hosts.into_iter().filter(|h| h.in_bundle) {
        let kms_log = h.kms_log;
        logs.push(SimLog {
            machine: h.fqdn.clone(),
            channel: ids::CHANNEL_KMS,
            events: kms_log,
        });
        logs.push(SimLog {
            machine: h.fqdn,
            channel: "Application",
            events: h.app,
        });
    }
    // An Office installation writes to its machine's Application log.
    let mut machine_log: HashMap<String, usize> = HashMap::new();
    for c in clients {
        match machine_log.get(&c.fqdn) {
            Some(k) => logs[*k].events.extend(c.app),
            None => {
                machine_log.insert(c.fqdn.clone(), logs.len());
                logs.push(SimLog {
                    machine: c.fqdn,
                    channel: "Application",
                    events: c.app,
                });
            }
        }
    }
    for log in &mut logs {
        log.events.sort_by_key(|e| e.time);
    }
    Fleet {
        logs,
        truth,
        slmgr,
        probes,
    }
}

/// Every machine's DNS and clock facts: the hosts that publish in its domain, and whether its
/// clock follows a time server.
fn machine_probes(cfg: &SimConfig, clients: &[Client], hosts: &[Host]) -> Vec<MachineProbe> {
    let has = |f: Fault| cfg.faults.contains(&f);
    // Every host publishes in the main domain but one that cannot (dns-publish), and the rogue
    // test host, which is how clients find it.
    let published: Vec<String> = hosts
        .iter()
        .enumerate()
        .filter(|(k, h)| !(has(Fault::DnsPublish) && *k == 0 && h.in_bundle))
        .map(|(_, h)| format!("{}:1688", h.fqdn))
        .collect();
    let mut out: Vec<MachineProbe> = hosts
        .iter()
        .filter(|h| h.in_bundle)
        .map(|h| MachineProbe {
            fqdn: h.fqdn.clone(),
            domain: DOMAIN,
            srv_targets: published.clone(),
            free_running: h.clock_ahead,
            host: true,
        })
        .collect();
    for c in clients.iter().filter(|c| !c.office) {
        let domain = if c.no_srv { BRANCH_DOMAIN } else { DOMAIN };
        out.push(MachineProbe {
            fqdn: c.fqdn.clone(),
            domain,
            srv_targets: if c.no_srv { vec![] } else { published.clone() },
            free_running: c.skewed,
            host: false,
        });
    }
    out
}

/// What the rules must find in the machines' command outputs.
fn probe_truth(probes: &[MachineProbe]) -> Vec<Truth> {
    let mut out = Vec::new();
    for p in probes {
        let id = crate::kms::values::machine_id(&p.fqdn);
        if p.srv_targets.is_empty() {
            let fault = if p.domain == BRANCH_DOMAIN {
                Fault::SrvNotFound
            } else {
                Fault::DnsPublish
            };
            out.push(t("KMS-SRV-LOOKUP-EMPTY", "client", &id, fault));
        }
        if p.free_running {
            let fault = if p.host {
                Fault::HostClockSkew
            } else {
                Fault::ClockSkew
            };
            out.push(t("KMS-CLOCK-UNSYNCED", "client", &id, fault));
        }
    }
    out
}

/// `slmgr /dlv` of every machine at the end of the period.
fn slmgr_outputs(
    clients: &[Client],
    hosts: &[Host],
    start: Timestamp,
    end: Timestamp,
    any_client_os: bool,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for h in hosts.iter().filter(|h| h.in_bundle) {
        let count = final_count(h, end);
        let requests: Vec<&SimEvent> = h
            .kms_log
            .iter()
            .filter(|e| e.event_id == ids::HOST_REQUEST)
            .collect();
        let failed = requests
            .iter()
            .filter(|e| e.data.get(1).is_some_and(|hr| hr != "0x0"))
            .count() as u64;
        let state = super::slmgr::HostState {
            licensed: !h.unlicensed,
            current_count: count.min(if any_client_os { 50 } else { 10 }),
            total_requests: requests.len() as u64,
            failed_requests: failed,
        };
        out.push((h.fqdn.clone(), super::slmgr::host_dlv(&state)));
    }
    let elapsed = end.duration_since(start).as_secs() / 60;
    // slmgr shows Windows; Office has its own tool (ospp.vbs).
    for c in clients.iter().filter(|c| !c.office) {
        let host = c
            .host
            .or_else(|| c.used_hosts.last().copied())
            .map(|k| format!("{}:1688", hosts[k].fqdn));
        let state = super::slmgr::ClientState {
            product_name: if c.product.min_count == 25 {
                "Enterprise edition"
            } else {
                "ServerStandard edition"
            },
            kms_client_key: !c.retail,
            activated_minutes_left: c
                .activated_at
                .map(|a| 180 * 1440 - end.duration_since(a).as_secs() / 60),
            grace_minutes_left: (30 * 1440 - elapsed).max(0),
            cmid: &c.cmid,
            act_id: c.product.act_id,
            kms_from_dns: if c.no_srv { None } else { host },
            activation_object: c.ad_from.map(|_| AD_OBJECT),
        };
        out.push((c.fqdn.clone(), super::slmgr::client_dlv(&state)));
    }
    out
}

fn t(rule: &str, subject: &str, value: &str, fault: impl Into<Option<Fault>>) -> Truth {
    Truth {
        rule: rule.into(),
        subject: subject.into(),
        value: value.into(),
        fault: fault.into(),
    }
}

/// Why a client is not activated: the first fault that stops it (no KMS client key, then the
/// path to the host: network, DNS, a refused request, then a count too low).
fn client_fault(
    cfg: &SimConfig,
    c: &Client,
    hosts: &[Host],
    rogue: Option<usize>,
) -> Option<Fault> {
    let has = |f: Fault| cfg.faults.contains(&f);
    let last_host = c.last.map(|(k, _, _)| k).or(c.host);
    Some(if c.retail {
        Fault::NotKmsClient
    } else if c.blocked {
        Fault::NoResponse
    } else if c.no_srv {
        Fault::SrvNotFound
    } else if c.skewed {
        Fault::ClockSkew
    } else if c.office {
        Fault::Office
    } else if c.product.act_id == UNCOVERED_PRODUCT.act_id {
        Fault::RejectedProduct
    } else if last_host.is_some_and(|k| hosts[k].unlicensed) {
        Fault::HostUnlicensed
    } else if last_host.is_some_and(|k| hosts[k].clock_ahead) {
        Fault::HostClockSkew
    } else if rogue.is_some() && last_host == rogue {
        Fault::RogueHost
    } else if has(Fault::SplitCount) {
        Fault::SplitCount
    } else if has(Fault::InsufficientCount) {
        Fault::InsufficientCount
    } else {
        return None;
    })
}

/// The host's count at `end`: unique CMIDs accepted in the last 30 days (before the cap).
fn final_count(h: &Host, end: Timestamp) -> u32 {
    let window = SignedDuration::from_hours(24 * 30);
    h.seen
        .iter()
        .filter(|((office, _), s)| !office && end.duration_since(**s) <= window)
        .count() as u32
}

/// What a correct analysis must find, from what the model did.
fn truth(
    cfg: &SimConfig,
    clients: &[Client],
    hosts: &[Host],
    rogue: Option<usize>,
    end: Timestamp,
) -> Vec<Truth> {
    let mut out = client_truth(cfg, clients, hosts, rogue);
    out.extend(host_truth(cfg, clients, hosts, end));
    out.extend(count_truth(cfg, clients, hosts, rogue));
    out.sort();
    out.dedup();
    out
}

/// What the clients' own logs and slmgr outputs must show.
fn client_truth(
    cfg: &SimConfig,
    clients: &[Client],
    hosts: &[Host],
    rogue: Option<usize>,
) -> Vec<Truth> {
    let has = |f: Fault| cfg.faults.contains(&f);
    let mut out = Vec::new();
    if has(Fault::DupCmid) {
        let mut by_cmid: BTreeMap<&str, usize> = BTreeMap::new();
        for c in clients {
            *by_cmid.entry(&c.cmid).or_default() += 1;
        }
        for (cmid, n) in by_cmid {
            if n > 1 {
                out.push(t("KMS-DUP-CMID", "cmid", cmid, Fault::DupCmid));
            }
        }
    }
    for c in clients
        .iter()
        .filter(|c| c.blocked && !c.no_srv && c.requests > 0)
    {
        // One that moved to AD-based activation is no longer waiting for an answer.
        if c.requests >= 2 && c.activated_at.is_none() {
            out.push(t("KMS-NO-RESPONSE", "client", &c.id, Fault::NoResponse));
        }
        // Only a host whose log is in the bundle can show that it never saw the requests.
        if c.used_hosts.iter().any(|k| hosts[*k].in_bundle) {
            out.push(t("KMS-HOST-NOT-LOGGED", "client", &c.id, Fault::NoResponse));
        }
    }
    if let Some(r) = rogue
        && clients.iter().any(|c| c.host == Some(r))
    {
        out.push(t(
            "KMS-ROGUE-HOST",
            "kms_host",
            &hosts[r].id,
            Fault::RogueHost,
        ));
    }
    if has(Fault::DnsPublish) {
        out.push(t(
            "KMS-DNS-PUBLISH-FAILED",
            "host",
            &hosts[0].id,
            Fault::DnsPublish,
        ));
    }
    for c in clients.iter().filter(|c| c.no_srv && !c.app.is_empty()) {
        out.push(t("KMS-SRV-NOT-FOUND", "client", &c.id, Fault::SrvNotFound));
    }
    for c in clients.iter().filter(|c| c.activated_at.is_none()) {
        // Never activated: its latest request, or its slmgr output, reports a grace period.
        out.push(t(
            "KMS-NOT-ACTIVATED",
            "client",
            &c.id,
            client_fault(cfg, c, hosts, rogue),
        ));
        if c.blocked && c.requests >= 2 {
            out.push(t(
                "KMS-HOST-UNREACHABLE",
                "client",
                &c.id,
                Fault::NoResponse,
            ));
        }
    }
    for c in clients
        .iter()
        .filter(|c| c.skewed && !c.blocked && c.requests > 0)
    {
        out.push(t("KMS-CLOCK-SKEW", "client", &c.id, Fault::ClockSkew));
    }
    for c in clients
        .iter()
        .filter(|c| !c.skewed && !c.blocked && c.used_hosts.iter().any(|k| hosts[*k].clock_ahead))
    {
        out.push(t("KMS-CLOCK-SKEW", "client", &c.id, Fault::HostClockSkew));
    }
    for c in clients.iter().filter(|c| c.retail) {
        out.push(t(
            "KMS-NOT-KMS-CLIENT",
            "client",
            &c.id,
            Fault::NotKmsClient,
        ));
    }
    out
}

/// What the hosts' logs and slmgr outputs must show.
fn host_truth(cfg: &SimConfig, clients: &[Client], hosts: &[Host], end: Timestamp) -> Vec<Truth> {
    let has = |f: Fault| cfg.faults.contains(&f);
    let mut out = Vec::new();
    // Hosts that refused requests with an error other than the clock check: seen in their log, or,
    // for a host whose log is not in the bundle, in the responses of its clients.
    for h in hosts {
        let refused = h.kms_log.iter().any(|e| {
            e.event_id == ids::HOST_REQUEST
                && e.data
                    .get(1)
                    .is_some_and(|hr| hr != "0x0" && hr != "0xC004F06C")
        });
        if refused {
            let fault = if h.unlicensed {
                Fault::HostUnlicensed
            } else {
                Fault::RejectedProduct
            };
            let subject = if h.in_bundle { "host" } else { "kms_host" };
            out.push(t("KMS-REQUEST-REJECTED", subject, &h.id, fault));
        }
    }
    for h in hosts.iter().filter(|h| h.in_bundle && h.unlicensed) {
        out.push(t(
            "KMS-HOST-UNLICENSED",
            "host",
            &h.id,
            Fault::HostUnlicensed,
        ));
    }
    // slmgr on the host shows a count of 0 while clients ask it.
    for (k, h) in hosts.iter().enumerate().filter(|(_, h)| h.in_bundle) {
        if final_count(h, end) == 0 && clients.iter().any(|c| c.used_hosts.contains(&k)) {
            out.push(t(
                "KMS-HOST-COUNT-ZERO",
                "host",
                &h.id,
                if h.unlicensed {
                    Some(Fault::HostUnlicensed)
                } else if h.clock_ahead {
                    Some(Fault::HostClockSkew)
                } else {
                    None
                },
            ));
        }
    }
    if has(Fault::LogWrapped) {
        for h in hosts.iter().filter(|h| h.in_bundle) {
            out.push(t("KMS-LOG-COVERAGE", "host", &h.id, Fault::LogWrapped));
        }
    }
    if has(Fault::Tampered) {
        for h in hosts.iter().filter(|h| h.in_bundle) {
            out.push(t("KMS-LOG-TAMPERED", "host", &h.id, Fault::Tampered));
        }
    }
    out
}

/// Counts: hosts short of the threshold, and counts split over hosts.
fn count_truth(
    cfg: &SimConfig,
    clients: &[Client],
    hosts: &[Host],
    rogue: Option<usize>,
) -> Vec<Truth> {
    let has = |f: Fault| cfg.faults.contains(&f);
    let mut out = Vec::new();
    // Hosts whose clients are still refused for want of count at their latest attempt.
    let mut short: Vec<(usize, bool)> = clients
        .iter()
        .filter(|c| !c.last_rejected)
        .filter_map(|c| {
            c.last
                .filter(|(_, echo, act)| !act && *echo < c.product.min_count)
                .map(|(k, _, _)| (k, c.office))
        })
        .collect();
    short.sort();
    short.dedup();
    for (k, office) in short {
        let fault = if office {
            Some(Fault::Office)
        } else if rogue == Some(k) {
            Some(Fault::RogueHost)
        } else if has(Fault::SplitCount) {
            Some(Fault::SplitCount)
        } else if has(Fault::InsufficientCount) {
            Some(Fault::InsufficientCount)
        } else if has(Fault::DupCmid) {
            Some(Fault::DupCmid)
        } else {
            None
        };
        out.push(t("KMS-INSUFFICIENT-COUNT", "kms_host", &hosts[k].id, fault));
    }
    // Split: per product group, several hosts asked, none echoing the minimum, while the group's
    // clients would reach it.
    // (Office, minimum count) → (hosts asked, CMIDs).
    type Pool<'a> = (Vec<usize>, std::collections::BTreeSet<&'a str>);
    let mut groups: BTreeMap<(bool, u32), Pool> = BTreeMap::new();
    for c in clients.iter().filter(|c| c.requests > 0) {
        let g = groups.entry((c.office, c.product.min_count)).or_default();
        for k in &c.used_hosts {
            if !g.0.contains(k) {
                g.0.push(*k);
            }
        }
        g.1.insert(&c.cmid);
    }
    for (pool, (hs, fleet)) in &groups {
        let min = pool.1;
        let best = hs
            .iter()
            .map(|k| hosts[*k].best_echo.get(pool).copied().unwrap_or(0))
            .max()
            .unwrap_or(0);
        if hs.len() >= 2 && best < min && fleet.len() >= min as usize {
            for k in hs {
                out.push(t(
                    "KMS-SPLIT-COUNT",
                    "kms_host",
                    &hosts[*k].id,
                    Fault::SplitCount,
                ));
            }
        }
    }
    out
}

/// The fleet's clients with the faults and options that shape them (who is blocked, skewed,
/// cloned, pinned to a host, runs Office...), before anything happens.
fn clients(
    cfg: &SimConfig,
    rng: &mut Rng,
    start: Timestamp,
    n_clients: usize,
    n_hosts: usize,
    rogue: Option<usize>,
) -> Vec<Client> {
    let has = |f: Fault| cfg.faults.contains(&f);
    let mut clients: Vec<Client> = (0..n_clients)
        .map(|i| {
            let server = i % 5 == 4;
            let no_srv = has(Fault::SrvNotFound) && i % 8 == 6;
            let domain = if no_srv { BRANCH_DOMAIN } else { DOMAIN };
            let fqdn = if server {
                format!("SRV{:03}.{domain}", i + 1)
            } else {
                format!("PC{:03}.{domain}", i + 1)
            };
            let product = if has(Fault::RejectedProduct) && i % 9 == 5 {
                UNCOVERED_PRODUCT
            } else if server {
                if i % 2 == 0 {
                    products::WINDOWS_SERVER
                } else {
                    products::WINDOWS_SERVER_CLOUD
                }
            } else {
                products::WINDOWS_ENTERPRISE
            };
            let ad_from = if !has(Fault::AdActivation) {
                None
            } else if i % 6 == 1 {
                Some(start)
            } else if has(Fault::NoResponse) && i % 20 == 17 {
                // Blocked from the KMS host, moved to AD-based activation two days later.
                Some(start + SignedDuration::from_hours(48))
            } else {
                None
            };
            Client {
                avma: has(Fault::Avma) && i % 7 == 2 && ad_from.is_none(),
                office: false,
                ad_from,
                id: crate::kms::values::machine_id(&fqdn),
                fqdn,
                cmid: rng.guid(),
                product,
                host: None,
                blocked: has(Fault::NoResponse) && i % 10 == 7,
                skewed: has(Fault::ClockSkew) && i % 12 == 3,
                no_srv,
                last_rejected: false,
                retail: has(Fault::NotKmsClient) && i % 11 == 9,
                activated_at: None,
                grace_start: start,
                last_error: Hresult::S_OK,
                app: vec![],
                last: None,
                used_hosts: vec![],
                requests: 0,
            }
        })
        .collect();
    if has(Fault::Office) {
        // One machine in ten also runs Office: an installation with its own CMID.
        let office: Vec<Client> = clients
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 10 == 3)
            .map(|(_, c)| Client {
                avma: false,
                office: true,
                ad_from: None,
                fqdn: c.fqdn.clone(),
                id: c.id.clone(),
                cmid: rng.guid(),
                product: products::OFFICE_2019_PRO_PLUS,
                host: c.host,
                blocked: c.blocked,
                skewed: c.skewed,
                no_srv: false,
                last_rejected: false,
                retail: false,
                activated_at: None,
                grace_start: start,
                last_error: Hresult::S_OK,
                app: vec![],
                last: None,
                used_hosts: vec![],
                requests: 0,
            })
            .collect();
        clients.extend(office);
    }
    if has(Fault::DupCmid) && clients.len() > 8 {
        // Three machines deployed from an image that was not generalized.
        let shared = clients[5].cmid.clone();
        for c in clients.iter_mut().skip(6).take(2) {
            c.cmid = shared.clone();
        }
    }
    if has(Fault::SplitCount) {
        // Each site's clients find only their own site's host (site-specific SRV records).
        for (i, c) in clients.iter_mut().enumerate() {
            c.host = Some(i % n_hosts);
        }
    }
    if let Some(r) = rogue {
        // A quarter of the clients find the rogue host through DNS.
        for (i, c) in clients.iter_mut().enumerate() {
            if i % 4 == 1 {
                c.host = Some(r);
            }
        }
    }
    clients
}

/// One turn of a client at `t`: the machine starts, activates through AVMA or AD, fails its SRV
/// lookup, or sends a KMS request and handles the answer. Returns when it acts next (none: done).
fn visit(
    c: &mut Client,
    hosts: &mut [Host],
    t: Timestamp,
    rng: &mut Rng,
    rogue: Option<usize>,
    any_client_os: bool,
) -> Option<Timestamp> {
    let real_hosts = if rogue.is_some() {
        hosts.len() - 1
    } else {
        hosts.len()
    };
    if c.app.is_empty() && !c.office {
        // The machine starts: the Software Protection service logs its start (§4.6).
        let boot = if c.skewed { t + SKEW } else { t } - SignedDuration::from_secs(40);
        c.app.push(ev(boot, 900, 16384, vec!["<explicit>".into()]));
        let started = ev(
            boot + SignedDuration::from_secs(3),
            902,
            16384,
            vec!["10.0.22621.4111".into()],
        );
        c.app.push(SimEvent {
            level: 0,
            ..started
        });
    }
    if c.avma && c.activated_at.is_none() {
        // The Hyper-V host answered the VM's AVMA request (§1): no KMS.
        c.app.push(ev(
            t,
            ids::AVMA_RESPONSE,
            16384,
            vec!["0x0".into(), "AVMA activation by the Hyper-V host".into()],
        ));
        c.activated_at = Some(t);
        c.last = None;
        return None;
    }
    if let Some(at) = c.ad_from
        && t >= at
        && c.activated_at.is_none()
    {
        // Activated by an activation object in Active Directory (§1, §4.6): no KMS from now on.
        c.app.push(ev(
            t,
            ids::AD_ACTIVATION,
            16384,
            vec![
                c.product.act_id.to_string(),
                AD_OBJECT.into(),
                "CN=contoso-ao-1,CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,DC=contoso,DC=com".into(),
            ],
        ));
        c.activated_at = Some(t);
        c.last = None;
        return None;
    }
    if c.no_srv {
        // The SRV lookup fails before any request: slui logs 8198 at logon, once a day.
        let cmd = format!(
            "RuleId=31e71c49-8da7-4a2f-ad92-45d98a1c79ba;Action=AutoActivate;AppId=55c92734-d682-4d71-983e-d6ec3f16059f;SkuId={};NotificationInterval=1440;Trigger=UserLogon;SessionId=1",
            c.product.act_id
        );
        let e = ev(
            t,
            ids::ACTIVATION_FAILED,
            49152,
            vec!["hr=0x8007232B".into(), cmd],
        );
        c.app.push(SimEvent { level: 2, ..e });
        return Some(t + SignedDuration::from_hours(24) + ms(rng.range(0, 600_000)));
    }
    // DNS gives a random host among the published ones; a caching client keeps its host.
    let k = match c.host {
        Some(k) => k,
        None => rng.range(0, real_hosts as u64) as usize,
    };
    if c.activated_at.is_some() {
        c.host = Some(k);
    }
    if !c.used_hosts.contains(&k) {
        c.used_hosts.push(k);
    }
    let clock = if c.skewed { t + SKEW } else { t };
    let (status, minutes) = match c.activated_at {
        Some(a) => (
            1u32,
            (180 * 1440 - (t.duration_since(a).as_secs() / 60)).max(0),
        ),
        None => (
            2u32,
            (30 * 1440 - (t.duration_since(c.grace_start).as_secs() / 60)).max(0),
        ),
    };
    let host_fqdn = hosts[k].fqdn.clone();
    let info = format!(
        "{}, 0x00000000, {host_fqdn}:1688, {}, {}, 0, {status}, {minutes}, {}, {}",
        c.last_error,
        c.cmid,
        client_time_padded(clock),
        c.product.act_id,
        c.product.min_count
    );
    c.requests += 1;
    c.app
        .push(ev(clock, ids::CLIENT_REQUEST, 16384, vec![info]));
    if c.blocked {
        // TCP 1688 blocked: nothing reaches the host, nothing comes back.
        c.last_error = Hresult(0xC004_F074);
        c.last = None;
        return Some(t + SignedDuration::from_mins(120) + ms(rng.range(0, 60_000)));
    }
    let (host_hr, echo) = host_answers(
        c,
        &mut hosts[k],
        t,
        clock,
        (status, minutes),
        rng,
        any_client_os,
    );
    let h = &mut hosts[k];
    let activated = host_hr.is_success() && echo >= c.product.min_count;
    let resp_hr = if host_hr.is_success() {
        Hresult::S_OK
    } else {
        host_hr
    };
    let resp = format!(
        "{resp_hr}, 0x00000000, {}, 0, {echo}, 120, 10080, {}",
        u8::from(activated),
        client_time_padded(clock)
    );
    c.app.push(ev(
        clock + ms(rng.range(950, 1500)),
        ids::CLIENT_RESPONSE,
        16384,
        vec![resp],
    ));
    let best = h
        .best_echo
        .entry((c.office, c.product.min_count))
        .or_default();
    *best = (*best).max(echo);
    c.last = Some((k, echo, activated));
    c.last_rejected = !host_hr.is_success();
    if activated {
        log_activation(c, clock, rng);
    }
    let next = if activated {
        c.activated_at = Some(t);
        c.last_error = Hresult::S_OK;
        SignedDuration::from_mins(10080)
    } else {
        c.last_error = if !host_hr.is_success() {
            host_hr
        } else {
            Hresult(0xC004_F038)
        };
        SignedDuration::from_mins(120)
    };
    Some(t + next + ms(rng.range(0, 60_000)))
}

/// The host's side of a request: its clock check, key and count, and the 12290 it logs. Returns
/// its answer and the count it echoes.
fn host_answers(
    c: &Client,
    h: &mut Host,
    t: Timestamp,
    clock: Timestamp,
    (status, minutes): (u32, i64),
    rng: &mut Rng,
    any_client_os: bool,
) -> (Hresult, u32) {
    let host_clock = if h.clock_ahead { t + SKEW } else { t };
    let host_time = host_clock + ms(rng.range(150, 900));
    // The host compares the client's clock with its own (§8: more than 4 hours apart).
    let host_hr = if c.skewed != h.clock_ahead {
        Hresult(0xC004_F06C)
    } else if h.unlicensed {
        Hresult(0xC004_F041)
    } else if c.product.act_id == UNCOVERED_PRODUCT.act_id {
        Hresult(0xC004_F042)
    } else {
        Hresult::S_OK
    };
    if host_hr.is_success() {
        h.seen.insert((c.office, c.cmid.clone()), t);
    }
    let window = SignedDuration::from_hours(24 * 30);
    let count = h
        .seen
        .iter()
        .filter(|((office, _), s)| *office == c.office && t.duration_since(**s) <= window)
        .count() as u32;
    // The count cache holds 50 CMIDs, 10 on a host that serves only servers (§8).
    let cap = if any_client_os { 50 } else { 10 };
    let echo = count.min(cap).min(2 * c.product.min_count);
    let fields = [
        if host_hr.is_success() {
            "0x0".to_string()
        } else {
            host_hr.to_string()
        },
        c.product.min_count.to_string(),
        c.fqdn.clone(),
        c.cmid.clone(),
        client_time_host(clock),
        "0".into(),
        status.to_string(),
        minutes.to_string(),
        c.product.act_id.to_string(),
    ];
    let mut data = vec![fields.join(",")];
    data.extend(fields);
    h.kms_log.push(SimEvent {
        source_name: "KmsRequests",
        ..ev(host_time, ids::HOST_REQUEST, 16384, data)
    });
    (host_hr, echo)
}

/// After an activation: a licensing status check, and the service scheduling its next start
/// (§4.6, §5.4).
fn log_activation(c: &mut Client, clock: Timestamp, rng: &mut Rng) {
    // A licensing status check, and the service scheduling its next start (§4.6, §5.4).
    let status = format!(
        "1: {}, 1, 1 [(0 [0x00000000, 1, 0], [( 1 0x00000000)])(1 )(2 )(3 )]",
        c.product.act_id
    );
    let after = clock + ms(rng.range(1_500, 2_500));
    c.app.push(ev(
        after,
        ids::LICENSING_STATUS,
        16384,
        vec!["55c92734-d682-4d71-983e-d6ec3f16059f".into(), status],
    ));
    let restart = (clock + SignedDuration::from_mins(10080))
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    c.app.push(ev(
        after + ms(300),
        16384,
        16384,
        vec![restart, "RulesEngine".into()],
    ));
}
