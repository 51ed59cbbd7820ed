//! One policy for warnings and errors about inputs: each is a `Diagnostic` attached to the source
//! it concerns, never a panic and never a stop of the run. They are printed once, at the end, one
//! line each, and carried into reports.

use serde::Serialize;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, nothing lost (e.g. a log copied while open).
    Note,
    /// Part of a source was lost or misread (damaged chunk, record, malformed payload).
    Warning,
    /// The whole source could not be read.
    Error,
}

/// Where in a source a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "at", content = "value", rename_all = "snake_case")]
pub enum Location {
    Record(u64),
    Chunk(u64),
    Offset(u64),
    Line(u64),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Record(n) => write!(f, "record {n}"),
            Location::Chunk(n) => write!(f, "chunk {n}"),
            Location::Offset(n) => write!(f, "offset {n:#x}"),
            Location::Line(n) => write!(f, "line {n}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    pub message: String,
}

impl Diagnostic {
    pub fn new(
        severity: Severity,
        source: &str,
        location: Option<Location>,
        message: impl Into<String>,
    ) -> Self {
        let message = one_line(&message.into());
        Diagnostic {
            severity,
            source: source.to_string(),
            location,
            message,
        }
    }
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// How the label is shown on a terminal that takes colour (`--color`).
    fn style(self) -> anstyle::Style {
        use anstyle::AnsiColor;
        match self {
            Severity::Note => anstyle::Style::new().bold(),
            Severity::Warning => AnsiColor::Yellow.on_default().bold(),
            Severity::Error => AnsiColor::Red.on_default().bold(),
        }
    }
}

/// A severity label with its colour codes; `anstream` drops them where colour is off.
struct Label(Severity);

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let style = self.0.style();
        write!(f, "{style}{}{style:#}", self.0.name())
    }
}

impl Diagnostic {
    fn write(&self, f: &mut fmt::Formatter<'_>, sev: &dyn fmt::Display) -> fmt::Result {
        match self.location {
            Some(loc) => write!(f, "{sev}: {}: {loc}: {}", self.source, self.message),
            None => write!(f, "{sev}: {}: {}", self.source, self.message),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, &self.severity.name())
    }
}

/// A diagnostic as printed on stderr: its label coloured.
struct Printed<'a>(&'a Diagnostic);

impl fmt::Display for Printed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write(f, &Label(self.0.severity))
    }
}

/// Error chains from parsers span lines; a diagnostic is one line.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for part in s
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if !out.is_empty() {
            out.push_str(" / ");
        }
        out.push_str(part);
    }
    out
}

/// Renders an error with its causes (`evtx` puts the useful part in `source()`).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    one_line(&s)
}

/// Writes one line to stderr. A closed stderr (`kmslens ... 2>&1 | head`) ends the message, not
/// the run: `eprintln!` would panic on it.
/// Colour codes in it go through `anstream`: kept, dropped or (old Windows consoles) turned into
/// console calls, as `--color`, `NO_COLOR`, `CLICOLOR` and the terminal say.
pub fn eprint_line(line: impl fmt::Display) {
    use std::io::Write;
    let _ = writeln!(anstream::stderr().lock(), "{line}");
}

/// `kmslens: error: {msg}` on stderr.
pub fn error(msg: impl fmt::Display) {
    eprint_line(format_args!("kmslens: {}: {msg}", Label(Severity::Error)));
}

thread_local! {
    /// Set while a source is read under `catch_unwind`: its panic becomes that source's
    /// diagnostic, so the hook stays quiet.
    static CAUGHT_HERE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with panics on this thread reported by the caller (see `install_panic_hook`).
pub fn with_caught_panics<T>(
    f: impl FnOnce() -> T + std::panic::UnwindSafe,
) -> std::thread::Result<T> {
    let was = CAUGHT_HERE.with(|c| c.replace(true));
    let out = std::panic::catch_unwind(f);
    CAUGHT_HERE.with(|c| c.set(was));
    out
}

/// The heap the program uses and the memory the allocator holds resident for it (freed pages not
/// yet given back, metadata), in bytes: jemalloc's statistics, where it is the allocator. Unlike
/// peaks, these do not move with the threads' timing from one run to the next.
#[cfg(not(windows))]
fn heap_figures() -> Option<(usize, usize)> {
    use std::ptr::null_mut;
    fn read(name: &std::ffi::CStr) -> Option<usize> {
        let (mut value, mut len) = (0usize, size_of::<usize>());
        // SAFETY: both statistics are `size_t`, read into one.
        let rc = unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                (&raw mut value).cast(),
                &mut len,
                null_mut(),
                0,
            )
        };
        (rc == 0).then_some(value)
    }
    // The statistics are a snapshot, taken again when the epoch moves on.
    let mut epoch = 1u64;
    // SAFETY: `epoch` is written with a `uint64_t`.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"epoch".as_ptr(),
            null_mut(),
            null_mut(),
            (&raw mut epoch).cast(),
            size_of::<u64>(),
        )
    };
    let used = read(c"stats.allocated")?;
    // Zero when jemalloc is linked but another allocator serves the program (the tests).
    (rc == 0 && used > 0).then_some((used, read(c"stats.resident")?.saturating_sub(used)))
}

#[cfg(windows)]
fn heap_figures() -> Option<(usize, usize)> {
    None
}

/// The tests' settings, read once: they are looked up for every source of a bundle.
#[derive(Clone, Copy)]
enum TestSetting {
    /// `KMSLENS_TEST_STALL`: the end of the name of a source that never finishes.
    Stall,
    /// `KMSLENS_TEST_PANIC`: `STEP:NAME`, where a bug is met.
    Panic,
}

