//! `peforge hive get|set`: generic offline registry access, in a WIM image or a loose hive file.

use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;

use super::commit::CommitArgs;
use super::{Global, Status, output, report};
use crate::registry::edit::{self, Change, SetPlan};
use crate::registry::hive::{Hive, RawValue};
use crate::registry::value::{self, display_name, render, type_name, value_name};
use crate::wim::{Wim, offline};

/// Which hive of the image.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum HiveName {
    /// Windows\System32\config\SOFTWARE
    #[value(name = "SOFTWARE", alias = "software")]
    Software,
    /// Windows\System32\config\SYSTEM
    #[value(name = "SYSTEM", alias = "system")]
    System,
    /// Windows\System32\config\DEFAULT
    #[value(name = "DEFAULT", alias = "default")]
    Default,
}

impl HiveName {
    fn inner(self) -> &'static str {
        match self {
            HiveName::Software => "Windows\\System32\\config\\SOFTWARE",
            HiveName::System => "Windows\\System32\\config\\SYSTEM",
            HiveName::Default => "Windows\\System32\\config\\DEFAULT",
        }
    }
}

/// Value types accepted by `hive set`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum TypeArg {
    /// REG_SZ
    Sz,
    /// REG_EXPAND_SZ
    #[value(name = "expand_sz")]
    ExpandSz,
    /// REG_DWORD (decimal or 0x-prefixed hex)
    Dword,
    /// REG_QWORD (decimal or 0x-prefixed hex)
    Qword,
    /// REG_BINARY (hex, commas and spaces allowed)
    Binary,
    /// REG_MULTI_SZ (repeat --data, one string each)
    #[value(name = "multi_sz")]
    MultiSz,
}

impl From<TypeArg> for value::ValueType {
    fn from(t: TypeArg) -> value::ValueType {
        match t {
            TypeArg::Sz => value::ValueType::Sz,
            TypeArg::ExpandSz => value::ValueType::ExpandSz,
            TypeArg::Dword => value::ValueType::Dword,
            TypeArg::Qword => value::ValueType::Qword,
            TypeArg::Binary => value::ValueType::Binary,
            TypeArg::MultiSz => value::ValueType::MultiSz,
        }
    }
}

/// Where the hive is.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// The WIM holding the hive (boot.wim or install.wim).
    #[arg(
        long,
        required_unless_present = "hive_file",
        conflicts_with = "hive_file"
    )]
    pub wim: Option<PathBuf>,
    /// Image index.
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    /// Which hive of the image.
    #[arg(long, default_value = "SOFTWARE")]
    pub hive: HiveName,
    /// A loose hive file instead of a WIM.
    #[arg(long, value_name = "PATH")]
    pub hive_file: Option<PathBuf>,
    /// Transaction log of --hive-file (repeat); default: its .LOG1/.LOG2 beside it, any case.
    #[arg(long = "log", value_name = "FILE", requires = "hive_file")]
    pub logs: Vec<PathBuf>,
    /// Key path inside the hive, e.g. 'Microsoft\DeviceManageabilityCSP\Provider\MS DM Server'.
    #[arg(long)]
    pub key: String,
}

