//! The media pipeline: one call from a plan to a verified medium in place, with its manifest.
//!
//! Stages, in order (each a function below):
//!
//! 1. [`check_output`]: the output can take the medium (before any long step).
//! 2. [`WorkDir::next_to`]: the run's work folder beside the output.
//! 3. prepare: [`site::prepare_build`] or [`site::prepare_retarget`] stage every file of the
//!    medium in the work folder (boot files, the serviced boot image, Variables.dat) and return
//!    the tree with its manifest; the tree can still be changed before it is written.
//! 4. [`write_container`]: the tree written as a folder, ISO or USB image inside the work folder,
//!    while a second thread hashes every file of the tree for the manifest.
//! 5. [`verify`]: every file read back through the container readers and compared byte for byte
//!    with its source (and an ISO's El Torito entries), while a second thread hashes the image.
//! 6. [`place`]: the medium's SHA-256 recorded, then one rename onto the output.
//! 7. [`write_records`]: the manifest and a new media certificate's registration record; if
//!    they cannot be written the medium is removed again.
//!
//! On any error the work folder is removed (and a signal handler can remove it with
//! [`super::work::remove_live_work_dirs`]); nothing half-written reaches the output.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::ContainerError;
use super::plan::{BuildPlan, Format, InspectPlan, OutputPlan, RetargetPlan};
use super::site::{self, InspectReport, Manifest, Prepared};
use super::tree::MediaTree;
use super::work::{WorkDir, parent_of};
use crate::progress::Progress;

/// Errors of the media pipeline. Messages name the output the user asked for, never the
/// work folder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The output exists and cannot take the medium.
    #[error("{}: exists and is not {}", path.display(), if *format == Format::Dir { "an empty folder" } else { "a file" })]
    OutputInUse {
        /// The output.
        path: PathBuf,
        /// The format asked.
        format: Format,
    },
    /// The work folder cannot be created.
    #[error("cannot create a work folder in {}", dir.display())]
    WorkDir {
        /// The output's folder.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Preparing a new medium failed.
    #[error("cannot build media from {}", boot_wim.display())]
    Build {
        /// The boot image.
        boot_wim: PathBuf,
        /// What failed.
        source: Box<site::Error>,
    },
    /// Preparing a retargeted medium failed.
    #[error("cannot retarget {}", template.display())]
    Retarget {
        /// The template medium.
        template: PathBuf,
        /// What failed.
        source: Box<site::Error>,
    },
    /// Inspecting a medium failed.
    #[error("cannot inspect {}", medium.display())]
    Inspect {
        /// The medium.
        medium: PathBuf,
        /// What failed.
        source: Box<site::Error>,
    },
    /// Writing the container failed.
    #[error("cannot write {}", path.display())]
    Write {
        /// The output.
        path: PathBuf,
        /// What failed.
        source: ContainerError,
    },
    /// Reading the written medium back failed (through a container reader).
    #[error(transparent)]
    ReadBack(#[from] ContainerError),
    /// A file of the medium cannot be read to hash it for the manifest.
    #[error(transparent)]
    Files(Box<site::Error>),
    /// A file of the written medium differs from the manifest.
    #[error("{}: {file} does not read back as written", path.display())]
    Mismatch {
        /// The output.
        path: PathBuf,
        /// The media path.
        file: String,
    },
    /// The El Torito entries of the written ISO differ from the plan.
    #[error("{}: the El Torito entries do not read back as planned", path.display())]
    BootEntries {
        /// The output.
        path: PathBuf,
    },
    /// Hashing the written image failed.
    #[error("cannot read {}", path.display())]
    Hash {
        /// The output.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Writing the manifest or the registration record failed.
    #[error("cannot write {}", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Encoding the manifest or the registration record failed.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A file operation failed (the message names the files).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Error {
    /// A one-line suggestion of what the user can do about this error.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::OutputInUse { .. } => Some("remove it or choose another output with -o".into()),
            Error::Build { source, .. }
            | Error::Retarget { source, .. }
            | Error::Inspect { source, .. } => source.hint(),
            Error::Files(source) => source.hint(),
            Error::Write { source, .. } | Error::ReadBack(source) => source.hint(),
            _ => None,
        }
    }
}

