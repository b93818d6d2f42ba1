//! `cert inject`, `cert remove` and `cert reg` as plans.
//!
//! Injection runs in two stages so a caller can show notes and warnings before the long write:
//! [`select`] loads the certificate files and decides, per certificate, the store and the Blob
//! (spec §1, §5; a `.reg` keeps its store and Blob), drops duplicates and applies `strict`;
//! [`inject`] writes the selection into every hive of the target through
//! [`offline::edit_hives`] and re-reads each Blob. [`remove`] deletes a thumbprint from the
//! stores and checks it is gone.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::store::{self, Outcome};
use super::{Blob, CertInfo, Error, Profile, Store, Warning, load};
use crate::progress::Progress;
use crate::registry::hive::Hive;
use crate::wim::offline::{self, HiveTarget, WriteMode};

/// Where certificate files go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreChoice {
    /// This store.
    Store(Store),
    /// Per certificate (§1): self-signed to ROOT, other CA certificates to CA, else refused.
    Auto,
}

/// Everything `cert inject` needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InjectPlan {
    /// The SOFTWARE hive(s).
    pub target: HiveTarget,
    /// Certificate files: DER, PEM, PEM bundle or `.reg` export.
    pub certs: Vec<PathBuf>,
    /// Store for certificate files; `None` = AuthRoot (the Microsoft procedure's store).
    #[serde(default)]
    pub store: Option<StoreChoice>,
    /// Cached properties of a new Blob.
    #[serde(default)]
    pub profile: Profile,
    /// Warnings are errors.
    #[serde(default)]
    pub strict: bool,
    /// How the result is written.
    pub write: WriteMode,
}

/// One certificate to write.
#[derive(Debug, Clone)]
pub struct Item {
    /// Where it came from (file, and entry of a bundle or `.reg`).
    pub origin: String,
    /// Its facts.
    pub info: CertInfo,
    /// The store it goes to.
    pub store: Store,
    /// Its key name (SHA-1 thumbprint, upper case).
    pub thumbprint: String,
    /// The Blob value.
    pub blob: Vec<u8>,
    /// `minimal`, `windows`, ... or `reg` (Blob taken from a `.reg` as is).
    pub profile: &'static str,
    /// Reasons to hesitate (see [`super::check`]).
    pub warnings: Vec<Warning>,
}

/// Loads every file of `certs` and decides store and Blob per certificate; `note` receives
/// remarks as they arise (a `.reg` keeping its store, a duplicate skipped). With `strict`, any
/// warning is an error.
pub fn select(
    certs: &[PathBuf],
    choice: Option<StoreChoice>,
    profile: Profile,
    strict: bool,
    note: &mut dyn FnMut(String),
) -> Result<Vec<Item>, Error> {
    let now = super::now();
    let mut items: Vec<Item> = Vec::new();
    for file in certs {
        for l in load::load(file)? {
            let item = item(l, choice, profile, now, note)?;
            if let Some(first) = items
                .iter()
                .find(|i| i.store == item.store && i.thumbprint == item.thumbprint)
            {
                note(format!(
                    "{}: same certificate and store as {}, skipped",
                    item.origin, first.origin
                ));
                continue;
            }
            items.push(item);
        }
    }
    if strict {
        let first = items.iter().find_map(|i| {
            i.warnings
                .first()
                .map(|w| format!("{}: {}: {w}", i.origin, i.info.short_name()))
        });
        if let Some(first) = first {
            let count = items.iter().map(|i| i.warnings.len()).sum();
            return Err(Error::Strict { first, count });
        }
    }
    Ok(items)
}

