//! `media retarget`'s preparation stages: open the template and decrypt its variables, apply the
//! asked changes (URL, variables, password), service the boot image when asked, keep every
//! other file, and describe the result in a manifest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::boot_image::make_boot_wim;
use super::{
    BOOT_WIM, BootEntries, DEFAULT_LABEL, Error, InputFact, MEDIA_LABEL, Manifest, Medium,
    Prepared, Secret, VARIABLES_DAT, check_mp, efi_eltorito_image, find, input_digest, label_file,
    media_cert_info, now, open_medium, password_required, password_weakness, read_ini, read_member,
    reserved, seal, seed_of, sha256_file, shown, volume_label,
};
use crate::media::ini::TsmBootstrapIni;
use crate::media::plan::RetargetPlan;
use crate::media::tree::{BootImages, FileSource, MediaTree};
use crate::media::vars::{self, VariablesFile};
use crate::progress::Progress;
use crate::wim::Wim;

/// The template, opened: its files, its decrypted variables and what its ini says.
struct Template {
    medium: Medium,
    dat_name: String,
    vars: VariablesFile,
    ini: Option<(String, TsmBootstrapIni)>,
    password_required: bool,
}

/// Rebuilds a console-made medium with only the asked changes (see the module docs of
/// [`super`]). `staging_parent` is where the template is extracted (the run's work folder).
pub fn prepare_retarget(
    plan: &RetargetPlan,
    staging_parent: &Path,
    progress: &Rc<dyn Progress>,
) -> Result<Prepared, Error> {
    let mut notes = Vec::new();
    let staging = tempfile::Builder::new()
        .prefix(".peforge-media-")
        .tempdir_in(staging_parent)
        .map_err(super::io(staging_parent))?;
    let mut t = open_template(plan, staging.path())?;
    let out_dat = change_variables(plan, &mut t, &mut notes)?;
    let files = t.medium.files.clone();

    let mut inputs = vec![InputFact {
        role: "template".into(),
        path: plan.template.display().to_string(),
        sha256: input_digest(&plan.template)?,
    }];
    let mut tree = MediaTree {
        mtime: plan.source_date_epoch.unwrap_or_else(now),
        ..Default::default()
    };
    for (media, local) in &files {
        tree.insert(media, FileSource::Local(local.clone()));
    }
    tree.insert(&t.dat_name, FileSource::Bytes(out_dat));
    if let Some((name, mut ini)) = t.ini.take() {
        if plan.new_password.is_some() {
            ini.set("PasswordRequired", "true");
        }
        tree.insert(&name, FileSource::Bytes(ini.to_bytes()));
    }
    let roots = service_boot_image(
        plan,
        &files,
        &mut inputs,
        &mut tree,
        staging.path(),
        progress,
    )?;
    let label = label(plan, &files, &mut tree)?;
    tree.label = volume_label(&label);
    tree.boot = boot_images(&t.medium, &files);
    let media_certificate = t
        .vars
        .list
        .get("_SMSTSMediaPFX")
        .zip(t.vars.list.get("_SMSMediaGuid"))
        .and_then(|(h, g)| media_cert_info(h, g).ok().flatten());
    let manifest = Manifest {
        tool: "peforge".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        operation: "retarget".into(),
        format: String::new(),
        source_date_epoch: plan.source_date_epoch,
        inputs,
        label,
        cipher: t.vars.header.cipher,
        password_required: t.password_required || plan.new_password.is_some(),
        variables: t.vars.list.names(),
        root_certificates: roots,
        media_certificate,
        boot_entries: BootEntries::default(),
        files: Vec::new(),
        output_sha256: None,
    };
    seal(tree, manifest, notes, staging)
}

/// Stage 1: the template's files (extracted into `staging` from an ISO or USB image) and its
/// Variables.dat decrypted with the given password (or the default one).
fn open_template(plan: &RetargetPlan, staging: &Path) -> Result<Template, Error> {
    let medium = open_medium(&plan.template, staging, None)?;
    let files = &medium.files;
    let (dat_name, dat) = read_member(
        &plan.template,
        files,
        VARIABLES_DAT,
        vars::MAX_FILE_LEN as u64,
    )?
    .ok_or_else(|| not_site(plan, "SMS\\data\\Variables.dat"))?;
    let dat_shown = shown(&plan.template, &dat_name);
    let ini = read_ini(&plan.template, files)?;
    let password_required = password_required(ini.as_ref().map(|(_, i)| i));
    if plan.password.is_none() && password_required {
        return Err(Error::PasswordNeeded {
            path: dat_shown.display().to_string(),
        });
    }
    let vars = vars::open(&dat, old_password(plan), &dat_shown.to_string_lossy())?;
    Ok(Template {
        medium,
        dat_name,
        vars,
        ini,
        password_required,
    })
}

