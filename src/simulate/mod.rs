//! Simulate: realistic KMS fleet bundles with known ground truth, for tests, samples and
//! benchmarks. `model` lives the fleet through its days; `xml` writes each machine's logs the way
//! support collects them; `ground-truth.json` says what a correct analysis must find.

pub mod model;
pub mod rng;
pub mod xml;

use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, serde::Serialize)]
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
    /// A foreign event with a binary payload planted in the KMS log.
    Tampered,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SimFormat {
    Xml,
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
    let mut w = xml::write_bundle(&fleet, cfg, dir)?;
    let truth = serde_json::to_string_pretty(&fleet.truth).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("ground-truth.json"), truth + "\n")?;
    w.truth = fleet.truth;
    Ok(w)
}
