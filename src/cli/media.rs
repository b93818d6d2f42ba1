//! `peforge media build|inspect|retarget`: ConfigMgr site-based boot media for a CMG
//! (`shared/specs/boot-media.md` §5–§11), written as a folder, an ISO or a USB disk image.
//!
//! Secrets (media password, PFX password) come only from files, the environment variable
//! `PEFORGE_MEDIA_PASSWORD` or a TTY prompt — never from argv — and never reach stdout, the JSON
//! output or the manifest.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::Serialize;

use super::{Global, Status, output, report};
use crate::media::layout::LayoutOptions;
use crate::media::site::{self, Secret};
use crate::media::vars::Cipher;
use crate::media::{
    self, BootImageChanges, BuildPlan, InspectPlan, MediaCert, Outcome, OutputPlan, RetargetPlan,
};
use crate::progress::Progress;

/// Environment variable holding the media password.
const PASSWORD_ENV: &str = "PEFORGE_MEDIA_PASSWORD";

/// Container format of a medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// ISO 9660 + Joliet with El Torito BIOS and UEFI entries.
    Iso,
    /// Raw USB disk image (MBR, one FAT32 partition), for dd/Rufus/Etcher.
    Usb,
    /// A folder with the media files (copy onto a FAT32 stick, or for PXE tooling).
    Dir,
}

impl From<Format> for media::Format {
    fn from(f: Format) -> media::Format {
        match f {
            Format::Iso => media::Format::Iso,
            Format::Usb => media::Format::Usb,
            Format::Dir => media::Format::Dir,
        }
    }
}

/// Variables.dat cipher.
#[derive(Debug, Clone, Copy, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CipherArg {
    /// AES-128 (what ConfigMgr writes for media; default).
    Aes128,
    /// AES-256 (support by older TsmBootstrap versions is unconfirmed).
    Aes256,
}

/// Where the output goes.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Container format (default: from OUT: .iso = iso, .img/.bin = usb, an existing folder or
    /// a path ending in / = dir).
    #[arg(long)]
    pub format: Option<Format>,
    /// Output file (iso, usb) or folder (dir).
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Manifest path (default: peforge-manifest.json beside OUT).
    #[arg(long, value_name = "PATH")]
    pub manifest: Option<PathBuf>,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Build options (flags override the profile).
#[derive(Debug, Clone, clap::Args)]
pub struct BuildArgs {
    /// A media profile (TOML; see templates/media/cmg-site-media.toml).
    #[arg(long, value_name = "media.toml")]
    pub profile: Option<PathBuf>,
    /// The ConfigMgr boot image (boot.wim).
    #[arg(long, value_name = "WIM")]
    pub boot_wim: Option<PathBuf>,
    /// Image index in the boot image.
    #[arg(long, value_name = "N")]
    pub index: Option<u32>,
    /// The CMG URL, e.g. https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500.
    #[arg(long, value_name = "CMG URL")]
    pub mp: Option<String>,
    /// The site code.
    #[arg(long, value_name = "XYZ")]
    pub site_code: Option<String>,
    /// Root certificate to trust in the boot image (PEM/DER; repeat).
    #[arg(long, value_name = "FILE")]
    pub root_cert: Vec<PathBuf>,
    /// Driver package folder for the medium's boot image, loaded with drvload before
    /// TsBootShell (as `wim customize --driver`; repeat).
    #[arg(long, value_name = "DIR")]
    pub driver: Vec<PathBuf>,
    /// Folder copied into the medium's boot image at TARGET (default the root; repeat).
    #[arg(long, value_name = "DIR[:TARGET]")]
    pub overlay: Vec<String>,
    /// A .cmd/.bat script the medium's boot image runs before TsBootShell.
    #[arg(long, value_name = "FILE")]
    pub start_script: Option<PathBuf>,
    /// Stage driver packages without a catalog (test-signing WinPE only).
    #[arg(long)]
    pub allow_unsigned: bool,
    /// The media client-authentication certificate with its key (PFX).
    #[arg(long, value_name = "PFX")]
    pub media_cert: Option<PathBuf>,
    /// File holding the PFX's password.
    #[arg(long, value_name = "F")]
    pub media_cert_password_file: Option<PathBuf>,
    /// Without --media-cert: validity in days of the new self-signed media certificate
    /// (default 365). Its registration record is written to OUT.media-cert-registration.json.
    #[arg(long, value_name = "N", conflicts_with = "media_cert")]
    pub media_cert_days: Option<u32>,
    /// File holding the media password (else PEFORGE_MEDIA_PASSWORD, else a prompt on a TTY).
    #[arg(long, value_name = "F")]
    pub password_file: Option<PathBuf>,
    /// No media password (refused for a CMG).
    #[arg(long, conflicts_with = "password_file")]
    pub no_password: bool,
    /// Accept a weak media password (labs only).
    #[arg(long)]
    pub allow_weak_password: bool,
    /// A media variable NAME=VALUE (repeat).
    #[arg(long, value_name = "NAME=VALUE")]
    pub variable: Vec<String>,
    /// GUIDs of the x64 and x86 "Unknown Computer" objects.
    #[arg(long, value_name = "X64GUID,X86GUID")]
    pub unknown_computers: Option<String>,
    /// Media label (MediaLabel.txt; its first 11 characters name the volume).
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// UEFI boot without "Press any key" (efisys_noprompt.bin).
    #[arg(long)]
    pub no_prompt: bool,
    /// Use the Windows UEFI CA 2023 signed boot files (_EX); needs firmware that trusts the 2023 CA.
    #[arg(long)]
    pub secure_boot_2023: bool,
    /// An ADK media folder whose boot files override those of the image.
    #[arg(long, value_name = "DIR")]
    pub pe_media: Option<PathBuf>,
    /// Cipher of Variables.dat.
    #[arg(long)]
    pub cipher: Option<CipherArg>,
    #[command(flatten)]
    pub out: OutputArgs,
    #[command(flatten)]
    pub device: super::device::BuildDeviceArgs,
}

