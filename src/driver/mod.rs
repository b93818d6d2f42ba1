//! Driver packages for WinPE: reading INF files, judging packages, and staging them into a boot
//! image so WinPE loads them with `drvload` at start-up.
//!
//! Follows `shared/specs/winpe-customize.md`: INF reading (§8.1, [`inf`]), package verdicts
//! (§8.2–8.3, [`package`]), the start-up step in `winpeshl.ini` / `startnet.cmd` (§6,
//! [`startup`]) and the offline customization of an image (§5, §7, [`customize`]).
//!
//! Drivers are not written into the image's driver store: its offline format (FileRepository
//! naming, DriverDatabase values) is not publicly documented. peforge copies whole packages into
//! the image and WinPE loads them at run time with `drvload`, the documented mechanism.
//!
//! ```
//! use peforge::driver::inf::Inf;
//! let inf = Inf::parse(b"[Version]\nSignature=\"$Windows NT$\"\nProvider=%P%\n[Strings]\nP=\"Contoso\"\n")
//!     .unwrap();
//! let provider = inf.section("version").unwrap().get("provider").unwrap()[0].clone();
//! assert_eq!(inf.strings(None).subst(&provider), "Contoso");
//! ```

pub mod customize;
pub mod inf;
pub mod package;
pub mod startup;

use std::path::PathBuf;

pub use package::{Finding, Package, Severity};

/// Errors of driver package reading and image customization. Each names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder cannot be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The INF cannot be parsed.
    #[error("{path}: malformed INF: {source}")]
    Malformed {
        /// The INF.
        path: PathBuf,
        /// What is wrong.
        source: inf::ParseError,
    },
    /// The INF has no `[Version]` section.
    #[error("{path}: not a driver INF: no [Version] section")]
    NoVersion {
        /// The INF.
        path: PathBuf,
    },
    /// A folder holds no INF file.
    #[error("{path}: no .inf file in this folder (searched recursively)")]
    NoInf {
        /// The folder.
        path: PathBuf,
    },
    /// A package cannot be staged into the image.
    #[error("{path}: refused for image {index} ({arch}): {reason}")]
    Refused {
        /// The INF.
        path: PathBuf,
        /// The image index.
        index: u32,
        /// The image architecture (INF name).
        arch: String,
        /// Why.
        reason: String,
    },
    /// A start-up file of the image (`winpeshl.ini`, `startnet.cmd`) is not understood.
    #[error("{wim}: image {index}: {file}: {reason}")]
    StartupFile {
        /// The WIM.
        wim: PathBuf,
        /// The image index.
        index: u32,
        /// The file inside the image.
        file: String,
        /// What is not understood.
        reason: String,
    },
    /// Bad user input (start script, overlay, profile) that is not a package.
    #[error("{path}: {reason}")]
    Input {
        /// The file or folder the user gave.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// What to do.
        hint: String,
    },
    /// The image's architecture is not recorded or not one WinPE uses.
    #[error("{wim}: image {index}: architecture {arch} is not one peforge can stage drivers for")]
    Arch {
        /// The WIM.
        wim: PathBuf,
        /// The image index.
        index: u32,
        /// What the WIM XML says.
        arch: String,
    },
    /// What was written does not read back as intended.
    #[error("{wim}: verification failed: {what}")]
    Verify {
        /// The WIM written.
        wim: PathBuf,
        /// What differs.
        what: String,
    },
    /// A WIM error.
    #[error(transparent)]
    Wim(#[from] crate::wim::Error),
}

impl Error {
    /// A one-line suggestion of what the user can do.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Malformed { .. } | Error::NoVersion { .. } => Some(
                "give the driver package folder as extracted from the vendor's download (the INF \
                 must be a Windows driver INF)"
                    .into(),
            ),
            Error::NoInf { .. } => Some(
                "give the folder of an extracted driver package (with its .inf, .cat and .sys)"
                    .into(),
            ),
            Error::Refused { .. } => Some(
                "use the package built for the image's architecture (see `peforge driver inspect`)"
                    .into(),
            ),
            Error::StartupFile { .. } => Some(
                "fix the file in the image (`peforge wim extract` / `wim put`) or remove it; \
                 peforge only edits files it fully understands"
                    .into(),
            ),
            Error::Input { hint, .. } => Some(hint.clone()),
            Error::Arch { .. } => Some("pick the WinPE image with --index".into()),
            Error::Wim(e) => e.hint(),
            _ => None,
        }
    }
}

/// The result of inspecting some paths: every package, and findings across packages.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Inspection {
    /// The packages, in path order.
    pub packages: Vec<Package>,
    /// Findings across packages (the same hardware ID in two packages, KB 2686316).
    pub findings: Vec<Finding>,
}

/// Reads every package under `paths` (folders searched recursively, or INF files).
pub fn inspect(paths: &[PathBuf]) -> Result<Inspection, Error> {
    let mut packages = Vec::new();
    for p in paths {
        for inf in package::find_infs(p)? {
            packages.push(Package::read(&inf)?);
        }
    }
    let findings = duplicate_ids(&packages);
    Ok(Inspection { packages, findings })
}

/// A warning per hardware ID that two packages both claim.
pub fn duplicate_ids(packages: &[Package]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, a) in packages.iter().enumerate() {
        for b in packages.iter().skip(i + 1) {
            let shared: Vec<&String> = a
                .hardware_ids
                .iter()
                .filter(|id| b.hardware_ids.iter().any(|x| x.eq_ignore_ascii_case(id)))
                .collect();
            if let Some(first) = shared.first() {
                out.push(Finding {
                    code: "DRV014",
                    severity: Severity::Warning,
                    message: format!(
                        "{} and {} both claim {first}{}: the first loaded wins, keep one version \
                         (KB 2686316)",
                        a.inf.display(),
                        b.inf.display(),
                        if shared.len() > 1 {
                            format!(" and {} more ID(s)", shared.len() - 1)
                        } else {
                            String::new()
                        }
                    ),
                });
            }
        }
    }
    out
}