/// What a media build or retarget produced.
#[derive(Debug)]
pub struct Outcome {
    /// The medium, in place.
    pub output: PathBuf,
    /// Its format.
    pub format: Format,
    /// Where the manifest was written.
    pub manifest_path: PathBuf,
    /// Where the registration record of a new self-signed media certificate was written.
    pub registration_path: Option<PathBuf>,
    /// The manifest (format and output hash filled in).
    pub manifest: Manifest,
    /// Remarks for the user (fallbacks taken, values kept, what to do next).
    pub notes: Vec<String>,
    /// The volume label written.
    pub volume_label: String,
}

/// Builds a new site-based medium from `plan` and puts it in place (see the module docs).
pub fn build(plan: &BuildPlan, progress: &Rc<dyn Progress>) -> Result<Outcome, Error> {
    run(&plan.output, progress, |work| {
        site::prepare_build(plan, work, progress).map_err(|source| Error::Build {
            boot_wim: plan.boot_wim.clone(),
            source: Box::new(source),
        })
    })
}

/// Rebuilds the console-made medium of `plan` with only the asked changes and puts it in place.
pub fn retarget(plan: &RetargetPlan, progress: &Rc<dyn Progress>) -> Result<Outcome, Error> {
    run(&plan.output, progress, |work| {
        site::prepare_retarget(plan, work, progress).map_err(|source| Error::Retarget {
            template: plan.template.clone(),
            source: Box::new(source),
        })
    })
}

/// Reports what a medium holds and what is wrong with it.
pub fn inspect(plan: &InspectPlan) -> Result<InspectReport, Error> {
    site::inspect(plan).map_err(|source| Error::Inspect {
        medium: plan.medium.clone(),
        source: Box::new(source),
    })
}

/// Stages 1–7 around one preparation.
fn run(
    output: &OutputPlan,
    progress: &Rc<dyn Progress>,
    prepare: impl FnOnce(&Path) -> Result<Prepared, Error>,
) -> Result<Outcome, Error> {
    check_output(output)?;
    let work = WorkDir::next_to(&output.path).map_err(|source| Error::WorkDir {
        dir: parent_of(&output.path),
        source,
    })?;
    let mut prepared = prepare(work.path())?;
    prepared.manifest.format = output.format.name().into();
    let staged = work.path().join(format!("medium.{}", output.format.name()));
    write_container(&mut prepared, output, &staged, progress.as_ref())?;
    verify_and_hash(&mut prepared, output, &staged)?;
    place(&mut prepared, output, &staged)?;
    let (manifest_path, registration_path) = write_records(&prepared, output)?;
    Ok(Outcome {
        output: output.path.clone(),
        format: output.format,
        manifest_path,
        registration_path,
        volume_label: prepared.tree.label.clone(),
        manifest: prepared.manifest,
        notes: prepared.notes,
    })
}

/// Stage 1: refuses, before the long steps, an output that cannot take the medium: for `dir`
/// anything but a missing or empty folder, for an image anything but a missing or regular file.
pub fn check_output(output: &OutputPlan) -> Result<(), Error> {
    let Ok(meta) = std::fs::metadata(&output.path) else {
        return Ok(());
    };
    let usable = if output.format == Format::Dir {
        meta.is_dir() && std::fs::read_dir(&output.path).is_ok_and(|mut d| d.next().is_none())
    } else {
        meta.is_file()
    };
    if usable {
        return Ok(());
    }
    Err(Error::OutputInUse {
        path: output.path.clone(),
        format: output.format,
    })
}

/// Stage 4, the container output: writes the tree of `prepared` at `staged` in the plan's
/// format and fills the manifest's file list ([`site::file_facts`]). The files are hashed on a
/// second thread while the container is written: both read the same files, mostly from the page
/// cache, and a medium is mostly one large boot image.
pub fn write_container(
    prepared: &mut Prepared,
    output: &OutputPlan,
    staged: &Path,
    progress: &dyn Progress,
) -> Result<(), Error> {
    let tree = &prepared.tree;
    let (written, facts) = std::thread::scope(|s| {
        let hashing = s.spawn(|| site::file_facts(tree));
        let written = write_tree(tree, output, staged, progress);
        (written, joined(hashing))
    });
    written?;
    prepared.manifest.files = facts.map_err(|e| Error::Files(Box::new(e)))?;
    Ok(())
}

