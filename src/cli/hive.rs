//! `peforge hive get|set`: generic offline registry access, in a WIM image or a loose hive file.

use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;

use super::wim::CommitArgs;
use super::{Global, Status, output, report};
use crate::registry::hive::{self, Hive, RawValue, types};
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
pub enum ValueType {
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
        r#type: Option<ValueType>,
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

fn value_name(v: &str) -> &str {
    if v == "@" { "" } else { v }
}

fn parse_int(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn encode(ty: ValueType, data: &[String]) -> anyhow::Result<(u32, Vec<u8>)> {
    let one = || -> anyhow::Result<&str> {
        match data {
            [d] => Ok(d.as_str()),
            _ => Err(report::hinted(
                "this type takes exactly one --data",
                "give --data once",
            )),
        }
    };
    Ok(match ty {
        ValueType::Sz => (types::SZ, hive::encode_sz(one()?)),
        ValueType::ExpandSz => (types::EXPAND_SZ, hive::encode_sz(one()?)),
        ValueType::Dword => {
            let given = one()?;
            let v = parse_int(given)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| {
                    report::hinted(
                        format!("{given:?} is not a 32-bit number"),
                        "give a decimal or 0x-prefixed hex number below 2^32",
                    )
                })?;
            (types::DWORD, v.to_le_bytes().to_vec())
        }
        ValueType::Qword => {
            let given = one()?;
            let v = parse_int(given).ok_or_else(|| {
                report::hinted(
                    format!("{given:?} is not a 64-bit number"),
                    "give a decimal or 0x-prefixed hex number",
                )
            })?;
            (types::QWORD, v.to_le_bytes().to_vec())
        }
        ValueType::Binary => {
            let given = one()?;
            // Separators between bytes are allowed; any other character is a mistake, not
            // something to drop silently.
            let bad = given
                .chars()
                .any(|c| !c.is_ascii_hexdigit() && !matches!(c, ',' | ' ' | ':'));
            let clean: String = given.chars().filter(|c| c.is_ascii_hexdigit()).collect();
            let bytes = (!bad)
                .then(|| hex::decode(&clean).ok())
                .flatten()
                .ok_or_else(|| {
                    report::hinted(
                        format!("--data {given:?} is not hex bytes"),
                        "write bytes as hex, e.g. 01,02,ff",
                    )
                })?;
            (types::BINARY, bytes)
        }
        ValueType::MultiSz => (types::MULTI_SZ, hive::encode_multi_sz(data)),
    })
}

#[derive(Serialize)]
struct ValueDoc {
    name: String,
    r#type: String,
    data: serde_json::Value,
}

fn type_name(ty: u32) -> String {
    match ty {
        types::NONE => "none".into(),
        types::SZ => "sz".into(),
        types::EXPAND_SZ => "expand_sz".into(),
        types::BINARY => "binary".into(),
        types::DWORD => "dword".into(),
        types::MULTI_SZ => "multi_sz".into(),
        types::QWORD => "qword".into(),
        other => format!("type{other}"),
    }
}

fn render(v: &RawValue) -> (String, serde_json::Value) {
    match v.ty {
        types::SZ | types::EXPAND_SZ => {
            let s = hive::decode_sz(&v.data);
            (format!("{s:?}"), s.into())
        }
        types::DWORD if v.data.len() == 4 => {
            let n = <[u8; 4]>::try_from(v.data.as_slice()).map_or(0, u32::from_le_bytes);
            (format!("{n} (0x{n:08x})"), n.into())
        }
        types::QWORD if v.data.len() == 8 => {
            let n = <[u8; 8]>::try_from(v.data.as_slice()).map_or(0, u64::from_le_bytes);
            (format!("{n} (0x{n:016x})"), n.into())
        }
        types::MULTI_SZ => {
            let items = hive::decode_multi_sz(&v.data);
            (format!("{items:?}"), items.into())
        }
        _ => (hex::encode(&v.data), hex::encode(&v.data).into()),
    }
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
            let new = match r#type {
                Some(ty) if !delete => {
                    let (ty, data) = encode(ty, &data)?;
                    Some(RawValue {
                        name: value_name(&value).into(),
                        ty,
                        data,
                    })
                }
                _ => None,
            };
            set(&target, value_name(&value), new.as_ref(), &commit, json, g)
        }
    }
}

fn with_hive<T>(
    t: &Target,
    g: &Global,
    f: impl FnOnce(&Hive) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if let Some(file) = &t.hive_file {
        let h = Hive::open_with(file, &hive::Logs::given(&t.logs))?;
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
                    output::print_json(&One {
                        value: value_doc(&v),
                        transaction_logs: h.recovery(),
                    })?;
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
                    output::print_json(&Doc {
                        key: t.key.clone(),
                        subkeys,
                        values: values.iter().map(value_doc).collect(),
                        transaction_logs: h.recovery(),
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

fn display_name(n: &str) -> &str {
    if n.is_empty() { "@" } else { n }
}

fn apply(h: &mut Hive, key: &str, name: &str, new: Option<&RawValue>) -> anyhow::Result<bool> {
    match new {
        Some(v) => {
            let node = h.ensure_key(key)?;
            if h.value(node, name)?.as_ref() == Some(v) {
                return Ok(false);
            }
            h.set_value(node, v)?;
            Ok(true)
        }
        None => match h.lookup(key)? {
            Some(node) => Ok(h.delete_value(node, name)?),
            None => Ok(false),
        },
    }
}

fn verify(h: &Hive, key: &str, name: &str, new: Option<&RawValue>) -> anyhow::Result<()> {
    let got = match h.lookup(key)? {
        Some(n) => h.value(n, name)?,
        None => None,
    };
    anyhow::ensure!(
        got.as_ref() == new,
        "verification failed: {key}\\{name} does not hold what was written"
    );
    Ok(())
}

fn set(
    t: &Target,
    name: &str,
    new: Option<&RawValue>,
    commit: &CommitArgs,
    json: bool,
    g: &Global,
) -> anyhow::Result<Status> {
    let source = match (&t.hive_file, &t.wim) {
        (Some(file), _) => offline::HiveSource::File(file),
        (None, Some(wim)) => offline::HiveSource::Wim {
            path: wim,
            inner: t.hive.inner(),
            images: offline::Images::One(t.index),
        },
        (None, None) => anyhow::bail!("give --wim or --hive-file"),
    };
    let mut opts = commit.edit_options(false, !g.quiet && !json);
    opts.logs = hive::Logs::given(&t.logs);
    let edited = offline::edit_hives(
        source,
        &opts,
        |h, _| apply(h, &t.key, name, new),
        |h, _, _| verify(h, &t.key, name, new),
    )?;
    super::hivelog::note_edit(
        &edited.input,
        &edited.replayed,
        edited.written.as_deref(),
        g,
    );
    let changed = edited.changed;
    // Where the value now is: the file written, or the input when nothing needed writing.
    let written = edited.written.unwrap_or(edited.input);
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
            key: t.key.clone(),
            value: name.into(),
            deleted: new.is_none(),
        })?;
    } else if !g.quiet {
        let what = if new.is_some() { "set" } else { "deleted" };
        if changed {
            eprintln!(
                "{what} {}\\{} in {}",
                t.key,
                display_name(name),
                written.display()
            );
        } else {
            eprintln!(
                "nothing to do: {}\\{} already as asked",
                t.key,
                display_name(name)
            );
        }
    }
    Ok(Status::Success)
}
