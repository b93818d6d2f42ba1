//! `peforge media devices` and `peforge media write`: list the disks an image could go to, and
//! write one after the safety rules and a confirmation (`shared/specs/usb-boot.md` §10).
//! The library ([`crate::device`]) checks and writes; this file asks and prints.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use super::{Global, Status, output, report};
use crate::device::{self, Disk, Roots, rules};

/// `media write` options.
#[derive(Debug, Clone, clap::Args)]
pub struct WriteArgs {
    /// The image to write (from `peforge media build --format usb`).
    pub image: PathBuf,
    /// The whole disk to overwrite (`/dev/sdX`), or a regular file.
    #[arg(long, value_name = "DEV")]
    pub device: PathBuf,
    /// Do not ask for the device name to be typed (scripts; required without a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Skip reading the stick back and comparing it with the image.
    #[arg(long)]
    pub no_verify: bool,
    /// Allow a disk that is neither USB nor removable (internal disks, loop devices).
    #[arg(long)]
    pub allow_non_removable: bool,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    disk: &'a Disk,
    /// Why `media write` would refuse it without --allow-non-removable (`null`: it would not).
    refusal: Option<String>,
}

#[derive(Serialize)]
struct DevicesDoc<'a> {
    devices: Vec<Listed<'a>>,
}

fn size(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

fn describe(d: &Disk) -> String {
    let name = [d.vendor.as_deref(), d.model.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "{} {} {}{} ({}, {}{})",
        d.path,
        size(d.size_bytes),
        if name.is_empty() { "(no model)" } else { &name },
        d.serial
            .as_deref()
            .map(|s| format!(", serial {s}"))
            .unwrap_or_default(),
        d.bus,
        if d.removable { "removable" } else { "fixed" },
        if d.read_only { ", read-only" } else { "" }
    )
}

/// `peforge media devices`.
pub fn devices(json: bool) -> anyhow::Result<Status> {
    let disks: Vec<Disk> = device::sysfs::disks(&Roots::system())
        .into_iter()
        .filter(|d| d.size_bytes > 0)
        .collect();
    let listed: Vec<Listed<'_>> = disks
        .iter()
        .map(|d| Listed {
            disk: d,
            refusal: rules::check(d, 0, false).err().map(|r| r.to_string()),
        })
        .collect();
    if json {
        output::print_json(&DevicesDoc { devices: listed })?;
        return Ok(Status::Success);
    }
    if listed.is_empty() {
        output::line("no disks found")?;
    }
    for l in &listed {
        output::line(describe(l.disk))?;
        match &l.refusal {
            None => output::line("  can be written")?,
            Some(r) => output::line(format!("  not offered: {r}"))?,
        }
    }
    Ok(Status::Success)
}

static CANCEL: AtomicBool = AtomicBool::new(false);

/// `media build --device` options.
#[derive(Debug, Clone, clap::Args)]
pub struct BuildDeviceArgs {
    /// Build straight onto this stick (whole disk, `--format usb`); -o keeps the image (sparse).
    #[arg(long, value_name = "DEV")]
    pub device: Option<PathBuf>,
    /// Image and FAT32 partition size with --device (e.g. 8G, 7500M; default: the whole stick,
    /// at most 32 GiB of FAT32).
    #[arg(long, value_name = "SIZE", requires = "device")]
    pub size: Option<String>,
    /// With --device: do not ask for the device name to be typed.
    #[arg(long, requires = "device")]
    pub yes: bool,
    /// With --device: allow a disk that is neither USB nor removable.
    #[arg(long, requires = "device")]
    pub allow_non_removable: bool,
}

/// `8G`, `7500M`, `512K` or bytes.
fn parse_size(s: &str) -> anyhow::Result<u64> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], 1u64 << 10),
        Some((i, 'M' | 'm')) => (&t[..i], 1 << 20),
        Some((i, 'G' | 'g')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| {
            report::hinted(
                format!("--size {s:?} is not a size"),
                "write e.g. --size 8G or --size 7500M",
            )
        })
}

