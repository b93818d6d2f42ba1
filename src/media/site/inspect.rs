//! `media inspect`: what a medium holds and what is wrong with it, in four stages (layout,
//! boot entries, variables, trust), each adding its findings in that order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use zeroize::Zeroizing;

use super::{
    BOOT_WIM, BootEntries, Error, MEDIA_LABEL, Medium, SECRET_VARIABLES, TSM_BOOTSTRAP_INI,
    VARIABLES_DAT, check_mp, efi_eltorito_image, find, io, is_cmg_url, open_medium,
    password_required, read_ini, read_member, sha256_file, shown,
};
use crate::media::pfx;
use crate::media::plan::InspectPlan;
use crate::media::vars::{self, Cipher};
use crate::wim::{self, Wim};

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
    /// Drivers, start-up step, start script and overlays peforge added to the boot image
    /// (`wim customize`, `media build --driver`); `None` when it has none.
    pub boot_image_customization: Option<crate::driver::customize::Described>,
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

/// Collects findings in the order the checks run.
#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn add(&mut self, code: &str, message: String) {
        self.0.push(Finding {
            code: code.into(),
            message,
        });
    }
}

/// What stage 3 of [`inspect`] read from Variables.dat.
#[derive(Default)]
struct VarsSeen {
    cipher: Option<Cipher>,
    variables: Vec<VarReport>,
    media_certificate: Option<pfx::CertInfo>,
}

/// Inspects a medium (see [`InspectPlan`]): its layout, boot entries, TsmBootstrap.ini, media
/// variables, media certificate and the certificates its boot image trusts. Only the files
/// inspected are extracted from an ISO or USB image, into a temporary folder.
pub fn inspect(plan: &InspectPlan) -> Result<InspectReport, Error> {
    let medium = plan.medium.as_path();
    let staging = tempfile::tempdir().map_err(io(medium))?;
    let opened = open_medium(
        medium,
        staging.path(),
        Some(&[VARIABLES_DAT, TSM_BOOTSTRAP_INI, BOOT_WIM, MEDIA_LABEL]),
    )?;
    let files = &opened.files;
    let mut f = Findings::default();
    let missing = layout_findings(files, &mut f);
    let manifest = own_manifest(medium, files);
    let boot_entries = boot_entries(&opened, manifest.as_ref(), &mut f);
    let ini = read_ini(medium, files)?.map(|(_, i)| i);
    if ini.is_none() {
        f.add(
            "no-tsmbootstrap",
            "SMS\\data\\TsmBootstrap.ini is missing: this is not a site-based medium".into(),
        );
    }
    let seen = variable_findings(plan, files, password_required(ini.as_ref()), &mut f)?;
    let trusted = trust_findings(files, manifest.as_ref(), plan.now_unix, &mut f)?;
    let customization = customization_findings(files, &mut f)?;
    Ok(InspectReport {
        medium: medium.display().to_string(),
        container: opened.container.into(),
        volume_label: opened.volume_label.clone(),
        file_count: files.len(),
        missing,
        boot_entries,
        tsm_bootstrap: ini.map(|i| i.entries()).unwrap_or_default(),
        cipher: seen.cipher,
        variables: seen.variables,
        media_certificate: seen.media_certificate,
        trusted_certificates: trusted,
        boot_image_customization: customization,
        findings: f.0,
    })
}

/// Stage 5: what peforge added to the boot image (drivers, start-up step), and whether the
/// start-up step is still in place.
fn customization_findings(
    files: &BTreeMap<String, PathBuf>,
    f: &mut Findings,
) -> Result<Option<crate::driver::customize::Described>, Error> {
    let Some((_, p)) = find(files, BOOT_WIM) else {
        return Ok(None);
    };
    let wim = Wim::open(p)?;
    let s = wim.summary();
    let index = if s.boot_index == 0 { 1 } else { s.boot_index };
    let d = crate::driver::customize::describe(&wim, index)?;
    for problem in d.iter().flat_map(|d| &d.problems) {
        f.add(
            "customization-broken",
            format!("sources\\boot.wim: {problem}"),
        );
    }
    Ok(d)
}

