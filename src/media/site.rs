//! ConfigMgr site-based boot media for a Cloud Management Gateway (`shared/specs/boot-media.md`
//! §5–§11; seed 002 "Créer un média de démarrage pour utiliser une passerelle de gestion cloud").
//!
//! Three operations, each producing a [`Prepared`] medium (a [`MediaTree`] plus its manifest)
//! that the caller writes with a container writer (folder, ISO, USB image):
//!
//! - [`prepare_build`]: a new medium from a boot image: boot files from the image (§1, §2),
//!   `sources/boot.wim` = the chosen image alone, root certificates injected, as the boot index;
//!   `SMS/data/TsmBootstrap.ini` (§5.1), `SMS/data/Variables.dat` (§6) with the CMG as
//!   `SMSTSMP`, `MediaLabel.txt`.
//! - [`prepare_retarget`]: a console-made medium as template: every file and variable kept
//!   (media certificate, site signing data, unknown-computer GUIDs, values not publicly
//!   documented, §11), only what is asked changed.
//! - [`inspect`]: what a medium holds and what is wrong with it.
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
use super::layout::{self, LayoutOptions};
use super::mediacert;
use super::pfx::{self, SaltSource};
use super::tree::{BootImages, FileSource, MediaTree};
use super::vars::{self, Cipher, MediaVarList};
use std::rc::Rc;

use crate::progress::Progress;
use crate::wim::{self, Wim};

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

/// The media certificate to embed.
#[derive(Debug, Clone)]
pub struct MediaCert {
    /// The PFX file.
    pub path: PathBuf,
    /// Its password.
    pub password: Secret,
}

/// Everything `media build` needs.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The boot image.
    pub boot_wim: PathBuf,
    /// Its image index.
    pub index: u32,
    /// The CMG URL (`SMSTSMP`).
    pub mp: String,
    /// The site code.
    pub site_code: String,
    /// Root certificates to inject into the boot image.
    pub root_certs: Vec<PathBuf>,
    /// The media certificate; `None` = create a new self-signed one (§9 option (b)) valid
    /// [`BuildRequest::media_cert_days`] days.
    pub media_cert: Option<MediaCert>,
    /// Validity in days of a new self-signed media certificate.
    pub media_cert_days: u32,
    /// The media password; `None` = no password (default password, §6.4).
    pub password: Option<Secret>,
    /// Accept a weak password.
    pub allow_weak_password: bool,
    /// User variables in order.
    pub variables: Vec<(String, Secret)>,
    /// x64 and x86 Unknown Computer GUIDs.
    pub unknown_computers: Option<(String, String)>,
    /// Media label (default "Configuration Manager").
    pub label: Option<String>,
    /// Boot file layout.
    pub layout: LayoutOptions,
    /// Cipher of Variables.dat.
    pub cipher: Cipher,
    /// Client HTTP and HTTPS ports.
    pub ports: (u16, u16),
    /// `SOURCE_DATE_EPOCH`: derive every random or time value from the inputs.
    pub source_date_epoch: Option<i64>,
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

/// Injects root certificates into image `index` of the WIM at `path` (a staging copy the caller
/// owns) with the certificate engine ([`crate::cert`]), as `peforge cert inject` does: a
/// self-signed certificate goes to `AuthRoot` (the store of seed 002's procedure), a CA that is
/// not self-signed to `CA`, a `.reg` export to the store it names. Commits in place, re-reads
/// every Blob, and returns the SHA-1 thumbprints.
fn inject_roots(
    path: &Path,
    index: u32,
    certs: &[PathBuf],
    epoch: Option<i64>,
) -> Result<Vec<String>, Error> {
    use crate::cert::{self, Blob, Profile, Store, load, store};
    if certs.is_empty() {
        return Ok(Vec::new());
    }
    let mut items: Vec<(Store, String, Vec<u8>)> = Vec::new();
    for file in certs {
        for l in load::load(file)? {
            let item = match l.reg {
                Some(r) => (r.store, r.key_name.to_ascii_uppercase(), r.blob),
                None => {
                    let st = if l.info.is_ca && !l.info.self_signed {
                        Store::Ca
                    } else {
                        Store::AuthRoot
                    };
                    let blob = Blob::build(&l.info, Profile::Minimal)
                        .map_err(|source| cert::Error::Blob {
                            what: file.display().to_string(),
                            source,
                        })?
                        .to_bytes();
                    (st, l.info.thumbprint.clone(), blob)
                }
            };
            if !items.iter().any(|i| i.0 == item.0 && i.1 == item.1) {
                items.push(item);
            }
        }
    }
    let mut w = Wim::open_writable(path)?;
    let mut x = wim::offline::open_hive(&w, index, wim::SOFTWARE_HIVE, true)?;
    for (st, thumb, blob) in &items {
        store::inject(&mut x.hive, *st, thumb, blob)?;
    }
    // For a reproducible build the hive's file times in the image are SOURCE_DATE_EPOCH rather
    // than the time of the build.
    let mtime = epoch.map(|t| {
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(t).unwrap_or(0))
    });
    x.stage_at(&mut w, mtime)?;
    w.commit(wim::CommitMode::Append)?;
    let check = Wim::open(path)?;
    let y = wim::offline::open_hive(&check, index, wim::SOFTWARE_HIVE, false)?;
    for (st, thumb, blob) in &items {
        let got = store::read_blob(&y.hive, *st, thumb)?;
        if got.as_deref() != Some(blob.as_slice())
            && !got.is_some_and(|b| store::validate(thumb, &b).is_valid())
        {
            return Err(Error::Template {
                path: path.into(),
                what: format!(
                    "{st}\\Certificates\\{thumb} does not hold the certificate after writing"
                ),
            });
        }
    }
    Ok(items.into_iter().map(|i| i.1).collect())
}

