//! `peforge media build|inspect|retarget`: ConfigMgr site-based boot media for a CMG
//! (`shared/specs/boot-media.md` §5–§11), written as a folder, an ISO or a USB disk image.
//!
//! Secrets (media password, PFX password) come only from files, the environment variable
//! `PEFORGE_MEDIA_PASSWORD` or a TTY prompt — never from argv — and never reach stdout, the JSON
//! output or the manifest.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::Context;
use serde::Serialize;

use super::{Global, Status, output, report};
use crate::media::layout::LayoutOptions;
use crate::media::site::{self, BuildRequest, MediaCert, Prepared, RetargetRequest, Secret};
use crate::media::vars::Cipher;
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

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Iso => "iso",
            Format::Usb => "usb",
            Format::Dir => "dir",
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
    /// Container format.
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

/// Runs a media command.
pub fn run(cmd: MediaCmd, g: &Global) -> anyhow::Result<Status> {
    QUIET.store(g.quiet, std::sync::atomic::Ordering::Relaxed);
    match cmd {
        MediaCmd::Build(a) => build(*a, g),
        MediaCmd::Devices { json } => super::device::devices(json),
        MediaCmd::Write(a) => super::device::write(a, g),
        MediaCmd::Inspect {
            medium,
            password_file,
            show_secrets,
            json,
        } => inspect(&medium, password_file.as_deref(), show_secrets, json),
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
            let (format, output_path) = (
                require(out.format, "--format", "the output format")?,
                require(out.output.clone(), "-o", "the output path")?,
            );
            let req = RetargetRequest {
                template: medium,
                password: media_password(password_file.as_deref(), false)?,
                new_password: new_password_file
                    .as_deref()
                    .map(read_secret_file)
                    .transpose()?,
                allow_weak_password,
                mp,
                root_certs: root_cert,
                variables: parse_vars(&variable)?,
                label,
                source_date_epoch: source_date_epoch()?,
            };
            check_output(format, &output_path)?;
            let run = run_dir(&output_path)?;
            let bar: Rc<dyn Progress> = Rc::new(super::progress::Bar::new(!g.quiet && !out.json));
            let prepared = site::prepare_retarget(&req, run.path(), &bar)
                .with_context(|| format!("cannot retarget {}", req.template.display()))?;
            finish(
                prepared,
                &run,
                format,
                &output_path,
                out.manifest,
                out.json,
                g,
            )
        }
    }
}

fn staging_parent(out: &Path) -> PathBuf {
    out.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The work folder of the running build, for the Ctrl-C/SIGTERM handler.
static RUN_DIR: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);

/// A private folder next to the output where a run keeps its staging files (extracted boot
/// files, the new boot.wim) and writes the medium until it is verified. It is removed when the
/// run ends, and by the Ctrl-C/SIGTERM handler when the run is interrupted, so a killed build
/// leaves neither a half-written medium nor copies of the boot image.
fn run_dir(out: &Path) -> anyhow::Result<tempfile::TempDir> {
    let parent = staging_parent(out);
    let dir = tempfile::Builder::new()
        .prefix(".peforge-media-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot create a work folder in {}", parent.display()))?;
    if let Ok(mut slot) = RUN_DIR.lock() {
        *slot = Some(dir.path().to_path_buf());
    }
    static HANDLER: std::sync::Once = std::sync::Once::new();
    HANDLER.call_once(|| {
        // Should the handler not install, an interrupted run only leaves its work folder.
        let _ = ctrlc::set_handler(|| {
            if let Some(p) = RUN_DIR.lock().ok().and_then(|mut s| s.take()) {
                let _ = std::fs::remove_dir_all(p);
            }
            std::process::exit(130);
        });
    });
    Ok(dir)
}

/// Refuses, before the long steps, an output that cannot take the medium: for `dir` anything
/// but a missing or empty folder, for an image anything but a missing or regular file.
fn check_output(format: Format, out: &Path) -> anyhow::Result<()> {
    let Ok(meta) = std::fs::metadata(out) else {
        return Ok(());
    };
    let usable = if format == Format::Dir {
        meta.is_dir() && std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_none())
    } else {
        meta.is_file()
    };
    if usable {
        return Ok(());
    }
    Err(report::hinted(
        format!(
            "{}: exists and is not {}",
            out.display(),
            if format == Format::Dir {
                "an empty folder"
            } else {
                "a file"
            }
        ),
        "remove it or choose another output with -o",
    ))
}

