//! Bootable media: layout, ISO, USB image, site media files (`shared/specs/boot-media.md`).
//!
//! Containers (one tree, three ways to store it): [`iso::write`] (ISO 9660 + Joliet + El
//! Torito), [`usb::write`] (raw disk image, MBR + FAT32) and [`write_dir`] (a folder); readers
//! for existing media: [`iso::IsoReader`] and [`usb::UsbReader`], or [`Medium`] for any of
//! the three kinds.

pub mod boot;
mod container;
mod dir;
pub mod fat;
pub mod ini;
pub mod iso;
pub mod layout;
pub mod mediacert;
mod medium;
pub mod pfx;
pub mod site;
pub mod tree;
pub mod usb;
pub mod vars;

pub use container::ContainerError;
pub use dir::{DirSummary, write_dir};
pub use medium::{Medium, MediumFile};
pub use tree::{BootImages, FileSource, MediaTree};
