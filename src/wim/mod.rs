//! Boot image access: open a WIM, list and read files of an image, replace files, commit.
//!
//! A thin layer over wimlib (system `libwim`, via the `wimlib` crate). Paths inside an image are
//! Windows paths and are looked up case-insensitively (wimlib is initialised with
//! `WIMLIB_INIT_FLAG_DEFAULT_CASE_INSENSITIVE`, see `shared/specs/dependency-notes.md`).
//!
//! Changes are staged with [`Wim::replace_file`] and reach the disk only through
//! [`Wim::commit`], which appends in place (the input stays valid if interrupted), rebuilds
//! (compacts through a temporary file and rename), or writes a new file.

#![allow(unsafe_code)] // FFI module: wimlib global init.

pub mod files;
pub mod offline;

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use wimlib::string::TStr;
use wimlib::{
    ExtractFlags, FileAttributes, IterateDirTreeFlags, OpenFlags, WimLib, WriteFlags, sys,
};

/// Errors from boot image access. Each carries the WIM path the user gave.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file does not exist or cannot be read.
    #[error("{path}: cannot read the file: {source}")]
    Io {
        /// The WIM path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A new WIM cannot be written (missing or read-only output directory, disk full).
    #[error("{path}: cannot write the new WIM: {source}")]
    Write {
        /// The output path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a WIM image (wrong magic or truncated header).
    #[error("{path}: not a WIM file")]
    NotAWim {
        /// The WIM path.
        path: PathBuf,
    },
    /// The file is a WIM, but it is damaged (truncated, bad metadata).
    #[error("{path}: the WIM is damaged or truncated ({cause})")]
    Damaged {
        /// The WIM path.
        path: PathBuf,
        /// wimlib's description.
        cause: String,
    },
    /// The WIM cannot be written (read-only file or marked read-only).
    #[error("{path}: the WIM is read-only")]
    ReadOnly {
        /// The WIM path.
        path: PathBuf,
    },
    /// The requested image index does not exist.
    #[error("{path}: image {index} does not exist (the WIM has {count} image(s))")]
    NoSuchImage {
        /// The WIM path.
        path: PathBuf,
        /// The index asked for.
        index: u32,
        /// How many images the WIM has.
        count: u32,
    },
    /// The requested path does not exist in the image.
    #[error("{path}: image {index} has no {inner}")]
    NoSuchPath {
        /// The WIM path.
        path: PathBuf,
        /// The image index.
        index: u32,
        /// The path inside the image.
        inner: String,
    },
    /// Any other wimlib failure.
    #[error("{path}: {op}: {cause}")]
    Wimlib {
        /// The WIM path.
        path: PathBuf,
        /// What peforge was doing.
        op: &'static str,
        /// wimlib's description.
        cause: String,
    },
}

impl Error {
    /// A one-line suggestion of what the user can do about this error.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NotAWim { .. } => {
                Some("give the path of a .wim file (e.g. sources\\boot.wim)".into())
            }
            Error::Damaged { .. } => {
                Some("the file is incomplete; copy it again from its source".into())
            }
            Error::ReadOnly { .. } => Some(
                "make the file writable (chmod u+w) or write a copy with --output NEW.wim".into(),
            ),
            Error::NoSuchImage { .. } => Some("list the images with `peforge wim info`".into()),
            Error::Write { .. } => {
                Some("write into an existing, writable directory with enough free space".into())
            }
            _ => None,
        }
    }
}

/// The wimlib library handle, initialised once, case-insensitive, and never cleaned up so the
/// flag stays in force for the whole process.
fn lib() -> &'static WimLib {
    static LIB: OnceLock<WimLib> = OnceLock::new();
    LIB.get_or_init(|| {
        // SAFETY: plain C call with a valid flag constant; wimlib_global_init is idempotent and the
        // crate's own init below becomes a no-op returning success.
        unsafe {
            sys::wimlib_global_init(sys::WIMLIB_INIT_FLAG_DEFAULT_CASE_INSENSITIVE as i32);
        }
        WimLib::default()
    })
}

