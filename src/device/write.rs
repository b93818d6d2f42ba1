//! Writes an image to a whole disk (or a regular file) and proves it arrived: plan first (every
//! safety rule checked, nothing opened for writing), then execute: `O_EXCL` open, the image in
//! 4 MiB `O_DIRECT` chunks, the device's last MiB zeroed (a stale backup GPT would confuse
//! UEFI firmware), `fsync`, buffer flush, SHA-256 read-back with `O_DIRECT`, partition-table
//! re-read (`shared/specs/usb-boot.md` §10.1).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;
use sha2::Digest;

use super::sysfs::{self, Disk, Node, Roots};
use super::{Error, io, rules};
use crate::progress::Progress;

/// Bytes per write: large enough for full USB throughput, small enough for a flat RSS.
const CHUNK: usize = 4 << 20;
/// Alignment `O_DIRECT` needs for buffer, offset and length (4096 covers every sector size).
const ALIGN: usize = 4096;
/// Zeroed at the end of a device larger than the image (stale backup GPT, UEFI 2.10 §5.3).
const TAIL_WIPE: u64 = 1 << 20;

/// What will be written where; produced by [`plan`] after every check.
#[derive(Debug, Clone, Serialize)]
pub struct WritePlan {
    /// The image.
    pub image: PathBuf,
    /// Image size in bytes.
    pub image_bytes: u64,
    /// The target path.
    pub target: PathBuf,
    /// The disk, when the target is a block device (`None`: a regular file).
    pub disk: Option<Disk>,
    /// Read back and compare after writing.
    pub verify: bool,
    /// Write only the image's first MiB and its data extents (a sparse, stick-sized image from
    /// `media build --device`); holes keep the device's old bytes, which the FAT32 volume never
    /// reads (free clusters). `sha256` and the read-back then cover those ranges only.
    pub data_only: bool,
}

/// What [`execute`] did.
#[derive(Debug, Clone, Serialize)]
pub struct WriteReport {
    /// The image.
    pub image: String,
    /// The target.
    pub target: String,
    /// `device` or `file`.
    pub kind: &'static str,
    /// Bytes of the image written.
    pub bytes: u64,
    /// SHA-256 of what was written (`null` with `--no-verify`: nothing is hashed then).
    pub sha256: Option<String>,
    /// Whether the read-back check ran (and matched).
    pub verified: bool,
    /// Whether the read-back bypassed the page cache (`O_DIRECT` on a device).
    pub verified_from_device: bool,
    /// Seconds writing (including fsync), without the verification.
    pub write_seconds: f64,
    /// Write throughput, MiB/s.
    pub mib_per_second: f64,
    /// Partition-table re-read: `done`, `not supported` or `busy` (devices only).
    pub partition_reread: Option<&'static str>,
}

/// Linux `dev_t` → (major, minor) (glibc's `gnu_dev_major/minor` encoding).
fn split_dev(d: u64) -> (u32, u32) {
    let major = ((d >> 8) & 0xFFF) | ((d >> 32) & !0xFFF);
    let minor = (d & 0xFF) | ((d >> 12) & !0xFF);
    (
        u32::try_from(major).unwrap_or(u32::MAX),
        u32::try_from(minor).unwrap_or(u32::MAX),
    )
}

/// Checks image and target and decides what to do; writes nothing.
pub fn plan(
    roots: &Roots,
    image: &Path,
    target: &Path,
    allow_non_removable: bool,
    verify: bool,
) -> Result<WritePlan, Error> {
    let im = std::fs::metadata(image).map_err(io(image, "cannot read the image"))?;
    if !im.is_file() || im.len() == 0 {
        return Err(Error::Image {
            path: image.to_path_buf(),
            what: "not a (non-empty) image file".into(),
        });
    }
    Ok(WritePlan {
        image: image.to_path_buf(),
        image_bytes: im.len(),
        target: target.to_path_buf(),
        disk: target_disk(roots, target, im.len(), allow_non_removable, Some(image))?,
        verify,
        data_only: false,
    })
}

