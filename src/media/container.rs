//! What the container writers (ISO, USB image, folder) share: the error type and the
//! normalised, sorted directory tree they lay out.
//!
//! A [`MediaTree`] is a flat map of `/`-separated paths. Every container needs the same checks
//! before it writes a byte: names valid on Windows media (`shared/specs/boot-media.md` §1: paths
//! are case-insensitive), no two entries that differ only in case, sizes known. [`Layout`] does
//! them once and hands the writers a tree sorted by upper-cased name, so output is deterministic.
#![warn(clippy::indexing_slicing, clippy::cast_possible_truncation)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::tree::{FileSource, MediaTree};
use crate::progress::Progress;

/// Errors of the container writers and readers (ISO 9660, FAT32 USB image, folder).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContainerError {
    /// Reading a source file or writing/reading the output failed.
    #[error("{path}: {source}")]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A path in the media tree cannot be stored on Windows media.
    #[error("media path {path:?}: {reason}")]
    BadName {
        /// The path as given in the tree.
        path: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// Two tree entries collide on case-insensitive media (or a file is also a directory).
    #[error("media paths {path:?} and {other:?} collide (media paths are case-insensitive)")]
    Duplicate {
        /// The entry refused.
        path: String,
        /// The entry it collides with.
        other: String,
    },
    /// A source file changed size between planning and writing.
    #[error("{path}: the file changed while the medium was written (expected {expected} bytes)")]
    SourceChanged {
        /// The source file.
        path: PathBuf,
        /// The size seen when the layout was planned.
        expected: u64,
    },
    /// A file is too large for the container format.
    #[error("media path {path:?} is {size} bytes; {format} stores at most {limit} bytes per file")]
    FileTooLarge {
        /// The path in the tree.
        path: String,
        /// Its size.
        size: u64,
        /// The largest size the format allows.
        limit: u64,
        /// The container format.
        format: &'static str,
    },
    /// The directory hierarchy is deeper than the format allows.
    #[error("media path {path:?} is {depth} directories deep; {format} allows {limit}")]
    TooDeep {
        /// The path in the tree.
        path: String,
        /// Its depth.
        depth: usize,
        /// The format's limit.
        limit: usize,
        /// The container format.
        format: &'static str,
    },
    /// A boot image named in [`MediaTree::boot`] is not a file of the tree.
    #[error("the {which} boot image {path:?} is not in the media tree")]
    BootImageMissing {
        /// The path named in the tree's boot images.
        path: String,
        /// `BIOS` or `UEFI`.
        which: &'static str,
    },
    /// A boot image is empty (firmware would load nothing).
    #[error("the {which} boot image {path:?} is empty")]
    BootImageEmpty {
        /// The path in the tree.
        path: String,
        /// `BIOS` or `UEFI`.
        which: &'static str,
    },
    /// The whole medium exceeds what the format can address.
    #[error("the medium would be {size} bytes; {format} addresses at most {limit} bytes")]
    MediumTooLarge {
        /// The planned size.
        size: u64,
        /// The format's limit.
        limit: u64,
        /// The container format.
        format: &'static str,
    },
    /// The output target exists and is not what the writer can replace.
    #[error("{path}: {reason}")]
    BadTarget {
        /// The output path.
        path: PathBuf,
        /// Why it cannot be written.
        reason: &'static str,
    },
    /// An existing medium is damaged or not of the expected format.
    #[error("{path}: {what} at byte offset {offset}")]
    Malformed {
        /// The medium.
        path: PathBuf,
        /// Byte offset of the bad structure.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// A path asked of a reader does not exist on the medium.
    #[error("{medium}: no file {path:?} on the medium")]
    NotFound {
        /// The medium.
        medium: PathBuf,
        /// The path asked for.
        path: String,
    },
    /// The writer's plan and its output disagree (a bug in peforge, never caused by input).
    #[error("{path}: internal layout error: {what}")]
    Internal {
        /// The output.
        path: PathBuf,
        /// What disagreed.
        what: String,
    },
}

impl ContainerError {
    /// The fix to suggest, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            ContainerError::FileTooLarge { path, .. } if path.to_ascii_lowercase().ends_with(".wim") => Some(
                "split the WIM into parts below 4 GiB (`wimlib-imagex split IN.wim OUT.swm 4000` or `Dism /Split-Image /FileSize:4000`); boot.wim itself must stay one file, so remove optional components or drivers to shrink it".into(),
            ),
            ContainerError::FileTooLarge { .. } => {
                Some("keep files below 4 GiB: split large files or leave them off the medium".into())
            }
            ContainerError::BadName { .. } => Some(
                "rename the file: names must be non-empty, without control characters, \\ / : * ? \" < > | ; and without a trailing dot or space".into(),
            ),
            ContainerError::Duplicate { .. } => {
                Some("remove one of the two entries; Windows media cannot hold names that differ only in case".into())
            }
            ContainerError::SourceChanged { .. } => {
                Some("do not modify the inputs while the medium is being written, then run the command again".into())
            }
            ContainerError::BootImageMissing { .. } => {
                Some("add the boot image to the tree, or drop the boot entry".into())
            }
            ContainerError::Malformed { .. } => {
                Some("check that the file is an ISO 9660 image or a raw disk image with a FAT partition and that it is complete".into())
            }
            ContainerError::MediumTooLarge { .. } => Some(
                "leave large optional files off the medium (a USB stick can carry them on a second NTFS partition), or build an ISO".into(),
            ),
            ContainerError::Internal { .. } => Some("please report this bug with the command line".into()),
            _ => None,
        }
    }

    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ContainerError + '_ {
        move |source| ContainerError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// One file of a [`Layout`].
