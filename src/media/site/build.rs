//! `media build`'s preparation stages: check the plan, record the inputs, stage the boot files
//! and the boot image, make the media identity (GUID, certificate), encrypt the variables,
//! assemble the tree and its manifest.

use std::path::Path;
use std::rc::Rc;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::boot_image::make_boot_wim;
use super::{
    BOOT_WIM, BootEntries, DEFAULT_LABEL, Error, InputFact, MEDIA_LABEL, Manifest, Prepared,
    Secret, TSM_BOOTSTRAP_INI, VARIABLES_DAT, check_guid, check_mp, derived, derived_guid,
    input_digest, io, is_cmg_url, label_file, now, password_weakness, reserved, seal, seed_of,
    sha256_bytes, sha256_file, volume_label,
};
use crate::media::ini::TsmBootstrapIni;
use crate::media::layout::{self, BootFiles, LayoutOptions};
use crate::media::mediacert;
use crate::media::pfx::{self, SaltSource};
use crate::media::plan::{BuildPlan, Format, MediaCert};
use crate::media::tree::{FileSource, MediaTree};
use crate::media::vars::{self, MediaVarList};
use crate::progress::Progress;
use crate::wim::{self, Wim};

/// Variables an option owns: a `--variable` may not set them.
const RESERVED: [&str; 6] = [
    "SMSTSMP",
    "_SMSTSSiteCode",
    "_SMSMediaGuid",
    "_SMSTSMediaPFX",
    "_SMSTSx64UnknownMachineGUID",
    "_SMSTSx86UnknownMachineGUID",
];

/// What [`check`] derived from the plan.
struct Checked<'a> {
    /// The site code, upper-cased.
    site: String,
    /// The Unknown Computer GUIDs, trimmed.
    unknown: Option<(String, String)>,
    /// The given media certificate and its bytes (opened once with its password).
    pfx: Option<(&'a MediaCert, Zeroizing<Vec<u8>>)>,
}

/// The media identity: its GUID, the PFX stored in `_SMSTSMediaPFX`, the certificate's facts,
/// and for a new self-signed certificate the record the site must register.
struct Identity {
    guid: Secret,
    pfx: Zeroizing<Vec<u8>>,
    cert: Option<pfx::CertInfo>,
    registration: Option<mediacert::Registration>,
}