impl TestSetting {
    fn value(self) -> Option<&'static str> {
        static STALL: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        static PANIC: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        let (cell, name) = match self {
            TestSetting::Stall => (&STALL, "KMSLENS_TEST_STALL"),
            TestSetting::Panic => (&PANIC, "KMSLENS_TEST_PANIC"),
        };
        let read = || std::env::var(name).ok().filter(|v| !v.is_empty());
        cell.get_or_init(read).as_deref()
    }
}

/// The tests' stuck reader: a source whose name ends with `KMSLENS_TEST_STALL` never finishes,
/// as a parser caught in an endless loop would not (see the watchdog).
pub fn stall_for_tests(label: &str) {
    if TestSetting::Stall
        .value()
        .is_some_and(|end| label.ends_with(end))
    {
        loop {
            std::thread::park();
        }
    }
}

/// The tests' bug: `KMSLENS_TEST_PANIC=STEP:NAME` panics where `step` (`read` a source, `check`
/// a rule file, `run` a rule) meets a source or rule whose name ends with NAME, as a bug met on
/// hostile input would; each step's catch must make it that source's or rule's error alone.
pub fn panic_for_tests(step: &str, name: &str) {
    let end = TestSetting::Panic
        .value()
        .and_then(|v| v.strip_prefix(step)?.strip_prefix(':'));
    if end.is_some_and(|end| !end.is_empty() && name.ends_with(end)) {
        panic!("test panic: {step} {name}");
    }
}

/// "1 source", "2 sources": a count and its noun.
pub fn plural<N: fmt::Display + PartialEq + From<u8>>(n: N, one: &str, many: &str) -> String {
    format!("{n} {}", if n == N::from(1) { one } else { many })
}

/// How a bug met in kmslens is reported (the fuzz targets look for it).
pub const INTERNAL_ERROR: &str = "internal error";

/// "internal error while {doing} ({the panic's text})": a bug caught where it costs one source or
/// one rule.
pub fn internal_error(doing: &str, panic: &(dyn std::any::Any + Send)) -> String {
    format!("{INTERNAL_ERROR} while {doing} ({})", panic_text(panic))
}

/// The text of a panic payload.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic")
}

/// One line per panic instead of Rust's backtrace dump; none for panics a source read catches.
/// `RUST_BACKTRACE=1` keeps the default report, for a bug report.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if CAUGHT_HERE.with(|c| c.get()) {
            return;
        }
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            return default(info);
        }
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        error(format_args!(
            "internal error: {}{place}; please report it (RUST_BACKTRACE=1 shows where)",
            panic_text(info.payload())
        ));
    }));
}

/// Most diagnostics printed per source; the rest are counted.
pub const MAX_PRINTED_PER_SOURCE: usize = 10;

/// Prints diagnostics to stderr, at most `MAX_PRINTED_PER_SOURCE` per source.
pub fn print_diagnostics<'a>(diags: impl IntoIterator<Item = &'a Diagnostic>) {
    let mut last_source: Option<&str> = None;
    let mut shown = 0usize;
    let mut hidden = 0usize;
    let flush = |src: Option<&str>, hidden: usize| {
        if let (Some(src), true) = (src, hidden > 0) {
            eprint_line(format_args!(
                "kmslens: {}: {src}: {hidden} more problems not shown (`kmslens analyze --format json` lists them all)",
                Label(Severity::Note)
            ));
        }
    };
    for d in diags {
        if last_source != Some(d.source.as_str()) {
            flush(last_source, hidden);
            last_source = Some(d.source.as_str());
            shown = 0;
            hidden = 0;
        }
        if shown < MAX_PRINTED_PER_SOURCE {
            eprint_line(format_args!("kmslens: {}", Printed(d)));
            shown += 1;
        } else {
            hidden += 1;
        }
    }
    flush(last_source, hidden);
}

/// Whether `KMSLENS_TRACE_MEMORY` is set: the stages then say what they hold and when.
pub fn tracing_memory() -> bool {
    std::env::var_os("KMSLENS_TRACE_MEMORY").is_some()
}

/// With `KMSLENS_TRACE_MEMORY` set, prints the resident memory after a stage of the analysis, the
/// peak during that stage (Linux only) and the time since the first stage: what
/// `scripts/bench.py` cannot show, where a run's peak and time come from.
pub fn trace_memory(stage: &str) {
    if !tracing_memory() {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
            .map_or_else(|| "?".to_string(), |kb| (kb / 1024).to_string())
    };
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let elapsed = START.get_or_init(std::time::Instant::now).elapsed();
    let heap = heap_figures().map_or_else(String::new, |(used, held)| {
        format!(
            "; heap {} MiB in use, {} MiB held by the allocator",
            used >> 20,
            held >> 20
        )
    });
    eprint_line(format_args!(
        "memory after {stage}: {} MiB resident ({} MiB of it the binary and files), {} MiB peak during it ({:.2} s since the first stage){heap}",
        field("VmRSS:"),
        field("RssFile:"),
        field("VmHWM:"),
        elapsed.as_secs_f64()
    ));
    // The next stage's peak is its own: writing 5 resets the peak to the current resident size.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_are_one_line_and_name_file_and_place() {
        let d = Diagnostic::new(
            Severity::Warning,
            "b.zip!a/App.evtx",
            Some(Location::Chunk(3)),
            "bad\nmagic\r\n",
        );
        assert_eq!(
            d.to_string(),
            "warning: b.zip!a/App.evtx: chunk 3: bad / magic"
        );
        let d = Diagnostic::new(Severity::Error, "x.xml", Some(Location::Offset(255)), "eof");
        assert_eq!(d.to_string(), "error: x.xml: offset 0xff: eof");
    }
}
