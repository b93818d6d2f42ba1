//! ConfigMgr site-based boot media for a Cloud Management Gateway (`shared/specs/boot-media.md`
//! §5–§11; seed 002 "Créer un média de démarrage pour utiliser une passerelle de gestion cloud").
//!
//! Two preparations, each producing a [`Prepared`] medium (a [`MediaTree`] plus its manifest)
//! that the pipeline ([`crate::media::build`], [`crate::media::retarget`]) writes with a
//! container writer (folder, ISO, USB image), and an inspection:
//!
//! - [`prepare_build`] (`build.rs`): a new medium from a boot image: boot files from the image
//!   (§1, §2), `sources/boot.wim` = the chosen image alone, serviced (root certificates
//!   injected, `boot_image.rs`), as the boot index; `SMS/data/TsmBootstrap.ini` (§5.1),
//!   `SMS/data/Variables.dat` (§6) with the CMG as `SMSTSMP`, `MediaLabel.txt`.
//! - [`prepare_retarget`] (`retarget.rs`): a console-made medium as template: every file and
//!   variable kept (media certificate, site signing data, unknown-computer GUIDs, values not
//!   publicly documented, §11), only what is asked changed.
//! - [`inspect`] (`inspect.rs`): what a medium holds and what is wrong with it.
//!
//! Values that are not publicly known (site signing certificate, public root key, a media
//! certificate registered with the site) are never invented: they come from the user (a PFX) or
//! from a template medium. Without a PFX, [`prepare_build`] creates a new self-signed media
//! certificate ([`mediacert`], §9 option (b)) and returns its registration record
//! ([`Prepared::registration`]) for an administrator to submit: the site does not know it yet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::ini::TsmBootstrapIni;
use super::layout;
use super::mediacert;
use super::pfx;
use super::tree::{BootImages, FileSource, MediaTree};
use super::vars::{self, Cipher};
use crate::wim;

mod boot_image;
mod build;
mod inspect;
mod retarget;

pub use build::prepare_build;
pub use inspect::{
    Finding, InspectReport, TrustedCert, VarReport, inspect, media_cert_info, trusted_certs,
};
pub use retarget::prepare_retarget;

/// Media path of the variables file.
pub const VARIABLES_DAT: &str = "SMS/data/Variables.dat";
/// Media path of the media descriptor.
pub const TSM_BOOTSTRAP_INI: &str = "SMS/data/TsmBootstrap.ini";
/// Media path of the boot image.
pub const BOOT_WIM: &str = "sources/boot.wim";
/// Media path of the label file.
pub const MEDIA_LABEL: &str = "MediaLabel.txt";
/// Default media label (ConfigMgr's).
pub const DEFAULT_LABEL: &str = "Configuration Manager";

/// Variables whose values are secrets or key material: redacted unless asked.
pub const SECRET_VARIABLES: &[&str] = &[
    "_SMSTSMediaPFX",
    "_SMSMediaGuid",
    "_SMSTSPublicRootKey",
    "_SMSTSSiteSigningCertificate",
    "_SMSTSRootCACerts",
];

/// A secret string (media or PFX password, variable value) that prints as `****`.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(s.into()))
    }
    /// The secret itself; the only way to reach it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("****")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("****")
    }
}

/// Serialises as `"****"`: a plan written to a log or a file never carries the secret.
impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("****")
    }
}