/// Offline registry commands.
#[derive(Debug, clap::Subcommand)]
pub enum HiveCmd {
    /// Read a value, or list a key's values and subkeys.
    Get {
        #[command(flatten)]
        target: Target,
        /// Value name ('' or '@' for the default value); omit to list the key.
        #[arg(long)]
        value: Option<String>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Create or change a value (creating missing keys), or delete it with --delete.
    #[command(
        after_help = "Example (seed 001, hybrid join ESP fix):\n  peforge hive set --hive-file SOFTWARE \\\n    --key 'Microsoft\\DeviceManageabilityCSP\\Provider\\MS DM Server' \\\n    --value ConfigInfo --type sz --data 2"
    )]
    Set {
        #[command(flatten)]
        target: Target,
        /// Value name ('' or '@' for the default value).
        #[arg(long)]
        value: String,
        /// Value type.
        #[arg(long, value_name = "TYPE", required_unless_present = "delete")]
        r#type: Option<TypeArg>,
        /// Value data (repeat for multi_sz).
        #[arg(long)]
        data: Vec<String>,
        /// Delete the value instead.
        #[arg(long, conflicts_with_all = ["type", "data"])]
        delete: bool,
        #[command(flatten)]
        commit: CommitArgs,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Write a dirty hive with its .LOG1/.LOG2 replayed as a clean hive, for tools that do not
    /// replay logs. The input hive and logs are never changed.
    #[command(
        after_help = "Example:\n  peforge hive recover SOFTWARE -o SOFTWARE.clean\n  peforge hive recover SOFTWARE --log a/SOFTWARE.LOG1 --log a/SOFTWARE.LOG2 -o clean --json\n\nExit status: 0 written, 2 error (e.g. dirty and no usable log)."
    )]
    Recover {
        /// The hive file.
        hive: PathBuf,
        /// A transaction log (repeat); default: the hive's .LOG1/.LOG2 beside it, any case.
        #[arg(long = "log", value_name = "FILE")]
        logs: Vec<PathBuf>,
        /// Where to write the clean hive (a new file).
        #[arg(short, long, value_name = "CLEAN")]
        output: PathBuf,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct ValueDoc {
    name: String,
    r#type: String,
    data: serde_json::Value,
}

fn value_doc(v: &RawValue) -> ValueDoc {
    ValueDoc {
        name: v.name.clone(),
        r#type: type_name(v.ty),
        data: render(v).1,
    }
}

pub fn run(cmd: HiveCmd, g: &Global) -> anyhow::Result<Status> {
    match cmd {
        HiveCmd::Get {
            target,
            value,
            json,
        } => get(&target, value.as_deref(), json, g),
        HiveCmd::Recover {
            hive,
            logs,
            output,
            json,
        } => super::hivelog::recover(&hive, &logs, &output, json, g),
        HiveCmd::Set {
            target,
            value,
            r#type,
            data,
            delete,
            commit,
            json,
        } => {
            let change = match r#type {
                Some(ty) if !delete => Change::Set {
                    ty: ty.into(),
                    data,
                },
                _ => Change::Delete,
            };
            let plan = SetPlan {
                target: hive_target(&target)?,
                key: target.key.clone(),
                name: value_name(&value).into(),
                change,
                write: commit.write_mode(false),
                logs: target.logs.clone(),
            };
            set(&plan, json, g)
        }
    }
}

/// The hive of `t`, for a plan.
fn hive_target(t: &Target) -> anyhow::Result<offline::HiveTarget> {
    match (&t.hive_file, &t.wim) {
        (Some(file), _) => Ok(offline::HiveTarget::File(file.clone())),
        (None, Some(wim)) => Ok(offline::HiveTarget::Wim {
            path: wim.clone(),
            inner: t.hive.inner().into(),
            images: offline::Images::One(t.index),
        }),
        (None, None) => anyhow::bail!("give --wim or --hive-file"),
    }
}

fn with_hive<T>(
    t: &Target,
    g: &Global,
    f: impl FnOnce(&Hive) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if let Some(file) = &t.hive_file {
        let h = Hive::open_with(file, &crate::registry::hive::Logs::given(&t.logs))?;
        super::hivelog::note_read(&source_name(t), h.recovery(), g);
        return f(&h);
    }
    let wim_path = t.wim.as_ref().context("give --wim or --hive-file")?;
    let w = Wim::open(wim_path)?;
    let x = offline::open_hive(&w, t.index, t.hive.inner(), false)?;
    super::hivelog::note_read(&source_name(t), x.hive.recovery(), g);
    f(&x.hive)
}

/// The hive a command reads, as error messages name it: the hive file, or
/// `WIM[index]:inner path`.
fn source_name(t: &Target) -> String {
    match (&t.hive_file, &t.wim) {
        (Some(file), _) => file.display().to_string(),
        (None, Some(wim)) => format!("{}[{}]:{}", wim.display(), t.index, t.hive.inner()),
        (None, None) => String::new(),
    }
}