fn cstr(s: &str) -> CString {
    // Interior NULs cannot occur in paths we build; replace defensively instead of panicking.
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

fn tstr(c: &CString) -> &TStr {
    TStr::from_impl(c.as_c_str())
}

/// Normalises a Windows path inside an image: backslashes, no leading separator.
pub fn normalize(inner: &str) -> String {
    inner
        .replace('/', "\\")
        .trim_start_matches('\\')
        .to_string()
}

/// Whole-WIM facts.
#[derive(Debug, Clone)]
pub struct WimSummary {
    /// Number of images.
    pub image_count: u32,
    /// 1-based boot index, 0 when none.
    pub boot_index: u32,
    /// Compression name (e.g. "LZX").
    pub compression: String,
    /// File size in bytes.
    pub file_size: u64,
    /// Whether the WIM has an integrity table.
    pub has_integrity_table: bool,
}

/// One image of a WIM.
#[derive(Debug, Clone)]
pub struct ImageSummary {
    /// 1-based index.
    pub index: u32,
    /// Image name from the XML data.
    pub name: String,
    /// Description from the XML data.
    pub description: String,
    /// Architecture from `WINDOWS/ARCH` (x86, x64, arm64, ...), if recorded.
    pub arch: Option<String>,
    /// Total bytes of the image's files, from the XML data.
    pub total_bytes: u64,
    /// Number of files, from the XML data.
    pub file_count: u64,
    /// Number of directories, from the XML data.
    pub dir_count: u64,
}

/// A file or directory inside an image.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Full path inside the image, as stored (backslashes, leading `\`).
    pub path: String,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Size of the unnamed data stream in bytes.
    pub size: u64,
    /// Whether a Windows security descriptor is stored for it.
    pub has_security_descriptor: bool,
    /// Raw Windows file attributes.
    pub attributes: u32,
}

/// How [`Wim::commit`] writes the changes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitMode {
    /// Append new data and a new header in place (fast; the file stays valid if interrupted).
    Append,
    /// Rewrite the whole WIM through a temporary file and rename (compacts).
    Rebuild,
    /// Write a new WIM at this path, leaving the input untouched.
    Output(PathBuf),
}

/// An open WIM file.
pub struct Wim {
    inner: wimlib::Wim,
    path: PathBuf,
    writable: bool,
    staged: Vec<(u32, String, tempfile::TempPath)>,
    /// Trees staged with [`Wim::add_tree`] and deletions.
    tree_changes: usize,
    /// Temporary folders whose files wimlib reads at commit time.
    guards: Vec<tempfile::TempDir>,
    /// This WIM's own temporary folder for staged files ([`Wim::staging_folder`]) and the
    /// number of folders made in it.
    scratch: Option<(tempfile::TempDir, u32)>,
}