/// The store and Blob of one loaded certificate.
fn item(
    l: load::Loaded,
    choice: Option<StoreChoice>,
    profile: Profile,
    now: i64,
    note: &mut dyn FnMut(String),
) -> Result<Item, Error> {
    let origin = l.origin();
    Ok(match l.reg {
        Some(r) => {
            let target = r.store;
            if let Some(StoreChoice::Store(s)) = choice
                && s != target
            {
                note(format!(
                    "{origin}: keeping store {target} named in the .reg (--store {} applies to certificate files)",
                    s.key_name().to_ascii_lowercase()
                ));
            }
            let mut warnings = super::check(&l.info, target, now);
            warnings.extend(r.warnings.into_iter().map(Warning::Entry));
            Item {
                origin,
                thumbprint: r.key_name.to_ascii_uppercase(),
                store: target,
                blob: r.blob,
                profile: "reg",
                warnings,
                info: l.info,
            }
        }
        None => {
            let target = match choice {
                Some(StoreChoice::Auto) => auto_store(&l.info, &origin)?,
                Some(StoreChoice::Store(s)) => s,
                None => Store::AuthRoot,
            };
            let blob = Blob::build(&l.info, profile)
                .map_err(|source| Error::Blob {
                    what: origin.clone(),
                    source,
                })?
                .to_bytes();
            Item {
                origin,
                thumbprint: l.info.thumbprint.clone(),
                store: target,
                blob,
                profile: profile.name(),
                warnings: super::check(&l.info, target, now),
                info: l.info,
            }
        }
    })
}

/// The spec's automatic store (§1): self-signed → ROOT, other CA → CA, else refuse.
fn auto_store(info: &CertInfo, origin: &str) -> Result<Store, Error> {
    if info.self_signed {
        Ok(Store::Root)
    } else if info.is_ca {
        Ok(Store::Ca)
    } else {
        Err(Error::AutoStore {
            origin: origin.into(),
            name: info.short_name(),
        })
    }
}

/// What [`inject`] did.
#[derive(Debug, Clone)]
pub struct InjectOutcome {
    /// The input (hive file or WIM).
    pub input: PathBuf,
    /// The file written, if any.
    pub written: Option<PathBuf>,
    /// Per hive (image index, `None` for a hive file): the outcome of each item, in order.
    pub results: Vec<(Option<u32>, Vec<Outcome>)>,
}

impl InjectOutcome {
    /// Whether any certificate was added or replaced.
    pub fn changed(&self) -> bool {
        self.results
            .iter()
            .any(|(_, o)| o.iter().any(|o| *o != Outcome::AlreadyPresent))
    }
}

/// Writes `items` (from [`select`]) into the hives of `plan.target`, then re-reads every Blob.
pub fn inject(
    plan: &InjectPlan,
    items: &[Item],
    progress: Option<Rc<dyn Progress>>,
) -> Result<InjectOutcome, Error> {
    let results: RefCell<Vec<(Option<u32>, Vec<Outcome>)>> = RefCell::new(Vec::new());
    let edited = offline::edit_hives(
        plan.target.source(),
        &plan.write.edit_options(progress),
        |h, index| {
            let mut outcomes = Vec::new();
            for i in items {
                outcomes.push(store::inject(h, i.store, &i.thumbprint, &i.blob)?);
            }
            let changed = outcomes.iter().any(|o| *o != Outcome::AlreadyPresent);
            results.borrow_mut().push((index, outcomes));
            Ok::<_, Error>(changed)
        },
        |h, index, written| {
            let results = results.borrow();
            let outcomes = results
                .iter()
                .find(|(i, _)| *i == index)
                .map(|(_, o)| o.as_slice())
                .unwrap_or_default();
            confirm(h, items, outcomes, &place(written, index))
        },
    )?;
    Ok(InjectOutcome {
        input: edited.input,
        written: edited.written,
        results: results.into_inner(),
    })
}

/// Reads back every item from a re-opened hive: the Blob is there and valid for the key.
fn confirm(h: &Hive, items: &[Item], outcomes: &[Outcome], at: &str) -> Result<(), Error> {
    for (i, o) in items.iter().zip(outcomes) {
        let ok = match store::read_blob(h, i.store, &i.thumbprint)? {
            Some(b) if b == i.blob => true,
            Some(b) => {
                *o == Outcome::AlreadyPresent && store::validate(&i.thumbprint, &b).is_valid()
            }
            None => false,
        };
        if !ok {
            return Err(Error::NotInjected {
                at: at.into(),
                store: i.store,
                thumbprint: i.thumbprint.clone(),
            });
        }
    }
    Ok(())
}

