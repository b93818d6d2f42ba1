//! Editing a registry hive that lives inside a WIM image: extract it to a private temporary
//! directory, open it with hivex, and stage the edited file back into the image. Nothing reaches
//! the WIM until the caller commits the [`Wim`].
//!
//! [`edit_hives`] is the whole safe edit cycle every command that changes a hive uses: open (a
//! loose hive file, or the hive of one or all images of a WIM), edit, write only if something
//! changed, re-open what was written and verify it, all or nothing.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::{CommitMode, Error as WimError, Wim};
use crate::progress::Progress;
use crate::registry::hive::{self, Hive, Logs};
use crate::registry::log;

/// Errors of offline hive editing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The image does not contain the hive.
    #[error("{wim}: image {index} has no {hive}")]
    NoHive {
        /// The WIM path.
        wim: PathBuf,
        /// The image index.
        index: u32,
        /// The hive path inside the image.
        hive: String,
    },
    /// No image of the WIM contains the hive (with [`Images::All`]).
    #[error("{wim}: no image has a {hive}")]
    NoImageWithHive {
        /// The WIM path.
        wim: PathBuf,
        /// The hive path inside the image.
        hive: String,
    },
    /// A WIM error.
    #[error(transparent)]
    Wim(#[from] WimError),
    /// A hive error (corrupt, dirty...) in a hive of an image.
    #[error("{wim}: {inner} in image {index}: {source}")]
    Hive {
        /// The WIM path.
        wim: PathBuf,
        /// The hive path inside the image.
        inner: String,
        /// The image index.
        index: u32,
        /// The hive error.
        source: hive::Error,
    },
    /// A hive error in a loose hive file (the error names the file).
    #[error(transparent)]
    File(#[from] hive::Error),
}

impl Error {
    /// A one-line suggestion of what the user can do.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NoHive { .. } => {
                Some("pick the WinPE image with --index (see `peforge wim info`)".into())
            }
            Error::NoImageWithHive { .. } => {
                Some("give a boot.wim or install.wim (see `peforge wim info`)".into())
            }
            Error::Wim(e) => e.hint(),
            Error::Hive { source, .. } | Error::File(source) => source.hint(),
        }
    }
}

/// A hive extracted from an image, open with hivex.
#[derive(Debug)]
pub struct ExtractedHive {
    /// The open hive.
    pub hive: Hive,
    /// Image index it came from.
    pub index: u32,
    /// Path inside the image.
    pub inner: String,
    wim: PathBuf,
    local: PathBuf,
    /// The hive's transaction logs in the image (emptied on stage when they were replayed).
    logs: Vec<String>,
    _dir: tempfile::TempDir,
}

/// Extracts the hive `inner` (e.g. [`super::SOFTWARE_HIVE`]) of image `index` and opens it;
/// `writable` refuses a dirty hive.
pub fn open_hive(
    wim: &Wim,
    index: u32,
    inner: &str,
    writable: bool,
) -> Result<ExtractedHive, Error> {
    let entry = wim.stat(index, inner)?;
    let Some(entry) = entry.filter(|e| !e.is_dir) else {
        return Err(Error::NoHive {
            wim: wim.path().into(),
            index,
            hive: super::normalize(inner),
        });
    };
    let dir = tempfile::tempdir().map_err(|source| WimError::Io {
        path: wim.path().into(),
        source,
    })?;
    let local = wim.extract_to(index, &entry.path, dir.path())?;
    // The hive's .LOG1/.LOG2/.LOG in the image, extracted beside it so it is replayed as
    // Windows would when the image boots.
    let logs = image_logs(wim, index, &entry.path)?;
    for l in &logs {
        wim.extract_to(index, l, dir.path())?;
    }
    let mut hive = if writable {
        Hive::open_writable(&local)
    } else {
        Hive::open(&local)
    }
    .map_err(|source| Error::Hive {
        wim: wim.path().into(),
        inner: super::normalize(inner),
        index,
        source,
    })?;
    // Name the logs by their place in the image, not the private temporary copy.
    let shown = |f: &mut String| {
        if let Some(l) = logs
            .iter()
            .find(|l| l.rsplit(['\\', '/']).next().is_some_and(|n| f.ends_with(n)))
        {
            *f = format!("{}[{index}]:{}", wim.path().display(), super::normalize(l));
        }
    };
    let r = hive.recovery_mut();
    r.applied.iter_mut().for_each(|a| shown(&mut a.file));
    r.skipped.iter_mut().for_each(|a| shown(&mut a.file));
    Ok(ExtractedHive {
        hive,
        index,
        inner: entry.path,
        wim: wim.path().into(),
        local,
        logs,
        _dir: dir,
    })
}

