//! Command line: flags are parsed first (clap), then resolved into the options of each stage.

use crate::analysis;
use crate::ingest::{self, IngestOptions, evtx::EvtxOptions};
use crate::kms::thresholds::{self, Params};
use crate::messages;
use crate::report::{html, json, markdown, model, rows, summary, text};
use crate::rules::{self, Severity};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "kmslens",
    version,
    about = "Tells why KMS volume activation fails, from the event logs of a support bundle"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// When to colour output: auto (a terminal, unless NO_COLOR is set or CLICOLOR=0), always
    /// (also into files and pipes; CLICOLOR_FORCE=1 does the same), never.
    #[arg(
        long,
        value_enum,
        global = true,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: ColorWhen,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    fn choice(self) -> anstream::ColorChoice {
        match self {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        }
    }

    /// The same for clap's own help and usage errors.
    fn clap(self) -> clap::ColorChoice {
        match self {
            ColorWhen::Auto => clap::ColorChoice::Auto,
            ColorWhen::Always => clap::ColorChoice::Always,
            ColorWhen::Never => clap::ColorChoice::Never,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print every KMS-relevant event found in the bundle as normalized rows.
    ///
    /// BUNDLE is any mix of files, folders (read recursively) and .zip archives. Files are
    /// recognised by content: .evtx logs, exported event XML (wevtutil or Event Viewer, UTF-8 or
    /// UTF-16), text renderings of events, slmgr /dlv output. A summary of every source read goes
    /// to stderr.
    Events(EventsArgs),
    /// Analyse the bundle: correlate requests, responses and host records, run the rules, report.
    ///
    /// Exit code: 0 when no finding is at or above --fail-on, 1 when one is, 2 on usage or fatal
    /// errors (nothing readable, bad --set), 3 with --strict when the analysis is incomplete
    /// (an input unreadable, damaged or timed out, or a rule that could not run); 3 wins over 1.
    Analyze(AnalyzeArgs),
    /// Write the bundle's tables (the ones rules query) as Parquet or CSV files with a
    /// manifest.json, to run the rules on DuckDB or Spark (scripts/engine-rules.py).
    ///
    /// Exports of several parts of a fleet (one folder of machines each) are shards: an engine
    /// reads the union of their tables.
    Export(ExportArgs),
    /// List, show or check rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Write a realistic KMS fleet bundle with injected faults and its ground-truth.json.
    Simulate(SimulateArgs),
    /// List the product catalog: KMS product groups, the count each needs, the host keys (CSVLK)
    /// that activate it, and the activation ids of its editions.
    Products,
    /// Explain an activation error code (0xC004F074, C004F074 or -1073418124) or an activation id
    /// (the product a 12288 or 12290 names).
    Explain {
        #[arg(allow_negative_numbers = true)]
        code: String,
    },
    /// Print a shell completion script: `kmslens completions bash > /etc/bash_completion.d/kmslens`,
    /// or in PowerShell `kmslens completions powershell | Out-String | Invoke-Expression`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `kmslens man > /usr/local/share/man/man1/kmslens.1`.
    Man,
}

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// Folder to write the bundle into (one folder per machine).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[arg(long, default_value_t = 40)]
    pub clients: usize,
    #[arg(long, default_value_t = 1)]
    pub hosts: usize,
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A fault to inject; repeat for several.
    #[arg(long = "fault", value_enum)]
    pub faults: Vec<crate::simulate::Fault>,
    #[arg(long, value_enum, default_value = "xml")]
    pub format: crate::simulate::SimFormat,
    /// Unrelated events per KMS event in each Application log.
    #[arg(long, default_value_t = 0)]
    pub noise: u32,
    /// Zip every third machine's folder, as some support engineers send them.
    #[arg(long)]
    pub zip_some: bool,
    /// Also write each machine's nslookup, w32tm and time zone outputs, as
    /// scripts/collect-kms-bundle.ps1 saves them.
    #[arg(long)]
    pub command_outputs: bool,
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// List the rules (built-in, and those of --rules DIR).
    List {
        #[arg(long, value_name = "DIR")]
        rules: Vec<PathBuf>,
    },
    /// Show one rule in full.
    Show {
        id: String,
        #[arg(long, value_name = "DIR")]
        rules: Vec<PathBuf>,
    },
    /// Check the rule files of a folder: TOML fields, SQL against the tables, message placeholders.
    Check { dir: PathBuf },
    /// The tables rules query: each table, what it holds, its columns and their types.
    Tables,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    /// Markdown, to paste into a ticket.
    Md,
    /// One self-contained HTML page with charts, to attach to a case.
    Html,
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Files, folders and .zip archives to read.
    #[arg(value_name = "BUNDLE", required = true)]
    pub paths: Vec<PathBuf>,
    /// Folder to write the tables and manifest.json into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value = "parquet")]
    pub format: crate::export::ExportFormat,
    /// A KMS host of yours (FQDN or name); repeat for several (the `expected_hosts` table).
    #[arg(long = "expected-host", value_name = "FQDN")]
    pub expected_hosts: Vec<String>,
    /// Override a parameter (the `params` table), e.g. --set skew_minutes=60.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Do not show the progress bar or the summary.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Info,
    Low,
    Medium,
    High,
    Critical,
    Never,
}