impl std::fmt::Debug for Wim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wim")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Wim {
    /// Opens a WIM for reading.
    pub fn open(path: &Path) -> Result<Wim, Error> {
        Self::open_with(path, false)
    }

    /// Opens a WIM for in-place modification; fails with [`Error::ReadOnly`] if it cannot be written.
    pub fn open_writable(path: &Path) -> Result<Wim, Error> {
        Self::open_with(path, true)
    }

    fn open_with(path: &Path, write: bool) -> Result<Wim, Error> {
        let meta = std::fs::metadata(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        if meta.is_dir() {
            return Err(Error::NotAWim { path: path.into() });
        }
        // Tell "not a WIM at all" from "a damaged WIM" by the magic, which wimlib does not.
        let mut magic = [0u8; 8];
        let n = std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut magic))
            .map_err(|source| Error::Io {
                path: path.into(),
                source,
            })?;
        if n < 8 || (&magic != b"MSWIM\0\0\0" && &magic != b"WLPWM\0\0\0") {
            return Err(Error::NotAWim { path: path.into() });
        }
        if write && meta.permissions().readonly() {
            return Err(Error::ReadOnly { path: path.into() });
        }
        let c = cstr(&path.to_string_lossy());
        let flags = if write {
            OpenFlags::WRITE_ACCESS
        } else {
            OpenFlags::empty()
        };
        let inner = lib()
            .open_wim(tstr(&c), flags)
            .map_err(|e| map_err(path, "open", e))?;
        let wim = Wim {
            inner,
            path: path.into(),
            writable: write,
            staged: Vec::new(),
            tree_changes: 0,
            guards: Vec::new(),
            scratch: None,
        };
        // Opening only reads the header; read every image's metadata now so that a truncated
        // file is reported here rather than half-way through an operation.
        for index in 1..=wim.summary().image_count {
            wim.list_dir(index, "\\").map_err(|e| match e {
                Error::Wimlib { cause, .. } => Error::Damaged {
                    path: path.into(),
                    cause,
                },
                other => other,
            })?;
        }
        Ok(wim)
    }

    /// The path this WIM was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whole-WIM facts.
    pub fn summary(&self) -> WimSummary {
        let info = self.inner.info();
        WimSummary {
            image_count: info.image_count,
            boot_index: info.boot_index,
            compression: format!("{:?}", info.compression_type),
            file_size: std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0),
            has_integrity_table: info.has_integrity_table(),
        }
    }

    fn check_index(&self, index: u32) -> Result<std::num::NonZero<u32>, Error> {
        let count = self.inner.info().image_count;
        match std::num::NonZero::new(index) {
            Some(i) if index <= count => Ok(i),
            _ => Err(Error::NoSuchImage {
                path: self.path.clone(),
                index,
                count,
            }),
        }
    }

    /// Reads a per-image XML property such as `NAME` or `WINDOWS/ARCH`.
    pub fn property(&self, index: u32, name: &str) -> Result<Option<String>, Error> {
        let i = self.check_index(index)?;
        let c = cstr(name);
        Ok(self
            .inner
            .select_image(i)
            .property(tstr(&c))
            .map(|s| s.to_str().into_owned()))
    }

    /// Facts about one image.
    pub fn image(&self, index: u32) -> Result<ImageSummary, Error> {
        let prop = |n: &str| self.property(index, n).map(Option::unwrap_or_default);
        let num = |n: &str| prop(n).map(|s| s.trim().parse::<u64>().unwrap_or(0));
        let arch = self.property(index, "WINDOWS/ARCH")?.map(|a| {
            match a.trim() {
                "0" => "x86",
                "5" => "arm",
                "6" => "ia64",
                "9" => "x64",
                "12" => "arm64",
                other => return other.to_string(),
            }
            .to_string()
        });
        Ok(ImageSummary {
            index,
            name: prop("NAME")?,
            description: prop("DESCRIPTION")?,
            arch,
            total_bytes: num("TOTALBYTES")?,
            file_count: num("FILECOUNT")?,
            dir_count: num("DIRCOUNT")?,
        })
    }

    fn iterate(
        &self,
        index: u32,
        inner: &str,
        flags: IterateDirTreeFlags,
    ) -> Result<Vec<Entry>, Error> {
        let i = self.check_index(index)?;
        let norm = normalize(inner);
        let c = cstr(&norm);
        let mut out = Vec::new();
        let res = self
            .inner
            .select_image(i)
            .iterate_dir_tree(tstr(&c), flags, |d| {
                let size = d
                    .streams_converted()
                    .iter()
                    .find(|s| s.stream_name.is_none())
                    .map(|s| s.resource.uncompressed_size)
                    .unwrap_or(0);
                out.push(Entry {
                    path: d.full_path.to_str().into_owned(),
                    is_dir: d.file_attributes.contains(FileAttributes::DIRECTORY),
                    size,
                    has_security_descriptor: d.security_descriptor.is_some(),
                    attributes: d.file_attributes.bits(),
                });
                Ok(())
            });
        match res {
            Ok(()) => Ok(out),
            Err(wimlib::Error::PathDoesNotExist) => Err(Error::NoSuchPath {
                path: self.path.clone(),
                index,
                inner: norm,
            }),
            Err(e) => Err(map_err(&self.path, "read image metadata", e)),
        }
    }

    /// Looks up one path (case-insensitively); `None` when it does not exist.
    pub fn stat(&self, index: u32, inner: &str) -> Result<Option<Entry>, Error> {
        match self.iterate(index, inner, IterateDirTreeFlags::empty()) {
            Ok(mut v) => Ok(v.pop()),
            Err(Error::NoSuchPath { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Lists the direct children of a directory.
    pub fn list_dir(&self, index: u32, dir: &str) -> Result<Vec<Entry>, Error> {
        self.iterate(index, dir, IterateDirTreeFlags::CHILDREN)
    }

    /// Lists a whole subtree (the directory itself excluded).
    pub fn walk(&self, index: u32, dir: &str) -> Result<Vec<Entry>, Error> {
        self.iterate(
            index,
            dir,
            IterateDirTreeFlags::CHILDREN | IterateDirTreeFlags::RECURSIVE,
        )
    }

    /// Extracts one file or directory tree into `dest_dir` (which must exist) under its own name
    /// (`dest_dir/SOFTWARE`, not `dest_dir/Windows/System32/config/SOFTWARE`); returns the
    /// local path of the extracted item.
    pub fn extract_to(&self, index: u32, inner: &str, dest_dir: &Path) -> Result<PathBuf, Error> {
        let entry = self.stat(index, inner)?.ok_or_else(|| Error::NoSuchPath {
            path: self.path.clone(),
            index,
            inner: normalize(inner),
        })?;
        let i = self.check_index(index)?;
        let target = cstr(&dest_dir.to_string_lossy());
        let src = cstr(&entry.path);
        let paths = [wimlib::string::ThinTStr::new(tstr(&src))];
        self.inner
            .select_image(i)
            .extract_from_paths(
                &paths,
                tstr(&target),
                // Straight into dest_dir (no intermediate directories to create and remove).
                ExtractFlags::NO_ACLS
                    | ExtractFlags::NORPFIX
                    | ExtractFlags::NO_PRESERVE_DIR_STRUCTURE,
            )
            .map_err(|e| map_err(&self.path, "extract", e))?;
        let name = entry
            .path
            .rsplit(['\\', '/'])
            .find(|p| !p.is_empty())
            .unwrap_or_default();
        Ok(dest_dir.join(name))
    }

    /// Reads one file of an image into memory.
    pub fn read_file(&self, index: u32, inner: &str) -> Result<Vec<u8>, Error> {
        let dir = tempfile::tempdir().map_err(|source| Error::Io {
            path: self.path.clone(),
            source,
        })?;
        let local = self.extract_to(index, inner, dir.path())?;
        std::fs::read(&local).map_err(|source| Error::Io {
            path: local,
            source,
        })
    }

    /// Stages replacing (or adding) a file of an image with the contents of a local file; the
    /// local file is moved under the WIM's control and removed after commit.
    pub fn replace_file(
        &mut self,
        index: u32,
        inner: &str,
        local: tempfile::TempPath,
    ) -> Result<(), Error> {
        self.check_index(index)?;
        // Keep the on-image spelling of an existing file so the replacement lands on it.
        let target = match self.stat(index, inner)? {
            Some(e) => e.path,
            None => format!("\\{}", normalize(inner)),
        };
        let src = cstr(&local.to_string_lossy());
        let dst = cstr(&target);
        let i = self.check_index(index)?;
        self.inner
            .select_image(i)
            .add_tree(tstr(&src), tstr(&dst), wimlib::AddFlags::empty())
            .map_err(|e| map_err(&self.path, "stage file", e))?;
        self.staged.push((index, target, local));
        Ok(())
    }

    /// Reports the bytes written by the next commit (or capture) to `progress`. The bar is
    /// started on wimlib's first write message and finished when metadata is written.
    pub fn set_progress(&mut self, progress: std::rc::Rc<dyn crate::progress::Progress>) {
        self.inner
            .register_progress_callback(write_progress_callback(progress));
    }

    /// Stages adding the local directory tree `local` at `inner` (created, or merged into an
    /// existing directory with its files replaced, as `wimupdate add`). wimlib reads the files at
    /// commit time: `guard` (a temporary folder holding them) is kept until then.
    pub fn add_tree(
        &mut self,
        index: u32,
        local: &Path,
        inner: &str,
        guard: Option<tempfile::TempDir>,
    ) -> Result<(), Error> {
        let i = self.check_index(index)?;
        let target = if normalize(inner).is_empty() {
            "\\".to_string()
        } else {
            match self.stat(index, inner)? {
                Some(e) => e.path,
                None => format!("\\{}", normalize(inner)),
            }
        };
        let (src, dst) = (cstr(&local.to_string_lossy()), cstr(&target));
        self.inner
            .select_image(i)
            .add_tree(tstr(&src), tstr(&dst), wimlib::AddFlags::empty())
            .map_err(|e| map_err(&self.path, "stage folder", e))?;
        self.tree_changes += 1;
        self.guards.extend(guard);
        Ok(())
    }

    /// A new empty folder for files to stage into this WIM, removed with it. Folders are named
    /// by a counter inside one temporary folder of the WIM's: wimlib writes new data in the
    /// order of the local paths, so names that do not change from run to run keep a
    /// reproducible build's output byte-identical (random temporary names reorder it).
    pub fn staging_folder(&mut self) -> Result<PathBuf, Error> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        let (root, n) = match &mut self.scratch {
            Some(s) => s,
            slot => slot.insert((tempfile::tempdir().map_err(io(&self.path))?, 0)),
        };
        *n += 1;
        let dir = root.path().join(format!("{n:06}"));
        std::fs::create_dir(&dir).map_err(io(&dir))?;
        Ok(dir)
    }

    /// Stages deleting `inner` (a file, or a directory with everything below it); `false` when
    /// it does not exist.
    pub fn delete(&mut self, index: u32, inner: &str) -> Result<bool, Error> {
        let i = self.check_index(index)?;
        let Some(e) = self.stat(index, inner)? else {
            return Ok(false);
        };
        let c = cstr(&e.path);
        self.inner
            .select_image(i)
            .delete_path(tstr(&c), wimlib::DeleteFlags::RECURSIVE)
            .map_err(|e| map_err(&self.path, "stage deletion", e))?;
        self.tree_changes += 1;
        Ok(true)
    }

    /// Whether changes are staged.
    pub fn is_dirty(&self) -> bool {
        !self.staged.is_empty() || self.tree_changes > 0
    }

    /// Writes the staged changes. The caller should re-open the WIM and re-read what it changed
    /// before reporting success.
    pub fn commit(self, mode: CommitMode) -> Result<PathBuf, Error> {
        let path = self.path.clone();
        match mode {
            CommitMode::Append => {
                if !self.writable {
                    return Err(Error::ReadOnly { path });
                }
                self.inner
                    .overwrite(WriteFlags::empty(), 0)
                    .map_err(|e| map_err(&path, "commit", e))?;
                Ok(path)
            }
            CommitMode::Rebuild => {
                if !self.writable {
                    return Err(Error::ReadOnly { path });
                }
                // What wimlib's overwrite(REBUILD) does (write all images to a temporary file
                // beside the WIM, fsync, rename), but through a claimed temporary file, so a run
                // killed half-way leaves nothing the next run does not recognise and remove.
                let mode = std::fs::metadata(&path).map(|m| m.permissions()).ok();
                write_new_with(
                    &self.inner,
                    &path,
                    WriteFlags::RETAIN_GUID | WriteFlags::FSYNC,
                    mode,
                    None,
                )?;
                Ok(path)
            }
            CommitMode::Output(out) => {
                write_new(&self.inner, &out, WriteFlags::empty())?;
                Ok(out)
            }
        }
    }
}

/// A wimlib progress callback reporting the bytes of a WIM write to `progress`: started on the
/// first write message, finished when the metadata is written.
fn write_progress_callback(
    progress: std::rc::Rc<dyn crate::progress::Progress>,
) -> impl FnMut(&mut wimlib::progress::ProgressMsg) -> wimlib::progress::ProgressStatus + 'static {
    let mut started = false;
    let mut last = 0u64;
    move |msg| {
        match msg {
            wimlib::progress::ProgressMsg::WriteStreams {
                total_bytes,
                completed_bytes,
                ..
            } => {
                if !started {
                    progress.start("writing WIM", Some(*total_bytes));
                    started = true;
                }
                progress.advance(completed_bytes.saturating_sub(last));
                last = *completed_bytes;
            }
            wimlib::progress::ProgressMsg::WriteMetadataEnd if started => {
                progress.finish();
                started = false;
            }
            _ => {}
        }
        wimlib::progress::ProgressStatus::Continue
    }
}

fn map_err(path: &Path, op: &'static str, e: wimlib::Error) -> Error {
    let path = path.to_path_buf();
    match e {
        wimlib::Error::NotAWimFile | wimlib::Error::UnknownVersion | wimlib::Error::ImageCount => {
            Error::NotAWim { path }
        }
        wimlib::Error::UnexpectedEndOfFile
        | wimlib::Error::InvalidMetadataResource
        | wimlib::Error::Decompression
        | wimlib::Error::InvalidLookupTableEntry
        | wimlib::Error::InvalidHeader
        | wimlib::Error::Xml
        | wimlib::Error::WimIsIncomplete => Error::Damaged {
            path,
            cause: e.to_string(),
        },
        wimlib::Error::WimIsReadonly => Error::ReadOnly { path },
        wimlib::Error::Open | wimlib::Error::Read => Error::Io {
            path,
            source: std::io::Error::other(e.to_string()),
        },
        other => Error::Wimlib {
            path,
            op,
            cause: other.to_string(),
        },
    }
}

/// One image to capture with [`capture`].
#[derive(Debug, Clone)]
pub struct CaptureImage<'a> {
    /// Local directory whose content becomes the image root.
    pub source: &'a Path,
    /// Image name.
    pub name: &'a str,
    /// Extra XML properties to set (e.g. `WINDOWS/ARCH` = `9`).
    pub properties: &'a [(&'a str, &'a str)],
}

