//! Offline customization of a boot image (placeholder, filled in part 3).