#[derive(Debug, Clone)]
pub struct LayoutFile<'t> {
    /// File name as given in the tree (original case).
    pub name: String,
    /// Full path as given in the tree.
    pub path: String,
    /// Where the bytes come from.
    pub source: &'t FileSource,
    /// Size in bytes, taken when the layout was planned.
    pub size: u64,
}

/// One directory of a [`Layout`]; children sorted by upper-cased name.
#[derive(Debug, Clone, Default)]
pub struct LayoutDir<'t> {
    /// Directory name (original case of its first spelling; empty for the root).
    pub name: String,
    /// Full path (`/`-separated, empty for the root).
    pub path: String,
    /// Subdirectories, keyed by upper-cased name.
    pub dirs: BTreeMap<String, LayoutDir<'t>>,
    /// Files, keyed by upper-cased name.
    pub files: BTreeMap<String, LayoutFile<'t>>,
}

impl<'t> LayoutDir<'t> {
    /// Depth-first visit of every file in sorted order.
    pub fn walk_files<'a>(&'a self, out: &mut Vec<&'a LayoutFile<'t>>) {
        for f in self.files.values() {
            out.push(f);
        }
        for d in self.dirs.values() {
            d.walk_files(out);
        }
    }
}

/// The tree checked and sorted, with every file size known.
#[derive(Debug, Clone)]
pub struct Layout<'t> {
    /// The root directory.
    pub root: LayoutDir<'t>,
    /// Sum of all file sizes.
    pub total_bytes: u64,
}

/// Characters Windows refuses in file names, plus `;` (the ISO 9660 version separator).
const FORBIDDEN: &[char] = &['\\', '/', ':', '*', '?', '"', '<', '>', '|', ';'];