fn build(a: BuildArgs, g: &Global) -> anyhow::Result<Status> {
    let p = match &a.profile {
        Some(path) => load_profile(path)?,
        None => Profile::default(),
    };
    let format = require(a.out.format.or(p.format), "--format", "the output format")?;
    let output_path = require(a.out.output.clone().or(p.output), "-o", "the output path")?;
    let boot_wim = require(a.boot_wim.or(p.boot_wim), "--boot-wim", "the boot image")?;
    let mp = require(a.mp.or(p.mp), "--mp", "the CMG URL")?;
    let site_code = require(a.site_code.or(p.site_code), "--site-code", "the site code")?;
    let no_password = a.no_password || p.no_password;
    let password = if no_password {
        None
    } else {
        let file = a.password_file.or(p.password_file);
        match media_password(file.as_deref(), true)? {
            Some(pw) => Some(pw),
            None => {
                return Err(report::hinted(
                    "no media password",
                    format!(
                        "give --password-file F, set {PASSWORD_ENV}, or run on a terminal to be asked"
                    ),
                ));
            }
        }
    };
    let media_cert = match a.media_cert.or(p.media_cert) {
        Some(path) => {
            let pf = require(
                a.media_cert_password_file.or(p.media_cert_password_file),
                "--media-cert-password-file",
                "the PFX password file",
            )?;
            Some(MediaCert {
                path,
                password: read_secret_file(&pf)?,
            })
        }
        None => None,
    };
    let unknown = match a.unknown_computers {
        Some(s) => match s.split_once(',') {
            Some((x, y)) => Some((x.trim().to_string(), y.trim().to_string())),
            None => {
                return Err(report::hinted(
                    format!("--unknown-computers {s:?} is not two GUIDs"),
                    "write --unknown-computers X64GUID,X86GUID",
                ));
            }
        },
        None => p.unknown_computers.map(|[x, y]| (x, y)),
    };
    let mut variables = parse_vars(&p.variables)?;
    variables.extend(parse_vars(&a.variable)?);
    let mut root_certs = p.root_certs;
    root_certs.extend(a.root_cert);
    let cipher = match a.cipher.or(p.cipher) {
        Some(CipherArg::Aes256) => Cipher::Aes256,
        _ => Cipher::Aes128,
    };
    let req = BuildRequest {
        boot_wim,
        index: a.index.or(p.index).unwrap_or(1),
        mp,
        site_code,
        root_certs,
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
            need_el_torito: format == Format::Iso,
        },
        cipher,
        ports: (p.http_port.unwrap_or(80), p.https_port.unwrap_or(443)),
        source_date_epoch: source_date_epoch()?,
    };
    check_output(format, &output_path)?;
    let run = run_dir(&output_path)?;
    let bar: Rc<dyn Progress> = Rc::new(super::progress::Bar::new(!g.quiet && !a.out.json));
    let prepared = site::prepare_build(&req, run.path(), &bar)
        .with_context(|| format!("cannot build media from {}", req.boot_wim.display()))?;
    finish(
        prepared,
        &run,
        format,
        &output_path,
        a.out.manifest,
        a.out.json,
        g,
    )
}

