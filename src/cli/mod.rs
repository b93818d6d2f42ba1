//! Command-line interface: clap definitions, output formatting and error rendering only.
//!
//! Exit codes: 0 success, 1 findings (lint errors, verification mismatch), 2 errors.
//! Every `--json` document carries `schema_version`.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod hive;
pub mod output;
pub mod progress;
mod report;
mod sample;
mod ts;
mod wim;

/// Outcome of a command that did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Everything is fine (exit 0).
    Success,
    /// The command ran but found problems (exit 1).
    Findings,
}

/// Options every command shares.
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// Print nothing but results and errors (no progress, no notes).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Explain more; with an error, print its full cause chain.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Parser)]
#[command(
    name = "peforge",
    version,
    about = "Offline WinPE boot-image servicing, CMG boot media and task sequences for ConfigMgr, on Linux",
    after_help = "Exit status: 0 success, 1 findings (lint errors, verification mismatch), 2 error."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect boot images (WIM files).
    #[command(subcommand)]
    Wim(wim::WimCmd),
    /// Read and write offline registry values in an image or a hive file.
    #[command(subcommand)]
    Hive(hive::HiveCmd),
    /// Build synthetic samples (a WinPE-shaped boot.wim) for demos and tests.
    #[command(subcommand)]
    Sample(sample::SampleCmd),
    /// Task sequences as code: import, build, lint for internet (CMG) execution, package.
    #[command(subcommand)]
    Ts(ts::TsCmd),
}

/// Parses `args` and runs the command; the binary's whole `main`.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let global = cli.global.clone();
    match run(cli) {
        Ok(Status::Success) => ExitCode::SUCCESS,
        Ok(Status::Findings) => ExitCode::from(1),
        Err(e) => {
            if report::is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            report::print_error(&e, global.verbose);
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Status> {
    let g = &cli.global;
    match cli.command {
        Command::Wim(c) => wim::run(c, g),
        Command::Hive(c) => hive::run(c, g),
        Command::Sample(c) => sample::run(c, g),
        Command::Ts(c) => ts::run(c, g),
    }
}