/// The disk `target` names after every safety rule for an image of `need` bytes, or `None` for
/// a regular (or new) file. Writes nothing.
pub fn target_disk(
    roots: &Roots,
    target: &Path,
    need: u64,
    allow_non_removable: bool,
    image: Option<&Path>,
) -> Result<Option<Disk>, Error> {
    let meta = match std::fs::metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A new regular file is fine, a missing device node is not.
            let in_dev = target.starts_with(&roots.dev) || target.starts_with("/dev");
            let parent_ok = target
                .parent()
                .is_some_and(|p| p.as_os_str().is_empty() || p.is_dir());
            if in_dev || !parent_ok {
                return Err(Error::NoSuchDevice {
                    path: target.to_path_buf(),
                });
            }
            return Ok(None);
        }
        Err(e) => return Err(io(target, "cannot examine the target")(e)),
    };
    let ft = meta.file_type();
    if ft.is_file() {
        if let Some(image) = image
            && std::fs::canonicalize(target).ok() == std::fs::canonicalize(image).ok()
        {
            return Err(Error::Image {
                path: image.to_path_buf(),
                what: "the image and the target are the same file".into(),
            });
        }
        return Ok(None);
    }
    if !ft.is_block_device() {
        let kind = if ft.is_char_device() {
            "a character device"
        } else if ft.is_dir() {
            "a directory"
        } else {
            "not a disk"
        };
        return Err(Error::NotBlockDevice {
            path: target.to_path_buf(),
            kind,
        });
    }
    let devnum = split_dev(meta.rdev());
    match sysfs::find(roots, devnum) {
        None => Err(Error::Unknown {
            path: target.to_path_buf(),
            devnum: format!("{}:{}", devnum.0, devnum.1),
        }),
        Some(Node::Partition { disk, .. }) => Err(Error::Partition {
            path: target.to_path_buf(),
            disk,
        }),
        Some(Node::Disk(disk)) => {
            rules::check(&disk, need, allow_non_removable)?;
            Ok(Some(*disk))
        }
    }
}

/// A `len`-byte buffer aligned for `O_DIRECT`, carved out of a slightly larger `Vec`.
struct Aligned {
    raw: Vec<u8>,
    at: usize,
}

impl Aligned {
    fn new(len: usize) -> Aligned {
        let raw = vec![0u8; len + ALIGN];
        let at = raw.as_ptr().align_offset(ALIGN).min(ALIGN);
        Aligned { raw, at }
    }
    fn get(&mut self, len: usize) -> &mut [u8] {
        let at = self.at;
        self.raw.get_mut(at..at + len).unwrap_or_default()
    }
}

fn fill(src: &File, buf: &mut [u8], at: u64, image: &Path) -> Result<(), Error> {
    src.read_exact_at(buf, at)
        .map_err(io(image, "cannot read the image (changed while writing?)"))
}

fn write_error(target: &Path, written: u64, e: std::io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::ENODEV | libc::ENXIO | libc::ENOENT | libc::ENOMEDIUM) => Error::Vanished {
            device: target.to_path_buf(),
            written,
        },
        _ => Error::Io {
            path: target.to_path_buf(),
            op: "write failed; the stick is incomplete",
            source: e,
        },
    }
}

/// SHA-256 of the first `len` bytes of `f`; `direct` when `f` is open with `O_DIRECT` (then
/// only whole aligned chunks are read through it and `tail` reads the rest).
fn digest(
    f: &File,
    tail: &File,
    ranges: &[(u64, u64)],
    direct: bool,
    path: &Path,
) -> Result<String, Error> {
    let mut h = sha2::Sha256::new();
    let mut buf = Aligned::new(CHUNK);
    for &(start, rlen) in ranges {
        let len = start + rlen;
        let mut off = start;
        while off < len {
            let n = usize::try_from((len - off).min(CHUNK as u64)).unwrap_or(CHUNK);
            let aligned = n % ALIGN == 0;
            let b = buf.get(n);
            let src = if direct && !aligned { tail } else { f };
            src.read_exact_at(b, off)
                .map_err(io(path, "read-back failed"))?;
            h.update(&*b);
            off += n as u64;
        }
    }
    Ok(hex::encode(h.finalize()))
}