impl FailOn {
    fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Info => Some(Severity::Info),
            FailOn::Low => Some(Severity::Low),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::High => Some(Severity::High),
            FailOn::Critical => Some(Severity::Critical),
            FailOn::Never => None,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// Files, folders and .zip archives to read.
    #[arg(value_name = "BUNDLE", required = true)]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// A KMS host of yours (FQDN or name); repeat for several. Clients using any other host are
    /// reported (KMS-ROGUE-HOST).
    #[arg(long = "expected-host", value_name = "FQDN")]
    pub expected_hosts: Vec<String>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value = "high")]
    pub fail_on: FailOn,
    /// A folder of extra rule files; a rule with a built-in id replaces it.
    #[arg(long, value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Override a parameter (see `kmslens rules list` for the names), e.g. --set skew_minutes=60.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// List every finding with its evidence, and every machine of a problem (text, md, html).
    #[arg(long, short)]
    pub verbose: bool,
    /// Exit 3 when the analysis is incomplete: an input unreadable, damaged or timed out, or a
    /// rule that could not run (for CI jobs that must not pass on half a bundle).
    #[arg(long)]
    pub strict: bool,
    /// Do not show the progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// How the bundle is read; shared by `events` and `analyze`.
#[derive(clap::Args, Debug)]
pub struct ReadArgs {
    /// Abandon a source still being read after SECS seconds (a parser stuck on a crafted file),
    /// name it, and analyse the rest; 0 for no limit.
    #[arg(long, value_name = "SECS", default_value_t = ingest::DEFAULT_SOURCE_TIMEOUT_SECS)]
    pub source_timeout: u64,
    /// Parse every EVTX chunk, even those that name no licensing provider (slower; for checks).
    #[arg(long, hide = true)]
    pub full_parse: bool,
    /// Time zone (IANA name, e.g. Europe/Rome) of the customer's clocks: dates of Event Viewer
    /// text renderings without their machine's timezone.txt are read in it, and the text,
    /// Markdown and HTML reports show times in it (JSON and event rows stay UTC).
    #[arg(long, value_name = "ZONE", value_parser = parse_zone, default_value = "UTC")]
    pub tz: jiff::tz::TimeZone,
}

fn parse_zone(name: &str) -> Result<jiff::tz::TimeZone, String> {
    jiff::tz::TimeZone::get(name).map_err(|e| {
        format!("{e}; give an IANA zone name such as Europe/Rome, America/New_York or UTC")
    })
}