/// Builds a new site-based medium (see the module docs of [`super`]). `staging_parent` is where
/// extracted files and the new boot.wim are kept until written (the run's work folder).
pub fn prepare_build(
    plan: &BuildPlan,
    staging_parent: &Path,
    progress: &Rc<dyn Progress>,
) -> Result<Prepared, Error> {
    let mut notes = Vec::new();
    // Everything cheap is checked before the boot image is touched.
    let checked = check(plan, &mut notes)?;
    let label = plan.label.clone().unwrap_or_else(|| DEFAULT_LABEL.into());
    let staging = tempfile::Builder::new()
        .prefix(".peforge-media-")
        .tempdir_in(staging_parent)
        .map_err(io(staging_parent))?;
    let boot = stage_boot_files(plan, staging.path(), &mut notes)?;
    let boot_wim = |seed: Option<&[u8; 32]>| {
        make_boot_wim(
            &plan.boot_wim,
            plan.index,
            &plan.boot_image,
            staging.path(),
            seed,
            plan.source_date_epoch,
            progress,
        )
    };
    let (inputs, seed, (boot_wim, serviced)) = if plan.source_date_epoch.is_some() {
        // A reproducible build derives the boot image's GUID from the inputs' hashes.
        let inputs = inputs(plan, checked.pfx.as_ref())?;
        let seed = seed(plan, &checked.site, &label, &inputs);
        let made = boot_wim(seed.as_ref())?;
        (inputs, seed, made)
    } else {
        // Otherwise the inputs (mostly the user's boot image) are hashed on a second thread
        // while wimlib writes the boot image.
        let pfx = checked.pfx.as_ref();
        let (inputs, made) = std::thread::scope(|s| {
            let hashing = s.spawn(|| inputs(plan, pfx));
            let made = boot_wim(None);
            (hashing.join(), made)
        });
        let inputs = inputs.unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        (inputs, None, made?)
    };
    if let Some(c) = &serviced.customized {
        notes.push(format!(
            "boot image: {} driver package(s) under peforge\\drivers, loaded with drvload before TsBootShell.exe ({} bytes held in RAM by WinPE; not written into the driver store)",
            c.record.drivers.len(),
            c.record.drivers.iter().map(|d| d.bytes).sum::<u64>()
        ));
        notes.extend(
            c.warnings
                .iter()
                .map(|w| format!("{} {}", w.code, w.message)),
        );
    }
    let id = identity(plan, &checked, seed.as_ref(), &mut notes)?;
    let (dat, list) = variables(plan, &checked, &id)?;
    notes.push("media made from scratch carry no site signing data (_SMSTSPublicRootKey, _SMSTSSiteSigningCertificate); the media certificate must be known to the site (Administration > Security > Certificates). A console-made medium used with `peforge media retarget` keeps both".into());

    let mut tree = MediaTree {
        label: volume_label(&label),
        boot: boot.boot.clone(),
        mtime: plan.source_date_epoch.unwrap_or_else(now),
        ..Default::default()
    };
    for (media, local) in &boot.files {
        tree.insert(media, FileSource::Local(local.clone()));
    }
    tree.insert(BOOT_WIM, FileSource::Local(boot_wim));
    tree.insert(MEDIA_LABEL, FileSource::Bytes(label_file(&label)));
    tree.insert(TSM_BOOTSTRAP_INI, FileSource::Bytes(ini(plan).to_bytes()));
    tree.insert(VARIABLES_DAT, FileSource::Bytes(dat));

    let manifest = Manifest {
        tool: "peforge".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        operation: "build".into(),
        format: String::new(),
        source_date_epoch: plan.source_date_epoch,
        inputs,
        label,
        cipher: plan.cipher,
        password_required: plan.password.is_some(),
        variables: list.names(),
        root_certificates: serviced.roots,
        media_certificate: id.cert,
        boot_entries: BootEntries::default(),
        files: Vec::new(),
        output_sha256: None,
    };
    let mut prepared = seal(tree, manifest, notes, staging)?;
    prepared.registration = id.registration;
    Ok(prepared)
}

/// Stage 1: the plan's values (URL, site code, password, certificate days, variables, GUIDs,
/// the PFX and its password).
fn check<'a>(plan: &'a BuildPlan, notes: &mut Vec<String>) -> Result<Checked<'a>, Error> {
    if let Some(n) = check_mp(&plan.mp)? {
        notes.push(n);
    }
    let site = plan.site_code.trim().to_ascii_uppercase();
    if site.len() != 3 || !site.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::BadSiteCode {
            value: plan.site_code.clone(),
        });
    }
    match &plan.password {
        None if is_cmg_url(&plan.mp) => {
            return Err(Error::NoPasswordWithCmg {
                mp: plan.mp.clone(),
            });
        }
        None => notes.push(
            "no media password: Variables.dat uses the documented default password, so anyone with the medium can read it".into(),
        ),
        Some(pw) => {
            if let Some(why) = password_weakness(pw.expose())
                && !plan.allow_weak_password
            {
                return Err(Error::WeakPassword { why });
            }
        }
    }
    if plan.media_cert.is_none() && !(1..=mediacert::MAX_DAYS).contains(&plan.media_cert_days) {
        return Err(Error::BadCertDays {
            value: plan.media_cert_days,
        });
    }
    for (n, _) in &plan.variables {
        reserved(n, &RESERVED)?;
    }
    let unknown = match &plan.unknown_computers {
        Some((a, b)) => Some((check_guid(a)?, check_guid(b)?)),
        None => None,
    };
    let pfx = match &plan.media_cert {
        Some(mc) => {
            let bytes = Zeroizing::new(std::fs::read(&mc.path).map_err(io(&mc.path))?);
            // Open the PFX now so a wrong password fails before the long steps.
            pfx::open(&bytes, mc.password.expose(), &mc.path.to_string_lossy())?;
            Some((mc, bytes))
        }
        None => None,
    };
    Ok(Checked { site, unknown, pfx })
}