/// The transaction logs of the hive at `hive` (its path in the image): `NAME.LOG1`, `NAME.LOG2`
/// and `NAME.LOG` in the same directory, any case.
fn image_logs(wim: &Wim, index: u32, hive: &str) -> Result<Vec<String>, Error> {
    // wimlib spells paths with '/' or '\\' depending on the platform it was built for.
    let (dir, name) = hive.rsplit_once(['\\', '/']).unwrap_or(("", hive));
    let listing = wim.list_dir(index, if dir.is_empty() { "\\" } else { dir })?;
    let mut out = Vec::new();
    for ext in ["LOG1", "LOG2", "LOG"] {
        let want = format!("{name}.{ext}");
        if let Some(e) = listing.iter().find(|e| {
            !e.is_dir
                && e.path
                    .rsplit(['\\', '/'])
                    .next()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&want))
        }) {
            out.push(e.path.clone());
        }
    }
    Ok(out)
}

impl ExtractedHive {
    /// Writes the edited hive and stages it into `wim` at its original path.
    pub fn stage(self, wim: &mut Wim) -> Result<(), Error> {
        self.stage_at(wim, None)
    }

    /// Like [`ExtractedHive::stage`], with the file's modification time in the image set to
    /// `mtime` (for reproducible builds) instead of now.
    pub fn stage_at(
        self,
        wim: &mut Wim,
        mtime: Option<std::time::SystemTime>,
    ) -> Result<(), Error> {
        let ExtractedHive {
            hive,
            index,
            inner,
            wim: wim_path,
            local,
            logs,
            _dir,
        } = self;
        let replayed = hive.recovery().state == log::State::Recovered;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Wim(WimError::Io { path, source })
        };
        let written = hive.commit(Some(&local)).map_err(|source| Error::Hive {
            wim: wim_path,
            inner: super::normalize(&inner),
            index,
            source,
        })?;
        // Move the file out of the temporary directory into the WIM's staging folder (named so
        // that a reproducible build writes its data in the same order every time), under a
        // TempPath the WIM's staging list owns until the commit.
        let dir = wim.staging_folder()?;
        let staged = dir.join("hive");
        std::fs::copy(&written, &staged).map_err(io(&written))?;
        let staged = tempfile::TempPath::try_from_path(&staged).map_err(io(&staged))?;
        if let Some(t) = mtime {
            let times = std::fs::FileTimes::new().set_accessed(t).set_modified(t);
            std::fs::File::options()
                .write(true)
                .open(&staged)
                .and_then(|f| f.set_times(times))
                .map_err(io(&staged))?;
        }
        wim.replace_file(index, &inner, staged)?;
        // The hive is written clean with the logs' changes in it: empty the image's logs (a
        // normal state) so no tool replays their stale entries over it (spec §7, inference).
        if replayed {
            for (i, l) in logs.iter().enumerate() {
                let empty = dir.join(format!("log{i}"));
                std::fs::write(&empty, b"").map_err(io(&empty))?;
                let empty = tempfile::TempPath::try_from_path(&empty).map_err(io(&empty))?;
                wim.replace_file(index, l, empty)?;
            }
        }
        Ok(())
    }
}

/// Which images of a WIM to edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Images {
    /// One image, by 1-based index.
    One(u32),
    /// Every image that has the hive.
    All,
}

/// Where the hives to edit are.
#[derive(Debug, Clone, Copy)]
pub enum HiveSource<'a> {
    /// A loose hive file.
    File(&'a Path),
    /// The hive at `inner` (e.g. [`super::SOFTWARE_HIVE`]) of some images of a WIM.
    Wim {
        /// The WIM file.
        path: &'a Path,
        /// The hive's path inside each image.
        inner: &'a str,
        /// Which images.
        images: Images,
    },
}

/// Where the hives to edit are, owned (for plans): a loose hive file, or the hive at `inner`
/// of some images of a WIM.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HiveTarget {
    /// A loose hive file.
    File(PathBuf),
    /// The hive at `inner` (e.g. [`super::SOFTWARE_HIVE`]) of some images of a WIM.
    Wim {
        /// The WIM file.
        path: PathBuf,
        /// The hive's path inside each image.
        inner: String,
        /// Which images.
        images: Images,
    },
}

impl HiveTarget {
    /// The borrowed form [`edit_hives`] takes.
    pub fn source(&self) -> HiveSource<'_> {
        match self {
            HiveTarget::File(p) => HiveSource::File(p),
            HiveTarget::Wim {
                path,
                inner,
                images,
            } => HiveSource::Wim {
                path,
                inner,
                images: *images,
            },
        }
    }
}

/// How a plan that edits hives writes: a dry run or not, and the commit mode.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WriteMode {
    /// Edit in memory only: nothing is written.
    #[serde(default)]
    pub dry_run: bool,
    /// How a WIM (or a hive file, with an output path) is written.
    pub commit: CommitMode,
}

impl WriteMode {
    /// The [`edit_hives`] options, with `progress` for the WIM write.
    pub fn edit_options(&self, progress: Option<Rc<dyn Progress>>) -> EditOptions {
        EditOptions {
            dry_run: self.dry_run,
            mode: self.commit.clone(),
            progress,
            logs: Logs::Beside,
        }
    }
}

