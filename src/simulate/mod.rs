//! Simulate: realistic KMS fleet bundles with known ground truth, for tests, samples and
//! benchmarks. `model` lives the fleet through its days; `xml` writes each machine's logs the way
//! support collects them; `ground-truth.json` says what a correct analysis must find.

pub mod evtx;
pub mod model;
pub mod probes;
pub mod rng;
pub mod slmgr;
pub mod xml;

use model::Fleet;
use rng::Rng;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Three machines cloned from an image not generalized with sysprep share one CMID.
    DupCmid,
    /// One client in ten sits behind a firewall that drops TCP 1688.
    NoResponse,
    /// A quarter of the clients find a forgotten test KMS host through DNS.
    RogueHost,
    /// Clients pinned to per-site hosts, none of which reaches the threshold.
    SplitCount,
    /// The first host cannot update the `_VLMCS` SRV record (12293, 0x80072338).
    DnsPublish,
    /// Fewer machines than the threshold needs (fleet capped at 20).
    InsufficientCount,
    /// One client in twelve runs 5 hours ahead (0xC004F06C).
    ClockSkew,
    /// One client in nine runs a product the host key does not cover (0xC004F042).
    RejectedProduct,
    /// The host's KMS log is too small: it holds only the last fifth of the period.
    LogWrapped,
    /// One client in eight sits in a DNS domain (branch.contoso.com) without a `_vlmcs._tcp`
    /// record (0x8007232B).
    SrvNotFound,
    /// The first host's own KMS key is not activated: it refuses clients (0xC004F041).
    HostUnlicensed,
    /// One client in eleven has a retail key instead of the GVLK: it never asks a KMS host.
    NotKmsClient,
    /// A foreign event with a binary payload planted in the KMS log.
    Tampered,
    /// The first host's clock runs 5 hours ahead: it refuses every client (0xC004F06C).
    HostClockSkew,
    /// Not a fault: one client in seven is a virtual machine activated by its Hyper-V host through
    /// Automatic VM Activation (12309) and never asks a KMS host.
    Avma,
    /// Not a fault: one machine in ten also runs Office 2019 Professional Plus (volume), whose own
    /// requests the host counts apart from Windows (it has the Office host key too). With fewer
    /// than five such machines Office stays unactivated (insufficient count) while Windows is fine.
    Office,
    /// Not a fault: one client in six activates through Active Directory (12308) and never asks a
    /// KMS host; blocked clients (no-response) one in two move to AD-based activation after two
    /// days of failed KMS requests. A correct analysis reports none of them as not activated.
    AdActivation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SimFormat {
    /// `.evtx` files, as `wevtutil epl` or a copy of `winevt\Logs` gives them.
    Evtx,
    /// Exported XML, half wevtutil streams, half Event Viewer files.
    Xml,
    /// One machine in three as EVTX, the others as XML.
    Mixed,
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub clients: usize,
    pub hosts: usize,
    pub days: u32,
    pub seed: u64,
    pub faults: Vec<Fault>,
    pub format: SimFormat,
    /// Unrelated events per KMS event in each Application log.
    pub noise: u32,
    pub zip_some: bool,
    /// Also write each machine's nslookup, w32tm and time zone outputs, as
    /// `scripts/collect-kms-bundle.ps1` saves them.
    pub command_outputs: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            clients: 40,
            hosts: 1,
            days: 30,
            seed: 1,
            faults: vec![],
            format: SimFormat::Xml,
            noise: 0,
            zip_some: false,
            command_outputs: false,
        }
    }
}

/// What was written.
pub struct Written {
    pub files: usize,
    pub events: usize,
    pub bytes: u64,
    pub truth: Vec<model::Truth>,
}

/// Simulates the fleet and writes its bundle into `dir` (created if needed).
pub fn simulate(cfg: &SimConfig, dir: &Path) -> std::io::Result<Written> {
    let fleet = model::build(cfg);
    std::fs::create_dir_all(dir)?;
    let mut w = write_bundle(&fleet, cfg, dir)?;
    let truth = serde_json::to_string_pretty(&fleet.truth).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("ground-truth.json"), truth + "\n")?;
    w.truth = fleet.truth;
    Ok(w)
}