/// Stage 2: the inputs with their SHA-256, for the manifest (and the reproducible seed).
fn inputs(
    plan: &BuildPlan,
    pfx: Option<&(&MediaCert, Zeroizing<Vec<u8>>)>,
) -> Result<Vec<InputFact>, Error> {
    let mut inputs = vec![InputFact {
        role: "boot-wim".into(),
        path: plan.boot_wim.display().to_string(),
        sha256: sha256_file(&plan.boot_wim)?,
    }];
    for r in &plan.boot_image.root_certs {
        inputs.push(InputFact {
            role: "root-cert".into(),
            path: r.display().to_string(),
            sha256: sha256_file(r)?,
        });
    }
    if let Some((mc, bytes)) = pfx {
        inputs.push(InputFact {
            role: "media-cert".into(),
            path: mc.path.display().to_string(),
            sha256: sha256_bytes(bytes),
        });
    }
    if let Some(d) = &plan.layout.pe_media {
        inputs.push(InputFact {
            role: "pe-media".into(),
            path: d.display().to_string(),
            sha256: input_digest(d)?,
        });
    }
    Ok(inputs)
}

/// The seed of every derived value when `SOURCE_DATE_EPOCH` is set: the same inputs and
/// options give the same medium.
fn seed(plan: &BuildPlan, site: &str, label: &str, inputs: &[InputFact]) -> Option<[u8; 32]> {
    plan.source_date_epoch.map(|epoch| {
        let mut parts: Vec<Vec<u8>> = vec![
            epoch.to_le_bytes().to_vec(),
            plan.index.to_le_bytes().to_vec(),
            plan.mp.as_bytes().to_vec(),
            site.as_bytes().to_vec(),
            label.as_bytes().to_vec(),
            plan.media_cert_days.to_le_bytes().to_vec(),
            vec![
                u8::from(plan.layout.secure_boot_2023),
                u8::from(plan.layout.no_prompt),
            ],
        ];
        parts.extend(inputs.iter().map(|i| i.sha256.as_bytes().to_vec()));
        for (n, v) in &plan.variables {
            parts.push(n.as_bytes().to_vec());
            parts.push(Sha256::digest(v.expose().as_bytes()).to_vec());
        }
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        seed_of(&refs)
    })
}

/// Stage 3: the boot files, extracted from the image (or the ADK media folder) into `staging`.
fn stage_boot_files(
    plan: &BuildPlan,
    staging: &Path,
    notes: &mut Vec<String>,
) -> Result<BootFiles, Error> {
    let layout = LayoutOptions {
        need_el_torito: plan.output.format == Format::Iso,
        ..plan.layout.clone()
    };
    let wim_in = Wim::open(&plan.boot_wim)?;
    let boot = layout::boot_files(&wim_in, plan.index, &layout, staging)?;
    notes.extend(boot.notes.iter().cloned());
    let kind = wim::detect(&wim_in, plan.index)?;
    if kind.configmgr_arch.is_none() {
        notes.push(format!(
            "{}: image {} is not a ConfigMgr boot image (no sms\\bin\\<arch>\\TsBootShell.exe): it will boot but cannot run a task sequence",
            plan.boot_wim.display(),
            plan.index
        ));
    }
    Ok(boot)
}