impl ReadArgs {
    fn options(&self) -> IngestOptions {
        IngestOptions {
            evtx: EvtxOptions {
                prefilter: !self.full_parse,
                ..EvtxOptions::default()
            },
            source_timeout: (self.source_timeout > 0)
                .then(|| std::time::Duration::from_secs(self.source_timeout)),
            zone: self.tz.clone(),
            ..IngestOptions::default()
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct EventsArgs {
    /// Files, folders and .zip archives to read.
    #[arg(value_name = "BUNDLE", required = true)]
    pub paths: Vec<PathBuf>,
    /// Row format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: rows::RowFormat,
    /// Write rows to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Do not print the per-source summary or the progress bar on stderr (diagnostics are still
    /// printed).
    #[arg(long, short)]
    pub quiet: bool,
    /// List every source in the summary (a bundle of more than 60 lists only those with problems).
    #[arg(long, short)]
    pub verbose: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run() -> ExitCode {
    messages::install_panic_hook();
    // clap writes --help and usage errors while it parses, before `--color` is a value: the
    // flag is looked up in the raw arguments first so that those follow it too.
    let color = color_flag(std::env::args_os().skip(1)).unwrap_or(ColorWhen::Auto);
    let matches = Cli::command().color(color.clap()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // A bug met on some input ends the run with one line (the hook) and exit code 2.
    std::panic::catch_unwind(|| command(cli)).unwrap_or(ExitCode::from(2))
}

/// The last `--color WHEN` or `--color=WHEN` before a `--`; an invalid value is left to clap.
fn color_flag(args: impl Iterator<Item = std::ffi::OsString>) -> Option<ColorWhen> {
    use clap::ValueEnum;
    let mut found = None;
    let mut args = args.map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--" => break,
            "--color" => args.next(),
            _ => arg.strip_prefix("--color=").map(str::to_owned),
        };
        if let Some(w) = value.and_then(|v| ColorWhen::from_str(&v, true).ok()) {
            found = Some(w);
        }
    }
    found
}

fn command(cli: Cli) -> ExitCode {
    cli.color.choice().write_global();
    match cli.command {
        Command::Events(args) => events(args),
        Command::Export(args) => export(args),
        Command::Analyze(args) => analyze(args),
        Command::Rules(cmd) => rules_command(cmd),
        Command::Simulate(args) => simulate(args),
        Command::Products => products(),
        Command::Explain { code } => explain(&code),
        Command::Completions { shell } => completions(shell),
        Command::Man => man(),
    }
}

fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "kmslens", &mut out);
    match emit(None, &String::from_utf8_lossy(&out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fatal(e),
    }
}

fn man() -> ExitCode {
    let cmd = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(cmd).render(&mut out) {
        return fatal(format_args!("cannot render the man page: {e}"));
    }
    match emit(None, &String::from_utf8_lossy(&out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fatal(e),
    }
}

/// A progress bar on an interactive stderr, nothing otherwise (pipes, CI, `--quiet`).
fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} reading logs {bar:30} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta})",
    ) {
        pb.set_style(style);
    }
    pb
}

fn events(args: EventsArgs) -> ExitCode {
    let opts = args.read.options();
    let pb = progress_bar(args.quiet);
    messages::trace_memory("start");
    let bundle = ingest::ingest(&args.paths, &opts, &pb);
    pb.finish_and_clear();
    messages::trace_memory("ingest");

    print_source_diagnostics(&bundle);
    if !args.quiet {
        messages::eprint_line(summary::render(&bundle.sources, args.verbose).trim_end());
    }
    if let Some(stop) = stop_when_nothing_read(&bundle, !args.quiet) {
        return stop;
    }
    let written = match &args.output {
        Some(path) => std::fs::File::create(path).and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            rows::write(&bundle.events, args.format, &mut w)
        }),
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            rows::write(&bundle.events, args.format, &mut w)
        }
    };
    messages::trace_memory("output");
    // The process ends here: freeing every event one by one would only cost time.
    std::mem::forget(bundle);
    match written {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let target = args
                .output
                .as_ref()
                .map_or("stdout".to_string(), |p| p.display().to_string());
            messages::error(format_args!("cannot write {target}: {e}"));
            ExitCode::from(2)
        }
    }
}

fn export(args: ExportArgs) -> ExitCode {
    let params = match Params::with_overrides(&args.set) {
        Ok(p) => p,
        Err(e) => return fatal(e),
    };
    let pb = progress_bar(args.quiet);
    let bundle = analysis::read(&args.paths, args.read.options(), &pb);
    pb.finish_and_clear();
    print_source_diagnostics(&bundle);
    if let Some(stop) = stop_when_nothing_read(&bundle, false) {
        return stop;
    }
    let tables = match analysis::tables_of(bundle, &params, &args.expected_hosts) {
        Ok((_, tables)) => tables,
        Err(e) => return fatal(e),
    };
    let inputs = args.paths.iter().map(|p| p.display().to_string()).collect();
    match crate::export::write(&tables, &args.out, args.format, inputs) {
        Ok(manifest) => {
            if !args.quiet {
                let rows: usize = manifest.tables.iter().map(|t| t.rows).sum();
                messages::eprint_line(format_args!(
                    "wrote {} tables ({rows} rows) and manifest.json to {}",
                    manifest.tables.len(),
                    args.out.display()
                ));
            }
            ExitCode::SUCCESS
        }
        Err(e) => fatal(e),
    }
}