/// Site-based boot media commands.
#[derive(Debug, clap::Subcommand)]
pub enum MediaCmd {
    /// Build site-based boot media for a CMG from a boot image.
    #[command(after_help = "Examples:
  peforge media build --profile cmg-site-media.toml
  PEFORGE_MEDIA_PASSWORD=... peforge media build --boot-wim boot.wim \\
    --mp https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500 --site-code PS1 \\
    --root-cert cmg-root.cer --media-cert media.pfx --media-cert-password-file pfx.pass \\
    --no-prompt --format iso -o cmg-media.iso

Exit status: 0 built and verified, 2 error.")]
    Build(Box<BuildArgs>),
    /// Show a medium: layout, boot entries, TsmBootstrap.ini, media variables, trusted roots, findings.
    #[command(after_help = "Example:
  peforge media inspect cmg-media/ --password-file media.pass

Secrets (_SMSTSMediaPFX, _SMSMediaGuid, site keys) are redacted unless --show-secrets.
Exit status: 0 no findings, 1 findings, 2 error.")]
    Inspect {
        /// The medium (folder, ISO or USB image).
        medium: PathBuf,
        /// File holding the media password (else PEFORGE_MEDIA_PASSWORD).
        #[arg(long, value_name = "F")]
        password_file: Option<PathBuf>,
        /// Show secret variable values.
        #[arg(long)]
        show_secrets: bool,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// List the disks an image could be written to (vendor, model, serial, size, bus, mounts).
    #[command(after_help = "Example:
  peforge media devices --json

Disks that `media write` would refuse say why. Exit status: 0 listed, 2 error.")]
    Devices {
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Write a USB image to a stick: whole disks only, never a mounted or system disk, then read back and verify.
    #[command(after_help = "Examples:
  peforge media write cmg-media.img --device /dev/sdb
  peforge media write cmg-media.img --device /dev/sdb --yes --json

On a terminal the device name must be typed to confirm; without one, --yes is required.
Exit status: 0 written and verified, 2 error (nothing is written to a refused device).")]
    Write(super::device::WriteArgs),
    /// Rebuild a console-made medium with a new CMG URL, roots, variables or password, keeping everything else.
    #[command(after_help = "Example:
  peforge media retarget console-media/ --password-file old.pass \\
    --mp https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500 \\
    --root-cert cmg-root.cer --format iso -o retargeted.iso

Every variable of the template is kept (media certificate, site signing data, unknown-computer
GUIDs); only what is asked changes. Exit status: 0 built and verified, 2 error.")]
    Retarget {
        /// The template medium (folder, ISO or USB image).
        medium: PathBuf,
        /// File holding the template's media password.
        #[arg(long, value_name = "F")]
        password_file: Option<PathBuf>,
        /// File holding a new media password.
        #[arg(long, value_name = "F")]
        new_password_file: Option<PathBuf>,
        /// Accept a weak new password (labs only).
        #[arg(long)]
        allow_weak_password: bool,
        /// New CMG URL (SMSTSMP).
        #[arg(long, value_name = "URL")]
        mp: Option<String>,
        /// Root certificate to add to the boot image (repeat).
        #[arg(long, value_name = "FILE")]
        root_cert: Vec<PathBuf>,
        /// A media variable NAME=VALUE to set (repeat).
        #[arg(long, value_name = "NAME=VALUE")]
        variable: Vec<String>,
        /// New media label.
        #[arg(long, value_name = "TEXT")]
        label: Option<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
}

/// A media profile (`templates/media/cmg-site-media.toml`). Paths are relative to the profile.
/// Secrets are never stored in it: only the files that hold them.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    boot_wim: Option<PathBuf>,
    index: Option<u32>,
    mp: Option<String>,
    site_code: Option<String>,
    #[serde(default)]
    root_certs: Vec<PathBuf>,
    #[serde(default)]
    drivers: Vec<PathBuf>,
    #[serde(default)]
    overlays: Vec<String>,
    start_script: Option<PathBuf>,
    #[serde(default)]
    allow_unsigned: bool,
    media_cert: Option<PathBuf>,
    media_cert_password_file: Option<PathBuf>,
    media_cert_days: Option<u32>,
    password_file: Option<PathBuf>,
    #[serde(default)]
    no_password: bool,
    #[serde(default)]
    allow_weak_password: bool,
    #[serde(default)]
    variables: Vec<String>,
    unknown_computers: Option<[String; 2]>,
    label: Option<String>,
    #[serde(default)]
    no_prompt: bool,
    #[serde(default)]
    secure_boot_2023: bool,
    pe_media: Option<PathBuf>,
    cipher: Option<CipherArg>,
    format: Option<Format>,
    output: Option<PathBuf>,
    http_port: Option<u16>,
    https_port: Option<u16>,
}

fn load_profile(path: &Path) -> anyhow::Result<Profile> {
    let text = fs_err::read_to_string(path)?;
    let mut p: Profile = toml::from_str(&text).map_err(|e| {
        let msg = e.message().to_string();
        let line = e.span().map(|s| {
            text.get(..s.start)
                .unwrap_or_default()
                .lines()
                .count()
                .max(1)
        });
        let at = line.map(|l| format!(":{l}")).unwrap_or_default();
        if msg.contains("password`") || msg.contains("unknown field `password") {
            report::hinted(
                format!(
                    "{}{at}: passwords are never stored in a profile",
                    path.display()
                ),
                "put the password in a file (mode 0600) and name it with password_file",
            )
        } else {
            report::hinted(
                format!("{}{at}: {msg}", path.display()),
                "see templates/media/cmg-site-media.toml for the keys",
            )
        }
    })?;
    let base = path.parent().unwrap_or(Path::new(""));
    let fix = |p: &mut Option<PathBuf>| {
        if let Some(x) = p.as_mut()
            && x.is_relative()
        {
            *x = base.join(&*x);
        }
    };
    fix(&mut p.boot_wim);
    fix(&mut p.media_cert);
    fix(&mut p.media_cert_password_file);
    fix(&mut p.password_file);
    fix(&mut p.pe_media);
    fix(&mut p.output);
    fix(&mut p.start_script);
    for r in &mut p.drivers {
        if r.is_relative() {
            *r = base.join(&*r);
        }
    }
    for o in &mut p.overlays {
        let ov = super::customize::parse_overlay(o);
        if ov.source.is_relative() {
            let src = base.join(&ov.source);
            *o = if ov.target.is_empty() {
                src.display().to_string()
            } else {
                format!("{}:{}", src.display(), ov.target)
            };
        }
    }
    for r in &mut p.root_certs {
        if r.is_relative() {
            *r = base.join(&*r);
        }
    }
    Ok(p)
}

/// Reads a secret from a file: the first line, without its line end. Refuses an empty secret.
fn read_secret_file(path: &Path) -> anyhow::Result<Secret> {
    warn_if_shared(path);
    let bytes = zeroize::Zeroizing::new(fs_err::read(path)?);
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        report::hinted(
            format!("{}: the password file is not UTF-8 text", path.display()),
            "write the password as UTF-8 on one line",
        )
    })?;
    let first = text.lines().next().unwrap_or_default();
    if first.is_empty() {
        return Err(report::hinted(
            format!("{}: the password file is empty", path.display()),
            "write the password on the first line",
        ));
    }
    Ok(Secret::new(first))
}

