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
        } => get(&target, value.as_deref(), json),
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

fn with_hive<T>(t: &Target, f: impl FnOnce(&Hive) -> anyhow::Result<T>) -> anyhow::Result<T> {
    if let Some(file) = &t.hive_file {
        let h = Hive::open(file)?;
        return f(&h);
    }
    let wim_path = t.wim.as_ref().context("give --wim or --hive-file")?;
    let w = Wim::open(wim_path)?;
    let x = offline::open_hive(&w, t.index, t.hive.inner(), false)?;
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

fn get(t: &Target, value: Option<&str>, json: bool) -> anyhow::Result<Status> {
    with_hive(t, |h| {
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
                    output::print_json(&value_doc(&v))?;
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
                    struct Doc {
                        key: String,
                        subkeys: Vec<String>,
                        values: Vec<ValueDoc>,
                    }
                    output::print_json(&Doc {
                        key: t.key.clone(),
                        subkeys,
                        values: values.iter().map(value_doc).collect(),
                    })?;
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
        }
        output::print_json(&Doc {
            changed,
            written: written.display().to_string(),
            key: plan.key.clone(),
            value: name.into(),
            deleted,
        })?;
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