/// Deserialises from the secret's value (a plan a program hands over).
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// Errors of site media operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Variables.dat.
    #[error(transparent)]
    Vars(#[from] vars::Error),
    /// TsmBootstrap.ini.
    #[error(transparent)]
    Ini(#[from] super::ini::Error),
    /// The media certificate.
    #[error(transparent)]
    Pfx(#[from] pfx::Error),
    /// Boot files.
    #[error(transparent)]
    Layout(#[from] layout::Error),
    /// The boot image.
    #[error(transparent)]
    Wim(#[from] wim::Error),
    /// The boot image's SOFTWARE hive.
    #[error(transparent)]
    Offline(#[from] wim::offline::Error),
    /// Reading an ISO or USB image.
    #[error(transparent)]
    Container(#[from] super::ContainerError),
    /// The management point URL is not https.
    #[error("management point {value:?} is not an https:// URL")]
    NotHttps {
        /// The URL given.
        value: String,
    },
    /// The site code is not three letters/digits.
    #[error("site code {value:?} is not three letters or digits")]
    BadSiteCode {
        /// The value given.
        value: String,
    },
    /// The media password is too weak.
    #[error("the media password is too weak: {why}")]
    WeakPassword {
        /// Why.
        why: String,
    },
    /// No password was asked for CMG media.
    #[error("media for a cloud management gateway ({mp}) must have a password")]
    NoPasswordWithCmg {
        /// The management point.
        mp: String,
    },
    /// The validity asked for a new media certificate is out of range.
    #[error("--media-cert-days {value}: a new media certificate must be valid 1 to {max} days", max = mediacert::MAX_DAYS)]
    BadCertDays {
        /// The value given.
        value: u32,
    },
    /// The certificate engine.
    #[error(transparent)]
    Cert(#[from] crate::cert::Error),
    /// Boot image customization (drivers, overlays, start script) failed.
    #[error(transparent)]
    Driver(#[from] crate::driver::Error),
    /// Unknown-computer GUIDs are malformed.
    #[error("unknown-computer GUID {value:?} is not a GUID")]
    BadGuid {
        /// The value given.
        value: String,
    },
    /// A user variable is malformed.
    #[error("variable {value:?} is not NAME=VALUE with a valid name")]
    BadVariable {
        /// The name part given (never the value).
        value: String,
    },
    /// A `--variable` names a variable that an option sets.
    #[error("variable {name} cannot be set with --variable")]
    ReservedVariable {
        /// The variable.
        name: String,
    },
    /// The medium is protected by a media password and none was given.
    #[error("{path}: the medium has a media password (PasswordRequired=true in TsmBootstrap.ini)")]
    PasswordNeeded {
        /// Variables.dat on the medium.
        path: String,
    },
    /// The template medium lacks something.
    #[error("{path}: {what}")]
    Template {
        /// The medium.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// File access failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Error {
    /// A one-line suggestion of what the user can do about this error.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Vars(e) => e.hint(),
            Error::Ini(e) => e.hint(),
            Error::Pfx(e) => e.hint(),
            Error::Layout(e) => e.hint(),
            Error::Wim(e) => e.hint(),
            Error::Offline(e) => e.hint(),
            Error::Container(e) => e.hint(),
            Error::NotHttps { .. } => Some(
                "give the CMG URL, e.g. --mp https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500".into(),
            ),
            Error::BadSiteCode { .. } => Some("give the primary site's code, e.g. --site-code PS1".into()),
            Error::WeakPassword { .. } => Some(
                "use at least 12 characters mixing upper case, lower case, digits and symbols (or --allow-weak-password for a lab)".into(),
            ),
            Error::NoPasswordWithCmg { .. } => Some(
                "Microsoft requires a strong media password for CMG boot media: give --password-file F or set PEFORGE_MEDIA_PASSWORD".into(),
            ),
            Error::BadCertDays { .. } => Some(
                "give --media-cert-days between 1 and 3650 (the console's default is 365)".into(),
            ),
            Error::Cert(e) => e.hint(),
            Error::Driver(e) => e.hint(),
            Error::BadGuid { .. } => Some(
                "give the two GUIDs of the x64 and x86 \"Unknown Computer\" objects: --unknown-computers X64GUID,X86GUID".into(),
            ),
            Error::BadVariable { .. } => Some("write --variable OSDComputerName=PC001".into()),
            Error::ReservedVariable { name } => Some(match name.as_str() {
                "SMSTSMP" => "set the management point with --mp (it must be https)".into(),
                "_SMSTSSiteCode" => "use --site-code".into(),
                "_SMSTSMediaPFX" | "_SMSMediaGuid" => "give the media certificate with --media-cert (without it a new self-signed one is made); retarget keeps the template's".into(),
                _ => "use --unknown-computers X64GUID,X86GUID".into(),
            }),
            Error::PasswordNeeded { .. } => Some(
                "give the medium's password with --password-file F (or set PEFORGE_MEDIA_PASSWORD)".into(),
            ),
            Error::Template { .. } => Some(
                "give a site-based boot medium made by the ConfigMgr console (a folder, ISO or USB image)".into(),
            ),
            Error::Io { .. } => None,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Checks a management point URL: https is required; returns a note when it does not have the
/// CMG form of §8.
pub fn check_mp(mp: &str) -> Result<Option<String>, Error> {
    let lower = mp.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("https://") else {
        return Err(Error::NotHttps { value: mp.into() });
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Err(Error::NotHttps { value: mp.into() });
    }
    Ok(if is_cmg_url(mp) {
        None
    } else {
        Some(format!(
            "{mp} is not of the CMG form https://<CMG FQDN>/CCM_Proxy_MutualAuth/<id>; using it as given"
        ))
    })
}

/// Whether a URL has the CMG form (`/CCM_Proxy_MutualAuth/<digits>` or `/CCM_Proxy_ServerAuth/<digits>`).
pub fn is_cmg_url(mp: &str) -> bool {
    let lower = mp.to_ascii_lowercase();
    ["/ccm_proxy_mutualauth/", "/ccm_proxy_serverauth/"]
        .iter()
        .any(|p| {
            lower.find(p).is_some_and(|i| {
                lower
                    .get(i + p.len()..)
                    .and_then(|r| r.split('/').next())
                    .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
            })
        })
}

/// Why a password is weak, or `None` when it is strong enough: at least 12 characters and three
/// of the four classes (upper, lower, digit, other).
pub fn password_weakness(pw: &str) -> Option<String> {
    let n = pw.chars().count();
    let classes = [
        pw.chars().any(char::is_uppercase),
        pw.chars().any(char::is_lowercase),
        pw.chars().any(|c| c.is_ascii_digit()),
        pw.chars().any(|c| !c.is_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if n < 12 {
        Some(format!("{n} characters, at least 12 are needed"))
    } else if classes < 3 {
        Some("it needs three of: upper case, lower case, digits, symbols".into())
    } else if pw.eq_ignore_ascii_case(vars::DEFAULT_PASSWORD) {
        Some("it is the documented default password".into())
    } else {
        None
    }
}

fn check_guid(s: &str) -> Result<String, Error> {
    let t = s.trim();
    let inner = t.trim_start_matches('{').trim_end_matches('}');
    uuid::Uuid::parse_str(inner)
        .map(|_| t.to_string())
        .map_err(|_| Error::BadGuid { value: s.into() })
}

/// Refuses a `--variable` that would bypass the option (and the checks) that owns the name.
fn reserved(name: &str, names: &[&str]) -> Result<(), Error> {
    match names.iter().find(|r| r.eq_ignore_ascii_case(name)) {
        Some(r) => Err(Error::ReservedVariable { name: (*r).into() }),
        None => Ok(()),
    }
}

/// Parses `NAME=VALUE` (a user variable).
pub fn parse_variable(s: &str) -> Result<(String, Secret), Error> {
    match s.split_once('=') {
        Some((n, v)) if vars::valid_name(n.trim()) => Ok((n.trim().to_string(), Secret::new(v))),
        _ => Err(Error::BadVariable {
            value: s.split('=').next().unwrap_or_default().to_string(),
        }),
    }
}

/// One input of the build, for the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct InputFact {
    /// What it is (`boot-wim`, `root-cert`, `media-cert`, `template`).
    pub role: String,
    /// The path as given.
    pub path: String,
    /// SHA-256 of the file; of a folder, the SHA-256 of its sorted `<sha256>  <path>` lines.
    pub sha256: String,
}

/// One file of the medium, for the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct FileFact {
    /// Media path.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256.
    pub sha256: String,
}

/// `peforge-manifest.json`: what went into a medium. Holds no secret (no password, no variable
/// value, no media GUID — its first 31 characters are the PFX password).
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// "peforge".
    pub tool: String,
    /// peforge's version.
    pub tool_version: String,
    /// "build" or "retarget".
    pub operation: String,
    /// Container format (`dir`, `iso`, `usb`), set by the writer.
    pub format: String,
    /// `SOURCE_DATE_EPOCH` when set.
    pub source_date_epoch: Option<i64>,
    /// Inputs with their SHA-256.
    pub inputs: Vec<InputFact>,
    /// Media label.
    pub label: String,
    /// Cipher of Variables.dat.
    pub cipher: Cipher,
    /// Whether a media password is required.
    pub password_required: bool,
    /// Media variable names in file order (never values).
    pub variables: Vec<String>,
    /// Root certificates injected (SHA-1 thumbprints).
    pub root_certificates: Vec<String>,
    /// The media certificate (public facts).
    pub media_certificate: Option<pfx::CertInfo>,
    /// El Torito boot images.
    pub boot_entries: BootEntries,
    /// Every file of the medium.
    pub files: Vec<FileFact>,
    /// SHA-256 of the written ISO/USB image, set by the writer.
    pub output_sha256: Option<String>,
}

/// Boot entries in the manifest and the inspect report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BootEntries {
    /// BIOS El Torito image (platform 0x00).
    pub bios: Option<String>,
    /// UEFI El Torito image (platform 0xEF).
    pub uefi: Option<String>,
}

impl From<&BootImages> for BootEntries {
    fn from(b: &BootImages) -> Self {
        BootEntries {
            bios: b.bios.clone(),
            uefi: b.uefi.clone(),
        }
    }
}

/// A medium ready to be written: its tree, the manifest (files filled in), notes for the user.
/// Keeps the staging directory holding extracted files alive.
#[derive(Debug)]
pub struct Prepared {
    /// The medium's files.
    pub tree: MediaTree,
    /// The manifest.
    pub manifest: Manifest,
    /// Remarks (fallbacks taken, values kept from the template, what to do next).
    pub notes: Vec<String>,
    /// When a new self-signed media certificate was made: what the site must register.
    pub registration: Option<mediacert::Registration>,
    _staging: tempfile::TempDir,
}

/// Seed for every derived value of a reproducible build.
fn seed_of(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"peforge site media\0");
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

fn derived(seed: &[u8; 32], label: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(seed);
    h.update(label.as_bytes());
    h.finalize().into()
}

fn derived_guid(seed: &[u8; 32], label: &str) -> [u8; 16] {
    let d = derived(seed, label);
    let mut g = [0u8; 16];
    g.copy_from_slice(d.get(..16).unwrap_or(&[0u8; 16]));
    // RFC 9562 version 8 (custom) and variant bits, so the GUID is well-formed.
    g[6] = (g[6] & 0x0F) | 0x80;
    g[8] = (g[8] & 0x3F) | 0x80;
    g
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0)
}

fn sha256_bytes(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn sha256_file(path: &Path) -> Result<String, Error> {
    crate::fsutil::sha256_file(path).map_err(io(path))
}

/// SHA-256 over a folder: the sorted lines `<sha256>  <relative path>` of every file (what
/// `find . -type f | sort | xargs sha256sum | sha256sum` gives, with `/` paths).
fn folder_digest(dir: &Path) -> Result<String, Error> {
    let mut files = BTreeMap::new();
    walk(dir, "", &mut files)?;
    let mut h = Sha256::new();
    for (rel, local) in &files {
        h.update(format!("{}  {rel}\n", sha256_file(local)?).as_bytes());
    }
    Ok(hex::encode(h.finalize()))
}

fn label_file(label: &str) -> Vec<u8> {
    format!("label={label}\r\n").into_bytes()
}

/// Gives every directory one spelling (the first in sorted order, as the container writers do),
/// so the manifest's paths are the paths on the written medium.
fn canonical_dirs(tree: &mut MediaTree) {
    let mut spelling: BTreeMap<String, String> = BTreeMap::new();
    let old = std::mem::take(&mut tree.files);
    for (path, src) in old {
        let mut parts: Vec<String> = path.split('/').map(str::to_string).collect();
        let n = parts.len();
        let mut prefix = String::new();
        for part in parts.iter_mut().take(n.saturating_sub(1)) {
            prefix.push_str(&part.to_uppercase());
            prefix.push('/');
            let fixed = spelling
                .entry(prefix.clone())
                .or_insert_with(|| part.clone());
            part.clone_from(fixed);
        }
        tree.files.insert(parts.join("/"), src);
    }
    let spell = |p: &Option<String>| {
        p.as_ref().map(|p| {
            tree.files
                .keys()
                .find(|k| k.eq_ignore_ascii_case(p))
                .cloned()
                .unwrap_or_else(|| p.clone())
        })
    };
    tree.boot = BootImages {
        bios: spell(&tree.boot.bios),
        uefi: spell(&tree.boot.uefi),
    };
}

/// The end shared by build and retarget: one spelling per directory, then the manifest's boot
/// entries. The file list (with each file's SHA-256) is made when the tree is written
/// ([`file_facts`]), since the tree can still change until then.
fn seal(
    mut tree: MediaTree,
    mut manifest: Manifest,
    notes: Vec<String>,
    staging: tempfile::TempDir,
) -> Result<Prepared, Error> {
    canonical_dirs(&mut tree);
    manifest.boot_entries = (&tree.boot).into();
    Ok(Prepared {
        tree,
        manifest,
        notes,
        registration: None,
        _staging: staging,
    })
}

/// The manifest's file list: every file of `tree` with its size and SHA-256.
pub fn file_facts(tree: &MediaTree) -> Result<Vec<FileFact>, Error> {
    let mut out = Vec::new();
    for (path, src) in &tree.files {
        let (size, sha256) = match src {
            FileSource::Bytes(b) => (b.len() as u64, sha256_bytes(b)),
            FileSource::Local(p) => (std::fs::metadata(p).map_err(io(p))?.len(), sha256_file(p)?),
        };
        out.push(FileFact {
            path: path.clone(),
            size,
            sha256,
        });
    }
    Ok(out)
}

/// The ISO/FAT volume label: ConfigMgr uses the first 11 characters of the media label (§4).
pub fn volume_label(label: &str) -> String {
    label
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ' || *c == '_' || *c == '-')
        .take(11)
        .collect::<String>()
        .trim()
        .to_string()
}

/// An existing medium opened for reading: its files as local paths (a folder is read in place;
/// an ISO or USB image is extracted into the staging folder) and what the container says.
#[derive(Debug, Default)]
pub struct Medium {
    /// Media path → local file.
    pub files: BTreeMap<String, PathBuf>,
    /// El Torito entries of an ISO (image paths), `None` for other containers.
    pub boot: Option<BootEntries>,
    /// Volume label of an ISO or USB image.
    pub volume_label: Option<String>,
    /// `iso`, `usb` or `dir`.
    pub container: &'static str,
    /// BIOS boot code of a USB image, `None` for other containers.
    pub bios_boot: Option<super::usb::BiosBootCode>,
}

fn extract_all(
    list: Vec<(String, u64)>,
    staging: &Path,
    only: Option<&[&str]>,
    copy: &dyn Fn(&str, &mut dyn std::io::Write) -> Result<u64, super::ContainerError>,
) -> Result<BTreeMap<String, PathBuf>, Error> {
    let mut out = BTreeMap::new();
    for (path, _) in list {
        // Names come from an untrusted image: never let one leave the staging folder.
        let safe = !path.is_empty()
            && path
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains(['\\', ':', '\0']));
        if !safe {
            return Err(Error::Template {
                path: staging.into(),
                what: format!("the medium holds a file with an unusable name {path:?}"),
            });
        }
        let local = staging.join("medium").join(&path);
        let wanted = only.is_none_or(|o| o.iter().any(|w| w.eq_ignore_ascii_case(&path)));
        if wanted {
            if let Some(d) = local.parent() {
                std::fs::create_dir_all(d).map_err(io(d))?;
            }
            let mut f = std::fs::File::create(&local).map_err(io(&local))?;
            copy(&path, &mut f)?;
        }
        out.insert(path, local);
    }
    Ok(out)
}

/// Opens a medium: a folder, an ISO (ISO 9660/Joliet) or a USB disk image (MBR + FAT). From an
/// image, only the files named in `only` (case-insensitive media paths) are extracted when it
/// is given; the others are listed with a local path that does not exist.
pub fn open_medium(path: &Path, staging: &Path, only: Option<&[&str]>) -> Result<Medium, Error> {
    let meta = std::fs::metadata(path).map_err(io(path))?;
    if meta.is_dir() {
        let mut files = BTreeMap::new();
        walk(path, "", &mut files)?;
        return Ok(Medium {
            files,
            container: "dir",
            ..Default::default()
        });
    }
    if let Ok(iso) = super::iso::IsoReader::open(path) {
        let list = iso
            .files()
            .iter()
            .map(|f| (f.path.clone(), f.size))
            .collect();
        let files = extract_all(list, staging, only, &|p, w| iso.copy_to(p, w))?;
        let entries = iso.boot_entries()?;
        let pick = |platform: u8| {
            entries
                .iter()
                .find(|e| e.platform == platform)
                .and_then(|e| e.image.clone())
        };
        return Ok(Medium {
            files,
            boot: Some(BootEntries {
                bios: pick(0x00),
                uefi: pick(0xEF),
            }),
            volume_label: Some(iso.label().to_string()),
            container: "iso",
            bios_boot: None,
        });
    }
    match super::usb::UsbReader::open(path) {
        Ok(usb) => {
            let list = usb.files()?.into_iter().map(|f| (f.path, f.size)).collect();
            let files = extract_all(list, staging, only, &|p, w| usb.copy_to(p, w))?;
            Ok(Medium {
                files,
                boot: None,
                volume_label: Some(usb.label()),
                container: "usb",
                bios_boot: Some(usb.bios_boot()),
            })
        }
        Err(_) => Err(Error::Template {
            path: path.into(),
            what: "neither a folder, an ISO 9660 image nor a USB disk image with a FAT partition"
                .into(),
        }),
    }
}

fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, PathBuf>) -> Result<(), Error> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .collect::<Result<_, _>>()
        .map_err(io(dir))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let media = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let ty = e.file_type().map_err(io(&e.path()))?;
        if ty.is_dir() {
            walk(&e.path(), &media, out)?;
        } else if ty.is_file() {
            out.insert(media, e.path());
        }
    }
    Ok(())
}

fn find<'a>(
    files: &'a BTreeMap<String, PathBuf>,
    media: &str,
) -> Option<(&'a String, &'a PathBuf)> {
    files.iter().find(|(k, _)| k.eq_ignore_ascii_case(media))
}

/// How a file of a medium is named in messages: its media path under the medium the user gave,
/// never the staging copy extracted from an ISO or USB image.
fn shown(medium: &Path, media_path: &str) -> PathBuf {
    medium.join(media_path)
}

/// Reads the medium's file `media_path` (case-insensitive), at most `limit` bytes; errors name
/// it as [`shown`]. Returns its spelling on the medium and its bytes, `None` when absent.
fn read_member(
    medium: &Path,
    files: &BTreeMap<String, PathBuf>,
    media_path: &str,
    limit: u64,
) -> Result<Option<(String, Vec<u8>)>, Error> {
    let Some((name, local)) = find(files, media_path) else {
        return Ok(None);
    };
    let named = shown(medium, name);
    let len = std::fs::metadata(local).map_err(io(&named))?.len();
    if len > limit {
        return Err(Error::Template {
            path: named,
            what: format!("{len} bytes is more than the {limit} expected"),
        });
    }
    let bytes = std::fs::read(local).map_err(io(&named))?;
    Ok(Some((name.clone(), bytes)))
}

/// Reads and parses the medium's `SMS/data/TsmBootstrap.ini`, when present.
fn read_ini(
    medium: &Path,
    files: &BTreeMap<String, PathBuf>,
) -> Result<Option<(String, TsmBootstrapIni)>, Error> {
    match read_member(medium, files, TSM_BOOTSTRAP_INI, super::ini::MAX_LEN as u64)? {
        Some((name, bytes)) => {
            let ini = TsmBootstrapIni::parse(&bytes, &shown(medium, &name).to_string_lossy())?;
            Ok(Some((name, ini)))
        }
        None => Ok(None),
    }
}

/// Whether the medium asks for a password: `PasswordRequired` is not `false` (§5.1, §6.4).
fn password_required(ini: Option<&TsmBootstrapIni>) -> bool {
    ini.and_then(|i| i.get("PasswordRequired"))
        .is_none_or(|v| !v.eq_ignore_ascii_case("false"))
}

/// The ISO UEFI El Torito images a medium may carry, in order of preference (§1, §2).
const EFI_ELTORITO_IMAGES: [&str; 4] = [
    "efi/microsoft/boot/efisys_ex.bin",
    "efi/microsoft/boot/efisys.bin",
    "efi/microsoft/boot/efisys_noprompt_ex.bin",
    "efi/microsoft/boot/efisys_noprompt.bin",
];

/// The first of [`EFI_ELTORITO_IMAGES`] present, as spelled on the medium.
fn efi_eltorito_image(files: &BTreeMap<String, PathBuf>) -> Option<String> {
    EFI_ELTORITO_IMAGES
        .iter()
        .find_map(|m| find(files, m).map(|(k, _)| k.clone()))
}

/// SHA-256 of an input: of the file, or for a folder [`folder_digest`].
fn input_digest(path: &Path) -> Result<String, Error> {
    if path.is_dir() {
        folder_digest(path)
    } else {
        sha256_file(path)
    }
}