/// Warns (once per file, on stderr) when a secret file can be read by other users.
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    if let Ok(m) = std::fs::metadata(path)
        && m.permissions().mode() & 0o077 != 0
    {
        eprintln!(
            "warning: {} can be read by other users; protect it with chmod 600",
            path.display()
        );
    }
}

/// `--quiet` for the helpers that warn (set once per run).
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The media password: --password-file, else PEFORGE_MEDIA_PASSWORD, else a TTY prompt.
fn media_password(file: Option<&Path>, prompt: bool) -> anyhow::Result<Option<Secret>> {
    if let Some(f) = file {
        return read_secret_file(f).map(Some);
    }
    if let Ok(v) = std::env::var(PASSWORD_ENV)
        && !v.is_empty()
    {
        return Ok(Some(Secret::new(v)));
    }
    if prompt && std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        let a = zeroize::Zeroizing::new(rpassword::prompt_password("Media password: ")?);
        let b = zeroize::Zeroizing::new(rpassword::prompt_password("Repeat: ")?);
        if a != b {
            return Err(report::hinted(
                "the passwords differ",
                "type the same password twice",
            ));
        }
        return Ok(Some(Secret::new(a.as_str())));
    }
    Ok(None)
}

fn source_date_epoch() -> anyhow::Result<Option<i64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v.trim().parse::<i64>().map(Some).map_err(|_| {
            report::hinted(
                format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds"),
                "set it to a Unix time, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)",
            )
        }),
        _ => Ok(None),
    }
}