/// Writes `text` to the file or stdout; a closed pipe is not an error.
fn emit(output: Option<&PathBuf>, text: &str) -> Result<(), String> {
    write_out(output, text, false)
}

/// Writes `text` with `styled`: its colour codes kept or dropped as `--color`, `NO_COLOR`,
/// `CLICOLOR` and the destination say (`anstream`; old Windows consoles get console calls).
fn write_out(output: Option<&PathBuf>, text: &str, styled: bool) -> Result<(), String> {
    stream_out(output, styled, |w| w.write_all(text.as_bytes()))
}

/// Writes a report through `body` to the file or stdout, colour kept only where wanted.
fn stream_out(
    output: Option<&PathBuf>,
    styled: bool,
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), String> {
    fn through(
        mut out: impl Write,
        body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        body(&mut out).and_then(|_| out.flush())
    }
    let choice = anstream::ColorChoice::global();
    let res = match (output, styled) {
        (Some(p), true) => std::fs::File::create(p)
            .and_then(|f| through(anstream::AutoStream::new(f, choice), body)),
        (Some(p), false) => {
            std::fs::File::create(p).and_then(|f| through(std::io::BufWriter::new(f), body))
        }
        (None, true) => through(anstream::stdout().lock(), body),
        (None, false) => through(std::io::BufWriter::new(std::io::stdout().lock()), body),
    };
    match res {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!(
            "cannot write {}: {e}",
            output.map_or("stdout".to_string(), |p| p.display().to_string())
        )),
        _ => Ok(()),
    }
}

/// Stops a run that read no event log (exit code 2), saying why; the sources are listed first
/// unless they already were.
fn stop_when_nothing_read(bundle: &ingest::Ingested, listed: bool) -> Option<ExitCode> {
    let why = bundle.nothing_read()?;
    if !listed && !bundle.sources.is_empty() {
        messages::eprint_line(summary::render(&bundle.sources, false).trim_end());
    }
    Some(fatal(why))
}

/// The problems met while reading each source, one line each, on stderr.
fn print_source_diagnostics(bundle: &ingest::Ingested) {
    messages::print_diagnostics(
        bundle
            .sources
            .iter()
            .flat_map(|s| s.tally.diagnostics.iter()),
    );
}

fn fatal(msg: impl std::fmt::Display) -> ExitCode {
    messages::error(msg);
    ExitCode::from(2)
}

