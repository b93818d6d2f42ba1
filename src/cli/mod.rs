//! Command-line interface: clap definitions, output formatting and error rendering only.
//!
//! Exit codes: 0 success, 1 findings (lint errors, verification mismatch), 2 errors.
//! Every `--json` document carries `schema_version`.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod ade;
mod cert;
mod client;
mod commit;
mod customize;
mod driver;
mod esp;
mod hive;
mod media;
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
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub quiet: bool,
    /// Explain more; with an error, print its full cause chain.
    #[arg(short, long, global = true, help_heading = "Global options")]
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
    /// Build, inspect and retarget ConfigMgr site-based boot media for a CMG (ISO, USB image, folder).
    #[command(subcommand)]
    Media(media::MediaCmd),
    /// Trusted certificates in a boot image: inject, list, remove, verify, and the .reg of the
    /// manual procedure.
    #[command(subcommand)]
    Cert(cert::CertCmd),
    /// Build synthetic samples (a WinPE-shaped boot.wim) for demos and tests.
    #[command(subcommand)]
    Sample(sample::SampleCmd),
    /// Task sequences as code: import, build, lint for internet (CMG) execution, package.
    #[command(subcommand)]
    Ts(ts::TsCmd),
    /// ConfigMgr client install command line for Autopilot into co-management (Intune) or ccmsetup.
    #[command(subcommand)]
    Client(client::ClientCmd),
    /// Autopilot enrollment status page: offline diagnosis from a device's registry.
    #[command(subcommand)]
    Esp(esp::EspCmd),
    /// iOS/iPadOS Automated Device Enrollment profiles as code: init, lint, build (Graph, Apple), import.
    #[command(subcommand)]
    Ade(ade::AdeCmd),
    /// Driver packages: inspect INF packages before staging them into a boot image.
    #[command(subcommand)]
    Driver(driver::DriverCmd),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout.
    Manpage,
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
        Command::Cert(c) => cert::run(c, g),
        Command::Sample(c) => sample::run(c, g),
        Command::Ts(c) => ts::run(c, g),
        Command::Media(c) => media::run(c, g),
        Command::Client(c) => client::run(c, g),
        Command::Esp(c) => esp::run(c, g),
        Command::Ade(c) => ade::run(c, g),
        Command::Driver(c) => driver::run(c, g),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "peforge",
                &mut std::io::stdout(),
            );
            Ok(Status::Success)
        }
        Command::Manpage => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(Status::Success)
        }
    }
}
