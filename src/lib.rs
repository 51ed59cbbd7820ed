//! kmslens: tells why KMS volume activation fails, from the event logs of a support bundle.
//!
//! Pipeline (see `docs/architecture.md`): sources → ingest → model (`kms`) → report.

pub mod cli;
pub mod ingest;
pub mod kms;
pub mod messages;
pub mod report;
pub mod sources;