fn parse_vars(list: &[String]) -> anyhow::Result<Vec<(String, Secret)>> {
    list.iter()
        .map(|v| site::parse_variable(v).map_err(anyhow::Error::from))
        .collect()
}

#[derive(Serialize)]
struct BuildOutput<'a> {
    output: String,
    manifest_path: String,
    /// Where the registration record of a new self-signed media certificate was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    media_cert_registration: Option<String>,
    #[serde(flatten)]
    manifest: &'a site::Manifest,
    notes: &'a [String],
}

fn require<T>(v: Option<T>, flag: &str, what: &str) -> anyhow::Result<T> {
    v.ok_or_else(|| {
        report::hinted(
            format!("{what} is missing"),
            format!("give {flag} (or set it in the --profile)"),
        )
    })
}

/// Runs a media command: resolves its plan, executes it in the library, prints the outcome.
pub fn run(cmd: MediaCmd, g: &Global) -> anyhow::Result<Status> {
    QUIET.store(g.quiet, std::sync::atomic::Ordering::Relaxed);
    match cmd {
        MediaCmd::Build(a) => {
            let json = a.out.json;
            let target = super::device::build_target(&a.device)?;
            let mut plan = resolve_build(*a)?;
            if let Some((_, size)) = &target {
                if plan.output.format != media::Format::Usb {
                    return Err(report::hinted(
                        "--device needs --format usb",
                        "build a USB image onto the stick: --format usb --device /dev/sdX",
                    ));
                }
                plan.output.usb_size = Some(*size);
                // Before the build's own handler: Ctrl-C must stop a device write cleanly.
                super::device::install_cancel();
            }
            let bar = bar(g, json);
            on_signal_remove_work();
            let outcome = media::build(&plan, &bar)?;
            match target {
                None => report_outcome(&outcome, json, g),
                Some((disk, _)) => {
                    let w = super::device::write_built(&outcome.output, &disk, g, json)?;
                    if !json {
                        report_outcome(&outcome, false, g)?;
                        output::line(format!(
                            "written to {} ({:.1} MiB/s), read back and verified (SHA-256)",
                            w.target, w.mib_per_second
                        ))?;
                        return Ok(Status::Success);
                    }
                    report_outcome(&outcome, true, g)
                }
            }
        }
        MediaCmd::Devices { json } => super::device::devices(json),
        MediaCmd::Write(a) => super::device::write(a, g),
        MediaCmd::Inspect {
            medium,
            password_file,
            show_secrets,
            json,
        } => {
            let plan = InspectPlan {
                medium,
                password: media_password(password_file.as_deref(), false)?,
                show_secrets,
                now_unix: unix_now(),
            };
            report_inspect(&media::inspect(&plan)?, json)
        }
        MediaCmd::Retarget {
            medium,
            password_file,
            new_password_file,
            allow_weak_password,
            mp,
            root_cert,
            variable,
            label,
            out,
        } => {
            let json = out.json;
            let plan = RetargetPlan {
                output: output_plan(out, None, None)?,
                template: medium,
                password: media_password(password_file.as_deref(), false)?,
                new_password: new_password_file
                    .as_deref()
                    .map(read_secret_file)
                    .transpose()?,
                allow_weak_password,
                mp,
                boot_image: BootImageChanges {
                    root_certs: root_cert,
                    ..BootImageChanges::default()
                },
                variables: parse_vars(&variable)?,
                label,
                source_date_epoch: source_date_epoch()?,
            };
            let bar = bar(g, json);
            on_signal_remove_work();
            report_outcome(&media::retarget(&plan, &bar)?, json, g)
        }
    }
}

