//! Offline registry: hive files ([`hive`], over libhivex) and regedit `.reg` files ([`reg`]).
//!
//! Spec: `shared/specs/cert-store-blob.md` §7 (.reg) and §8 (writing hives).

pub mod hive;
pub mod kind;
pub mod log;
pub mod marvin;
pub mod reg;

pub use hive::{Hive, Node, RawValue};
pub use reg::{RegFile, RegKey, RegValueOp};
