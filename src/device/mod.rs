//! Writing images to removable devices (`peforge media devices`, `peforge media write`;
//! `shared/specs/usb-boot.md` §10): which disks exist ([`sysfs`]), which may be written
//! ([`rules`]), and the writer itself ([`write`]): exclusive open, fsync, partition-table
//! re-read and a read-back check past the page cache.

mod ioctl;
pub mod rules;
pub mod sysfs;
pub mod write;

use std::path::PathBuf;

pub use rules::Refusal;
pub use sysfs::{Disk, Roots};
pub use write::{WritePlan, WriteReport};

/// Errors of device listing and writing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such path.
    #[error("{path}: no such device")]
    NoSuchDevice {
        /// The path given.
        path: PathBuf,
    },
    /// A character device, directory, socket...
    #[error("{path}: not a block device ({kind})")]
    NotBlockDevice {
        /// The path given.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// A partition, not a whole disk.
    #[error("{path} is a partition of /dev/{disk}, not a whole disk")]
    Partition {
        /// The path given.
        path: PathBuf,
        /// The disk's kernel name.
        disk: String,
    },
    /// A block device sysfs does not describe.
    #[error("{path}: block device {devnum} is not in /sys/block")]
    Unknown {
        /// The path given.
        path: PathBuf,
        /// `major:minor`.
        devnum: String,
    },
    /// A safety rule refused the device; nothing was written.
    #[error("refusing to write: {0}")]
    Refused(#[from] Refusal),
    /// The image cannot be used.
    #[error("{path}: {what}")]
    Image {
        /// The image.
        path: PathBuf,
        /// Why.
        what: String,
    },
    /// Another opener holds the device (a mount, another writer).
    #[error("{device} is in use (mounted or claimed by another program); nothing was written")]
    Busy {
        /// Device node.
        device: PathBuf,
    },
    /// The device went away while peforge used it.
    #[error("{device} disappeared (unplugged?) after {written} bytes; the stick is incomplete")]
    Vanished {
        /// Device node.
        device: PathBuf,
        /// Bytes written before.
        written: u64,
    },
    /// An I/O error.
    #[error("{path}: {op}: {source}")]
    Io {
        /// File or device.
        path: PathBuf,
        /// What peforge was doing.
        op: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// Ctrl-C or SIGTERM.
    #[error(
        "interrupted after {written} of {total} bytes: {device} is incomplete and will not boot"
    )]
    Interrupted {
        /// Target.
        device: PathBuf,
        /// Bytes written.
        written: u64,
        /// Image size.
        total: u64,
    },
    /// Read-back differs from the image.
    #[error(
        "{device}: read-back check failed (SHA-256 {read} read, {wrote} written); the stick is not usable"
    )]
    Verify {
        /// Target.
        device: PathBuf,
        /// Digest read back.
        read: String,
        /// Digest of the image.
        wrote: String,
    },
}

impl Error {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::NoSuchDevice { .. } | Error::Unknown { .. } | Error::NotBlockDevice { .. } => {
                "list the candidate devices with `peforge media devices`".into()
            }
            Error::Partition { disk, .. } => format!("give the whole disk: --device /dev/{disk}"),
            Error::Refused(r) => r.hint(),
            Error::Image { .. } => "build the image with `peforge media build --format usb`".into(),
            Error::Busy { .. } => {
                "unmount the stick's partitions (or close the program using it) and try again"
                    .into()
            }
            Error::Vanished { .. } | Error::Interrupted { .. } => {
                "write the image again before using the stick".into()
            }
            Error::Io { .. } => return None,
            Error::Verify { .. } => "write it again; if it fails again, the stick is faulty".into(),
        })
    }
}

fn io(path: &std::path::Path, op: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { path, op, source }
}