fn bar(g: &Global, json: bool) -> Rc<dyn Progress> {
    Rc::new(super::progress::Bar::new(!g.quiet && !json))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0)
}

/// On Ctrl-C/SIGTERM, removes the work folders of the runs in progress, then exits 130.
fn on_signal_remove_work() {
    static HANDLER: std::sync::Once = std::sync::Once::new();
    HANDLER.call_once(|| {
        // Should the handler not install, an interrupted run only leaves its work folder.
        let _ = ctrlc::set_handler(|| {
            media::work::remove_live_work_dirs();
            std::process::exit(130);
        });
    });
}

/// The output: format and path from the flags, else the profile.
fn output_plan(
    out: OutputArgs,
    format: Option<Format>,
    path: Option<PathBuf>,
) -> anyhow::Result<OutputPlan> {
    let path = require(out.output.or(path), "-o", "the output path")?;
    let explicit = out.format.or(format).map(media::Format::from);
    let format = media::Format::resolve(explicit, &path)
        .map_err(|e| report::hinted(e.to_string(), e.hint()))?;
    Ok(OutputPlan {
        format,
        path,
        manifest: out.manifest,
        usb_size: None,
    })
}

/// Resolves `media build`'s flags, its profile and the environment (password, SOURCE_DATE_EPOCH)
/// into a plan; flags win over the profile.
fn resolve_build(a: BuildArgs) -> anyhow::Result<BuildPlan> {
    let p = match &a.profile {
        Some(path) => load_profile(path)?,
        None => Profile::default(),
    };
    let output = output_plan(a.out, p.format, p.output)?;
    let boot_wim = require(a.boot_wim.or(p.boot_wim), "--boot-wim", "the boot image")?;
    let mp = require(a.mp.or(p.mp), "--mp", "the CMG URL")?;
    let site_code = require(a.site_code.or(p.site_code), "--site-code", "the site code")?;
    let password = build_password(
        a.no_password || p.no_password,
        a.password_file.or(p.password_file),
    )?;
    let media_cert = build_media_cert(
        a.media_cert.or(p.media_cert),
        a.media_cert_password_file.or(p.media_cert_password_file),
    )?;
    let unknown = unknown_computers(a.unknown_computers, p.unknown_computers)?;
    let mut variables = parse_vars(&p.variables)?;
    variables.extend(parse_vars(&a.variable)?);
    let mut root_certs = p.root_certs;
    root_certs.extend(a.root_cert);
    let mut drivers = p.drivers;
    drivers.extend(a.driver);
    let customization = crate::driver::customize::Customization {
        drivers,
        overlays: p
            .overlays
            .iter()
            .chain(&a.overlay)
            .map(|o| super::customize::parse_overlay(o))
            .collect(),
        start_script: a.start_script.or(p.start_script),
        allow_unsigned: a.allow_unsigned || p.allow_unsigned,
    };
    let cipher = match a.cipher.or(p.cipher) {
        Some(CipherArg::Aes256) => Cipher::Aes256,
        _ => Cipher::Aes128,
    };
    Ok(BuildPlan {
        boot_wim,
        index: a.index.or(p.index).unwrap_or(1),
        mp,
        site_code,
        boot_image: BootImageChanges {
            root_certs,
            customization,
        },
        media_cert,
        media_cert_days: a
            .media_cert_days
            .or(p.media_cert_days)
            .unwrap_or(crate::media::mediacert::DEFAULT_DAYS),
        password,
        allow_weak_password: a.allow_weak_password || p.allow_weak_password,
        variables,
        unknown_computers: unknown,
        label: a.label.or(p.label),
        layout: LayoutOptions {
            secure_boot_2023: a.secure_boot_2023 || p.secure_boot_2023,
            no_prompt: a.no_prompt || p.no_prompt,
            pe_media: a.pe_media.or(p.pe_media),
            need_el_torito: false,
        },
        cipher,
        ports: (p.http_port.unwrap_or(80), p.https_port.unwrap_or(443)),
        source_date_epoch: source_date_epoch()?,
        output,
    })
}