/// Writes every machine's logs into `dir/<machine>/<log>.(evtx|xml)`, or into `dir/<machine>.zip`
/// for every third machine with `zip_some`.
fn write_bundle(fleet: &Fleet, cfg: &SimConfig, dir: &Path) -> std::io::Result<Written> {
    let mut rng = Rng::new(cfg.seed ^ 0x5151);
    let mut written = Written {
        files: 0,
        events: 0,
        bytes: 0,
        truth: vec![],
    };
    let mut machines: Vec<&str> = fleet.logs.iter().map(|l| l.machine.as_str()).collect();
    machines.dedup();
    // Each machine's logs, slmgr output and command outputs, found once (a search of the whole
    // fleet per machine made large fleets quadratic).
    let mut logs_of: HashMap<&str, Vec<&model::SimLog>> = HashMap::new();
    for log in &fleet.logs {
        logs_of.entry(log.machine.as_str()).or_default().push(log);
    }
    let slmgr_of: HashMap<&str, &String> = fleet
        .slmgr
        .iter()
        .rev()
        .map(|(mach, text)| (mach.as_str(), text))
        .collect();
    let probe_of: HashMap<&str, &model::MachineProbe> = fleet
        .probes
        .iter()
        .rev()
        .map(|p| (p.fqdn.as_str(), p))
        .collect();
    for (m, machine) in machines.iter().enumerate() {
        let short = machine.split('.').next().unwrap_or(machine);
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        for log in logs_of.get(machine).into_iter().flatten() {
            // The same events and record ids whatever the format, so formats can be compared.
            let mut events = log.events.clone();
            if log.channel == "Application" && cfg.noise > 0 {
                events.extend(xml::noise(log, cfg.noise, &mut rng));
                events.sort_by_key(|e| e.time);
            }
            let first_id = rng.range(1_000, 90_000);
            written.events += events.len();
            let as_evtx = match cfg.format {
                SimFormat::Evtx => true,
                SimFormat::Xml => false,
                SimFormat::Mixed => m % 3 == 0,
            };
            if as_evtx {
                files.push((
                    format!("{}.evtx", log.channel),
                    evtx::write_log(log, &events, first_id),
                ));
            } else {
                files.push((
                    format!("{}.xml", log.channel),
                    xml::encode(log, &events, first_id, m % 2 == 1),
                ));
            }
        }
        // Support asks for `slmgr /dlv` next to the logs; PowerShell's `>` writes UTF-16LE.
        if let Some(&text) = slmgr_of.get(machine) {
            let bytes = if m % 2 == 0 {
                text.clone().into_bytes()
            } else {
                let mut b = vec![0xFF, 0xFE];
                b.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
                b
            };
            files.push(("slmgr-dlv.txt".to_string(), bytes));
        }
        if cfg.command_outputs
            && let Some(p) = probe_of.get(machine)
        {
            for (name, text) in probes::outputs(p) {
                files.push((name.to_string(), probes::utf16_with_bom(&text)));
            }
        }
        if cfg.zip_some && m % 3 == 2 {
            let path = dir.join(format!("{short}.zip"));
            let mut z = zip::ZipWriter::new(std::fs::File::create(&path)?);
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            for (name, bytes) in &files {
                z.start_file(format!("{short}/{name}"), opts)
                    .map_err(std::io::Error::other)?;
                z.write_all(bytes)?;
            }
            z.finish().map_err(std::io::Error::other)?;
            written.bytes += std::fs::metadata(&path)?.len();
            written.files += 1;
        } else {
            let folder = dir.join(short);
            std::fs::create_dir_all(&folder)?;
            for (name, bytes) in &files {
                std::fs::write(folder.join(name), bytes)?;
                written.bytes += bytes.len() as u64;
                written.files += 1;
            }
        }
    }
    Ok(written)
}
