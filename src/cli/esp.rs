//! `peforge esp diagnose`: offline diagnosis of the Autopilot enrollment status page of Autopilot
//! into co-management (`shared/specs/task-sequence.md` §11, seed 001).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Global, Status, hivelog, output};
use crate::diag::{self, HiveView, Level, RegView, Report};
use crate::registry::log::State;
use crate::registry::{Hive, kind};
use crate::wim::{self, Wim, offline};

/// Enrollment status page commands.
#[derive(Debug, clap::Subcommand)]
pub enum EspCmd {
    /// Read the ESP tracking keys of a device's SOFTWARE registry and explain them.
    ///
    /// Reads InstallationState of the ConfigMgr policy provider (client installation, Device
    /// preparation) and of Provisioning_TS (the PROVISIONTS task sequence, Device setup), the
    /// hybrid-join ConfigInfo value, and the ESP timeout if the enrollment holds one; prints the
    /// meaning of each state and the next step the docs recommend (which log, what to check).
    #[command(after_help = "\
Examples:
  peforge esp diagnose --hive SOFTWARE
  peforge esp diagnose --wim captured.wim --index 1 --json
  # from `reg export HKLM\\SOFTWARE\\Microsoft esp.reg` run on the device
  peforge esp diagnose --reg esp.reg

Exit status: 0 no error state (everything complete, or still in
progress, or no tracking keys at all), 1 an error state was found
(InstallationState 4, an undocumented state, or ConfigInfo with the
wrong type), 2 the input could not be read (not a SOFTWARE hive, a
tracked value of the wrong type, ...).")]
    Diagnose(DiagnoseArgs),
}

/// Arguments of `esp diagnose`.
#[derive(Debug, clap::Args)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("input").required(true).multiple(false).args(["hive", "wim", "reg"])))]
pub struct DiagnoseArgs {
    /// A SOFTWARE hive file copied from the device (Windows\System32\config\SOFTWARE).
    #[arg(long, value_name = "SOFTWARE")]
    pub hive: Option<PathBuf>,
    /// A WIM holding the device's Windows (e.g. a captured install.wim); reads its SOFTWARE hive.
    #[arg(long, value_name = "install.wim")]
    pub wim: Option<PathBuf>,
    /// Image index in --wim.
    #[arg(long, default_value_t = 1, requires = "wim")]
    pub index: u32,
    /// A regedit export of HKLM\SOFTWARE (or of its Microsoft subtree).
    #[arg(long, value_name = "export.reg")]
    pub reg: Option<PathBuf>,
    /// Transaction log of --hive (repeat); default: its .LOG1/.LOG2 beside it, any case.
    #[arg(long = "log", value_name = "FILE", requires = "hive")]
    pub logs: Vec<PathBuf>,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// A ConfigMgr log found inside the image.
#[derive(Debug, Serialize)]
struct Log {
    path: String,
    size: u64,
}

/// `--json` document (schema_version 1): the library report plus what was read.
///
/// - `input`: `{kind: "hive"|"wim"|"reg", path, index (wim), dirty (hive, wim)}`
/// - `status`: `ok` | `in_progress` | `error` | `no_tracking_keys`; `summary`: one line
/// - `checks[]`: `{id: "client_install"|"provisioning_ts", title, phase, key, key_present,
///   state (number or null), meaning, level: info|ok|pending|error, next_steps[]}`
/// - `config_info`: `{key, value, type, data, meaning, level, fix}`
/// - `esp_timeout`: `{minutes, source: "policy"|"default", key}`
/// - `notes[]`, `errors` (count of error levels; exit 1 when non-zero), `logs_in_image[]` (wim)
#[derive(Serialize)]
struct Doc<'a> {
    input: Input,
    #[serde(flatten)]
    report: &'a Report,
    errors: usize,
    /// ConfigMgr logs present in the image (--wim only).
    #[serde(skip_serializing_if = "Option::is_none")]
    logs_in_image: Option<Vec<Log>>,
}

#[derive(Serialize)]
struct Input {
    kind: &'static str,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<u32>,
    /// Whether the hive had pending log data (hive and wim inputs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    dirty: Option<bool>,
    /// What was done about its transaction logs (hive and wim inputs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_logs: Option<crate::registry::log::Report>,
}

/// The logs seed 001 points to, as paths inside a Windows image.
const LOGS: &[&str] = &[
    "Windows\\ccmsetup\\Logs\\ccmsetup.log",
    "Windows\\CCM\\Logs\\SMSTS\\smsts.log",
];

pub fn run(cmd: EspCmd, g: &Global) -> anyhow::Result<Status> {
    match cmd {
        EspCmd::Diagnose(a) => diagnose(&a, g),
    }
}

