//! The medium's boot image (`sources/boot.wim`): the chosen image exported alone, after a
//! servicing stage that changes the staged copy ([`BootImageChanges`]: root certificates, then
//! drivers, overlays and a start script as `wim customize`). The user's WIM is only read.

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

/// The servicing stage: applies `changes` to image `index` of the staged WIM at `path` (a copy
/// the run owns), committing in place.
fn service(
    path: &Path,
    index: u32,
    changes: &BootImageChanges,
    epoch: Option<i64>,
) -> Result<Serviced, Error> {
    let roots = inject_roots(path, index, &changes.root_certs, epoch)?;
    let customized = if changes.customization.is_empty() {
        None
    } else {
        let mtime = epoch.map(|t| {
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(t).unwrap_or(0))
        });
        Some(crate::driver::customize::apply_in_place(
            path,
            index,
            &changes.customization,
            mtime,
        )?)
    };
    Ok(Serviced { roots, customized })
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

/// Writes `sources/boot.wim` into `staging`: image `index` of `src` alone, boot index 1. With
/// `changes`, the image is first exported to a staging copy, serviced ([`service`]), then
/// exported again so the medium carries no superseded resources.
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
    let input = Wim::open(src)?;
    let serviced = if changes.is_empty() {
        wim::export_image(
            &input,
            index,
            &out,
            &wim::ExportOptions { guid, mtime: None },
            Some(progress.clone()),
        )?;
        Serviced::default()
    } else {
        let stage1 = staging.join("stage1.wim");
        wim::export_image(
            &input,
            index,
            &stage1,
            &wim::ExportOptions::default(),
            Some(progress.clone()),
        )?;
        let serviced = service(&stage1, 1, changes, epoch)?;
        let injected = Wim::open(&stage1)?;
        wim::export_image(
            &injected,
            1,
            &out,
            &wim::ExportOptions { guid, mtime: epoch },
            Some(progress.clone()),
        )?;
        serviced
    };
    verify_exported(&out)?;
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