/// Captures local directories into a new WIM (LZX, like Microsoft's boot images), writing through
/// a temporary file and rename. The first image is marked bootable.
pub fn capture(images: &[CaptureImage<'_>], out: &Path) -> Result<(), Error> {
    let wim = lib()
        .create_new_wim(wimlib::CompressionType::Lzx)
        .map_err(|e| map_err(out, "create", e))?;
    for (n, img) in images.iter().enumerate() {
        let src = cstr(&img.source.to_string_lossy());
        let name = cstr(img.name);
        let flags = if n == 0 {
            wimlib::AddFlags::BOOT
        } else {
            wimlib::AddFlags::empty()
        };
        wim.add_image(tstr(&src), tstr(&name), None, flags)
            .map_err(|e| map_err(out, "capture", e))?;
        let index = u32::try_from(n + 1).ok().and_then(std::num::NonZero::new);
        let Some(index) = index else { continue };
        for (k, v) in img.properties {
            let (k, v) = (cstr(k), cstr(v));
            wim.select_image(index)
                .set_property(tstr(&k), Some(tstr(&v)))
                .map_err(|e| map_err(out, "set image property", e))?;
        }
    }
    write_new(&wim, out, WriteFlags::empty())?;
    Ok(())
}

/// Writes every image of `wim` to a new file at `out` through a temporary file in the same
/// directory and a rename, so `out` is either the old file or the complete new one.
fn write_new(wim: &wimlib::Wim, out: &Path, flags: WriteFlags) -> Result<(), Error> {
    write_new_with(wim, out, flags, None, None)
}

/// [`write_new`], giving the new file `mode` when set, and image 1 the modification time
/// `mtime` (Unix seconds) when set. The temporary file belongs to a [`crate::workdir::Claim`] on
/// the folder: if this run dies, the next one removes it.
fn write_new_with(
    wim: &wimlib::Wim,
    out: &Path,
    flags: WriteFlags,
    mode: Option<std::fs::Permissions>,
    mtime: Option<i64>,
) -> Result<(), Error> {
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let write_err = |source| Error::Write {
        path: out.into(),
        source,
    };
    let claim = crate::workdir::Claim::new(dir, "wim write").map_err(write_err)?;
    let tmp = claim
        .temp_file(".wim.tmp")
        .map_err(write_err)?
        .into_temp_path();
    let c = cstr(&tmp.to_string_lossy());
    wim.select_all_images()
        .write(tstr(&c), flags, 0)
        .map_err(|e| map_err(out, "write", e))?;
    if let Some(t) = mtime {
        // wimlib stamps an image modified in memory (a staged file) with the time of the write,
        // whatever the XML said: for a reproducible file, set the time again on the written WIM
        // (unmodified now, so it is kept) and append the new XML (a few KiB).
        let written = lib()
            .open_wim(tstr(&c), OpenFlags::WRITE_ACCESS)
            .map_err(|e| map_err(out, "reopen", e))?;
        set_mtime(&written, t, out)?;
        written
            .overwrite(WriteFlags::empty(), 0)
            .map_err(|e| map_err(out, "write", e))?;
    }
    if let Some(mode) = mode {
        std::fs::set_permissions(&tmp, mode).map_err(write_err)?;
    }
    tmp.persist(out).map_err(|e| write_err(e.error))?;
    drop(claim);
    Ok(())
}

/// Path of the SOFTWARE hive inside an image.
pub const SOFTWARE_HIVE: &str = "Windows\\System32\\config\\SOFTWARE";

/// What an image is, as far as peforge cares.
#[derive(Debug, Clone, Default)]
pub struct ImageKind {
    /// WinPE: the XML says so (`WINDOWS/INSTALLATIONTYPE` or `EDITIONID` = WindowsPE) or
    /// `Windows\System32\winpeshl.exe` exists.
    pub winpe: bool,
    /// ConfigMgr boot image: `sms\bin\<arch>\TsBootShell.exe` and `TsmBootstrap.exe` exist
    /// (`shared/specs/boot-media.md` §10); the arch folder found.
    pub configmgr_arch: Option<String>,
    /// The SOFTWARE hive, if present.
    pub software: Option<Entry>,
}

/// Classifies an image.
pub fn detect(wim: &Wim, index: u32) -> Result<ImageKind, Error> {
    let xml_pe = ["WINDOWS/INSTALLATIONTYPE", "WINDOWS/EDITIONID"]
        .iter()
        .map(|p| wim.property(index, p))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .any(|v| v.eq_ignore_ascii_case("WindowsPE"));
    let winpe = xml_pe
        || wim
            .stat(index, "Windows\\System32\\winpeshl.exe")?
            .is_some();
    let mut configmgr_arch = None;
    for arch in ["x64", "i386", "arm64"] {
        let shell = wim.stat(index, &format!("sms\\bin\\{arch}\\TsBootShell.exe"))?;
        let boot = wim.stat(index, &format!("sms\\bin\\{arch}\\TsmBootstrap.exe"))?;
        if shell.is_some() && boot.is_some() {
            configmgr_arch = Some(arch.to_string());
            break;
        }
    }
    Ok(ImageKind {
        winpe,
        configmgr_arch,
        software: wim.stat(index, SOFTWARE_HIVE)?,
    })
}

/// Options of [`export_image`].
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Header GUID of the new WIM; `None` lets wimlib pick a random one. Reproducible builds
    /// (`SOURCE_DATE_EPOCH`) pass one derived from the inputs.
    pub guid: Option<[u8; 16]>,
    /// Image `LASTMODIFICATIONTIME` to record (Unix seconds); `None` keeps the source's.
    pub mtime: Option<i64>,
}