/// Checks one path component.
fn check_component(path: &str, name: &str) -> Result<(), ContainerError> {
    let bad = |reason| {
        Err(ContainerError::BadName {
            path: path.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("empty path component");
    }
    if name == "." || name == ".." {
        return bad("`.` and `..` are not names");
    }
    if name
        .chars()
        .any(|c| c.is_control() || FORBIDDEN.contains(&c))
    {
        return bad("contains a character Windows media cannot store");
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return bad("ends with a dot or a space");
    }
    if name.chars().count() > 255 {
        return bad("longer than 255 characters");
    }
    Ok(())
}

/// Size of a source.
pub(crate) fn source_size(source: &FileSource) -> Result<u64, ContainerError> {
    match source {
        FileSource::Bytes(b) => Ok(b.len() as u64),
        FileSource::Local(p) => {
            let md = std::fs::metadata(p).map_err(ContainerError::io(p))?;
            if !md.is_file() {
                return Err(ContainerError::Io {
                    path: p.clone(),
                    source: std::io::Error::other("not a regular file"),
                });
            }
            Ok(md.len())
        }
    }
}

impl<'t> Layout<'t> {
    /// Checks and sorts `tree`.
    pub fn plan(tree: &'t MediaTree) -> Result<Layout<'t>, ContainerError> {
        let mut root = LayoutDir::default();
        let mut total: u64 = 0;
        for (path, source) in &tree.files {
            let comps: Vec<&str> = path.split('/').collect();
            for c in &comps {
                check_component(path, c)?;
            }
            let Some((file_name, dirs)) = comps.split_last() else {
                continue;
            };
            let mut dir = &mut root;
            for d in dirs {
                let key = d.to_uppercase();
                if let Some(f) = dir.files.get(&key) {
                    return Err(ContainerError::Duplicate {
                        path: path.clone(),
                        other: f.path.clone(),
                    });
                }
                let sub_path = if dir.path.is_empty() {
                    (*d).to_string()
                } else {
                    format!("{}/{d}", dir.path)
                };
                dir = dir.dirs.entry(key).or_insert_with(|| LayoutDir {
                    name: (*d).to_string(),
                    path: sub_path,
                    ..Default::default()
                });
            }
            let key = file_name.to_uppercase();
            if let Some(other) = dir.dirs.get(&key) {
                return Err(ContainerError::Duplicate {
                    path: path.clone(),
                    other: other.path.clone(),
                });
            }
            if let Some(other) = dir.files.get(&key) {
                return Err(ContainerError::Duplicate {
                    path: path.clone(),
                    other: other.path.clone(),
                });
            }
            let size = source_size(source)?;
            total = total.saturating_add(size);
            dir.files.insert(
                key,
                LayoutFile {
                    name: (*file_name).to_string(),
                    path: path.clone(),
                    source,
                    size,
                },
            );
        }
        Ok(Layout {
            root,
            total_bytes: total,
        })
    }

    /// Finds a file by path, case-insensitively.
    pub fn find(&self, path: &str) -> Option<&LayoutFile<'t>> {
        let norm = path.trim_start_matches('/').replace('\\', "/");
        let comps: Vec<&str> = norm.split('/').collect();
        let (name, dirs) = comps.split_last()?;
        let mut dir = &self.root;
        for d in dirs {
            dir = dir.dirs.get(&d.to_uppercase())?;
        }
        dir.files.get(&name.to_uppercase())
    }

    /// Every file in depth-first sorted order.
    pub fn files(&self) -> Vec<&LayoutFile<'t>> {
        let mut v = Vec::new();
        self.root.walk_files(&mut v);
        v
    }
}

/// Copies exactly `file.size` bytes of `file`'s content to `out`, reporting progress; a source
/// that is shorter or longer than planned is an error (it changed while we wrote).
pub(crate) fn copy_source(
    file: &LayoutFile<'_>,
    out: &mut dyn std::io::Write,
    out_path: &Path,
    progress: &dyn Progress,
) -> Result<(), ContainerError> {
    match file.source {
        FileSource::Bytes(b) => {
            out.write_all(b).map_err(ContainerError::io(out_path))?;
            progress.advance(b.len() as u64);
            Ok(())
        }
        FileSource::Local(p) => {
            let f = std::fs::File::open(p).map_err(ContainerError::io(p))?;
            let mut limited = f.take(file.size);
            let mut buf = vec![0u8; 1 << 20];
            let mut done: u64 = 0;
            loop {
                let n = limited.read(&mut buf).map_err(ContainerError::io(p))?;
                if n == 0 {
                    break;
                }
                let chunk = buf.get(..n).unwrap_or_default();
                out.write_all(chunk).map_err(ContainerError::io(out_path))?;
                done += n as u64;
                progress.advance(n as u64);
            }
            let mut rest = limited.into_inner();
            let mut probe = [0u8; 1];
            let longer = rest.read(&mut probe).map_err(ContainerError::io(p))? != 0;
            if done != file.size || longer {
                return Err(ContainerError::SourceChanged {
                    path: p.clone(),
                    expected: file.size,
                });
            }
            Ok(())
        }
    }
}

/// Civil date and time (UTC) of a Unix timestamp, clamped to `[min_year, max_year]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl Civil {
    /// Converts seconds since the Unix epoch (proleptic Gregorian, UTC), clamping to the years a
    /// format can store.
    pub(crate) fn from_unix(t: i64, min_year: i64, max_year: i64) -> Civil {
        let days = t.div_euclid(86_400);
        let secs = t.rem_euclid(86_400);
        // Days to civil (H. Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let c = Civil {
            year,
            month: u8::try_from(month).unwrap_or(1),
            day: u8::try_from(day).unwrap_or(1),
            hour: u8::try_from(secs / 3600).unwrap_or(0),
            minute: u8::try_from(secs % 3600 / 60).unwrap_or(0),
            second: u8::try_from(secs % 60).unwrap_or(0),
        };
        if year < min_year {
            Civil {
                year: min_year,
                month: 1,
                day: 1,
                hour: 0,
                minute: 0,
                second: 0,
            }
        } else if year > max_year {
            Civil {
                year: max_year,
                month: 12,
                day: 31,
                hour: 23,
                minute: 59,
                second: 58,
            }
        } else {
            c
        }
    }
}

