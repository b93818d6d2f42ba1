//! `peforge sample`: synthetic inputs for demos, tests and benchmarks.

use std::path::PathBuf;

use super::{Global, Status};
use crate::sample::{self, SampleOptions};

/// Sample builders.
#[derive(Debug, clap::Subcommand)]
pub enum SampleCmd {
    /// Build a WinPE-shaped boot.wim with real hives and stand-in boot files.
    BootWim {
        /// Output WIM.
        #[arg(short, long)]
        output: PathBuf,
        /// Add the ConfigMgr boot image files (sms\bin\x64\TsBootShell.exe, ...).
        #[arg(long)]
        configmgr: bool,
        /// Megabytes of filler files (PE-like: LZX compresses them about 3:1, as real WinPE
        /// files).
        #[arg(long, default_value_t = 4)]
        size_mb: u64,
        /// Random filler that does not compress (for tests of large compressed sizes).
        #[arg(long)]
        incompressible: bool,
        /// Directory copied over the image root (e.g. bootable stand-in boot files).
        #[arg(long)]
        overlay: Option<PathBuf>,
    },
}

pub fn run(cmd: SampleCmd, g: &Global) -> anyhow::Result<Status> {
    match cmd {
        SampleCmd::BootWim {
            output,
            configmgr,
            size_mb,
            incompressible,
            overlay,
        } => {
            let opts = SampleOptions {
                configmgr,
                filler_bytes: size_mb << 20,
                incompressible,
                overlay,
                ..SampleOptions::default()
            };
            sample::build_boot_wim(&output, &opts)?;
            if !g.quiet {
                eprintln!("wrote sample boot image {}", output.display());
            }
            Ok(Status::Success)
        }
    }
}