/// How a written hive is named in messages: the file, or the WIM and image.
fn place(written: &Path, index: Option<u32>) -> String {
    match index {
        Some(i) => format!("{} image {i}", written.display()),
        None => written.display().to_string(),
    }
}

/// Everything `cert remove` needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemovePlan {
    /// The SOFTWARE hive(s).
    pub target: HiveTarget,
    /// The SHA-1 thumbprint as given (spaces, colons and case do not matter).
    pub thumbprint: String,
    /// Only from this store; `None` = every store.
    #[serde(default)]
    pub store: Option<Store>,
    /// How the result is written.
    pub write: WriteMode,
}

/// What [`remove`] did.
#[derive(Debug, Clone)]
pub struct RemoveOutcome {
    /// The input (hive file or WIM).
    pub input: PathBuf,
    /// The file written, if any.
    pub written: Option<PathBuf>,
    /// The thumbprint, normalised.
    pub thumbprint: String,
    /// Where it was removed from: image index (`None` for a hive file) and store.
    pub removed: Vec<(Option<u32>, Store)>,
}

/// Removes the thumbprint from the stores of every hive of `plan.target` and checks it is gone.
pub fn remove(
    plan: &RemovePlan,
    progress: Option<Rc<dyn Progress>>,
) -> Result<RemoveOutcome, Error> {
    let thumb = store::parse_thumbprint(&plan.thumbprint)?;
    let stores: Vec<Store> = match plan.store {
        Some(s) => vec![s],
        None => Store::ALL.to_vec(),
    };
    let removed: RefCell<Vec<(Option<u32>, Store)>> = RefCell::new(Vec::new());
    let edited = offline::edit_hives(
        plan.target.source(),
        &plan.write.edit_options(progress),
        |h, index| {
            let mut any = false;
            for s in &stores {
                if store::remove(h, *s, &thumb)? {
                    removed.borrow_mut().push((index, *s));
                    any = true;
                }
            }
            Ok::<_, Error>(any)
        },
        |h, index, written| {
            for s in &stores {
                if store::read_blob(h, *s, &thumb)?.is_some() {
                    return Err(Error::NotRemoved {
                        at: place(written, index),
                        store: *s,
                        thumbprint: thumb.clone(),
                    });
                }
            }
            Ok(())
        },
    )?;
    Ok(RemoveOutcome {
        input: edited.input,
        written: edited.written,
        thumbprint: thumb,
        removed: removed.into_inner(),
    })
}

/// The `.reg` of `items` under `root_key` ([`super::reg_export`]), read back with the lenient
/// reader before anyone uses it; `out` names it in messages.
pub fn reg_bytes(root_key: &str, items: &[Item], out: &Path) -> Result<Vec<u8>, Error> {
    let entries: Vec<(Store, String, Vec<u8>)> = items
        .iter()
        .map(|i| (i.store, i.thumbprint.clone(), i.blob.clone()))
        .collect();
    let bytes = super::reg_export(root_key, &entries);
    let back = crate::registry::reg::parse(&bytes, out)?;
    let again = load::from_reg(&back, out, super::RegRoots::Machine)?;
    let same = again.len() == items.len()
        && again
            .iter()
            .zip(items)
            .all(|(a, i)| a.reg.as_ref().is_some_and(|r| r.blob == i.blob));
    if !same {
        return Err(Error::RegReadBack { path: out.into() });
    }
    Ok(bytes)
}

/// Writes a `.reg` atomically and checks the file holds exactly `bytes`.
pub fn write_reg(out: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: out.into(),
        source,
    };
    crate::fsutil::write_atomic(out, bytes).map_err(io)?;
    if std::fs::read(out).map_err(io)? != bytes {
        return Err(Error::RegWriteBack { path: out.into() });
    }
    Ok(())
}
