//! Bootable media: layout, ISO, USB image, site media files (`shared/specs/boot-media.md`).
//!
//! Containers (one tree, three ways to store it): [`iso::write`] (ISO 9660 + Joliet + El
//! Torito), [`usb::write`] (raw disk image, MBR + FAT32) and [`write_dir`] (a folder); readers
//! for existing media: [`iso::IsoReader`] and [`usb::UsbReader`], or [`Medium`] for any of
//! the three kinds.
//!
//! Site media commands are plans ([`BuildPlan`], [`RetargetPlan`], [`InspectPlan`], in
//! [`plan`]) executed by [`build`], [`retarget`] and [`inspect`] ([`pipeline`] lists the
//! stages). Building a medium without the CLI:
//!
//! ```
//! use std::rc::Rc;
//! use peforge::media::{self, BuildPlan, Format, OutputPlan, Secret};
//! use peforge::progress::{Progress, Silent};
//!
//! let dir = tempfile::tempdir()?;
//! let wim = dir.path().join("boot.wim");
//! let sample = peforge::sample::SampleOptions { configmgr: true, filler_bytes: 4096, ..Default::default() };
//! peforge::sample::build_boot_wim(&wim, &sample)?;
//! let plan = BuildPlan {
//!     boot_wim: wim,
//!     index: 1,
//!     mp: "https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500".into(),
//!     site_code: "PS1".into(),
//!     boot_image: Default::default(),
//!     media_cert: None, // a new self-signed media certificate
//!     media_cert_days: 365,
//!     password: Some(Secret::new("Correct-Horse-42!")),
//!     allow_weak_password: false,
//!     variables: vec![],
//!     unknown_computers: None,
//!     label: None,
//!     layout: Default::default(),
//!     cipher: media::vars::Cipher::Aes128,
//!     ports: (80, 443),
//!     source_date_epoch: Some(1_700_000_000),
//!     output: OutputPlan { format: Format::Dir, path: dir.path().join("medium"), manifest: None },
//! };
//! let progress: Rc<dyn Progress> = Rc::new(Silent);
//! let done = media::build(&plan, &progress)?;
//! assert!(done.output.join("SMS/data/Variables.dat").is_file());
//! assert!(done.manifest_path.is_file() && done.registration_path.is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod container;
mod dir;
pub mod fat;
pub mod ini;
pub mod iso;
pub mod layout;
pub mod mediacert;
mod medium;
pub mod pfx;
pub mod pipeline;
pub mod plan;
pub mod site;
pub mod tree;
pub mod usb;
pub mod vars;
pub mod work;

pub use container::ContainerError;
pub use dir::{DirSummary, write_dir};
pub use medium::{Medium, MediumFile};
pub use pipeline::{Outcome, build, inspect, retarget};
pub use plan::{
    BootImageChanges, BuildPlan, Format, InspectPlan, MediaCert, OutputPlan, RetargetPlan,
};
pub use site::Secret;
pub use tree::{BootImages, FileSource, MediaTree};
