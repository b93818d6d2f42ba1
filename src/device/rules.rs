//! The safety rules for writing an image to a disk (`shared/specs/usb-boot.md` §10.1): what
//! peforge refuses, and why, before anything is opened for writing.

use super::sysfs::Disk;

/// Why a disk may not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The disk holds `/`, `/boot`, `/usr` or active swap.
    #[error("{device} holds the running system (/, /boot, /usr or swap)")]
    System {
        /// Device node.
        device: String,
    },
    /// The disk or a partition is mounted or used as swap.
    #[error("{device} is in use: {what}; peforge will not unmount it")]
    Mounted {
        /// Device node.
        device: String,
        /// `sdb1 on /media/x, sdb2 as swap`.
        what: String,
    },
    /// Something is stacked on the disk (device mapper, md RAID, bcache).
    #[error("{device} is claimed by {holders} (device mapper, RAID or bcache)")]
    Held {
        /// Device node.
        device: String,
        /// Holder names.
        holders: String,
    },
    /// Write protected.
    #[error("{device} is read-only (write-protect switch or read-only device)")]
    ReadOnly {
        /// Device node.
        device: String,
    },
    /// Smaller than the image.
    #[error("{device} holds {size} bytes, the image needs {need}")]
    TooSmall {
        /// Device node.
        device: String,
        /// Device size.
        size: u64,
        /// Image size.
        need: u64,
    },
    /// Not 512-byte sectors: the image's LBAs would be wrong.
    #[error("{device} has {size}-byte logical sectors; the image needs 512-byte sectors")]
    SectorSize {
        /// Device node.
        device: String,
        /// Its logical block size.
        size: u64,
    },
    /// Neither USB nor removable (an internal disk, a loop or virtual device).
    #[error("{device} is neither a USB device nor removable (bus {bus})")]
    NotRemovable {
        /// Device node.
        device: String,
        /// Its bus.
        bus: String,
    },
}

impl Refusal {
    /// What the user can do.
    pub fn hint(&self) -> String {
        match self {
            Refusal::System { .. } => "pick the USB stick, not the disk the running system is on (see `peforge media devices`)".into(),
            Refusal::Mounted { .. } | Refusal::Held { .. } => {
                "unmount its partitions (umount, or eject it in the file manager) and try again".into()
            }
            Refusal::ReadOnly { .. } => "slide the stick's write-protect switch off, or use another stick".into(),
            Refusal::TooSmall { .. } => "use a larger stick".into(),
            Refusal::SectorSize { .. } => "use a stick with 512-byte sectors".into(),
            Refusal::NotRemovable { .. } => {
                "check the device name with `peforge media devices`; pass --allow-non-removable only if this really is the disk to erase".into()
            }
        }
    }
}

/// Virtual and internal devices that only `--allow-non-removable` lets through.
const VIRTUAL_PREFIXES: [&str; 8] = ["loop", "zram", "ram", "dm-", "md", "nbd", "sr", "nvme"];

/// Checks `disk` for an image of `image_bytes`.
pub fn check(disk: &Disk, image_bytes: u64, allow_non_removable: bool) -> Result<(), Refusal> {
    let device = disk.path.clone();
    if disk.system {
        return Err(Refusal::System { device });
    }
    if !disk.mounted.is_empty() || !disk.swap.is_empty() {
        let mut what: Vec<String> = disk
            .mounted
            .iter()
            .map(|m| format!("{} mounted on {}", m.device, m.mount_point))
            .collect();
        what.extend(disk.swap.iter().map(|s| format!("{s} used as swap")));
        return Err(Refusal::Mounted {
            device,
            what: what.join(", "),
        });
    }
    if !disk.holders.is_empty() {
        return Err(Refusal::Held {
            device,
            holders: disk.holders.join(", "),
        });
    }
    if disk.read_only {
        return Err(Refusal::ReadOnly { device });
    }
    if disk.logical_block_size != 512 {
        return Err(Refusal::SectorSize {
            device,
            size: disk.logical_block_size,
        });
    }
    if disk.size_bytes < image_bytes {
        return Err(Refusal::TooSmall {
            device,
            size: disk.size_bytes,
            need: image_bytes,
        });
    }
    let virtual_name = VIRTUAL_PREFIXES.iter().any(|p| disk.name.starts_with(p));
    let usb_or_removable = (disk.bus == "usb" || disk.removable) && !virtual_name;
    if !usb_or_removable && !allow_non_removable {
        return Err(Refusal::NotRemovable {
            device,
            bus: disk.bus.clone(),
        });
    }
    Ok(())
}
