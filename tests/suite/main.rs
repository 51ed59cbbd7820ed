//! The integration tests, one binary: linked once instead of once per file, and run as one pool
//! of tests, so a long test (a JVM starting, a cross build) leaves no core idle at the end of its
//! file.
//!
//! libtest starts tests in name order, as many at once as there are cores. The long ones come
//! first (the `a1_`/`a2_`/`a3_` prefixes): the Windows cross build, the engines over a
//! 2000-client fleet and the fuzz targets' check then run beside the short ones instead of alone
//! after them.

mod common;

mod a1_windows;
mod a2_engines;
mod a3_fuzz_targets;
mod analyze;
mod analyze_cli;
mod cli;
mod corpus;
mod diagnose;
mod evtx_vs_xml;
mod mutation;
mod params;
mod robustness;
mod shell;
mod simulate;
mod slmgr;
mod slmgr_rules;
mod text_shapes;
mod xml_shapes;
mod zip;
