//! Offline registry: hive files ([`hive`], over libhivex), regedit `.reg` files ([`reg`]),
//! values as users type and read them ([`value`]), and `hive set` as a plan ([`edit`]).
//!
//! A dirty hive's transaction logs are replayed when it is opened ([`log`], hashes by
//! [`marvin`]); [`kind`] tells a SOFTWARE hive from the others.
//!
//! Spec: `shared/specs/cert-store-blob.md` §7 (.reg) and §8 (writing hives);
//! `shared/specs/hive-logs.md` (transaction logs).

pub mod edit;
pub mod hive;
pub mod kind;
pub mod log;
pub mod marvin;
pub mod reg;
pub mod value;

pub use hive::{Hive, Node, RawValue};
pub use reg::{RegFile, RegKey, RegValueOp};
