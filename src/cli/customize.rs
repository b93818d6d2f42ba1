//! `peforge wim customize`: resolves flags and a profile into a
//! [`crate::driver::customize::CustomizePlan`] and prints the outcome.

use std::path::{Path, PathBuf};

use super::commit::CommitArgs;
use super::{Global, Status, output, report};
use crate::driver::customize::{
    self, Action, Customization, CustomizePlan, Outcome, Overlay, Shape,
};

/// Flags of `wim customize`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Drivers are not written into the driver store: WinPE loads them at \
start-up with drvload (log: X:\\Windows\\Temp\\peforge-start.log). ConfigMgr boot image: the \
step runs before TsBootShell.exe from winpeshl.ini; plain WinPE: from startnet.cmd before \
wpeinit.\n\nExit status: 0 success, 2 error (the WIM is unchanged).\n\nExamples:\n  peforge wim \
customize --wim boot.wim --driver ./Drivers/NetKVM --dry-run\n  peforge wim customize --wim \
boot.wim --overlay ./tools:Windows\\System32 --start-script prestart.cmd\n  peforge wim \
customize --wim boot.wim --list"
)]
pub struct CustomizeArgs {
    /// The boot image.
    #[arg(long, value_name = "WIM")]
    wim: Option<PathBuf>,
    /// Image index (default 1).
    #[arg(long)]
    index: Option<u32>,
    /// Driver package folder (searched recursively for INF files); repeat for more.
    #[arg(long, value_name = "DIR")]
    driver: Vec<PathBuf>,
    /// Folder copied into the image at TARGET (default the root), existing files replaced, as
    /// mkwinpeimg --overlay; repeat for more.
    #[arg(long, value_name = "DIR[:TARGET]")]
    overlay: Vec<String>,
    /// A .cmd/.bat script run at start-up after the drivers are loaded (ConfigMgr: before
    /// TsBootShell, which it never replaces).
    #[arg(long, value_name = "FILE")]
    start_script: Option<PathBuf>,
    /// Stage packages that have no catalog (only a test-signing WinPE loads them).
    #[arg(long)]
    allow_unsigned: bool,
    /// Remove every driver peforge added (and its start-up step when nothing else needs it).
    #[arg(long, conflicts_with_all = ["driver", "overlay", "start_script", "list"])]
    remove_drivers: bool,
    /// Show what peforge added to the image; writes nothing.
    #[arg(long, conflicts_with_all = ["driver", "overlay", "start_script"])]
    list: bool,
    /// A profile (TOML): wim, index, drivers, overlays, start_script, allow_unsigned. Paths are
    /// relative to the profile; flags add to it.
    #[arg(long, value_name = "TOML")]
    profile: Option<PathBuf>,
    /// Check everything and show what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print one JSON document (schemas/wim-customize.schema.json).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    commit: CommitArgs,
}

/// A `wim customize` profile.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    wim: Option<PathBuf>,
    index: Option<u32>,
    #[serde(default)]
    drivers: Vec<PathBuf>,
    #[serde(default)]
    overlays: Vec<String>,
    start_script: Option<PathBuf>,
    #[serde(default)]
    allow_unsigned: bool,
}

fn load_profile(path: &Path) -> anyhow::Result<Profile> {
    let text = fs_err::read_to_string(path)?;
    let mut p: Profile = toml::from_str(&text).map_err(|e| {
        report::hinted(
            format!("{}: {}", path.display(), e.message()),
            "keys: wim, index, drivers, overlays, start_script, allow_unsigned",
        )
    })?;
    let base = path.parent().unwrap_or(Path::new(""));
    let fix = |x: &mut PathBuf| {
        if x.is_relative() {
            *x = base.join(&*x);
        }
    };
    if let Some(w) = p.wim.as_mut() {
        fix(w);
    }
    if let Some(s) = p.start_script.as_mut() {
        fix(s);
    }
    p.drivers.iter_mut().for_each(fix);
    for o in &mut p.overlays {
        let mut ov = parse_overlay(o);
        fix(&mut ov.source);
        *o = if ov.target.is_empty() {
            ov.source.display().to_string()
        } else {
            format!("{}:{}", ov.source.display(), ov.target)
        };
    }
    Ok(p)
}

/// `DIR[:TARGET]`: the whole text when it names a folder, else split at the first `:`.
pub fn parse_overlay(s: &str) -> Overlay {
    if Path::new(s).is_dir() {
        return Overlay {
            source: s.into(),
            target: String::new(),
        };
    }
    match s.split_once(':') {
        Some((dir, target)) => Overlay {
            source: dir.into(),
            target: target.into(),
        },
        None => Overlay {
            source: s.into(),
            target: String::new(),
        },
    }
}