/// The result of a scoped thread; a panic in it goes on in this thread.
fn joined<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> T {
    h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// Writes `tree` at `staged` in the plan's format.
fn write_tree(
    tree: &MediaTree,
    output: &OutputPlan,
    staged: &Path,
    progress: &dyn Progress,
) -> Result<(), Error> {
    let written = match output.format {
        Format::Dir => super::write_dir(tree, staged, progress).map(drop),
        Format::Iso => super::iso::write(tree, staged, progress).map(drop),
        Format::Usb => super::usb::write_sized(tree, staged, output.usb_size, progress).map(drop),
    };
    written.map_err(|source| Error::Write {
        path: output.path.clone(),
        source,
    })
}

/// Stage 5 and the hash of stage 6 together: [`verify`] reads the medium back while a second
/// thread computes an image's SHA-256 for the manifest (what [`place`] records).
fn verify_and_hash(
    prepared: &mut Prepared,
    output: &OutputPlan,
    staged: &Path,
) -> Result<(), Error> {
    let image = output.format != Format::Dir;
    let (verified, hash) = std::thread::scope(|s| {
        let hashing = image.then(|| s.spawn(|| crate::fsutil::sha256_file(staged)));
        let verified = verify(prepared, output, staged);
        (verified, hashing.map(joined))
    });
    verified?;
    if let Some(h) = hash {
        prepared.manifest.output_sha256 = Some(h.map_err(|source| Error::Hash {
            path: output.path.clone(),
            source,
        })?);
    }
    Ok(())
}

/// A `Write` that compares what is copied into it with a file's planned content, read from
/// its source in step.
struct Comparing<'a> {
    source: Box<dyn std::io::Read + 'a>,
    buf: Vec<u8>,
    same: bool,
}

impl<'a> Comparing<'a> {
    fn new(source: &'a super::tree::FileSource) -> std::io::Result<Comparing<'a>> {
        let source: Box<dyn std::io::Read + 'a> = match source {
            super::tree::FileSource::Bytes(b) => Box::new(b.as_slice()),
            super::tree::FileSource::Local(p) => Box::new(std::fs::File::open(p)?),
        };
        Ok(Comparing {
            source,
            buf: Vec::new(),
            same: true,
        })
    }

    /// Whether everything written matched and the source has nothing more.
    fn finish(mut self) -> bool {
        let mut probe = [0u8; 1];
        self.same && matches!(self.source.read(&mut probe), Ok(0))
    }
}