/// The media password: none when asked for none, else from the file, the environment or a
/// prompt; a missing one is an error.
fn build_password(no_password: bool, file: Option<PathBuf>) -> anyhow::Result<Option<Secret>> {
    if no_password {
        return Ok(None);
    }
    match media_password(file.as_deref(), true)? {
        Some(pw) => Ok(Some(pw)),
        None => Err(report::hinted(
            "no media password",
            format!("give --password-file F, set {PASSWORD_ENV}, or run on a terminal to be asked"),
        )),
    }
}

/// The media certificate to use, with its password read from `password_file` (required with
/// a certificate).
fn build_media_cert(
    path: Option<PathBuf>,
    password_file: Option<PathBuf>,
) -> anyhow::Result<Option<MediaCert>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let pf = require(
        password_file,
        "--media-cert-password-file",
        "the PFX password file",
    )?;
    Ok(Some(MediaCert {
        path,
        password: read_secret_file(&pf)?,
    }))
}

/// The unknown-computer GUIDs (x64, x86): `--unknown-computers X,Y`, else the profile's pair.
fn unknown_computers(
    arg: Option<String>,
    profile: Option<[String; 2]>,
) -> anyhow::Result<Option<(String, String)>> {
    match arg {
        Some(s) => match s.split_once(',') {
            Some((x, y)) => Ok(Some((x.trim().to_string(), y.trim().to_string()))),
            None => Err(report::hinted(
                format!("--unknown-computers {s:?} is not two GUIDs"),
                "write --unknown-computers X64GUID,X86GUID",
            )),
        },
        None => Ok(profile.map(|[x, y]| (x, y))),
    }
}

/// Prints what a build or retarget produced: one JSON document, or notes and summary lines.
fn report_outcome(o: &Outcome, json: bool, g: &Global) -> anyhow::Result<Status> {
    if json {
        output::print_json(&BuildOutput {
            output: o.output.display().to_string(),
            manifest_path: o.manifest_path.display().to_string(),
            media_cert_registration: o
                .registration_path
                .as_ref()
                .map(|p| p.display().to_string()),
            manifest: &o.manifest,
            notes: &o.notes,
        })?;
        return Ok(Status::Success);
    }
    if !g.quiet {
        for n in &o.notes {
            eprintln!("note: {n}");
        }
    }
    let m = &o.manifest;
    output::line(format!(
        "{} {} medium written: {} ({} files, label {:?}, {} variables, {})",
        m.operation,
        o.format.name(),
        o.output.display(),
        m.files.len(),
        o.volume_label,
        m.variables.len(),
        m.cipher.name()
    ))?;
    output::line(format!(
        "boot entries: BIOS {}, UEFI {}",
        m.boot_entries.bios.as_deref().unwrap_or("-"),
        m.boot_entries.uefi.as_deref().unwrap_or("-")
    ))?;
    output::line(format!("manifest: {}", o.manifest_path.display()))?;
    if let Some(p) = &o.registration_path {
        output::line(format!("media certificate registration: {}", p.display()))?;
    }
    Ok(Status::Success)
}

