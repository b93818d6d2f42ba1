//! The medium's boot image (`sources/boot.wim`): the chosen image exported alone. A servicing
//! stage ([`BootImageChanges`]: root certificates, then drivers, overlays and a start script as
//! `wim customize`) first stages its changes into that image in memory, so the boot image is
//! written once and read back. The user's WIM is only read.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::{Error, derived_guid};
use crate::media::plan::BootImageChanges;
use crate::progress::Progress;
use crate::wim::{self, Wim};

/// What the servicing stage did, for the manifest.
#[derive(Debug, Default)]
pub(super) struct Serviced {
    /// SHA-1 thumbprints of the root certificates injected.
    pub roots: Vec<String>,
    /// What the customization stage did (drivers, overlays, start script), if asked.
    pub customized: Option<crate::driver::customize::Outcome>,
}

/// What the written boot image must hold after servicing, checked by [`check_serviced`].
#[derive(Default)]
struct Checks {
    /// Root certificates: store, thumbprint, Blob.
    roots: Vec<(crate::cert::Store, String, Vec<u8>)>,
    /// What the customization stage staged.
    customized: Option<crate::driver::customize::Expect>,
}

/// The servicing stage: stages `changes` into image `index` of `w` in memory (root
/// certificates, then the customization); nothing is written until the image is exported.
fn service(
    w: &mut Wim,
    index: u32,
    changes: &BootImageChanges,
    epoch: Option<i64>,
) -> Result<(Serviced, Checks), Error> {
    let mtime = epoch.map(|t| {
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(t).unwrap_or(0))
    });
    let roots = stage_roots(w, index, &changes.root_certs, mtime)?;
    let mut serviced = Serviced {
        roots: roots.iter().map(|i| i.1.clone()).collect(),
        customized: None,
    };
    let mut checks = Checks {
        roots,
        customized: None,
    };
    if !changes.customization.is_empty() {
        use crate::driver::customize;
        let action = customize::Action::Apply(changes.customization.clone());
        let (outcome, expect) = customize::stage(w, index, &action, mtime)?;
        serviced.customized = Some(outcome);
        checks.customized = Some(expect);
    }
    Ok((serviced, checks))
}

/// Stages root certificates into the SOFTWARE hive of image `index` with the certificate
/// engine ([`crate::cert`]), as `peforge cert inject` does: a self-signed certificate goes to
/// `AuthRoot` (the store of seed 002's procedure), a CA that is not self-signed to `CA`, a `.reg`
/// export to the store it names. Returns what was staged, for [`check_serviced`].
fn stage_roots(
    w: &mut Wim,
    index: u32,
    certs: &[PathBuf],
    mtime: Option<std::time::SystemTime>,
) -> Result<Vec<(crate::cert::Store, String, Vec<u8>)>, Error> {
    use crate::cert::{self, Blob, Profile, Store, load, store};
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
    if items.is_empty() {
        return Ok(items);
    }
    let mut x = wim::offline::open_hive(w, index, wim::SOFTWARE_HIVE, true)?;
    for (st, thumb, blob) in &items {
        store::inject(&mut x.hive, *st, thumb, blob)?;
    }
    // For a reproducible build the hive's file times in the image are SOURCE_DATE_EPOCH rather
    // than the time of the build.
    x.stage_at(w, mtime)?;
    Ok(items)
}

/// Reads the written boot image back (image 1 of `out`) and checks that it holds every root
/// certificate and every customized file the servicing stage staged.
fn check_serviced(out: &Path, checks: &Checks) -> Result<(), Error> {
    use crate::cert::store;
    if !checks.roots.is_empty() {
        let check = Wim::open(out)?;
        let y = wim::offline::open_hive(&check, 1, wim::SOFTWARE_HIVE, false)?;
        for (st, thumb, blob) in &checks.roots {
            let got = store::read_blob(&y.hive, *st, thumb)?;
            if got.as_deref() != Some(blob.as_slice())
                && !got.is_some_and(|b| store::validate(thumb, &b).is_valid())
            {
                return Err(Error::Template {
                    path: out.into(),
                    what: format!(
                        "{st}\\Certificates\\{thumb} does not hold the certificate after writing"
                    ),
                });
            }
        }
    }
    if let Some(exp) = &checks.customized {
        crate::driver::customize::verify(out, 1, exp)?;
    }
    Ok(())
}

/// Writes `sources/boot.wim` into `staging`: image `index` of `src` alone, boot index 1. With
/// `changes`, the image is serviced in memory first ([`service`]), so the boot image is written
/// once, with no superseded resources, and read back ([`check_serviced`]). The user's WIM is
/// only read.
pub(super) fn make_boot_wim(
    src: &Path,
    index: u32,
    changes: &BootImageChanges,
    staging: &Path,
    seed: Option<&[u8; 32]>,
    epoch: Option<i64>,
    progress: &Rc<dyn Progress>,
) -> Result<(PathBuf, Serviced), Error> {
    let out = staging.join("boot.wim");
    let guid = seed.map(|s| derived_guid(s, "boot.wim guid"));
    let mut input = Wim::open(src)?;
    let (serviced, checks) = if changes.is_empty() {
        (Serviced::default(), Checks::default())
    } else {
        service(&mut input, index, changes, epoch)?
    };
    let mtime = if changes.is_empty() { None } else { epoch };
    wim::export_image(
        &input,
        index,
        &out,
        &wim::ExportOptions { guid, mtime },
        Some(progress.clone()),
    )?;
    verify_exported(&out)?;
    check_serviced(&out, &checks)?;
    Ok((out, serviced))
}

/// Verifies what was written: one image, bootable.
fn verify_exported(out: &Path) -> Result<(), Error> {
    let check = Wim::open(out)?;
    let s = check.summary();
    if s.image_count != 1 || s.boot_index != 1 {
        return Err(Error::Template {
            path: out.to_path_buf(),
            what: format!(
                "exported boot image has {} image(s), boot index {}",
                s.image_count, s.boot_index
            ),
        });
    }
    Ok(())
}