fn diagnose(a: &DiagnoseArgs, g: &Global) -> anyhow::Result<Status> {
    let mut replay = None;
    let (input, report, logs) = if let Some(p) = &a.hive {
        let h = Hive::open_with(p, &crate::registry::hive::Logs::given(&a.logs))?;
        hivelog::note_read(&p.display().to_string(), h.recovery(), g);
        kind::require_software(&h)?;
        replay = Some(h.recovery().clone());
        let r = diag::diagnose(&HiveView::new(&h))?;
        (input("hive", p, None), r, None)
    } else if let Some(p) = &a.reg {
        let v = RegView::read(p)?;
        (input("reg", p, None), diag::diagnose(&v)?, None)
    } else if let Some(p) = &a.wim {
        let w = Wim::open(p)?;
        let x = offline::open_hive(&w, a.index, wim::SOFTWARE_HIVE, false)?;
        let name = PathBuf::from(format!(
            "{} (image {}, {})",
            p.display(),
            a.index,
            wim::SOFTWARE_HIVE
        ));
        hivelog::note_read(&name.display().to_string(), x.hive.recovery(), g);
        replay = Some(x.hive.recovery().clone());
        let r = diag::diagnose(&HiveView::named(&x.hive, name))?;
        let mut logs = Vec::new();
        for l in LOGS {
            if let Some(e) = w.stat(a.index, l)?.filter(|e| !e.is_dir) {
                logs.push(Log {
                    path: (*l).to_string(),
                    size: e.size,
                });
            }
        }
        (input("wim", p, Some(a.index)), r, Some(logs))
    } else {
        anyhow::bail!("give --hive, --wim or --reg");
    };
    let mut report = report;
    report.config_info.fix = fix_for(a);
    let dirty = replay.as_ref().map(crate::registry::log::Report::dirty);
    match replay.as_ref().map(|r| (r.state, r)) {
        Some((State::Stale, r)) => {
            let missing = if r.missing.is_empty() {
                String::new()
            } else {
                format!(" ({} not found)", r.missing.join(", "))
            };
            let note = format!(
                "the hive is dirty and no usable SOFTWARE.LOG1/.LOG2 was found{missing}: its latest changes are in those files and are not read, so the states above may be older than what the device last saw; copy the hive with its .LOG1/.LOG2 files (or give them with --log), or use --reg with an export taken on the device"
            );
            report.notes.insert(0, note);
        }
        Some((State::Recovered, r)) => {
            report.notes.insert(
                0,
                format!(
                    "the hive was dirty: {}, so the states above are what Windows sees",
                    r.summary()
                ),
            );
        }
        _ => {}
    }
    let errors = report.errors();
    if a.json {
        output::print_json_v(
            &Doc {
                input: Input {
                    dirty,
                    transaction_logs: replay,
                    ..input
                },
                report: &report,
                errors,
                logs_in_image: logs,
            },
            2,
        )?;
    } else {
        render(&input, &report, logs.as_deref(), a.wim.as_deref(), a.index)?;
        if !g.quiet && errors > 0 {
            eprintln!("{errors} error state(s) found");
        }
    }
    Ok(if errors > 0 {
        Status::Findings
    } else {
        Status::Success
    })
}

/// The seed's hybrid-join fix as a `peforge hive set` line for this input.
fn fix_for(a: &DiagnoseArgs) -> String {
    let target = match (&a.hive, &a.wim) {
        (Some(h), _) => format!("--hive-file '{}'", h.display()),
        (None, Some(w)) => format!("--wim '{}' --index {}", w.display(), a.index),
        // A .reg export cannot be patched in place: point at the device's hive.
        _ => "--hive-file SOFTWARE".into(),
    };
    format!(
        "peforge hive set {target} --key '{}' --value {} --type sz --data 2",
        diag::CONFIGINFO_KEY,
        diag::CONFIGINFO_VALUE
    )
}

fn input(kind: &'static str, p: &Path, index: Option<u32>) -> Input {
    Input {
        kind,
        path: p.display().to_string(),
        index,
        dirty: None,
        transaction_logs: None,
    }
}

fn tag(l: Level) -> &'static str {
    match l {
        Level::Info => "INFO",
        Level::Ok => "OK",
        Level::Pending => "PENDING",
        Level::Error => "ERROR",
    }
}

fn render(
    input: &Input,
    r: &Report,
    logs: Option<&[Log]>,
    wim: Option<&Path>,
    index: u32,
) -> anyhow::Result<()> {
    match input.index {
        Some(i) => output::line(format!(
            "ESP diagnosis of {} (wim, image {i}, {})",
            input.path,
            wim::SOFTWARE_HIVE
        ))?,
        None => output::line(format!("ESP diagnosis of {} ({})", input.path, input.kind))?,
    }
    output::line(format!("Result: {}", r.summary))?;
    for c in &r.checks {
        output::line("")?;
        output::line(format!("[{}] {} — {}", tag(c.level), c.title, c.phase))?;
        output::line(format!("  {}\\InstallationState", c.key))?;
        output::line(format!("  {}", c.meaning))?;
        for s in &c.next_steps {
            output::line(format!("  - {s}"))?;
        }
    }
    let ci = &r.config_info;
    output::line("")?;
    output::line(format!(
        "[{}] Hybrid join management authority: {}\\{}",
        tag(ci.level),
        ci.key,
        ci.value
    ))?;
    output::line(format!("  {}", ci.meaning))?;
    if ci.level != Level::Ok {
        output::line(format!("  fix (hybrid join only): {}", ci.fix))?;
    }
    output::line("")?;
    match &r.esp_timeout.key {
        Some(k) => output::line(format!(
            "ESP timeout: {} minutes ({k}\\SyncFailureTimeout)",
            r.esp_timeout.minutes
        ))?,
        None => output::line(format!(
            "ESP timeout: not found in the registry; the default is {} minutes",
            r.esp_timeout.minutes
        ))?,
    }
    if let (Some(logs), Some(wim)) = (logs, wim) {
        for l in logs {
            output::line(format!(
                "Log in the image: {} ({} bytes): peforge wim extract {} '{}' --index {index} -o {}",
                l.path,
                l.size,
                wim.display(),
                l.path,
                l.path.rsplit('\\').next().unwrap_or("log")
            ))?;
        }
    }
    for n in &r.notes {
        output::line(format!("Note: {n}"))?;
    }
    Ok(())
}
