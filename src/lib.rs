//! peforge: offline WinPE boot-image servicing, trusted-root injection, CMG boot media, task
//! sequences as code and co-management helpers for Microsoft Configuration Manager, on Linux.
//!
//! The library holds every format and operation; the `peforge` binary (`src/main.rs`) is a thin
//! shell over [`cli::run`]. Format modules never print and never import [`cli`].
//!
//! - [`wim`]: boot image access over wimlib.
//! - [`registry`]: offline hives (hivex) and regedit `.reg` files.
//! - [`cert`]: certificates and certificate store blobs.
//! - [`media`]: bootable media (ISO, USB image, folder) and ConfigMgr site media files.
//! - [`ts`]: task sequences.
//! - [`client`]: ConfigMgr client install command lines.
//! - [`diag`]: offline diagnosis (Autopilot enrollment status page).
//! - [`ade`]: iOS/iPadOS Automated Device Enrollment profiles as code.
//! - [`driver`]: driver packages (INF) and boot image customization (drivers, overlay, start-up).
#![deny(missing_docs)]

pub mod ade;
pub mod cert;
pub mod cli;
pub mod client;
pub mod diag;
pub mod driver;
pub mod fsutil;
pub mod media;
pub mod progress;
pub mod registry;
pub mod sample;
pub mod text;
pub mod ts;
pub mod wim;