/// Exports image `index` of `src` into a new single-image WIM at `out` (same compression, the
/// image marked bootable), through a temporary file and rename. Used for media, whose
/// `sources\boot.wim` must hold only the chosen image as the boot index
/// (`shared/specs/boot-media.md` §1). The source is only read.
pub fn export_image(
    src: &Wim,
    index: u32,
    out: &Path,
    opts: &ExportOptions,
    progress: Option<std::rc::Rc<dyn crate::progress::Progress>>,
) -> Result<(), Error> {
    let i = src.check_index(index)?;
    let mut dest = lib()
        .create_new_wim(src.inner.info().compression_type)
        .map_err(|e| map_err(out, "create", e))?;
    src.inner
        .select_image(i)
        .export(&dest, None, None, wimlib::ExportFlags::BOOT)
        .map_err(|e| map_err(src.path(), "export image", e))?;
    if let Some(p) = progress {
        dest.register_progress_callback(write_progress_callback(p));
    }
    let mut flags = WriteFlags::empty();
    if let Some(g) = opts.guid {
        dest.set_info(wimlib::SetInfo::default().guid(uuid::Uuid::from_bytes(g)))
            .map_err(|e| map_err(out, "set GUID", e))?;
        flags |= WriteFlags::RETAIN_GUID;
    }
    if let Some(t) = opts.mtime {
        set_mtime(&dest, t, out)?;
    }
    write_new_with(&dest, out, flags, None, opts.mtime)?;
    Ok(())
}

/// Sets image 1's `LASTMODIFICATIONTIME` (Unix seconds `t`) in the XML of `wim`.
fn set_mtime(wim: &wimlib::Wim, t: i64, out: &Path) -> Result<(), Error> {
    // FILETIME: 100 ns ticks since 1601-01-01.
    let ft = u64::try_from(t.saturating_add(11_644_473_600))
        .unwrap_or(0)
        .saturating_mul(10_000_000);
    let one = std::num::NonZero::<u32>::MIN;
    for (k, v) in [
        (
            "LASTMODIFICATIONTIME/HIGHPART",
            format!("0x{:08X}", ft >> 32),
        ),
        (
            "LASTMODIFICATIONTIME/LOWPART",
            format!("0x{:08X}", ft & 0xFFFF_FFFF),
        ),
    ] {
        let (k, v) = (cstr(k), cstr(&v));
        wim.select_image(one)
            .set_property(tstr(&k), Some(tstr(&v)))
            .map_err(|e| map_err(out, "set image property", e))?;
    }
    Ok(())
}
