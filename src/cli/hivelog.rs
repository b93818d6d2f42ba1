//! Transaction-log messages shared by every command that opens a hive, and
//! `peforge hive recover` (issue #10, `shared/specs/hive-logs.md`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Global, Status, output};
use crate::registry::hive::{self, Logs};
use crate::registry::log::{Report, State};

/// Prints, on stderr, what opening `source` did about its logs: a note when logs were replayed,
/// a warning when the hive is dirty and no log could be used (the data may be stale).
pub fn note_read(source: &str, r: &Report, g: &Global) {
    match r.state {
        State::Clean => {}
        State::Recovered => {
            if !g.quiet {
                eprintln!("note: {source}: {}", r.summary());
            }
        }
        State::Stale => eprintln!("warning: {source}: {}", r.summary()),
    }
    for n in r.notes.iter().chain(&r.bin_problems) {
        eprintln!("warning: {source}: {n}");
    }
}

/// The log files a replay applied.
fn applied_files(r: &Report) -> Vec<String> {
    r.applied.iter().map(|a| a.file.clone()).collect()
}

/// After an edit of hives whose logs were replayed: say so, and that the user's logs are stale.
pub fn note_edit(
    input: &Path,
    replayed: &[(Option<u32>, Report)],
    written: Option<&Path>,
    g: &Global,
) {
    if g.quiet {
        return;
    }
    for (index, r) in replayed {
        let place = index.map_or_else(String::new, |i| format!(" (image {i})"));
        eprintln!("note: {}{place}: {}", input.display(), r.summary());
        match (index, written) {
            (_, None) => {}
            (Some(_), Some(_)) => eprintln!(
                "note: the hive was written clean and its logs in the image were emptied (0 bytes), so nothing replays them over the edit"
            ),
            (None, Some(w)) => eprintln!(
                "note: {} is a clean hive; the logs {} are now stale: never put them beside it (other tools would replay them over the edit)",
                w.display(),
                applied_files(r).join(", ")
            ),
        }
    }
}

/// `hive recover --json` (schema `schemas/hive-recover.schema.json`).
#[derive(Serialize)]
struct RecoverDoc<'a> {
    hive: String,
    written: String,
    /// Log files whose changes are now in `written`: stale for it.
    stale_logs: Vec<String>,
    transaction_logs: &'a Report,
}

/// `peforge hive recover HIVE [--log FILE]... -o CLEAN`.
pub fn recover(
    hive: &Path,
    logs: &[PathBuf],
    out: &Path,
    json: bool,
    g: &Global,
) -> anyhow::Result<Status> {
    let r = hive::recover(hive, &Logs::given(logs), out)?;
    let stale = applied_files(&r);
    if json {
        output::print_json(&RecoverDoc {
            hive: hive.display().to_string(),
            written: out.display().to_string(),
            stale_logs: stale,
            transaction_logs: &r,
        })?;
        return Ok(Status::Success);
    }
    output::line(format!("{}: {}", hive.display(), r.summary()))?;
    output::line(format!(
        "wrote {} (clean: sequence numbers {}/{}, no pending log data)",
        out.display(),
        r.seq_after[0],
        r.seq_after[1]
    ))?;
    if !stale.is_empty() && !g.quiet {
        eprintln!(
            "note: the logs {} are stale for {}: do not copy them beside it",
            stale.join(", "),
            out.display()
        );
    }
    for n in r.notes.iter() {
        eprintln!("warning: {}: {n}", hive.display());
    }
    Ok(Status::Success)
}
