//! kmslens in the user's shell: completions, man page, and colour as `--color`, `NO_COLOR` and
//! `CLICOLOR` ask.

use assert_cmd::Command;

/// kmslens with no colour settings inherited from the environment running the tests.
fn kmslens() -> Command {
    let mut c = Command::cargo_bin("kmslens").unwrap();
    for var in ["NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "TERM"] {
        c.env_remove(var);
    }
    c
}

fn samples() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn stdout_of(c: &mut Command) -> String {
    String::from_utf8(c.output().unwrap().stdout).unwrap()
}

#[test]
fn completions_for_every_shell_name_the_subcommands_and_flags() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef kmslens"),
        ("fish", "complete -c kmslens"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion"),
    ] {
        let out = kmslens()
            .args(["completions", shell])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let script = String::from_utf8(out).unwrap();
        assert!(script.contains(marker), "{shell}: {marker} missing");
        for word in ["analyze", "events", "fail-on", "expected-host", "color"] {
            assert!(script.contains(word), "{shell}: {word} missing");
        }
    }
    kmslens().args(["completions", "cmd"]).assert().code(2);
}

#[test]
fn man_page_is_roff_with_every_subcommand() {
    let page = stdout_of(kmslens().arg("man"));
    assert!(
        page.starts_with(".ie") || page.contains(".TH kmslens"),
        "{page}"
    );
    assert!(page.contains(".TH kmslens 1"));
    for word in [
        "analyze",
        "events",
        "simulate",
        "completions",
        "\\-\\-color",
    ] {
        assert!(page.contains(word), "{word} missing from the man page");
    }
}

fn report(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut c = kmslens();
    c.args(args).arg("analyze").arg(samples());
    for (k, v) in env {
        c.env(k, v);
    }
    stdout_of(&mut c)
}

const ESC: &str = "\x1b[";

#[test]
fn colour_follows_the_flag_then_no_color_and_clicolor() {
    // Piped output: plain unless forced.
    assert!(!report(&[], &[]).contains(ESC));
    assert!(report(&["--color", "always"], &[]).contains(ESC));
    assert!(report(&[], &[("CLICOLOR_FORCE", "1")]).contains(ESC));
    // NO_COLOR wins over CLICOLOR_FORCE; an empty NO_COLOR asks for nothing.
    assert!(!report(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).contains(ESC));
    assert!(report(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")]).contains(ESC));
    // The flag wins over the environment.
    assert!(!report(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]).contains(ESC));
    assert!(report(&["--color", "always"], &[("NO_COLOR", "1")]).contains(ESC));
    // Same text either way, once the codes are gone.
    let plain = report(&[], &[]);
    let coloured = report(&["--color", "always"], &[]);
    let stripped: String = anstream::adapter::strip_str(&coloured).to_string();
    assert_eq!(plain, stripped);
}

#[test]
fn help_and_usage_errors_follow_the_colour_flag() {
    let out = |args: &[&str]| {
        let o = kmslens().args(args).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
    };
    assert!(out(&["--color", "always", "--help"]).contains(ESC));
    assert!(out(&["analyze", "--help", "--color=always"]).contains(ESC));
    assert!(!out(&["--help"]).contains(ESC));
    assert!(!out(&["--color", "never", "--help"]).contains(ESC));
    // A usage error is written by clap before the command runs.
    assert!(out(&["--color", "always", "analyze", "--no-such-flag"]).contains(ESC));
    assert!(!out(&["--color", "never", "analyze", "--no-such-flag"]).contains(ESC));
    // The last flag wins, and an argument after `--` is not a flag.
    assert!(!out(&["--color", "always", "--color", "never", "--help"]).contains(ESC));
}

#[test]
fn colour_into_a_file_only_when_always() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.txt");
    let path = file.to_str().unwrap();
    kmslens()
        .args(["analyze", "-o", path])
        .arg(samples())
        .output()
        .unwrap();
    assert!(!std::fs::read_to_string(&file).unwrap().contains(ESC));
    kmslens()
        .args(["--color", "always", "analyze", "-o", path])
        .arg(samples())
        .output()
        .unwrap();
    assert!(std::fs::read_to_string(&file).unwrap().contains(ESC));
}

#[test]
fn errors_on_stderr_are_coloured_only_when_asked() {
    let stderr = |args: &[&str]| {
        let out = kmslens()
            .args(args)
            .args(["analyze", "/no/such/bundle"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8(out.stderr).unwrap()
    };
    let plain = stderr(&[]);
    assert!(
        plain.contains("kmslens: error:") && !plain.contains(ESC),
        "{plain}"
    );
    let coloured = stderr(&["--color", "always"]);
    assert!(
        coloured.contains(ESC) && coloured.contains("error"),
        "{coloured}"
    );
}
