//! How a command that changes an image writes it (`--output`, `--rebuild`); shared by `wim put`,
//! `hive set`, `cert inject` and `cert remove`.

use std::path::PathBuf;

use crate::wim::offline::WriteMode;
use crate::wim::{self, CommitMode, Wim};

/// How to write a modified WIM; shared by every command that changes an image.
#[derive(Debug, Clone, clap::Args)]
pub struct CommitArgs {
    /// Write a new WIM here and leave the input untouched.
    #[arg(long, value_name = "NEW.wim")]
    pub output: Option<PathBuf>,
    /// Rewrite the whole WIM to reclaim space (slower than the default in-place append).
    #[arg(long, conflicts_with = "output")]
    pub rebuild: bool,
}

impl CommitArgs {
    /// The library commit mode.
    pub fn mode(&self) -> CommitMode {
        match (&self.output, self.rebuild) {
            (Some(o), _) => CommitMode::Output(o.clone()),
            (None, true) => CommitMode::Rebuild,
            (None, false) => CommitMode::Append,
        }
    }

    /// The write mode of a plan that edits hives.
    pub fn write_mode(&self, dry_run: bool) -> WriteMode {
        WriteMode {
            dry_run,
            commit: self.mode(),
        }
    }

    /// Opens the WIM for the chosen mode (writable unless writing elsewhere).
    pub fn open(&self, path: &std::path::Path) -> Result<Wim, wim::Error> {
        if self.output.is_some() {
            Wim::open(path)
        } else {
            Wim::open_writable(path)
        }
    }
}