/// The checked stick and the image size for `media build --device` (before the build).
pub fn build_target(a: &BuildDeviceArgs) -> anyhow::Result<Option<(Disk, u64)>> {
    let Some(dev) = &a.device else {
        return Ok(None);
    };
    let disk = device::write::target_disk(&Roots::system(), dev, 0, a.allow_non_removable, None)?
        .ok_or_else(|| {
        report::hinted(
            format!("{}: not a disk", dev.display()),
            "give the stick's device, e.g. --device /dev/sdb (or build an image with -o)",
        )
    })?;
    let size = match &a.size {
        Some(s) => parse_size(s)?,
        None => disk.size_bytes,
    };
    rules::check(&disk, size, a.allow_non_removable).map_err(device::Error::from)?;
    confirm(&disk, a.yes)?;
    Ok(Some((disk, size)))
}

/// Writes the built image `image` onto `disk` (its data only: the image is stick-sized and
/// sparse) and reports.
pub fn write_built(
    image: &std::path::Path,
    disk: &Disk,
    g: &Global,
    json: bool,
) -> anyhow::Result<device::WriteReport> {
    let mut plan = device::write::plan(
        &Roots::system(),
        image,
        std::path::Path::new(&disk.path),
        true,
        true,
    )?;
    plan.data_only = true;
    install_cancel();
    WRITING.store(true, Ordering::Relaxed);
    let bar = super::progress::Bar::new(!json && !g.quiet);
    Ok(device::write::execute(&plan, &bar, &CANCEL)?)
}

/// Set while the image goes to the device: Ctrl-C then stops the write between chunks (the
/// writer reports the stick incomplete); before that (`media build --device` still building)
/// it removes the build's work folders and exits 130 like a plain build.
static WRITING: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C/SIGTERM handler of the device commands (first handler wins).
pub fn install_cancel() {
    static HANDLER: std::sync::Once = std::sync::Once::new();
    HANDLER.call_once(|| {
        // Should the handler not install, Ctrl-C kills the write outright.
        let _ = ctrlc::set_handler(|| {
            if WRITING.load(Ordering::Relaxed) {
                CANCEL.store(true, Ordering::Relaxed);
            } else {
                crate::media::work::remove_live_work_dirs();
                std::process::exit(130);
            }
        });
    });
}

/// On a terminal, the device name typed back; without one, `yes` or an error.
fn confirm(d: &Disk, yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !terminal {
        return Err(report::hinted(
            format!("{}: not overwriting without confirmation", d.path),
            "no terminal to ask on: pass --yes to confirm in scripts",
        ));
    }
    eprintln!("This erases everything on:\n  {}", describe(d));
    eprint!("Type the device name ({}) to continue: ", d.name);
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    let answer = answer.trim();
    if answer != d.name && answer != d.path {
        return Err(report::hinted(
            format!("{}: not confirmed; nothing was written", d.path),
            format!("type {} exactly to confirm", d.name),
        ));
    }
    Ok(())
}

/// `peforge media write`.
pub fn write(a: WriteArgs, g: &Global) -> anyhow::Result<Status> {
    let plan = device::write::plan(
        &Roots::system(),
        &a.image,
        &a.device,
        a.allow_non_removable,
        !a.no_verify,
    )?;
    if let Some(d) = &plan.disk {
        confirm(d, a.yes)?;
    }
    install_cancel();
    WRITING.store(true, Ordering::Relaxed);
    let bar = super::progress::Bar::new(!a.json && !g.quiet);
    let r = device::write::execute(&plan, &bar, &CANCEL)?;
    if a.json {
        output::print_json(&r)?;
    } else {
        output::line(format!(
            "wrote {} ({} bytes, {:.1} MiB/s) to {}{}",
            r.image,
            r.bytes,
            r.mib_per_second,
            r.target,
            if r.verified {
                ", read back and verified (SHA-256)"
            } else {
                ", not verified (--no-verify)"
            }
        ))?;
        if r.partition_reread == Some("busy") {
            output::line(
                "note: the kernel could not re-read the partition table now (busy); replug the stick",
            )?;
        }
    }
    Ok(Status::Success)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_k_m_g_suffixes() {
        assert_eq!(parse_size("8G").unwrap(), 8 << 30);
        assert_eq!(parse_size("7500m").unwrap(), 7500 << 20);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }
}
