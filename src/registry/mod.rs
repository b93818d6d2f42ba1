//! Offline registry: hive files ([`hive`], over libhivex) and regedit `.reg` files.
//!
//! Spec: `shared/specs/cert-store-blob.md` §7 (.reg) and §8 (writing hives).

pub mod hive;

pub use hive::{Hive, Node, RawValue};