/// How [`edit_hives`] writes.
#[derive(Clone)]
pub struct EditOptions {
    /// Edit in memory only: nothing is written.
    pub dry_run: bool,
    /// Append in place, rebuild, or write a new file (for a loose hive: `Output` writes the
    /// edited hive there, the others rewrite the file itself).
    pub mode: CommitMode,
    /// Progress of the WIM write.
    pub progress: Option<Rc<dyn Progress>>,
    /// Transaction logs of a loose hive file (`--log`); in a WIM the image's own logs are used.
    pub logs: Logs,
}

impl std::fmt::Debug for EditOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EditOptions")
            .field("dry_run", &self.dry_run)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// What [`edit_hives`] did.
#[derive(Debug, Clone)]
pub struct Edited {
    /// The input (hive file or WIM).
    pub input: PathBuf,
    /// The file written, if any: nothing is written on a dry run or when nothing changed
    /// (except with an explicit output path, which always gets a file).
    pub written: Option<PathBuf>,
    /// Whether any edit changed something.
    pub changed: bool,
    /// The hives whose transaction logs were replayed before editing (image index, or `None`
    /// for a loose file), with what was applied. Those logs are stale once the result is written.
    pub replayed: Vec<(Option<u32>, log::Report)>,
}

/// The whole edit cycle: open each hive (a dirty hive is refused), call `edit` on it (it returns
/// whether it changed anything; the image index is `None` for a loose file), write the result
/// when needed, then re-open what was written and call `verify` on every hive, with the path
/// written. The input is untouched if any step fails, or with an output path.
pub fn edit_hives<E: From<Error>>(
    source: HiveSource<'_>,
    opts: &EditOptions,
    mut edit: impl FnMut(&mut Hive, Option<u32>) -> Result<bool, E>,
    mut verify: impl FnMut(&Hive, Option<u32>, &Path) -> Result<(), E>,
) -> Result<Edited, E> {
    let explicit_output = matches!(opts.mode, CommitMode::Output(_));
    match source {
        HiveSource::File(file) => {
            let mut h = Hive::open_writable_with(file, &opts.logs).map_err(Error::from)?;
            let replayed: Vec<_> = (h.recovery().state == log::State::Recovered)
                .then(|| (None, h.recovery().clone()))
                .into_iter()
                .collect();
            let changed = edit(&mut h, None)?;
            if opts.dry_run || (!changed && !explicit_output) {
                return Ok(Edited {
                    input: file.into(),
                    written: None,
                    changed,
                    replayed,
                });
            }
            let out = match &opts.mode {
                CommitMode::Output(p) => Some(p.as_path()),
                _ => None,
            };
            let written = h.commit(out).map_err(Error::from)?;
            verify(&Hive::open(&written).map_err(Error::from)?, None, &written)?;
            Ok(Edited {
                input: file.into(),
                written: Some(written),
                changed,
                replayed,
            })
        }
        HiveSource::Wim {
            path,
            inner,
            images,
        } => {
            let mut w = if opts.dry_run || explicit_output {
                Wim::open(path)
            } else {
                Wim::open_writable(path)
            }
            .map_err(Error::from)?;
            let indexes = select_images(&w, inner, images)?;
            let mut changed = false;
            let mut replayed = Vec::new();
            for &index in &indexes {
                let mut x = open_hive(&w, index, inner, true)?;
                if x.hive.recovery().state == log::State::Recovered {
                    replayed.push((Some(index), x.hive.recovery().clone()));
                }
                if edit(&mut x.hive, Some(index))? {
                    changed = true;
                    if !opts.dry_run {
                        x.stage(&mut w)?;
                    }
                }
            }
            if opts.dry_run || (!changed && !explicit_output) {
                return Ok(Edited {
                    input: path.into(),
                    written: None,
                    changed,
                    replayed,
                });
            }
            if let Some(p) = &opts.progress {
                w.set_progress(Rc::clone(p));
            }
            let written = w.commit(opts.mode.clone()).map_err(Error::from)?;
            let check = Wim::open(&written).map_err(Error::from)?;
            for &index in &indexes {
                let y = open_hive(&check, index, inner, false)?;
                verify(&y.hive, Some(index), &written)?;
            }
            Ok(Edited {
                input: path.into(),
                written: Some(written),
                changed,
                replayed,
            })
        }
    }
}

/// The indexes to edit: the one asked for, or every image that has the hive.
pub fn select_images(w: &Wim, inner: &str, images: Images) -> Result<Vec<u32>, Error> {
    if let Images::One(i) = images {
        return Ok(vec![i]);
    }
    let mut out = Vec::new();
    for index in 1..=w.summary().image_count {
        if w.stat(index, inner)?.is_some_and(|e| !e.is_dir) {
            out.push(index);
        }
    }
    if out.is_empty() {
        return Err(Error::NoImageWithHive {
            wim: w.path().into(),
            hive: super::normalize(inner),
        });
    }
    Ok(out)
}