/// Stage 1: the boot files a medium needs; returns those missing.
fn layout_findings(files: &BTreeMap<String, PathBuf>, f: &mut Findings) -> Vec<String> {
    let efi_boot = [
        "efi/boot/bootx64.efi",
        "efi/boot/bootaa64.efi",
        "efi/boot/bootia32.efi",
    ]
    .iter()
    .any(|m| find(files, m).is_some());
    let mut missing: Vec<String> = [
        "bootmgr",
        "boot/BCD",
        "boot/boot.sdi",
        "efi/microsoft/boot/BCD",
        BOOT_WIM,
    ]
    .iter()
    .filter(|m| find(files, m).is_none())
    .map(|m| (*m).to_string())
    .collect();
    if !efi_boot {
        missing.push("efi/boot/bootx64.efi".into());
    }
    if !missing.is_empty() {
        f.add(
            "layout",
            format!("boot files missing: {}", missing.join(", ")),
        );
    }
    missing
}

/// Stage 2: the boot entries: an ISO's El Torito entries, else those of the medium's own
/// manifest, else found by name.
fn boot_entries(
    opened: &Medium,
    manifest: Option<&(PathBuf, serde_json::Value)>,
    f: &mut Findings,
) -> BootEntries {
    let files = &opened.files;
    let boot_entries = match (&opened.boot, manifest) {
        (Some(b), _) => b.clone(),
        (None, Some((_, m))) => BootEntries {
            bios: m["boot_entries"]["bios"].as_str().map(str::to_string),
            uefi: m["boot_entries"]["uefi"].as_str().map(str::to_string),
        },
        (None, None) => BootEntries {
            bios: find(files, "boot/etfsboot.com").map(|(k, _)| k.clone()),
            uefi: efi_eltorito_image(files),
        },
    };
    if opened.container == "iso" && (boot_entries.bios.is_none() || boot_entries.uefi.is_none()) {
        f.add(
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
    boot_entries
}

/// Stage 3: Variables.dat: its cipher, and when it can be decrypted its variables (secrets
/// redacted unless asked), management point, site code and media certificate.
fn variable_findings(
    plan: &InspectPlan,
    files: &BTreeMap<String, PathBuf>,
    password_required: bool,
    f: &mut Findings,
) -> Result<VarsSeen, Error> {
    let medium = plan.medium.as_path();
    let mut seen = VarsSeen::default();
    let Some((name, dat)) = read_member(medium, files, VARIABLES_DAT, vars::MAX_FILE_LEN as u64)?
    else {
        f.add(
            "no-variables",
            "SMS\\data\\Variables.dat is missing: this is not a site-based medium".into(),
        );
        return Ok(seen);
    };
    let named = shown(medium, &name).to_string_lossy().into_owned();
    let header = vars::read_header(&dat, &named)?;
    seen.cipher = Some(header.cipher);
    let pw = match (&plan.password, password_required) {
        (Some(pw), _) => Some(pw.expose()),
        (None, false) => Some(vars::DEFAULT_PASSWORD),
        (None, true) => None,
    };
    if !password_required {
        f.add("no-password", "the medium has no password (PasswordRequired=false): anyone with the medium can read its variables; CMG media need a strong password".into());
    }
    let Some(pw) = pw else {
        f.add(
            "not-decrypted",
            "the medium has a password: give --password-file to check its variables".into(),
        );
        return Ok(seen);
    };
    let file = vars::open(&dat, pw, &named)?;
    let l = &file.list;
    match l.get("SMSTSMP") {
        None => f.add(
            "no-mp",
            "SMSTSMP is not set: the medium has no management point".into(),
        ),
        Some(mp) => {
            if check_mp(mp).is_err() {
                f.add(
                    "mp-not-https",
                    format!("SMSTSMP {mp} is not https: a CMG is reached over https only"),
                );
            } else if !is_cmg_url(mp) {
                f.add(
                    "mp-not-cmg",
                    format!("SMSTSMP {mp} is not a CMG URL (…/CCM_Proxy_MutualAuth/<id>)"),
                );
            }
        }
    }
    if l.get("_SMSTSSiteCode").is_none() {
        f.add("no-site-code", "_SMSTSSiteCode is not set".into());
    }
    match (l.get("_SMSTSMediaPFX"), l.get("_SMSMediaGuid")) {
        (Some(h), Some(g)) => match media_cert_info(h, g) {
            Ok(ci) => {
                if let Some(c) = &ci
                    && c.not_after_unix < plan.now_unix
                {
                    f.add(
                        "media-cert-expired",
                        format!(
                            "the media certificate {} expired on {}",
                            c.subject, c.not_after
                        ),
                    );
                }
                seen.media_certificate = ci;
            }
            Err(e) => f.add(
                "media-cert-unreadable",
                format!(
                    "_SMSTSMediaPFX does not open with the media GUID's first 31 characters: {e}"
                ),
            ),
        },
        _ => f.add(
            "no-media-cert",
            "_SMSTSMediaPFX or _SMSMediaGuid is missing: the medium cannot authenticate to the CMG"
                .into(),
        ),
    }
    for v in &l.vars {
        let secret = SECRET_VARIABLES
            .iter()
            .any(|s| s.eq_ignore_ascii_case(&v.name));
        seen.variables.push(VarReport {
            name: v.name.clone(),
            value: if secret && !plan.show_secrets {
                format!("<redacted: {} characters>", v.value.chars().count())
            } else {
                v.value.to_string()
            },
        });
    }
    Ok(seen)
}

/// Stage 4: the boot image: boot index, ConfigMgr or not, and the certificates it trusts
/// (invalid or expired entries, no root, roots of the medium's manifest missing).
fn trust_findings(
    files: &BTreeMap<String, PathBuf>,
    manifest: Option<&(PathBuf, serde_json::Value)>,
    now_unix: i64,
    f: &mut Findings,
) -> Result<Vec<TrustedCert>, Error> {
    let Some((_, p)) = find(files, BOOT_WIM) else {
        return Ok(Vec::new());
    };
    let wim = Wim::open(p)?;
    let s = wim.summary();
    let index = if s.boot_index == 0 { 1 } else { s.boot_index };
    if s.boot_index == 0 {
        f.add(
            "no-boot-index",
            "sources\\boot.wim has no boot index".into(),
        );
    }
    if wim::detect(&wim, index)?.configmgr_arch.is_none() {
        f.add("not-configmgr", "sources\\boot.wim is not a ConfigMgr boot image (no sms\\bin\\<arch>\\TsBootShell.exe): it cannot run a task sequence".into());
    }
    let trusted = trusted_certs(&wim, index)?;
    for c in &trusted {
        if !c.errors.is_empty() {
            f.add(
                "invalid-cert-entry",
                format!(
                    "{}\\Certificates\\{} is not a valid certificate entry: {}",
                    c.store,
                    c.thumbprint,
                    c.errors.join("; ")
                ),
            );
        } else if c.not_after.is_some_and(|t| t < now_unix) {
            f.add(
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
        f.add("no-trusted-root", "the boot image trusts no root certificate (ROOT and AuthRoot are empty): if the CMG uses a PKI certificate, add its root (`peforge cert inject`, or retarget --root-cert)".into());
    }
    // Roots recorded in the medium's manifest must be in the image.
    if let Some((m, v)) = manifest
        && let Some(roots) = v.get("root_certificates").and_then(|r| r.as_array())
    {
        for r in roots.iter().filter_map(|r| r.as_str()) {
            if !trusted.iter().any(|c| c.thumbprint.eq_ignore_ascii_case(r)) {
                f.add(
                    "cmg-root-missing",
                    format!(
                        "root {r} listed in {} is not trusted by the boot image",
                        m.display()
                    ),
                );
            }
        }
    }
    Ok(trusted)
}
