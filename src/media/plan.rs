//! The plans of the media commands: plain data that says everything a run needs, built by the
//! CLI from flags, a profile and the environment (`src/cli/media.rs`), or by any program
//! without the CLI, then executed by [`super::build`], [`super::retarget`] and
//! [`super::inspect`].
//!
//! A plan holds paths and values, never open files; it (de)serialises with serde so a build
//! server can keep or send it. Secrets ([`Secret`]) serialise as `"****"` so a logged plan never
//! shows one; they deserialise from their value.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::layout::LayoutOptions;
use super::site::Secret;
use super::vars::Cipher;

/// Container format of a medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// ISO 9660 + Joliet with El Torito BIOS and UEFI entries.
    Iso,
    /// Raw USB disk image (MBR, one FAT32 partition), for dd/Rufus/Etcher.
    Usb,
    /// A folder with the media files.
    Dir,
}

impl Format {
    /// The name used in file names, the manifest and messages (`iso`, `usb`, `dir`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Iso => "iso",
            Format::Usb => "usb",
            Format::Dir => "dir",
        }
    }
}

/// Where and how a medium is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputPlan {
    /// Container format.
    pub format: Format,
    /// Output file (iso, usb) or folder (dir). Must be missing, a regular file (iso, usb) or
    /// an empty folder (dir).
    pub path: PathBuf,
    /// Manifest path; `None` = `peforge-manifest.json` beside the output.
    #[serde(default)]
    pub manifest: Option<PathBuf>,
}

/// The media certificate to embed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MediaCert {
    /// The PFX file.
    pub path: PathBuf,
    /// Its password.
    pub password: Secret,
}

/// What is changed inside the medium's copy of the boot image before it is exported as
/// `sources/boot.wim` (the servicing stage, [`super::site`]). Empty = the chosen image is only
/// exported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootImageChanges {
    /// Root certificates to trust (PEM/DER/.reg), injected into the image's SOFTWARE hive.
    #[serde(default)]
    pub root_certs: Vec<PathBuf>,
    /// Driver packages, overlay folders and a start script (as `wim customize`).
    #[serde(default)]
    pub customization: crate::driver::customize::Customization,
}

impl BootImageChanges {
    /// Whether the boot image is exported unchanged.
    pub fn is_empty(&self) -> bool {
        self.root_certs.is_empty() && self.customization.is_empty()
    }
}

/// Everything `media build` needs: a new site-based medium from a boot image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildPlan {
    /// The boot image.
    pub boot_wim: PathBuf,
    /// Its image index.
    pub index: u32,
    /// The CMG URL (`SMSTSMP`).
    pub mp: String,
    /// The site code.
    pub site_code: String,
    /// Changes to the boot image (root certificates to inject).
    #[serde(default)]
    pub boot_image: BootImageChanges,
    /// The media certificate; `None` = create a new self-signed one (§9 option (b)) valid
    /// [`BuildPlan::media_cert_days`] days.
    #[serde(default)]
    pub media_cert: Option<MediaCert>,
    /// Validity in days of a new self-signed media certificate.
    pub media_cert_days: u32,
    /// The media password; `None` = no password (default password, §6.4).
    #[serde(default)]
    pub password: Option<Secret>,
    /// Accept a weak password.
    #[serde(default)]
    pub allow_weak_password: bool,
    /// User variables in order.
    #[serde(default)]
    pub variables: Vec<(String, Secret)>,
    /// x64 and x86 Unknown Computer GUIDs.
    #[serde(default)]
    pub unknown_computers: Option<(String, String)>,
    /// Media label (default "Configuration Manager").
    #[serde(default)]
    pub label: Option<String>,
    /// Boot file layout. `need_el_torito` is set from the output format by the build.
    #[serde(default)]
    pub layout: LayoutOptions,
    /// Cipher of Variables.dat.
    pub cipher: Cipher,
    /// Client HTTP and HTTPS ports.
    pub ports: (u16, u16),
    /// `SOURCE_DATE_EPOCH`: derive every random or time value from the inputs.
    #[serde(default)]
    pub source_date_epoch: Option<i64>,
    /// Where the medium goes.
    pub output: OutputPlan,
}

/// Everything `media retarget` needs: a console-made medium rebuilt with only the asked changes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetargetPlan {
    /// The template medium.
    pub template: PathBuf,
    /// Its media password (`None`: the medium has none, the default password is used).
    #[serde(default)]
    pub password: Option<Secret>,
    /// A new media password.
    #[serde(default)]
    pub new_password: Option<Secret>,
    /// Accept a weak new password.
    #[serde(default)]
    pub allow_weak_password: bool,
    /// A new management point URL.
    #[serde(default)]
    pub mp: Option<String>,
    /// Changes to the template's boot image (root certificates to inject).
    #[serde(default)]
    pub boot_image: BootImageChanges,
    /// Variables to set (kept in place when they exist).
    #[serde(default)]
    pub variables: Vec<(String, Secret)>,
    /// A new label.
    #[serde(default)]
    pub label: Option<String>,
    /// `SOURCE_DATE_EPOCH`.
    #[serde(default)]
    pub source_date_epoch: Option<i64>,
    /// Where the medium goes.
    pub output: OutputPlan,
}

/// Everything `media inspect` needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InspectPlan {
    /// The medium (folder, ISO or USB image).
    pub medium: PathBuf,
    /// Its media password, when it has one.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Show secret variable values instead of redacting them.
    #[serde(default)]
    pub show_secrets: bool,
    /// The time expiry is judged at (Unix seconds).
    pub now_unix: i64,
}
