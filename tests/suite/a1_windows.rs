//! The Windows build: `kmslens.exe` cross-compiled for x86_64-pc-windows-gnu and run under wine
//! on `samples/` gives the report the Linux build gives. Skipped, with the reason, where the
//! target, MinGW or wine is missing (`.ci/run` installs all three).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "x86_64-pc-windows-gnu";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn found(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Why the Windows build cannot be tried here, if it cannot.
fn missing() -> Option<String> {
    let targets = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match targets {
        Ok(o) if String::from_utf8_lossy(&o.stdout).contains(TARGET) => {}
        _ => {
            return Some(format!(
                "Rust target {TARGET} not installed (rustup target add {TARGET})"
            ));
        }
    }
    if !found("x86_64-w64-mingw32-gcc", "--version") {
        return Some("MinGW-w64 not installed (apt-get install gcc-mingw-w64-x86-64)".into());
    }
    if !found("wine", "--version") {
        return Some("wine not installed (apt-get install wine wine64)".into());
    }
    None
}

/// Builds kmslens.exe in its own target folder (the outer `cargo test` holds the main one).
fn build_exe() -> PathBuf {
    let dir = root().join("target").join("windows");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--bin", "kmslens", "--target", TARGET])
        .args(["--profile", "cross-test"])
        .env("CARGO_TARGET_DIR", &dir)
        .current_dir(root())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cross build for {TARGET} failed");
    let exe = dir.join(TARGET).join("cross-test").join("kmslens.exe");
    add_process_prng(exe.parent().unwrap());
    exe
}

/// Wine 8 (Debian bookworm) lacks `bcryptprimitives.dll`, where Rust's standard library finds
/// `ProcessPrng` on Windows 10 and later: a stand-in built from `tests/fixtures/wine` goes next to
/// the exe (Windows loads a DLL from the exe's folder first). Windows has the real one.
fn add_process_prng(dir: &Path) {
    let status = Command::new("x86_64-w64-mingw32-gcc")
        .args(["-O2", "-shared", "-o"])
        .arg(dir.join("bcryptprimitives.dll"))
        .arg(root().join("tests/fixtures/wine/bcryptprimitives.c"))
        .arg("-ladvapi32")
        .status()
        .expect("MinGW gcc runs");
    assert!(status.success(), "building the ProcessPrng stand-in failed");
}

fn report(cmd: Command) -> (Value, i32, String) {
    report_on(cmd, "samples")
}

fn report_on(mut cmd: Command, bundle: &str) -> (Value, i32, String) {
    let out = cmd
        .args(["analyze", bundle, "--format", "json", "--tz", "Europe/Rome"])
        .current_dir(root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stderr:\n{stderr}"));
    (json, out.status.code().unwrap_or(-1), stderr)
}

/// The same report whatever the separator: `samples\PC1\x.evtx` reads `samples/PC1/x.evtx`.
fn portable(v: &mut Value) {
    match v {
        Value::String(s) => *s = s.replace('\\', "/"),
        Value::Array(a) => a.iter_mut().for_each(portable),
        Value::Object(m) => {
            m.remove("generated");
            m.values_mut().for_each(portable);
        }
        _ => {}
    }
}

#[test]
fn the_windows_exe_under_wine_reports_what_linux_reports() {
    if let Some(why) = missing() {
        eprintln!("SKIPPED: the Windows build test needs {why}");
        return;
    }
    let exe = build_exe();
    let prefix = root().join("target").join("wine-prefix");
    let mut wine = Command::new("wine");
    wine.arg(&exe)
        .env("WINEPREFIX", &prefix)
        .env("WINEDEBUG", "-all");
    let (mut windows, win_code, win_err) = report(wine);
    let (mut linux, linux_code, _) = report(Command::new(env!("CARGO_BIN_EXE_kmslens")));
    assert_eq!(
        win_code, linux_code,
        "exit codes differ; wine stderr:\n{win_err}"
    );
    // Windows names what it read with backslashes, as its users expect.
    let first = windows["inputs"]["sources"][0]["source"]
        .as_str()
        .unwrap_or("");
    assert!(first.starts_with("samples\\"), "{first}");
    portable(&mut windows);
    portable(&mut linux);
    assert_eq!(windows["findings"], linux["findings"]);
    assert_eq!(windows["diagnoses"], linux["diagnoses"]);
    assert_eq!(windows, linux);

    // The same bundle named as a Windows user types it: drive letter, backslashes (wine maps
    // the Unix root to Z:).
    let absolute = format!("Z:{}", root().join("samples").display()).replace('/', "\\");
    let mut wine = Command::new("wine");
    wine.arg(&exe)
        .env("WINEPREFIX", &prefix)
        .env("WINEDEBUG", "-all");
    let (by_drive, code, err) = report_on(wine, &absolute);
    assert_eq!(code, linux_code, "{err}");
    let first = by_drive["inputs"]["sources"][0]["source"]
        .as_str()
        .unwrap_or("");
    assert!(first.starts_with(&absolute), "{first}");
    let verdicts = |r: &Value| -> Vec<(Value, Value)> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["rule"].clone(), f["subjects"].clone()))
            .collect()
    };
    assert_eq!(verdicts(&by_drive), verdicts(&linux));
}
