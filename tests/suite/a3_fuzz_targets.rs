//! The fuzz targets of `fuzz/` build against today's kmslens. They run on nightly only
//! (`scripts/fuzz.sh`), so nothing else compiles them: three of them had stopped compiling after
//! the decoder's API changed, unnoticed until a fuzz run. Checked here on the stable toolchain
//! (`cargo check`, no libFuzzer run), in its own target folder.

use std::path::Path;
use std::process::Command;

#[test]
fn every_fuzz_target_compiles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // libfuzzer-sys builds libFuzzer's C++ sources even for a check.
    if !Command::new("c++")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("skipped: no C++ compiler (c++) to build libFuzzer; apt-get install g++");
        return;
    }
    let out = Command::new(env!("CARGO"))
        .args(["check", "--quiet", "--bins", "--locked", "--manifest-path"])
        .arg(root.join("fuzz").join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", root.join("target").join("fuzz-check"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "a fuzz target does not compile (or fuzz/Cargo.lock is out of date: run `cargo check \
         --manifest-path fuzz/Cargo.toml` and commit it):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