fn analyze(args: AnalyzeArgs) -> ExitCode {
    let params = match Params::with_overrides(&args.set) {
        Ok(p) => p,
        Err(e) => return fatal(e),
    };
    let (rules, rule_errors) = rules::load(&args.rules);
    for e in &rule_errors {
        messages::error(format_args!("{e} (rule skipped; the others still run)"));
    }
    let pb = progress_bar(args.quiet);
    let bundle = analysis::read(&args.paths, args.read.options(), &pb);
    pb.finish_and_clear();
    print_source_diagnostics(&bundle);
    // Nothing to analyse: said before the tables and the rules are made for no row.
    if let Some(stop) = stop_when_nothing_read(&bundle, false) {
        return stop;
    }
    let mut a = match analysis::run_on(bundle, &rules, params, args.expected_hosts.clone()) {
        Ok(a) => a,
        Err(e) => return fatal(e),
    };
    // Said on stderr whatever the format, as the rules that failed at load were.
    for e in &a.rule_errors {
        messages::error(format_args!(
            "{e} (its findings are missing; the other rules ran)"
        ));
    }
    a.rule_errors.splice(0..0, rule_errors);
    let now = jiff::Timestamp::now();
    let out = args.output.as_ref();
    let written = match args.format {
        ReportFormat::Text => {
            // Styled always: `emit` keeps the codes only where colour is wanted.
            let opts = text::Options {
                colour: true,
                verbose: args.verbose,
            };
            write_out(out, &text::render(&model::of(&a), &opts), true)
        }
        // Streamed: the report of a large bundle is not held whole in memory.
        ReportFormat::Json => stream_out(out, false, |w| json::write(&a, now, w)),
        ReportFormat::Md => write_out(
            out,
            &markdown::render(&model::of(&a), now, args.verbose),
            false,
        ),
        ReportFormat::Html => {
            write_out(out, &html::render(&model::of(&a), now, args.verbose), false)
        }
    };
    if let Err(e) = written {
        return fatal(e);
    }
    if args.strict {
        let gaps = a.gaps();
        if !gaps.is_empty() {
            messages::error(format_args!(
                "--strict: the analysis is incomplete ({} {}): exit code 3",
                gaps.len(),
                if gaps.len() == 1 { "gap" } else { "gaps" }
            ));
            for g in gaps.iter().take(10) {
                messages::eprint_line(format_args!("  {g}"));
            }
            if gaps.len() > 10 {
                messages::eprint_line(format_args!(
                    "  ... and {} more (see above)",
                    gaps.len() - 10
                ));
            }
            return ExitCode::from(3);
        }
    }
    let failing = args
        .fail_on
        .threshold()
        .is_some_and(|t| a.findings.iter().any(|f| f.severity >= t));
    // The process ends here: freeing every event and table one by one would only cost time.
    std::mem::forget(a);
    if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn rules_command(cmd: RulesCommand) -> ExitCode {
    match cmd {
        RulesCommand::List { rules: dirs } => rules_list(&dirs),
        RulesCommand::Show { id, rules: dirs } => rules_show(&id, &dirs),
        RulesCommand::Check { dir } => rules_check(&dir),
        RulesCommand::Tables => rules_tables(),
    }
}

fn rules_tables() -> ExitCode {
    let mut out = String::new();
    for t in crate::tables::ALL {
        out.push_str(&format!("{}\n  {}\n", t.name(), t.about()));
        for (name, kind) in t.columns() {
            out.push_str(&format!("    {name:<22} {}\n", kind.name()));
        }
        out.push('\n');
    }
    match emit(None, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fatal(e),
    }
}

fn rules_list(dirs: &[PathBuf]) -> ExitCode {
    let (rules, errors) = rules::load(dirs);
    let mut out = String::new();
    for r in &rules {
        out.push_str(&format!(
            "{:<24} {:<8} {}{}\n",
            r.id,
            r.severity.name(),
            r.title,
            if r.origin == "built-in" {
                String::new()
            } else {
                format!(" [{}]", r.origin)
            }
        ));
    }
    out.push_str("\nParameters (--set NAME=VALUE):\n");
    for (name, value, meaning) in thresholds::DEFAULTS {
        out.push_str(&format!("  {name:<28} {value:<8} {meaning}\n"));
    }
    if let Err(e) = emit(None, &out) {
        return fatal(e);
    }
    for e in &errors {
        messages::error(e);
    }
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

fn rules_show(id: &str, dirs: &[PathBuf]) -> ExitCode {
    let (rules, _) = rules::load(dirs);
    let Some(r) = rules.iter().find(|r| r.id.eq_ignore_ascii_case(id)) else {
        let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        return fatal(format!("no rule {id}; known: {}", ids.join(", ")));
    };
    let mut out = format!(
        "{} ({}, {})\n{}\n\nWhy it matters:\n{}\n\nWhat to do:\n",
        r.id,
        r.severity.name(),
        r.origin,
        r.title,
        r.explanation.trim()
    );
    for (k, x) in r.remediation.iter().enumerate() {
        out.push_str(&format!("  {}. {x}\n", k + 1));
    }
    for x in &r.references {
        out.push_str(&format!("See: {x}\n"));
    }
    if !r.requires.is_empty() {
        out.push_str(&format!("\nNeeds rows in: {}\n", r.requires.join(", ")));
    }
    out.push_str(&format!(
        "\nMessage: {}\n\nQuery:\n{}\n",
        r.message,
        r.query.trim()
    ));
    #[derive(serde::Serialize)]
    struct Section<'a> {
        diagnosis: &'a rules::DiagnosisSpec,
    }
    if r.diagnosis != rules::DiagnosisSpec::default()
        && let Ok(d) = toml::to_string(&Section {
            diagnosis: &r.diagnosis,
        })
    {
        out.push_str(&format!("\n{d}"));
    }
    match emit(None, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fatal(e),
    }
}

fn rules_check(dir: &std::path::Path) -> ExitCode {
    match rules::check(dir) {
        Err(e) => fatal(format!("{}: {e}", dir.display())),
        Ok(results) if results.is_empty() => {
            fatal(format!("{}: no .toml rule files", dir.display()))
        }
        Ok(results) => {
            let mut out = String::new();
            for r in &results {
                match r {
                    Ok(rule) => out.push_str(&format!("ok    {} ({})\n", rule.origin, rule.id)),
                    Err(e) => out.push_str(&format!("FAIL  {}: {}\n", e.file, e.error)),
                }
            }
            if let Err(e) = emit(None, &out) {
                return fatal(e);
            }
            if results.iter().all(Result::is_ok) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
    }
}

fn simulate(args: SimulateArgs) -> ExitCode {
    if args.clients == 0 || args.days == 0 {
        return fatal("--clients and --days must be at least 1");
    }
    let mut faults = args.faults.clone();
    faults.sort();
    faults.dedup();
    let cfg = crate::simulate::SimConfig {
        clients: args.clients,
        hosts: args.hosts,
        days: args.days,
        seed: args.seed,
        faults,
        format: args.format,
        noise: args.noise,
        zip_some: args.zip_some,
        command_outputs: args.command_outputs,
    };
    match crate::simulate::simulate(&cfg, &args.out) {
        Ok(w) => {
            messages::eprint_line(format_args!(
                "kmslens: wrote {} files ({} events, {:.1} MB) and ground-truth.json ({} expected findings) to {}",
                w.files,
                w.events,
                w.bytes as f64 / 1e6,
                w.truth.len(),
                args.out.display()
            ));
            ExitCode::SUCCESS
        }
        Err(e) => fatal(format!(
            "cannot write the bundle to {}: {e}",
            args.out.display()
        )),
    }
}

fn products() -> ExitCode {
    let c = crate::kms::catalog::get();
    let mut out = String::new();
    for g in &c.groups {
        out.push_str(&format!(
            "{} ({}, count needed: {}, KMS counted id {})\n  host keys: {}\n",
            g.name,
            g.family.name(),
            g.min_count,
            g.kms_id,
            c.host_keys_for(&g.id).join("; ")
        ));
        for (id, name) in &g.products {
            out.push_str(&format!("  {id}  {name}\n"));
        }
    }
    match emit(None, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fatal(e),
    }
}

/// An activation id explained from the product catalog.
fn explain_product(id: &str) -> ExitCode {
    let c = crate::kms::catalog::get();
    let Some(p) = c.product(id) else {
        return fatal(format!(
            "activation id {id} is not in the product catalog (`kmslens products` lists it; slmgr.vbs /dlv on the machine names the product)"
        ));
    };
    let text = format!(
        "{}\nProduct:       {}\nProduct group: {} ({})\nKMS count:     {} machines needed\nHost keys:     {}\n",
        p.act_id,
        p.name,
        p.group.name,
        p.group.family.name(),
        p.group.min_count,
        c.host_keys_for(&p.group.id).join("; ")
    );
    match emit(None, &text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fatal(e),
    }
}

fn explain(code: &str) -> ExitCode {
    if crate::kms::values::Guid::parse(code).is_some() {
        return explain_product(code);
    }
    let Some(h) = crate::kms::Hresult::parse(code) else {
        return fatal(format!(
            "{code:?} is not an error code; write it as 0xC004F074, C004F074 or -1073418124"
        ));
    };
    let Some(info) = crate::kms::codes::lookup(h) else {
        return fatal(format!(
            "{h} is not an activation error code kmslens knows (see `slmgr /dlv` or the activation error codes reference)"
        ));
    };
    let symbol = if info.symbol.is_empty() {
        String::new()
    } else {
        format!(" ({})", info.symbol)
    };
    let text = format!(
        "{h}{symbol}\nMeaning:       {}\nTypical cause: {}\nWhat to do:    {}\n",
        info.meaning, info.cause, info.fix
    );
    match emit(None, &text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fatal(e),
    }
}
