//! Offline registry: hive files ([`hive`], over libhivex), regedit `.reg` files ([`reg`]),
//! values as users type and read them ([`value`]), and `hive set` as a plan ([`edit`]).
//!
//! Spec: `shared/specs/cert-store-blob.md` §7 (.reg) and §8 (writing hives).

pub mod edit;
pub mod hive;
pub mod reg;
pub mod value;

pub use hive::{Hive, Node, RawValue};
pub use reg::{RegFile, RegKey, RegValueOp};
