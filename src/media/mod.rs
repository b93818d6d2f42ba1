//! Bootable media: layout, ISO, USB image, site media files (`shared/specs/boot-media.md`).

pub mod ini;
pub mod layout;
pub mod pfx;
pub mod site;
pub mod tree;
pub mod vars;

pub use tree::{BootImages, FileSource, MediaTree};