/// Flags and profile → plan.
fn resolve(a: &CustomizeArgs) -> anyhow::Result<CustomizePlan> {
    let p = match &a.profile {
        Some(path) => load_profile(path)?,
        None => Profile::default(),
    };
    let wim = a.wim.clone().or(p.wim).ok_or_else(|| {
        report::hinted(
            "no boot image given",
            "give --wim boot.wim (or wim = \"...\" in the --profile)",
        )
    })?;
    let mut drivers = p.drivers;
    drivers.extend(a.driver.iter().cloned());
    let overlays = p
        .overlays
        .iter()
        .chain(&a.overlay)
        .map(|s| parse_overlay(s))
        .collect();
    let c = Customization {
        drivers,
        overlays,
        start_script: a.start_script.clone().or(p.start_script),
        allow_unsigned: a.allow_unsigned || p.allow_unsigned,
    };
    let action = if a.list {
        Action::List
    } else if a.remove_drivers {
        Action::RemoveDrivers
    } else {
        if c.is_empty() {
            return Err(report::hinted(
                format!("{}: nothing to do", wim.display()),
                "give --driver DIR, --overlay DIR[:TARGET] or --start-script FILE (or --list)",
            ));
        }
        Action::Apply(c)
    };
    Ok(CustomizePlan {
        wim,
        index: a.index.or(p.index).unwrap_or(1),
        action,
        write: a.commit.write_mode(a.dry_run),
    })
}

pub fn run(a: CustomizeArgs, g: &Global) -> anyhow::Result<Status> {
    let plan = resolve(&a)?;
    let bar: std::rc::Rc<dyn crate::progress::Progress> =
        std::rc::Rc::new(super::progress::Bar::new(!g.quiet && !a.json));
    let out = customize::execute(&plan, Some(bar))?;
    if a.json {
        output::print_json(&out)?;
    } else {
        print(&out, matches!(plan.action, Action::List))?;
    }
    if !g.quiet && !a.json {
        for w in &out.warnings {
            eprintln!("warning: {} {}", w.code, w.message);
        }
    }
    Ok(Status::Success)
}

fn print(o: &Outcome, list: bool) -> anyhow::Result<()> {
    let shape = match o.shape {
        Shape::Configmgr => "ConfigMgr boot image, winpeshl.ini",
        Shape::Winpeshl => "WinPE with winpeshl.ini",
        Shape::Startnet => "plain WinPE, startnet.cmd",
    };
    output::line(format!(
        "{} image {} ({}, {shape})",
        o.wim.display(),
        o.index,
        o.arch
    ))?;
    if o.record.drivers.is_empty() {
        output::line("  drivers added by peforge: none")?;
    } else {
        output::line("  drivers added by peforge (loaded with drvload at start-up):")?;
    }
    for d in &o.record.drivers {
        let state = if o.drivers_added.contains(&d.folder) {
            " [added]"
        } else {
            ""
        };
        output::line(format!(
            "    {}\\{{{}}} {} · {} · {} · {} bytes{state}",
            d.folder,
            d.infs.join(", "),
            d.classes.join("/"),
            d.provider,
            d.driver_ver,
            d.bytes
        ))?;
    }
    for f in &o.drivers_removed {
        output::line(format!("    {f} [removed]"))?;
    }
    if let Some(s) = &o.record.start_script {
        output::line(format!("  start script: {}", s.path))?;
    }
    for ov in &o.record.overlays {
        output::line(format!(
            "  overlay: {} file(s) at \\{}",
            ov.files, ov.target
        ))?;
    }
    for r in &o.overlay_replaced {
        output::line(format!("    replaced {r}"))?;
    }
    if let Some(h) = &o.record.hook {
        output::line(format!("  start-up step in {}:", h.file))?;
        for (n, l) in o.startup_lines.iter().enumerate() {
            output::line(format!("    {}. {l}", n + 1))?;
        }
    }
    if o.driver_bytes > 0 && !list {
        output::line(format!(
            "  {} bytes of drivers added (WinPE holds them in RAM)",
            o.driver_bytes
        ))?;
    }
    let result = match (&o.written, o.dry_run, o.changed, list) {
        (_, _, _, true) => return Ok(()),
        (Some(w), _, _, _) => format!("written and read back: {}", w.display()),
        (None, true, true, _) => "dry run: nothing written".into(),
        (None, _, false, _) => "unchanged: nothing to do (the image already is as asked)".into(),
        (None, _, true, _) => "nothing written".into(),
    };
    output::line(format!("  {result}"))
}
