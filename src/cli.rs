//! Command line: flags are parsed first (clap), then resolved into the options of each stage.

use crate::ingest::{self, IngestOptions, evtx::EvtxOptions};
use crate::messages;
use crate::report::{rows, summary};
use clap::{Parser, Subcommand};
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
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print every KMS-relevant event found in the bundle as normalized rows.
    ///
    /// BUNDLE is any mix of files, folders (read recursively) and .zip archives. Files are
    /// recognised by content: .evtx logs, exported event XML (wevtutil or Event Viewer, UTF-8 or
    /// UTF-16). A summary of every source read goes to stderr.
    Events(EventsArgs),
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
    /// Do not print the per-source summary on stderr (diagnostics are still printed).
    #[arg(long, short)]
    pub quiet: bool,
    /// Parse every EVTX chunk, even those that name no licensing provider (slower; for checks).
    #[arg(long, hide = true)]
    pub full_parse: bool,
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Events(args) => events(args),
    }
}

/// A progress bar on an interactive stderr, nothing otherwise (pipes, CI).
fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
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
    let opts = IngestOptions {
        evtx: EvtxOptions {
            prefilter: !args.full_parse,
        },
        ..IngestOptions::default()
    };
    let pb = progress_bar();
    let bundle = ingest::ingest(&args.paths, &opts, &pb);
    pb.finish_and_clear();

    messages::print_diagnostics(
        bundle
            .sources
            .iter()
            .flat_map(|s| s.tally.diagnostics.iter()),
    );
    if !args.quiet {
        eprint!("{}", summary::render(&bundle.sources));
    }
    if !bundle.any_log_read() {
        eprintln!("kmslens: error: no event log could be read from the given paths (see above)");
        return ExitCode::from(2);
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
    match written {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let target = args
                .output
                .as_ref()
                .map_or("stdout".to_string(), |p| p.display().to_string());
            eprintln!("kmslens: error: cannot write {target}: {e}");
            let _ = std::io::stderr().flush();
            ExitCode::from(2)
        }
    }
}