/// Stage 4: the media GUID and certificate: the given PFX re-protected with the GUID, or a new
/// self-signed certificate with its registration record.
fn identity(
    plan: &BuildPlan,
    checked: &Checked<'_>,
    seed: Option<&[u8; 32]>,
    notes: &mut Vec<String>,
) -> Result<Identity, Error> {
    let guid = match seed {
        Some(s) => uuid::Uuid::from_bytes(derived_guid(s, "media guid")),
        None => uuid::Uuid::new_v4(),
    };
    let guid = Secret::new(guid.hyphenated().to_string().to_ascii_uppercase());
    let salts = match seed {
        Some(s) => SaltSource::Derived(derived(s, "pkcs12")),
        None => SaltSource::Random,
    };
    let mut registration = None;
    let (pfx_out, cert) = match &checked.pfx {
        Some((mc, bytes)) => pfx::reprotect(
            bytes,
            mc.password.expose(),
            guid.expose(),
            &salts,
            &mc.path.to_string_lossy(),
        )?,
        None => {
            let start = plan.source_date_epoch.unwrap_or_else(now);
            let id = mediacert::create(
                &checked.site,
                guid.expose(),
                start,
                plan.media_cert_days,
                seed.map(|s| derived(s, "media certificate")).as_ref(),
                &salts,
            )?;
            notes.push(format!(
                "created a new self-signed media certificate {} (RSA 2048, client authentication, valid to {}): the site must know it before the medium can authenticate; submit the registration record written beside the output through the SMS Provider (SMS_Site.SubmitRegistrationRecord; inferred, spec §9). Microsoft recommends a PKI client certificate for CMG boot media: --media-cert PFX",
                id.info.subject, id.info.not_after
            ));
            registration = Some(mediacert::Registration::new(
                &id,
                guid.expose(),
                &checked.site,
            ));
            let info = id.info.clone();
            (id.pfx, Some(info))
        }
    };
    if let Some(ci) = &cert {
        cert_notes(ci, notes);
    }
    Ok(Identity {
        guid,
        pfx: pfx_out,
        cert,
        registration,
    })
}

/// Notes on a media certificate that the CMG would refuse (expired, not yet valid, no client
/// authentication).
fn cert_notes(ci: &pfx::CertInfo, notes: &mut Vec<String>) {
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

/// Stage 5: `SMS/data/Variables.dat`, encrypted and read back.
fn variables(
    plan: &BuildPlan,
    checked: &Checked<'_>,
    id: &Identity,
) -> Result<(Vec<u8>, MediaVarList), Error> {
    let mut list = MediaVarList::default();
    list.set("SMSTSMP", &plan.mp)?;
    list.set("_SMSTSSiteCode", &checked.site)?;
    list.set("_SMSMediaGuid", id.guid.expose())?;
    let pfx_hex = Zeroizing::new(hex::encode_upper(id.pfx.as_slice()));
    list.set("_SMSTSMediaPFX", &pfx_hex)?;
    list.set("_SMSTSHTTPPort", &plan.ports.0.to_string())?;
    list.set("_SMSTSHTTPSPort", &plan.ports.1.to_string())?;
    if let Some((x64, x86)) = &checked.unknown {
        list.set("_SMSTSx64UnknownMachineGUID", x64)?;
        list.set("_SMSTSx86UnknownMachineGUID", x86)?;
    }
    for (n, v) in &plan.variables {
        list.set(n, v.expose())?;
    }
    let password = plan
        .password
        .as_ref()
        .map_or(vars::DEFAULT_PASSWORD, Secret::expose);
    let dat = vars::encrypt(&list.to_plaintext(), password, plan.cipher, &[0, 0, 0, 0])?;
    // Re-read what will be written.
    let back = vars::open(&dat, password, VARIABLES_DAT)?;
    if back.list.get("SMSTSMP") != Some(plan.mp.as_str()) {
        return Err(Error::Template {
            path: VARIABLES_DAT.into(),
            what: "the encrypted variables do not read back".into(),
        });
    }
    Ok((dat, list))
}

/// `SMS/data/TsmBootstrap.ini`: whether the medium asks for its password.
fn ini(plan: &BuildPlan) -> TsmBootstrapIni {
    let mut ini = TsmBootstrapIni::default();
    ini.set(
        "PasswordRequired",
        if plan.password.is_some() {
            "true"
        } else {
            "false"
        },
    );
    ini
}
