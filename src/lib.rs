//! kmslens: tells why KMS volume activation fails, from the event logs of a support bundle.
//!
//! Pipeline (see `docs/architecture.md`): sources → ingest → model (`kms`) → correlate → tables →
//! rules → diagnose → report.

pub mod analysis;
pub mod cli;
pub mod correlate;
pub mod diagnose;
pub mod export;
pub mod ingest;
pub mod kms;
pub mod messages;
pub mod report;
pub mod rules;
pub mod simulate;
pub mod sources;
pub mod sql;
pub mod tables;