/// Prints `media inspect`'s report; findings exit 1.
fn report_inspect(r: &site::InspectReport, json: bool) -> anyhow::Result<Status> {
    if json {
        // 2: `boot_image_customization` (issue #9).
        output::print_json_v(r, 2)?;
    } else {
        inspect_medium(r)?;
        inspect_trust(r)?;
        if let Some(c) = &r.boot_image_customization {
            inspect_customization(c)?;
        }
        if r.findings.is_empty() {
            output::line("findings: none")?;
        } else {
            output::line(format!("findings: {}", r.findings.len()))?;
            for f in &r.findings {
                output::line(format!("  [{}] {}", f.code, f.message))?;
            }
        }
    }
    Ok(if r.findings.is_empty() {
        Status::Success
    } else {
        Status::Findings
    })
}

/// Prints the medium, its boot entries and code, and its bootstrap and variables.
fn inspect_medium(r: &site::InspectReport) -> anyhow::Result<()> {
    output::line(format!(
        "medium: {} ({}{}, {} files)",
        r.medium,
        r.container,
        r.volume_label
            .as_deref()
            .map(|l| format!(", volume {l:?}"))
            .unwrap_or_default(),
        r.file_count
    ))?;
    output::line(format!(
        "boot entries: BIOS {}, UEFI {}",
        r.boot_entries.bios.as_deref().unwrap_or("-"),
        r.boot_entries.uefi.as_deref().unwrap_or("-")
    ))?;
    if let Some(b) = r.bios_boot {
        let who = |w: crate::media::boot::BiosBoot| match w {
            crate::media::boot::BiosBoot::None => "none",
            crate::media::boot::BiosBoot::Peforge => "peforge",
            crate::media::boot::BiosBoot::Other => "other",
        };
        output::line(format!(
            "BIOS boot code: MBR {}, FAT boot sector {}{}",
            who(b.mbr),
            who(b.vbr),
            if b.peforge { " (peforge's)" } else { "" }
        ))?;
    }
    output::line("TsmBootstrap.ini [MediaInfo]:")?;
    for (k, v) in &r.tsm_bootstrap {
        output::line(format!("  {k}={v}"))?;
    }
    if let Some(c) = r.cipher {
        output::line(format!("Variables.dat: {}", c.name()))?;
    }
    for v in &r.variables {
        output::line(format!("  {} = {}", v.name, v.value))?;
    }
    Ok(())
}

/// Prints the media certificate and the certificates the boot image trusts.
fn inspect_trust(r: &site::InspectReport) -> anyhow::Result<()> {
    if let Some(c) = &r.media_certificate {
        output::line(format!(
            "media certificate: {} (issuer {}, valid until {}, thumbprint {})",
            c.subject, c.issuer, c.not_after, c.thumbprint
        ))?;
    }
    output::line(format!(
        "trusted by the boot image: {} certificate(s)",
        r.trusted_certificates.len()
    ))?;
    for c in &r.trusted_certificates {
        output::line(format!(
            "  {} {} {}",
            c.store,
            c.thumbprint,
            c.subject.as_deref().unwrap_or("")
        ))?;
    }
    Ok(())
}

/// Prints what peforge added to the boot image: drivers, start script, overlays, start-up.
fn inspect_customization(c: &crate::driver::customize::Described) -> anyhow::Result<()> {
    output::line(format!(
        "added to the boot image by peforge: {} driver package(s)",
        c.record.drivers.len()
    ))?;
    for d in &c.record.drivers {
        output::line(format!(
            "  {}\\{{{}}} {} · {} · {}",
            d.folder,
            d.infs.join(", "),
            d.classes.join("/"),
            d.provider,
            d.driver_ver
        ))?;
    }
    if let Some(s) = &c.record.start_script {
        output::line(format!("  start script: {}", s.path))?;
    }
    for o in &c.record.overlays {
        output::line(format!("  overlay: {} file(s) at \\{}", o.files, o.target))?;
    }
    if let Some(h) = &c.record.hook {
        output::line(format!("  start-up ({}):", h.file))?;
        for (n, l) in c.startup_lines.iter().enumerate() {
            output::line(format!("    {}. {l}", n + 1))?;
        }
    }
    Ok(())
}