/// Makes the verified temporary image world-readable and renames it over `out`.
pub(crate) fn publish(tmp: crate::fsutil::TempNextTo, out: &Path) -> Result<(), ContainerError> {
    {
        // Media are not secret: readable like any file the user creates (tempfile uses 0600).
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(ContainerError::io(out))?;
    }
    tmp.persist(out).map_err(|e| ContainerError::Io {
        path: out.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_matches_known_dates() {
        // 2000-03-01T00:00:00Z, 2024-02-29T12:34:56Z (leap day), epoch.
        assert_eq!(
            Civil::from_unix(951_868_800, 1900, 2155),
            Civil {
                year: 2000,
                month: 3,
                day: 1,
                hour: 0,
                minute: 0,
                second: 0
            }
        );
        assert_eq!(
            Civil::from_unix(1_709_210_096, 1900, 2155),
            Civil {
                year: 2024,
                month: 2,
                day: 29,
                hour: 12,
                minute: 34,
                second: 56
            }
        );
        assert_eq!(Civil::from_unix(0, 1980, 2107).year, 1980);
        assert_eq!(Civil::from_unix(0, 1900, 2155).year, 1970);
    }

    #[test]
    fn layout_refuses_case_collisions_and_bad_names() {
        let mut t = MediaTree::default();
        t.insert("EFI/BOOT/a.efi", FileSource::Bytes(vec![1]));
        t.insert("efi/boot/A.EFI", FileSource::Bytes(vec![2]));
        assert!(matches!(
            Layout::plan(&t),
            Err(ContainerError::Duplicate { .. })
        ));
        let mut t = MediaTree::default();
        t.insert("a/b:c", FileSource::Bytes(vec![]));
        assert!(matches!(
            Layout::plan(&t),
            Err(ContainerError::BadName { .. })
        ));
        let mut t = MediaTree::default();
        t.insert("a", FileSource::Bytes(vec![]));
        t.insert("A/b", FileSource::Bytes(vec![]));
        assert!(matches!(
            Layout::plan(&t),
            Err(ContainerError::Duplicate { .. })
        ));
    }

    #[test]
    fn layout_merges_directory_spellings() {
        let mut t = MediaTree::default();
        t.insert("EFI/BOOT/bootx64.efi", FileSource::Bytes(vec![1]));
        t.insert("efi/microsoft/boot/bcd", FileSource::Bytes(vec![2, 3]));
        let l = Layout::plan(&t).unwrap();
        assert_eq!(l.root.dirs.len(), 1);
        assert_eq!(l.total_bytes, 3);
        assert!(l.find("efi/boot/BOOTX64.EFI").is_some());
    }
}