/// Writes `sources/boot.wim`: image `index` of `src` alone, roots injected, boot index 1.
fn make_boot_wim(
    src: &Path,
    index: u32,
    roots: &[PathBuf],
    staging: &Path,
    seed: Option<&[u8; 32]>,
    epoch: Option<i64>,
    progress: &Rc<dyn Progress>,
) -> Result<(PathBuf, Vec<String>), Error> {
    let out = staging.join("boot.wim");
    let guid = seed.map(|s| derived_guid(s, "boot.wim guid"));
    let input = Wim::open(src)?;
    let thumbs = if roots.is_empty() {
        wim::export_image(
            &input,
            index,
            &out,
            &wim::ExportOptions { guid, mtime: None },
            Some(progress.clone()),
        )?;
        Vec::new()
    } else {
        let stage1 = staging.join("stage1.wim");
        wim::export_image(
            &input,
            index,
            &stage1,
            &wim::ExportOptions::default(),
            Some(progress.clone()),
        )?;
        let thumbs = inject_roots(&stage1, 1, roots, epoch)?;
        let injected = Wim::open(&stage1)?;
        wim::export_image(
            &injected,
            1,
            &out,
            &wim::ExportOptions { guid, mtime: epoch },
            Some(progress.clone()),
        )?;
        thumbs
    };
    // Verify what was written: one image, bootable.
    let check = Wim::open(&out)?;
    let s = check.summary();
    if s.image_count != 1 || s.boot_index != 1 {
        return Err(Error::Template {
            path: out,
            what: format!(
                "exported boot image has {} image(s), boot index {}",
                s.image_count, s.boot_index
            ),
        });
    }
    Ok((out, thumbs))
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
/// entries and file list from the tree as it will be written.
fn seal(
    mut tree: MediaTree,
    mut manifest: Manifest,
    notes: Vec<String>,
    staging: tempfile::TempDir,
) -> Result<Prepared, Error> {
    canonical_dirs(&mut tree);
    manifest.boot_entries = (&tree.boot).into();
    manifest.files = fill_files(&tree)?;
    Ok(Prepared {
        tree,
        manifest,
        notes,
        registration: None,
        _staging: staging,
    })
}

fn fill_files(tree: &MediaTree) -> Result<Vec<FileFact>, Error> {
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

/// Builds a new site-based medium (see the module docs). `staging_parent` is where extracted
/// files and the new boot.wim are kept until written (ideally the output's folder).
pub fn prepare_build(
    req: &BuildRequest,
    staging_parent: &Path,
    progress: &Rc<dyn Progress>,
) -> Result<Prepared, Error> {
    let mut notes = Vec::new();
    // Validate everything cheap before touching the boot image.
    if let Some(n) = check_mp(&req.mp)? {
        notes.push(n);
    }
    let site = req.site_code.trim().to_ascii_uppercase();
    if site.len() != 3 || !site.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::BadSiteCode {
            value: req.site_code.clone(),
        });
    }
    match &req.password {
        None if is_cmg_url(&req.mp) => {
            return Err(Error::NoPasswordWithCmg { mp: req.mp.clone() });
        }
        None => notes.push(
            "no media password: Variables.dat uses the documented default password, so anyone with the medium can read it".into(),
        ),
        Some(pw) => {
            if let Some(why) = password_weakness(pw.expose())
                && !req.allow_weak_password
            {
                return Err(Error::WeakPassword { why });
            }
        }
    }
    if req.media_cert.is_none() && !(1..=mediacert::MAX_DAYS).contains(&req.media_cert_days) {
        return Err(Error::BadCertDays {
            value: req.media_cert_days,
        });
    }
    for (n, _) in &req.variables {
        reserved(
            n,
            &[
                "SMSTSMP",
                "_SMSTSSiteCode",
                "_SMSMediaGuid",
                "_SMSTSMediaPFX",
                "_SMSTSx64UnknownMachineGUID",
                "_SMSTSx86UnknownMachineGUID",
            ],
        )?;
    }
    let unknown = match &req.unknown_computers {
        Some((a, b)) => Some((check_guid(a)?, check_guid(b)?)),
        None => None,
    };
    let pfx_in = match &req.media_cert {
        Some(mc) => {
            let bytes = Zeroizing::new(std::fs::read(&mc.path).map_err(io(&mc.path))?);
            // Open the PFX now so a wrong password fails before the long steps.
            pfx::open(&bytes, mc.password.expose(), &mc.path.to_string_lossy())?;
            Some((mc, bytes))
        }
        None => None,
    };

    let mut inputs = vec![InputFact {
        role: "boot-wim".into(),
        path: req.boot_wim.display().to_string(),
        sha256: sha256_file(&req.boot_wim)?,
    }];
    for r in &req.root_certs {
        inputs.push(InputFact {
            role: "root-cert".into(),
            path: r.display().to_string(),
            sha256: sha256_file(r)?,
        });
    }
    if let Some((mc, bytes)) = &pfx_in {
        inputs.push(InputFact {
            role: "media-cert".into(),
            path: mc.path.display().to_string(),
            sha256: sha256_bytes(bytes),
        });
    }
    if let Some(d) = &req.layout.pe_media {
        inputs.push(InputFact {
            role: "pe-media".into(),
            path: d.display().to_string(),
            sha256: input_digest(d)?,
        });
    }
    let label = req.label.clone().unwrap_or_else(|| DEFAULT_LABEL.into());

    let seed = req.source_date_epoch.map(|epoch| {
        let mut parts: Vec<Vec<u8>> = vec![
            epoch.to_le_bytes().to_vec(),
            req.index.to_le_bytes().to_vec(),
            req.mp.as_bytes().to_vec(),
            site.as_bytes().to_vec(),
            label.as_bytes().to_vec(),
            req.media_cert_days.to_le_bytes().to_vec(),
            vec![
                u8::from(req.layout.secure_boot_2023),
                u8::from(req.layout.no_prompt),
            ],
        ];
        parts.extend(inputs.iter().map(|i| i.sha256.as_bytes().to_vec()));
        for (n, v) in &req.variables {
            parts.push(n.as_bytes().to_vec());
            parts.push(Sha256::digest(v.expose().as_bytes()).to_vec());
        }
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        seed_of(&refs)
    });

    let staging = tempfile::Builder::new()
        .prefix(".peforge-media-")
        .tempdir_in(staging_parent)
        .map_err(io(staging_parent))?;

    // Boot files, then boot.wim.
    let wim_in = Wim::open(&req.boot_wim)?;
    let boot = layout::boot_files(&wim_in, req.index, &req.layout, staging.path())?;
    notes.extend(boot.notes.iter().cloned());
    let kind = wim::detect(&wim_in, req.index)?;
    if kind.configmgr_arch.is_none() {
        notes.push(format!(
            "{}: image {} is not a ConfigMgr boot image (no sms\\bin\\<arch>\\TsBootShell.exe): it will boot but cannot run a task sequence",
            req.boot_wim.display(),
            req.index
        ));
    }
    drop(wim_in);
    let (boot_wim, thumbs) = make_boot_wim(
        &req.boot_wim,
        req.index,
        &req.root_certs,
        staging.path(),
        seed.as_ref(),
        req.source_date_epoch,
        progress,
    )?;

    // Media identity and certificate.
    let guid = match &seed {
        Some(s) => uuid::Uuid::from_bytes(derived_guid(s, "media guid")),
        None => uuid::Uuid::new_v4(),
    };
    let media_guid = Secret::new(guid.hyphenated().to_string().to_ascii_uppercase());
    let salts = match &seed {
        Some(s) => SaltSource::Derived(derived(s, "pkcs12")),
        None => SaltSource::Random,
    };
    let mut registration = None;
    let (pfx_out, cert_info) = match &pfx_in {
        Some((mc, bytes)) => pfx::reprotect(
            bytes,
            mc.password.expose(),
            media_guid.expose(),
            &salts,
            &mc.path.to_string_lossy(),
        )?,
        None => {
            let start = req.source_date_epoch.unwrap_or_else(now);
            let id = mediacert::create(
                &site,
                media_guid.expose(),
                start,
                req.media_cert_days,
                seed.as_ref()
                    .map(|s| derived(s, "media certificate"))
                    .as_ref(),
                &salts,
            )?;
            notes.push(format!(
                "created a new self-signed media certificate {} (RSA 2048, client authentication, valid to {}): the site must know it before the medium can authenticate; submit the registration record written beside the output through the SMS Provider (SMS_Site.SubmitRegistrationRecord; inferred, spec §9). Microsoft recommends a PKI client certificate for CMG boot media: --media-cert PFX",
                id.info.subject, id.info.not_after
            ));
            registration = Some(mediacert::Registration::new(
                &id,
                media_guid.expose(),
                &site,
            ));
            let info = id.info.clone();
            (id.pfx, Some(info))
        }
    };
    if let Some(ci) = &cert_info {
        // Validity is judged at the real time: SOURCE_DATE_EPOCH fixes output times, not the clock.
        let t = now();
        if ci.not_after_unix < t {
            notes.push(format!(
                "the media certificate {} expired on {}",
                ci.subject, ci.not_after
            ));
        } else if ci.not_before_unix > t {
            notes.push(format!(
                "the media certificate {} is not valid before {}",
                ci.subject, ci.not_before
            ));
        }
        if ci.client_auth == Some(false) {
            notes.push(format!(
                "the media certificate {} does not allow client authentication (extended key usage): the CMG will refuse it",
                ci.subject
            ));
        }
    }

    // Variables.
    let mut list = MediaVarList::default();
    list.set("SMSTSMP", &req.mp)?;
    list.set("_SMSTSSiteCode", &site)?;
    list.set("_SMSMediaGuid", media_guid.expose())?;
    let pfx_hex = Zeroizing::new(hex::encode_upper(pfx_out.as_slice()));
    list.set("_SMSTSMediaPFX", &pfx_hex)?;
    list.set("_SMSTSHTTPPort", &req.ports.0.to_string())?;
    list.set("_SMSTSHTTPSPort", &req.ports.1.to_string())?;
    if let Some((x64, x86)) = &unknown {
        list.set("_SMSTSx64UnknownMachineGUID", x64)?;
        list.set("_SMSTSx86UnknownMachineGUID", x86)?;
    }
    for (n, v) in &req.variables {
        list.set(n, v.expose())?;
    }
    let password = req
        .password
        .as_ref()
        .map_or(vars::DEFAULT_PASSWORD, Secret::expose);
    let dat = vars::encrypt(&list.to_plaintext(), password, req.cipher, &[0, 0, 0, 0])?;
    // Re-read what will be written.
    let back = vars::open(&dat, password, VARIABLES_DAT)?;
    if back.list.get("SMSTSMP") != Some(req.mp.as_str()) {
        return Err(Error::Template {
            path: VARIABLES_DAT.into(),
            what: "the encrypted variables do not read back".into(),
        });
    }
    notes.push("media made from scratch carry no site signing data (_SMSTSPublicRootKey, _SMSTSSiteSigningCertificate); the media certificate must be known to the site (Administration > Security > Certificates). A console-made medium used with `peforge media retarget` keeps both".into());

    let mut ini = TsmBootstrapIni::default();
    ini.set(
        "PasswordRequired",
        if req.password.is_some() {
            "true"
        } else {
            "false"
        },
    );

    let mut tree = MediaTree {
        label: volume_label(&label),
        boot: boot.boot.clone(),
        mtime: req.source_date_epoch.unwrap_or_else(now),
        ..Default::default()
    };
    for (media, local) in &boot.files {
        tree.insert(media, FileSource::Local(local.clone()));
    }
    tree.insert(BOOT_WIM, FileSource::Local(boot_wim));
    tree.insert(MEDIA_LABEL, FileSource::Bytes(label_file(&label)));
    tree.insert(TSM_BOOTSTRAP_INI, FileSource::Bytes(ini.to_bytes()));
    tree.insert(VARIABLES_DAT, FileSource::Bytes(dat));

    let manifest = Manifest {
        tool: "peforge".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        operation: "build".into(),
        format: String::new(),
        source_date_epoch: req.source_date_epoch,
        inputs,
        label,
        cipher: req.cipher,
        password_required: req.password.is_some(),
        variables: list.names(),
        root_certificates: thumbs,
        media_certificate: cert_info,
        boot_entries: BootEntries::default(),
        files: Vec::new(),
        output_sha256: None,
    };
    let mut prepared = seal(tree, manifest, notes, staging)?;
    prepared.registration = registration;
    Ok(prepared)
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

/// Everything `media retarget` needs.
#[derive(Debug, Clone)]
pub struct RetargetRequest {
    /// The template medium.
    pub template: PathBuf,
    /// Its media password (`None`: the medium has none, the default password is used).
    pub password: Option<Secret>,
    /// A new media password.
    pub new_password: Option<Secret>,
    /// Accept a weak new password.
    pub allow_weak_password: bool,
    /// A new management point URL.
    pub mp: Option<String>,
    /// Root certificates to inject into the template's boot image.
    pub root_certs: Vec<PathBuf>,
    /// Variables to set (kept in place when they exist).
    pub variables: Vec<(String, Secret)>,
    /// A new label.
    pub label: Option<String>,
    /// `SOURCE_DATE_EPOCH`.
    pub source_date_epoch: Option<i64>,
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

/// Rebuilds a console-made medium with only the asked changes (see the module docs).
pub fn prepare_retarget(
    req: &RetargetRequest,
    staging_parent: &Path,
    progress: &Rc<dyn Progress>,
) -> Result<Prepared, Error> {
    let mut notes = Vec::new();
    let staging = tempfile::Builder::new()
        .prefix(".peforge-media-")
        .tempdir_in(staging_parent)
        .map_err(io(staging_parent))?;
    let medium = open_medium(&req.template, staging.path(), None)?;
    let files = medium.files.clone();
    let not_site = |what: &str| Error::Template {
        path: req.template.clone(),
        what: format!("not a site-based medium: no {what}"),
    };
    let (dat_name, dat) = read_member(
        &req.template,
        &files,
        VARIABLES_DAT,
        vars::MAX_FILE_LEN as u64,
    )?
    .ok_or_else(|| not_site("SMS\\data\\Variables.dat"))?;
    let dat_shown = shown(&req.template, &dat_name);
    let ini = read_ini(&req.template, &files)?;
    let password_required = password_required(ini.as_ref().map(|(_, i)| i));
    if req.password.is_none() && password_required {
        return Err(Error::PasswordNeeded {
            path: dat_shown.display().to_string(),
        });
    }
    let old_pw = req
        .password
        .as_ref()
        .map_or(vars::DEFAULT_PASSWORD, Secret::expose);
    let mut file = vars::open(&dat, old_pw, &dat_shown.to_string_lossy())?;

    for (n, _) in &req.variables {
        reserved(n, &["SMSTSMP", "_SMSMediaGuid", "_SMSTSMediaPFX"])?;
    }
    if let Some(mp) = &req.mp {
        if let Some(n) = check_mp(mp)? {
            notes.push(n);
        }
        file.list.set("SMSTSMP", mp)?;
    } else if let Some(mp) = file.list.get("SMSTSMP") {
        check_mp(mp)?;
    }
    for (n, v) in &req.variables {
        file.list.set(n, v.expose())?;
    }
    let new_pw = match &req.new_password {
        Some(p) => {
            if let Some(why) = password_weakness(p.expose())
                && !req.allow_weak_password
            {
                return Err(Error::WeakPassword { why });
            }
            p.expose()
        }
        None => old_pw,
    };
    if !password_required && req.new_password.is_some() {
        notes.push(
            "the template has PasswordRequired=false; it is set to true with the new password"
                .into(),
        );
    }
    let out_dat = file.encrypt(new_pw)?;
    vars::open(&out_dat, new_pw, VARIABLES_DAT)?;

    let mut inputs = vec![InputFact {
        role: "template".into(),
        path: req.template.display().to_string(),
        sha256: input_digest(&req.template)?,
    }];
    let (_, boot_path) = find(&files, BOOT_WIM).ok_or_else(|| not_site("sources\\boot.wim"))?;
    let mut tree = MediaTree {
        mtime: req.source_date_epoch.unwrap_or_else(now),
        ..Default::default()
    };
    for (media, local) in &files {
        tree.insert(media, FileSource::Local(local.clone()));
    }
    tree.insert(&dat_name, FileSource::Bytes(out_dat));
    if let Some((name, mut ini)) = ini {
        if req.new_password.is_some() {
            ini.set("PasswordRequired", "true");
        }
        tree.insert(&name, FileSource::Bytes(ini.to_bytes()));
    }
    let mut thumbs = Vec::new();
    if !req.root_certs.is_empty() {
        for r in &req.root_certs {
            inputs.push(InputFact {
                role: "root-cert".into(),
                path: r.display().to_string(),
                sha256: sha256_file(r)?,
            });
        }
        let seed = req.source_date_epoch.map(|e| {
            let parts: Vec<Vec<u8>> = std::iter::once(e.to_le_bytes().to_vec())
                .chain(inputs.iter().map(|i| i.sha256.as_bytes().to_vec()))
                .collect();
            let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            seed_of(&refs)
        });
        let boot_index = Wim::open(boot_path)?.summary().boot_index.max(1);
        let (wim, t) = make_boot_wim(
            boot_path,
            boot_index,
            &req.root_certs,
            staging.path(),
            seed.as_ref(),
            req.source_date_epoch,
            progress,
        )?;
        thumbs = t;
        let name = find(&files, BOOT_WIM)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| BOOT_WIM.into());
        tree.insert(&name, FileSource::Local(wim));
    }
    let label = match (&req.label, find(&files, MEDIA_LABEL)) {
        (Some(l), found) => {
            let name = found
                .map(|(k, _)| k.clone())
                .unwrap_or_else(|| MEDIA_LABEL.into());
            tree.insert(&name, FileSource::Bytes(label_file(l)));
            l.clone()
        }
        (None, Some(_)) => {
            let bytes = read_member(&req.template, &files, MEDIA_LABEL, 4096)?
                .map(|(_, b)| b)
                .unwrap_or_default();
            let t = String::from_utf8_lossy(&bytes).into_owned();
            t.lines()
                .find_map(|l| l.trim().strip_prefix("label=").map(str::to_string))
                .unwrap_or_else(|| DEFAULT_LABEL.into())
        }
        (None, None) => DEFAULT_LABEL.into(),
    };
    tree.label = volume_label(&label);
    // El Torito images as on the template (by name).
    let efi = efi_eltorito_image(&files);
    tree.boot = match &medium.boot {
        // An ISO template: the same El Torito images.
        Some(b) => BootImages {
            bios: b.bios.clone(),
            uefi: b.uefi.clone(),
        },
        None => BootImages {
            bios: find(&files, "boot/etfsboot.com").map(|(k, _)| k.clone()),
            uefi: efi,
        },
    };
    let media_certificate = file
        .list
        .get("_SMSTSMediaPFX")
        .zip(file.list.get("_SMSMediaGuid"))
        .and_then(|(h, g)| media_cert_info(h, g).ok().flatten());
    let manifest = Manifest {
        tool: "peforge".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        operation: "retarget".into(),
        format: String::new(),
        source_date_epoch: req.source_date_epoch,
        inputs,
        label,
        cipher: file.header.cipher,
        password_required: password_required || req.new_password.is_some(),
        variables: file.list.names(),
        root_certificates: thumbs,
        media_certificate,
        boot_entries: BootEntries::default(),
        files: Vec::new(),
        output_sha256: None,
    };
    seal(tree, manifest, notes, staging)
}

/// Opens the media PFX of a variable list (hex, protected with the first 31 characters of the
/// media GUID) and returns its certificate's facts.
pub fn media_cert_info(pfx_hex: &str, media_guid: &str) -> Result<Option<pfx::CertInfo>, Error> {
    let bytes = Zeroizing::new(hex::decode(pfx_hex.trim()).map_err(|_| Error::Template {
        path: VARIABLES_DAT.into(),
        what: "_SMSTSMediaPFX is not hex".into(),
    })?);
    let c = pfx::open(
        &bytes,
        &pfx::media_pfx_password(media_guid),
        "_SMSTSMediaPFX",
    )?;
    Ok(c.cert_info())
}

/// A certificate trusted by the boot image.
#[derive(Debug, Clone, Serialize)]
pub struct TrustedCert {
    /// Location of the store (`system`, `group-policy`, `enterprise`).
    pub location: String,
    /// Store key (`ROOT`, `AuthRoot`, `CA`).
    pub store: String,
    /// Key name (SHA-1 thumbprint).
    pub thumbprint: String,
    /// Subject, when the Blob's certificate parses.
    pub subject: Option<String>,
    /// notAfter (Unix seconds), when the certificate parses.
    pub not_after: Option<i64>,
    /// Why Windows would skip the entry (empty when it is valid).
    pub errors: Vec<String>,
}

/// Lists the machine certificate stores (ROOT, AuthRoot, CA at every location) of the boot
/// image's SOFTWARE hive with the certificate engine ([`crate::cert::store::list`], which also
/// validates each Blob against its key name).
pub fn trusted_certs(wim: &Wim, index: u32) -> Result<Vec<TrustedCert>, Error> {
    use crate::cert::{Location, Store, store};
    let h = wim::offline::open_hive(wim, index, wim::SOFTWARE_HIVE, false)?;
    let entries = store::list(
        &h.hive,
        &Location::ALL,
        &[Store::Root, Store::AuthRoot, Store::Ca],
    )?;
    Ok(entries
        .into_iter()
        .map(|e| TrustedCert {
            location: e.location.name().into(),
            store: e.store.key_name().into(),
            thumbprint: e.key_name,
            subject: e.validation.cert.as_ref().map(|c| c.subject.clone()),
            not_after: e.validation.cert.as_ref().map(|c| c.not_after),
            errors: e.validation.errors,
        })
        .collect())
}

/// One problem found by [`inspect`].
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable identifier, e.g. `mp-not-https`.
    pub code: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// A media variable as reported (value redacted unless asked).
#[derive(Debug, Clone, Serialize)]
pub struct VarReport {
    /// Name.
    pub name: String,
    /// Value, or `<redacted: N characters>`.
    pub value: String,
}

/// What `media inspect` reports.
#[derive(Debug, Clone, Serialize)]
pub struct InspectReport {
    /// The medium.
    pub medium: String,
    /// `iso`, `usb` or `dir`.
    pub container: String,
    /// ISO/FAT volume label.
    pub volume_label: Option<String>,
    /// Files present (media paths).
    pub file_count: usize,
    /// Required boot files missing.
    pub missing: Vec<String>,
    /// El Torito images found by name.
    pub boot_entries: BootEntries,
    /// BIOS boot code of a USB image (`null` for ISO and folder).
    pub bios_boot: Option<super::usb::BiosBootCode>,
    /// TsmBootstrap.ini `[MediaInfo]` entries.
    pub tsm_bootstrap: Vec<(String, String)>,
    /// Variables.dat cipher.
    pub cipher: Option<Cipher>,
    /// The media variables (empty when not decrypted).
    pub variables: Vec<VarReport>,
    /// The media certificate's public facts.
    pub media_certificate: Option<pfx::CertInfo>,
    /// Certificates trusted by the boot image.
    pub trusted_certificates: Vec<TrustedCert>,
    /// Problems.
    pub findings: Vec<Finding>,
}

/// The peforge manifest of this medium, looked for inside the folder and beside it; only a
/// manifest whose Variables.dat hash matches the medium's counts.
fn own_manifest(
    medium: &Path,
    files: &BTreeMap<String, PathBuf>,
) -> Option<(PathBuf, serde_json::Value)> {
    let dat_sha = find(files, VARIABLES_DAT).and_then(|(_, p)| sha256_file(p).ok())?;
    [
        medium.join("peforge-manifest.json"),
        medium.with_file_name("peforge-manifest.json"),
    ]
    .into_iter()
    .find_map(|m| {
        let text = std::fs::read_to_string(&m).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        let ours = v["files"].as_array()?.iter().any(|f| {
            f["path"]
                .as_str()
                .is_some_and(|p| p.eq_ignore_ascii_case(VARIABLES_DAT))
                && f["sha256"].as_str() == Some(dat_sha.as_str())
        });
        ours.then_some((m, v))
    })
}

/// Inspects a medium. `password`: the media password when it has one. `root_expect`: SHA-1
/// thumbprints that must be trusted by the boot image (from the medium's manifest). `now`: the
/// time for expiry checks.
pub fn inspect(
    medium: &Path,
    password: Option<&Secret>,
    show_secrets: bool,
    now_unix: i64,
) -> Result<InspectReport, Error> {
    let staging = tempfile::tempdir().map_err(io(medium))?;
    let opened = open_medium(
        medium,
        staging.path(),
        Some(&[VARIABLES_DAT, TSM_BOOTSTRAP_INI, BOOT_WIM, MEDIA_LABEL]),
    )?;
    let files = opened.files.clone();
    let mut findings = Vec::new();
    let mut f = |code: &str, message: String| {
        findings.push(Finding {
            code: code.into(),
            message,
        });
    };
    let efi_boot = [
        "efi/boot/bootx64.efi",
        "efi/boot/bootaa64.efi",
        "efi/boot/bootia32.efi",
    ]
    .iter()
    .any(|m| find(&files, m).is_some());
    let mut missing: Vec<String> = [
        "bootmgr",
        "boot/BCD",
        "boot/boot.sdi",
        "efi/microsoft/boot/BCD",
        BOOT_WIM,
    ]
    .iter()
    .filter(|m| find(&files, m).is_none())
    .map(|m| (*m).to_string())
    .collect();
    if !efi_boot {
        missing.push("efi/boot/bootx64.efi".into());
    }
    if !missing.is_empty() {
        f(
            "layout",
            format!("boot files missing: {}", missing.join(", ")),
        );
    }
    let efi = efi_eltorito_image(&files);
    let manifest = own_manifest(medium, &files);
    let boot_entries = match (&opened.boot, &manifest) {
        (Some(b), _) => b.clone(),
        (None, Some((_, m))) => BootEntries {
            bios: m["boot_entries"]["bios"].as_str().map(str::to_string),
            uefi: m["boot_entries"]["uefi"].as_str().map(str::to_string),
        },
        (None, None) => BootEntries {
            bios: find(&files, "boot/etfsboot.com").map(|(k, _)| k.clone()),
            uefi: efi,
        },
    };
    if opened.container == "iso" && (boot_entries.bios.is_none() || boot_entries.uefi.is_none()) {
        f(
            "el-torito",
            format!(
                "the ISO lacks a {} El Torito entry",
                if boot_entries.uefi.is_none() {
                    "UEFI (0xEF)"
                } else {
                    "BIOS (0x00)"
                }
            ),
        );
    }
    let ini = read_ini(medium, &files)?.map(|(_, i)| i);
    if ini.is_none() {
        f(
            "no-tsmbootstrap",
            "SMS\\data\\TsmBootstrap.ini is missing: this is not a site-based medium".into(),
        );
    }
    let password_required = password_required(ini.as_ref());
    let mut variables = Vec::new();
    let mut cipher = None;
    let mut media_certificate = None;
    match read_member(medium, &files, VARIABLES_DAT, vars::MAX_FILE_LEN as u64)? {
        None => f(
            "no-variables",
            "SMS\\data\\Variables.dat is missing: this is not a site-based medium".into(),
        ),
        Some((name, dat)) => {
            let named = shown(medium, &name).to_string_lossy().into_owned();
            let header = vars::read_header(&dat, &named)?;
            cipher = Some(header.cipher);
            let pw = match (password, password_required) {
                (Some(pw), _) => Some(pw.expose()),
                (None, false) => Some(vars::DEFAULT_PASSWORD),
                (None, true) => None,
            };
            if !password_required {
                f("no-password", "the medium has no password (PasswordRequired=false): anyone with the medium can read its variables; CMG media need a strong password".into());
            }
            match pw {
                None => f(
                    "not-decrypted",
                    "the medium has a password: give --password-file to check its variables".into(),
                ),
                Some(pw) => {
                    let file = vars::open(&dat, pw, &named)?;
                    let l = &file.list;
                    match l.get("SMSTSMP") {
                        None => f(
                            "no-mp",
                            "SMSTSMP is not set: the medium has no management point".into(),
                        ),
                        Some(mp) => {
                            if check_mp(mp).is_err() {
                                f(
                                    "mp-not-https",
                                    format!(
                                        "SMSTSMP {mp} is not https: a CMG is reached over https only"
                                    ),
                                );
                            } else if !is_cmg_url(mp) {
                                f(
                                    "mp-not-cmg",
                                    format!(
                                        "SMSTSMP {mp} is not a CMG URL (…/CCM_Proxy_MutualAuth/<id>)"
                                    ),
                                );
                            }
                        }
                    }
                    if l.get("_SMSTSSiteCode").is_none() {
                        f("no-site-code", "_SMSTSSiteCode is not set".into());
                    }
                    match (l.get("_SMSTSMediaPFX"), l.get("_SMSMediaGuid")) {
                        (Some(h), Some(g)) => match media_cert_info(h, g) {
                            Ok(ci) => {
                                if let Some(c) = &ci
                                    && c.not_after_unix < now_unix
                                {
                                    f("media-cert-expired", format!("the media certificate {} expired on {}", c.subject, c.not_after));
                                }
                                media_certificate = ci;
                            }
                            Err(e) => f("media-cert-unreadable", format!("_SMSTSMediaPFX does not open with the media GUID's first 31 characters: {e}")),
                        },
                        _ => f("no-media-cert", "_SMSTSMediaPFX or _SMSMediaGuid is missing: the medium cannot authenticate to the CMG".into()),
                    }
                    for v in &l.vars {
                        let secret = SECRET_VARIABLES
                            .iter()
                            .any(|s| s.eq_ignore_ascii_case(&v.name));
                        variables.push(VarReport {
                            name: v.name.clone(),
                            value: if secret && !show_secrets {
                                format!("<redacted: {} characters>", v.value.chars().count())
                            } else {
                                v.value.to_string()
                            },
                        });
                    }
                }
            }
        }
    }
    let mut trusted = Vec::new();
    if let Some((_, p)) = find(&files, BOOT_WIM) {
        let wim = Wim::open(p)?;
        let s = wim.summary();
        let index = if s.boot_index == 0 { 1 } else { s.boot_index };
        if s.boot_index == 0 {
            f(
                "no-boot-index",
                "sources\\boot.wim has no boot index".into(),
            );
        }
        if wim::detect(&wim, index)?.configmgr_arch.is_none() {
            f("not-configmgr", "sources\\boot.wim is not a ConfigMgr boot image (no sms\\bin\\<arch>\\TsBootShell.exe): it cannot run a task sequence".into());
        }
        trusted = trusted_certs(&wim, index)?;
        for c in &trusted {
            if !c.errors.is_empty() {
                f(
                    "invalid-cert-entry",
                    format!(
                        "{}\\Certificates\\{} is not a valid certificate entry: {}",
                        c.store,
                        c.thumbprint,
                        c.errors.join("; ")
                    ),
                );
            } else if c.not_after.is_some_and(|t| t < now_unix) {
                f(
                    "cert-expired",
                    format!(
                        "{} {} ({}) has expired",
                        c.store,
                        c.thumbprint,
                        c.subject.as_deref().unwrap_or("?")
                    ),
                );
            }
        }
        if !trusted
            .iter()
            .any(|c| c.store != "CA" && c.errors.is_empty())
        {
            f("no-trusted-root", "the boot image trusts no root certificate (ROOT and AuthRoot are empty): if the CMG uses a PKI certificate, add its root (`peforge cert inject`, or retarget --root-cert)".into());
        }
        // Roots recorded in the medium's manifest must be in the image.
        if let Some((m, v)) = &manifest
            && let Some(roots) = v.get("root_certificates").and_then(|r| r.as_array())
        {
            for r in roots.iter().filter_map(|r| r.as_str()) {
                if !trusted.iter().any(|c| c.thumbprint.eq_ignore_ascii_case(r)) {
                    f(
                        "cmg-root-missing",
                        format!(
                            "root {r} listed in {} is not trusted by the boot image",
                            m.display()
                        ),
                    );
                }
            }
        }
    }
    Ok(InspectReport {
        medium: medium.display().to_string(),
        container: opened.container.into(),
        volume_label: opened.volume_label,
        file_count: files.len(),
        missing,
        boot_entries,
        bios_boot: opened.bios_boot,
        tsm_bootstrap: ini.map(|i| i.entries()).unwrap_or_default(),
        cipher,
        variables,
        media_certificate,
        trusted_certificates: trusted,
        findings,
    })
}