/// Writes the image as planned. `cancel` is polled between chunks (Ctrl-C); a cancelled or
/// failed write says the stick is incomplete.
pub fn execute(
    plan: &WritePlan,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<WriteReport, Error> {
    let src = File::open(&plan.image).map_err(io(&plan.image, "cannot read the image"))?;
    let total = plan.image_bytes;
    let target = &plan.target;
    let device = plan.disk.is_some();
    let t = if device {
        open_device(target, total)?
    } else {
        open_file(target)?
    };
    let ranges = write_ranges(plan, &src)?;
    let started = Instant::now();
    progress.start("writing", Some(ranges.iter().map(|r| r.1).sum()));
    let hasher = pump(plan, &src, &ranges, &t, progress, cancel)?;
    progress.finish();
    t.finish(target, total, device)?;
    let write_seconds = started.elapsed().as_secs_f64();
    let sha256 = hex::encode(hasher.finalize());
    let verified_from_device = if plan.verify {
        read_back(&t, target, &ranges, device, &sha256)?
    } else {
        false
    };
    let partition_reread = device.then(|| match super::ioctl::reread_partitions(&t.out) {
        Ok(()) => "done",
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => "busy",
        Err(_) => "not supported",
    });
    t.close(target)?;
    Ok(WriteReport {
        image: plan.image.display().to_string(),
        target: target.display().to_string(),
        kind: if device { "device" } else { "file" },
        bytes: total,
        sha256: plan.verify.then_some(sha256),
        verified: plan.verify,
        verified_from_device,
        write_seconds,
        mib_per_second: if write_seconds > 0.0 {
            total as f64 / write_seconds / 1_048_576.0
        } else {
            0.0
        },
        partition_reread,
    })
}

/// The open target: `out` takes the aligned chunks (`O_DIRECT` on a device), `plain` the
/// unaligned tail and the last-MiB wipe; a file target is a temporary file until renamed.
struct Opened {
    out: File,
    plain: File,
    tmp: Option<crate::fsutil::TempNextTo>,
}

impl Opened {
    /// Zeroes a device's last MiB (when the image leaves room) and syncs everything.
    fn finish(&self, target: &Path, total: u64, device: bool) -> Result<(), Error> {
        let off = total;
        if device {
            let size = super::ioctl::size(&self.out).map_err(io(target, "BLKGETSIZE64"))?;
            if size >= total + TAIL_WIPE {
                self.plain
                    .write_all_at(&vec![0u8; TAIL_WIPE as usize], size - TAIL_WIPE)
                    .map_err(|e| write_error(target, off, e))?;
            }
            self.plain
                .sync_all()
                .map_err(|e| write_error(target, off, e))?;
        }
        self.out.sync_all().map_err(|e| write_error(target, off, e))
    }

    /// Closes the target; a file target is made readable and renamed into place.
    fn close(self, target: &Path) -> Result<(), Error> {
        drop(self.out);
        drop(self.plain);
        if let Some(tmp) = self.tmp {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))
                .map_err(io(target, "cannot set permissions"))?;
            tmp.persist(target).map_err(|e| Error::Io {
                path: target.to_path_buf(),
                op: "cannot rename into place",
                source: e.error,
            })?;
        }
        Ok(())
    }
}

/// Opens device `target` exclusively and re-checks on the open device that it is writable
/// and holds `total` bytes.
fn open_device(target: &Path, total: u64) -> Result<Opened, Error> {
    let out = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_EXCL | libc::O_DIRECT | libc::O_CLOEXEC)
        .open(target)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EBUSY) => Error::Busy {
                device: target.to_path_buf(),
            },
            Some(libc::ENOENT | libc::ENXIO | libc::ENODEV) => Error::Vanished {
                device: target.to_path_buf(),
                written: 0,
            },
            _ => io(target, "cannot open the device")(e),
        })?;
    // Re-check on the open device: sysfs may be stale, and the write-protect switch is
    // only visible here.
    if super::ioctl::read_only(&out).map_err(io(target, "BLKROGET"))? {
        return Err(rules::Refusal::ReadOnly {
            device: target.display().to_string(),
        }
        .into());
    }
    let size = super::ioctl::size(&out).map_err(io(target, "BLKGETSIZE64"))?;
    if size < total {
        return Err(rules::Refusal::TooSmall {
            device: target.display().to_string(),
            size,
            need: total,
        }
        .into());
    }
    // For the unaligned tail and the last-MiB wipe (we already hold the exclusive claim).
    let plain = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(target)
        .map_err(io(target, "cannot open the device"))?;
    Ok(Opened {
        out,
        plain,
        tmp: None,
    })
}

/// Creates the temporary file next to file `target` that is renamed over it at the end.
fn open_file(target: &Path) -> Result<Opened, Error> {
    let t = crate::fsutil::temp_next_to(target)
        .map_err(io(target, "cannot create a file next to the target"))?;
    let f = t
        .as_file()
        .try_clone()
        .map_err(io(target, "cannot write"))?;
    let g = t
        .as_file()
        .try_clone()
        .map_err(io(target, "cannot write"))?;
    Ok(Opened {
        out: f,
        plain: g,
        tmp: Some(t),
    })
}