fn not_site(plan: &RetargetPlan, what: &str) -> Error {
    Error::Template {
        path: plan.template.clone(),
        what: format!("not a site-based medium: no {what}"),
    }
}

fn old_password(plan: &RetargetPlan) -> &str {
    plan.password
        .as_ref()
        .map_or(vars::DEFAULT_PASSWORD, Secret::expose)
}

/// Stage 2: the asked changes to the variables and the password; returns the new Variables.dat
/// (read back once).
fn change_variables(
    plan: &RetargetPlan,
    t: &mut Template,
    notes: &mut Vec<String>,
) -> Result<Vec<u8>, Error> {
    for (n, _) in &plan.variables {
        reserved(n, &["SMSTSMP", "_SMSMediaGuid", "_SMSTSMediaPFX"])?;
    }
    if let Some(mp) = &plan.mp {
        if let Some(n) = check_mp(mp)? {
            notes.push(n);
        }
        t.vars.list.set("SMSTSMP", mp)?;
    } else if let Some(mp) = t.vars.list.get("SMSTSMP") {
        check_mp(mp)?;
    }
    for (n, v) in &plan.variables {
        t.vars.list.set(n, v.expose())?;
    }
    let new_pw = match &plan.new_password {
        Some(p) => {
            if let Some(why) = password_weakness(p.expose())
                && !plan.allow_weak_password
            {
                return Err(Error::WeakPassword { why });
            }
            p.expose()
        }
        None => old_password(plan),
    };
    if !t.password_required && plan.new_password.is_some() {
        notes.push(
            "the template has PasswordRequired=false; it is set to true with the new password"
                .into(),
        );
    }
    let out_dat = t.vars.encrypt(new_pw)?;
    vars::open(&out_dat, new_pw, VARIABLES_DAT)?;
    Ok(out_dat)
}

/// Stage 3: with boot image changes, the template's boot image serviced and exported again
/// (its inputs recorded); returns the root thumbprints injected.
fn service_boot_image(
    plan: &RetargetPlan,
    files: &BTreeMap<String, PathBuf>,
    inputs: &mut Vec<InputFact>,
    tree: &mut MediaTree,
    staging: &Path,
    progress: &Rc<dyn Progress>,
) -> Result<Vec<String>, Error> {
    let (name, boot_path) =
        find(files, BOOT_WIM).ok_or_else(|| not_site(plan, "sources\\boot.wim"))?;
    if plan.boot_image.is_empty() {
        return Ok(Vec::new());
    }
    for r in &plan.boot_image.root_certs {
        inputs.push(InputFact {
            role: "root-cert".into(),
            path: r.display().to_string(),
            sha256: sha256_file(r)?,
        });
    }
    let seed = plan.source_date_epoch.map(|e| {
        let parts: Vec<Vec<u8>> = std::iter::once(e.to_le_bytes().to_vec())
            .chain(inputs.iter().map(|i| i.sha256.as_bytes().to_vec()))
            .collect();
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        seed_of(&refs)
    });
    let boot_index = Wim::open(boot_path)?.summary().boot_index.max(1);
    let (wim, serviced) = make_boot_wim(
        boot_path,
        boot_index,
        &plan.boot_image,
        staging,
        seed.as_ref(),
        plan.source_date_epoch,
        progress,
    )?;
    tree.insert(name, FileSource::Local(wim));
    Ok(serviced.roots)
}

/// Stage 4: the media label: the new one (written to MediaLabel.txt) or the template's.
fn label(
    plan: &RetargetPlan,
    files: &BTreeMap<String, PathBuf>,
    tree: &mut MediaTree,
) -> Result<String, Error> {
    Ok(match (&plan.label, find(files, MEDIA_LABEL)) {
        (Some(l), found) => {
            let name = found
                .map(|(k, _)| k.clone())
                .unwrap_or_else(|| MEDIA_LABEL.into());
            tree.insert(&name, FileSource::Bytes(label_file(l)));
            l.clone()
        }
        (None, Some(_)) => {
            let bytes = read_member(&plan.template, files, MEDIA_LABEL, 4096)?
                .map(|(_, b)| b)
                .unwrap_or_default();
            let t = String::from_utf8_lossy(&bytes).into_owned();
            t.lines()
                .find_map(|l| l.trim().strip_prefix("label=").map(str::to_string))
                .unwrap_or_else(|| DEFAULT_LABEL.into())
        }
        (None, None) => DEFAULT_LABEL.into(),
    })
}

/// The El Torito images as on the template: an ISO's entries, else found by name.
fn boot_images(medium: &Medium, files: &BTreeMap<String, PathBuf>) -> BootImages {
    match &medium.boot {
        Some(b) => BootImages {
            bios: b.bios.clone(),
            uefi: b.uefi.clone(),
        },
        None => BootImages {
            bios: find(files, "boot/etfsboot.com").map(|(k, _)| k.clone()),
            uefi: efi_eltorito_image(files),
        },
    }
}