/// Writes the prepared medium in `format` inside the run's work folder, verifies it, moves it to
/// `out`, writes the manifest, reports.
fn finish(
    mut prepared: Prepared,
    run: &tempfile::TempDir,
    format: Format,
    out: &Path,
    manifest_path: Option<PathBuf>,
    json: bool,
    g: &Global,
) -> anyhow::Result<Status> {
    let bar = super::progress::Bar::new(!g.quiet && !json);
    prepared.manifest.format = format.name().into();
    let staged = run.path().join(format!("medium.{}", format.name()));
    let written = match format {
        Format::Dir => crate::media::write_dir(&prepared.tree, &staged, &bar).map(drop),
        Format::Iso => crate::media::iso::write(&prepared.tree, &staged, &bar).map(drop),
        Format::Usb => crate::media::usb::write(&prepared.tree, &staged, &bar).map(drop),
    };
    written.with_context(|| format!("cannot write {}", out.display()))?;
    // Only a medium that reads back as planned reaches `out` (one rename in the same folder).
    verify(&prepared, format, &staged, out)?;
    if format != Format::Dir {
        prepared.manifest.output_sha256 = Some(
            crate::fsutil::sha256_file(&staged)
                .with_context(|| format!("cannot read {}", out.display()))?,
        );
    } else if out.is_dir() {
        // An empty folder (check_output) the medium replaces.
        fs_err::remove_dir(out)?;
    }
    fs_err::rename(&staged, out)?;
    let manifest_path =
        manifest_path.unwrap_or_else(|| staging_parent(out).join("peforge-manifest.json"));
    let registration_path = prepared
        .registration
        .as_ref()
        .map(|_| registration_path(out));
    // A medium whose manifest (or certificate registration) cannot be written is not left behind.
    let sealed = (|| -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(&prepared.manifest)? + "\n";
        crate::fsutil::write_atomic(&manifest_path, text.as_bytes())
            .with_context(|| format!("cannot write {}", manifest_path.display()))?;
        if let (Some(r), Some(path)) = (&prepared.registration, &registration_path) {
            // The SMSID is the media GUID (it opens the PFX inside the decrypted Variables.dat):
            // readable by the owner only.
            let text = serde_json::to_string_pretty(r)? + "\n";
            crate::fsutil::write_atomic_private(path, text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    })();
    if let Err(e) = sealed {
        let _ = if format == Format::Dir {
            std::fs::remove_dir_all(out)
        } else {
            std::fs::remove_file(out)
        };
        return Err(e);
    }
    if json {
        output::print_json(&BuildOutput {
            output: out.display().to_string(),
            manifest_path: manifest_path.display().to_string(),
            media_cert_registration: registration_path.as_ref().map(|p| p.display().to_string()),
            manifest: &prepared.manifest,
            notes: &prepared.notes,
        })?;
    } else {
        if !g.quiet {
            for n in &prepared.notes {
                eprintln!("note: {n}");
            }
        }
        let m = &prepared.manifest;
        output::line(format!(
            "{} {} medium written: {} ({} files, label {:?}, {} variables, {})",
            m.operation,
            format.name(),
            out.display(),
            m.files.len(),
            prepared.tree.label,
            m.variables.len(),
            m.cipher.name()
        ))?;
        output::line(format!(
            "boot entries: BIOS {}, UEFI {}",
            m.boot_entries.bios.as_deref().unwrap_or("-"),
            m.boot_entries.uefi.as_deref().unwrap_or("-")
        ))?;
        output::line(format!("manifest: {}", manifest_path.display()))?;
        if let Some(p) = &registration_path {
            output::line(format!("media certificate registration: {}", p.display()))?;
        }
    }
    Ok(Status::Success)
}

/// `<OUT>.media-cert-registration.json` beside the output file or folder.
fn registration_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map_or_else(|| "media".into(), |n| n.to_string_lossy().into_owned());
    staging_parent(out).join(format!("{name}.media-cert-registration.json"))
}

/// Re-reads every file of the medium written at `at` (through the container readers for an ISO
/// or USB image) and compares it with the manifest; for an ISO also the El Torito entries.
/// Messages name `out`, where the medium goes.
fn verify(prepared: &Prepared, format: Format, at: &Path, out: &Path) -> anyhow::Result<()> {
    use sha2::Digest;
    struct Hashing(sha2::Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.update(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let check = |path: &str,
                 copy: &mut dyn FnMut(&mut Hashing) -> anyhow::Result<()>|
     -> anyhow::Result<()> {
        let want = prepared
            .manifest
            .files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.sha256.clone());
        let mut h = Hashing(sha2::Sha256::new());
        copy(&mut h)?;
        if Some(hex::encode(h.0.finalize())) != want {
            anyhow::bail!("{}: {path} does not read back as written", out.display());
        }
        Ok(())
    };
    match format {
        Format::Dir => {
            for f in &prepared.manifest.files {
                check(&f.path, &mut |h| {
                    let mut file = fs_err::File::open(at.join(&f.path))?;
                    std::io::copy(&mut file, h)?;
                    Ok(())
                })?;
            }
        }
        Format::Iso => {
            let r = crate::media::iso::IsoReader::open(at)?;
            for f in &prepared.manifest.files {
                check(&f.path, &mut |h| {
                    r.copy_to(&f.path, h)?;
                    Ok(())
                })?;
            }
            let entries = r.boot_entries()?;
            let image = |p: u8| {
                entries
                    .iter()
                    .find(|e| e.platform == p)
                    .and_then(|e| e.image.clone())
                    .map(|i| i.to_ascii_lowercase())
            };
            let want = &prepared.manifest.boot_entries;
            let lower = |w: &Option<String>| w.as_ref().map(|w| w.to_ascii_lowercase());
            if image(0x00) != lower(&want.bios) || image(0xEF) != lower(&want.uefi) {
                anyhow::bail!(
                    "{}: the El Torito entries do not read back as planned",
                    out.display()
                );
            }
        }
        Format::Usb => {
            let r = crate::media::usb::UsbReader::open(at)?;
            for f in &prepared.manifest.files {
                check(&f.path, &mut |h| {
                    r.copy_to(&f.path, h)?;
                    Ok(())
                })?;
            }
        }
    }
    Ok(())
}

fn inspect(
    medium: &Path,
    password_file: Option<&Path>,
    show_secrets: bool,
    json: bool,
) -> anyhow::Result<Status> {
    let password = media_password(password_file, false)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0);
    let r = site::inspect(medium, password.as_ref(), show_secrets, now)
        .with_context(|| format!("cannot inspect {}", medium.display()))?;
    if json {
        output::print_json(&r)?;
    } else {
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