/// The (start, length) ranges to write: the whole image, or with `data_only` its first MiB
/// and its data extents, merged.
fn write_ranges(plan: &WritePlan, src: &File) -> Result<Vec<(u64, u64)>, Error> {
    let total = plan.image_bytes;
    if !plan.data_only {
        return Ok(vec![(0, total)]);
    }
    let mut r = vec![(0, total.min(TAIL_WIPE))];
    for (s, l) in super::ioctl::data_extents(src, total)
        .map_err(io(&plan.image, "cannot read the image's extents"))?
    {
        let (s, e) = (s.max(TAIL_WIPE), s + l);
        if s >= e {
            continue;
        }
        match r.last_mut() {
            Some(last) if last.0 + last.1 >= s => last.1 = last.1.max(e - last.0),
            _ => r.push((s, e - s)),
        }
    }
    Ok(r)
}

/// Copies `ranges` of `src` to the target and returns the SHA-256 of what was read (when
/// verifying). Two threads: one reads and hashes chunk k+1 while this one writes chunk k, so
/// neither SHA-256 nor the image read costs write throughput. Three buffers circulate (12 MiB).
fn pump(
    plan: &WritePlan,
    src: &File,
    ranges: &[(u64, u64)],
    t: &Opened,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<sha2::Sha256, Error> {
    let image = plan.image.as_path();
    let verify = plan.verify;
    let (full_tx, full_rx) =
        std::sync::mpsc::sync_channel::<Result<(u64, Aligned, usize), Error>>(2);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Aligned>();
    for _ in 0..3 {
        let _ = empty_tx.send(Aligned::new(CHUNK));
    }
    let (result, hasher) = std::thread::scope(|s| {
        let reader = s.spawn(move || {
            let mut hasher = sha2::Sha256::new();
            for &(start, rlen) in ranges {
                let end = start + rlen;
                let mut off = start;
                while off < end {
                    let Ok(mut buf) = empty_rx.recv() else {
                        return hasher;
                    };
                    let n = usize::try_from((end - off).min(CHUNK as u64)).unwrap_or(CHUNK);
                    if let Err(e) = fill(src, buf.get(n), off, image) {
                        let _ = full_tx.send(Err(e));
                        return hasher;
                    }
                    if verify {
                        hasher.update(&*buf.get(n));
                    }
                    if full_tx.send(Ok((off, buf, n))).is_err() {
                        return hasher;
                    }
                    off += n as u64;
                }
            }
            hasher
        });
        let result = write_chunks(plan, t, &full_rx, &empty_tx, progress, cancel);
        // Unblock the reader whichever way the loop ended.
        drop(empty_tx);
        drop(full_rx);
        (result, reader.join())
    });
    if let Err(e) = result {
        let _ = t.out.sync_all();
        progress.finish();
        return Err(e);
    }
    hasher.map_err(|_| Error::Io {
        path: plan.target.clone(),
        op: "hashing failed",
        source: std::io::Error::other("reader thread panicked"),
    })
}

/// Writes the chunks the reader sends until it is done, a read or write fails, or `cancel`
/// is set; each buffer goes back to the reader.
fn write_chunks(
    plan: &WritePlan,
    t: &Opened,
    full_rx: &std::sync::mpsc::Receiver<Result<(u64, Aligned, usize), Error>>,
    empty_tx: &std::sync::mpsc::Sender<Aligned>,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<(), Error> {
    let target = &plan.target;
    let device = plan.disk.is_some();
    let mut done = 0u64;
    for msg in full_rx.iter() {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Interrupted {
                device: target.clone(),
                written: done,
                total: plan.image_bytes,
            });
        }
        let (off, mut buf, n) = msg?;
        let dst = if device && n % ALIGN != 0 {
            &t.plain
        } else {
            &t.out
        };
        dst.write_all_at(buf.get(n), off)
            .map_err(|e| write_error(target, off, e))?;
        done += n as u64;
        progress.advance(n as u64);
        let _ = empty_tx.send(buf);
    }
    Ok(())
}

/// Reads what was written back (from the device itself, past its caches, for a device) and
/// compares its SHA-256 with `sha256`; says whether it was read from the device.
fn read_back(
    t: &Opened,
    target: &Path,
    ranges: &[(u64, u64)],
    device: bool,
    sha256: &str,
) -> Result<bool, Error> {
    let read = if device {
        super::ioctl::flush_buffers(&t.out).map_err(io(target, "BLKFLSBUF"))?;
        let direct = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECT | libc::O_CLOEXEC)
            .open(target)
            .map_err(io(target, "cannot open the device for the read-back"))?;
        digest(&direct, &t.plain, ranges, true, target)?
    } else {
        digest(&t.out, &t.out, ranges, false, target)?
    };
    if read != sha256 {
        return Err(Error::Verify {
            device: target.to_path_buf(),
            read,
            wrote: sha256.into(),
        });
    }
    Ok(device)
}