fn get(t: &Target, value: Option<&str>, json: bool, g: &Global) -> anyhow::Result<Status> {
    with_hive(t, g, |h| {
        let node = h.lookup(&t.key)?.ok_or_else(|| {
            report::hinted(
                format!("{}: key {} does not exist", source_name(t), t.key),
                "check the key path (case does not matter; separate with \\)",
            )
        })?;
        match value {
            Some(name) => {
                let name = value_name(name);
                let v = h.value(node, name)?.ok_or_else(|| {
                    report::hinted(
                        format!(
                            "{}: value {name:?} does not exist under {}",
                            source_name(t),
                            t.key
                        ),
                        "list the key without --value to see its values",
                    )
                })?;
                if json {
                    #[derive(Serialize)]
                    struct One<'a> {
                        #[serde(flatten)]
                        value: ValueDoc,
                        transaction_logs: &'a crate::registry::log::Report,
                    }
                    output::print_json_v(
                        &One {
                            value: value_doc(&v),
                            transaction_logs: h.recovery(),
                        },
                        2,
                    )?;
                } else {
                    output::line(format!(
                        "{} = {} {}",
                        display_name(&v.name),
                        type_name(v.ty),
                        render(&v).0
                    ))?;
                }
            }
            None => {
                let values = h.values(node)?;
                let subkeys: Vec<String> =
                    h.children(node)?.into_iter().map(|n| h.name(n)).collect();
                if json {
                    #[derive(Serialize)]
                    struct Doc<'a> {
                        key: String,
                        subkeys: Vec<String>,
                        values: Vec<ValueDoc>,
                        transaction_logs: &'a crate::registry::log::Report,
                    }
                    output::print_json_v(
                        &Doc {
                            key: t.key.clone(),
                            subkeys,
                            values: values.iter().map(value_doc).collect(),
                            transaction_logs: h.recovery(),
                        },
                        2,
                    )?;
                } else {
                    output::line(format!("[{}]", t.key))?;
                    for k in subkeys {
                        output::line(format!("  {k}\\"))?;
                    }
                    for v in &values {
                        output::line(format!(
                            "  {} = {} {}",
                            display_name(&v.name),
                            type_name(v.ty),
                            render(v).0
                        ))?;
                    }
                }
            }
        }
        Ok(Status::Success)
    })
}

/// Executes `hive set`'s plan and reports.
fn set(plan: &SetPlan, json: bool, g: &Global) -> anyhow::Result<Status> {
    let bar: std::rc::Rc<dyn crate::progress::Progress> =
        std::rc::Rc::new(super::progress::Bar::new(!g.quiet && !json));
    let done = edit::set(plan, Some(bar))?;
    super::hivelog::note_edit(
        &done.input,
        &done.replayed,
        done.wrote.then_some(done.written.as_path()),
        g,
    );
    // The logs whose changes are now in the written hive (stale for it); none if nothing was
    // written.
    let stale_logs: Vec<String> = done
        .replayed
        .iter()
        .filter(|_| done.wrote)
        .flat_map(|(_, r)| r.applied.iter().map(|a| a.file.clone()))
        .collect();
    let (changed, written, name) = (done.changed, done.written, plan.name.as_str());
    let deleted = plan.change == Change::Delete;
    if json {
        #[derive(Serialize)]
        struct Doc {
            changed: bool,
            written: String,
            key: String,
            value: String,
            deleted: bool,
            stale_logs: Vec<String>,
        }
        output::print_json_v(
            &Doc {
                changed,
                written: written.display().to_string(),
                key: plan.key.clone(),
                value: name.into(),
                deleted,
                stale_logs,
            },
            2,
        )?;
    } else if !g.quiet {
        let what = if deleted { "deleted" } else { "set" };
        if changed {
            eprintln!(
                "{what} {}\\{} in {}",
                plan.key,
                display_name(name),
                written.display()
            );
        } else {
            eprintln!(
                "nothing to do: {}\\{} already as asked",
                plan.key,
                display_name(name)
            );
        }
    }
    Ok(Status::Success)
}