impl std::io::Write for Comparing<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.same {
            self.buf.resize(b.len(), 0);
            self.same = self.source.read_exact(&mut self.buf).is_ok() && self.buf == b;
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Stage 5: re-reads every file of the medium written at `staged` (through the container
/// readers for an ISO or USB image) and compares it byte for byte with the file it was written
/// from (whose SHA-256 the manifest holds); for an ISO also the El Torito entries. Only a
/// medium that reads back as planned reaches the output.
pub fn verify(prepared: &Prepared, output: &OutputPlan, staged: &Path) -> Result<(), Error> {
    let out = &output.path;
    let mismatch = |path: &str| Error::Mismatch {
        path: out.clone(),
        file: path.into(),
    };
    let check = |path: &str,
                 copy: &mut dyn FnMut(&mut Comparing<'_>) -> Result<(), Error>|
     -> Result<(), Error> {
        let source = prepared
            .tree
            .files
            .get(path)
            .ok_or_else(|| mismatch(path))?;
        let mut cmp = Comparing::new(source)?;
        copy(&mut cmp)?;
        if !cmp.finish() {
            return Err(mismatch(path));
        }
        Ok(())
    };
    let files = &prepared.manifest.files;
    if files.len() != prepared.tree.files.len() {
        return Err(mismatch("(file list)"));
    }
    match output.format {
        Format::Dir => {
            for f in files {
                check(&f.path, &mut |c| {
                    let mut file = fs_err::File::open(staged.join(&f.path))?;
                    std::io::copy(&mut file, c)?;
                    Ok(())
                })?;
            }
        }
        Format::Iso => {
            let r = super::iso::IsoReader::open(staged)?;
            for f in files {
                check(&f.path, &mut |c| Ok(r.copy_to(&f.path, c).map(drop)?))?;
            }
            verify_boot_entries(prepared, &r.boot_entries()?, out)?;
        }
        Format::Usb => {
            let r = super::usb::UsbReader::open(staged)?;
            for f in files {
                check(&f.path, &mut |c| Ok(r.copy_to(&f.path, c).map(drop)?))?;
            }
        }
    }
    Ok(())
}

/// The El Torito entries read back match the manifest's (case-insensitively).
fn verify_boot_entries(
    prepared: &Prepared,
    entries: &[super::iso::BootEntryInfo],
    out: &Path,
) -> Result<(), Error> {
    let image = |p: u8| {
        entries
            .iter()
            .find(|e| e.platform == p)
            .and_then(|e| e.image.clone())
            .map(|i| i.to_ascii_lowercase())
    };
    let want = &prepared.manifest.boot_entries;
    let lower = |w: &Option<String>| w.as_ref().map(|w| w.to_ascii_lowercase());
    if image(0x00) != lower(&want.bios) || image(0xEF) != lower(&want.uefi) {
        return Err(Error::BootEntries { path: out.into() });
    }
    Ok(())
}

/// Stage 6: records an image's SHA-256 in the manifest (unless already there), then moves the medium onto the output
/// (one rename in the same folder; a folder replaces the empty folder [`check_output`] allowed).
pub fn place(prepared: &mut Prepared, output: &OutputPlan, staged: &Path) -> Result<(), Error> {
    let out = &output.path;
    if output.format != Format::Dir && prepared.manifest.output_sha256.is_none() {
        prepared.manifest.output_sha256 = Some(crate::fsutil::sha256_file(staged).map_err(
            |source| Error::Hash {
                path: out.clone(),
                source,
            },
        )?);
    } else if out.is_dir() {
        fs_err::remove_dir(out)?;
    }
    fs_err::rename(staged, out)?;
    Ok(())
}

/// Stage 7: writes the manifest and, for a new self-signed media certificate, its registration
/// record; returns their paths. A medium whose records cannot be written is removed again.
pub fn write_records(
    prepared: &Prepared,
    output: &OutputPlan,
) -> Result<(PathBuf, Option<PathBuf>), Error> {
    let out = &output.path;
    let manifest_path = output
        .manifest
        .clone()
        .unwrap_or_else(|| parent_of(out).join("peforge-manifest.json"));
    let registration_path = prepared
        .registration
        .as_ref()
        .map(|_| registration_path(out));
    let sealed = (|| -> Result<(), Error> {
        let text = serde_json::to_string_pretty(&prepared.manifest)? + "\n";
        crate::fsutil::write_atomic(&manifest_path, text.as_bytes()).map_err(|source| {
            Error::Record {
                path: manifest_path.clone(),
                source,
            }
        })?;
        if let (Some(r), Some(path)) = (&prepared.registration, &registration_path) {
            // The SMSID is the media GUID (it opens the PFX inside the decrypted Variables.dat):
            // readable by the owner only.
            let text = serde_json::to_string_pretty(r)? + "\n";
            crate::fsutil::write_atomic_private(path, text.as_bytes()).map_err(|source| {
                Error::Record {
                    path: path.clone(),
                    source,
                }
            })?;
        }
        Ok(())
    })();
    if let Err(e) = sealed {
        let _ = if output.format == Format::Dir {
            std::fs::remove_dir_all(out)
        } else {
            std::fs::remove_file(out)
        };
        return Err(e);
    }
    Ok((manifest_path, registration_path))
}

/// `<OUT>.media-cert-registration.json` beside the output file or folder.
pub fn registration_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map_or_else(|| "media".into(), |n| n.to_string_lossy().into_owned());
    parent_of(out).join(format!("{name}.media-cert-registration.json"))
}
