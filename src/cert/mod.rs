//! Certificates and machine certificate stores (`shared/specs/cert-store-blob.md`).
//!
//! - [`load`]: certificates from DER, PEM, PEM bundles and regedit `.reg` exports (§7.2);
//! - [`blob`]: the `Blob` value codec and profiles (§3, §5);
//! - [`x509`]: certificate facts and the derivable properties (§4);
//! - [`store`]: stores in an offline SOFTWARE hive: list, inject, remove, validate (§1, §2, §6);
//! - [`check`] and [`reg_export`]: the warnings of a certificate for a store, and the `.reg`
//!   file of the seed procedure's step 1 (§7.1, §7.3).

pub mod blob;
pub mod inject;
pub mod load;
pub mod store;
pub mod x509;

use std::path::PathBuf;

pub use blob::{Blob, BlobError, Profile};
pub use load::{Loaded, RegRoots};
pub use store::{Location, Store};
pub use x509::CertInfo;

use crate::registry::hive;
use crate::registry::reg::{self, RegFile, RegKey};

/// Errors of certificate loading and store operations. Each names the file (and line for a
/// `.reg`) or the hive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a certificate peforge can read.
    #[error("{path}: not a certificate: {cause}")]
    NotACertificate {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: String,
    },
    /// The `.reg` file cannot be parsed.
    #[error(transparent)]
    Reg(#[from] reg::Error),
    /// The `.reg` file has no certificate store key with a Blob.
    #[error(
        "{path}: not a certificate store export (no ...\\SystemCertificates\\<STORE>\\Certificates\\<THUMBPRINT> key with a Blob)"
    )]
    RegNoCertificate {
        /// The `.reg` file.
        path: PathBuf,
    },
    /// A `.reg` key is under a user root (HKEY_CURRENT_USER, HKEY_USERS, ...).
    #[error("{path}:{line}: [{key}] is not a machine certificate store")]
    RegUserKey {
        /// The `.reg` file.
        path: PathBuf,
        /// Line of the key.
        line: usize,
        /// The key path.
        key: String,
    },
    /// A `.reg` certificate key cannot be used.
    #[error("{path}:{line}: [{key}]: {cause}")]
    RegEntry {
        /// The `.reg` file.
        path: PathBuf,
        /// Line of the key.
        line: usize,
        /// The key path.
        key: String,
        /// Why.
        cause: String,
    },
    /// A `.reg` Blob does not match its key name (§6).
    #[error("{path}:{line}: [{key}]: {cause}")]
    RegMismatch {
        /// The `.reg` file.
        path: PathBuf,
        /// Line of the key.
        line: usize,
        /// The key path.
        key: String,
        /// Which values disagree.
        cause: String,
    },
    /// A thumbprint given by the user is not 40 hex digits.
    #[error("{value:?} is not a certificate thumbprint (40 hex digits)")]
    BadThumbprint {
        /// What the user gave.
        value: String,
    },
    /// A blob cannot be built or read.
    #[error("{what}: {source}")]
    Blob {
        /// Which certificate.
        what: String,
        /// Why.
        source: BlobError,
    },
    /// A hive error.
    #[error(transparent)]
    Hive(#[from] hive::Error),
    /// Opening, writing or re-reading a hive of an image failed.
    #[error(transparent)]
    Offline(#[from] crate::wim::offline::Error),
    /// `--store auto` cannot place a certificate that is neither self-signed nor a CA.
    #[error(
        "{origin}: {name} is neither self-signed nor a CA certificate; --store auto does not place it"
    )]
    AutoStore {
        /// Where the certificate came from.
        origin: String,
        /// Its short name.
        name: String,
    },
    /// `--strict` and a certificate has warnings.
    #[error("{first} ({count} warning(s), --strict)")]
    Strict {
        /// The first warning, with its certificate.
        first: String,
        /// How many warnings there are.
        count: usize,
    },
    /// After writing, a store does not hold an injected certificate.
    #[error(
        "{at}: verification failed: {store}\\Certificates\\{thumbprint} does not hold the certificate after writing"
    )]
    NotInjected {
        /// The hive written (file, or WIM and image).
        at: String,
        /// The store.
        store: Store,
        /// The key name.
        thumbprint: String,
    },
    /// The `.reg` made does not read back as the certificates it holds.
    #[error("{}: verification failed: the .reg does not read back", path.display())]
    RegReadBack {
        /// The `.reg` being made.
        path: PathBuf,
    },
    /// The `.reg` written does not hold what was written.
    #[error("{}: verification failed after writing", path.display())]
    RegWriteBack {
        /// The `.reg` written.
        path: PathBuf,
    },
    /// After writing, a store still holds a removed certificate.
    #[error("{at}: verification failed: {thumbprint} is still in {store} after writing")]
    NotRemoved {
        /// The hive written (file, or WIM and image).
        at: String,
        /// The store.
        store: Store,
        /// The thumbprint.
        thumbprint: String,
    },
}

impl Error {
    /// A one-line suggestion of what the user can do.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NotACertificate { .. } => Some(
                "give a certificate as DER (.cer/.crt), PEM (-----BEGIN CERTIFICATE-----) or a regedit .reg export"
                    .into(),
            ),
            Error::Reg(e) => e.hint(),
            Error::RegNoCertificate { .. } => Some(
                "export the key HKLM\\SOFTWARE\\Microsoft\\SystemCertificates\\<STORE>\\Certificates\\<THUMBPRINT> with regedit, or give the certificate file itself"
                    .into(),
            ),
            Error::RegUserKey { .. } => Some(
                "export the certificate from the Local Computer store (HKEY_LOCAL_MACHINE), or give the certificate file and --store".into(),
            ),
            Error::RegMismatch { .. } => Some(
                "the .reg was edited or damaged; export the key again, or give the certificate file itself".into(),
            ),
            Error::BadThumbprint { .. } => {
                Some("copy the SHA-1 thumbprint from `peforge cert list`".into())
            }
            Error::Hive(e) => e.hint(),
            Error::Offline(e) => e.hint(),
            Error::AutoStore { .. } => Some(
                "name the store (e.g. --store trustedpublisher for a code-signing certificate)"
                    .into(),
            ),
            Error::Strict { .. } => {
                Some("fix the certificate or drop --strict to inject it anyway".into())
            }
            _ => None,
        }
    }
}

/// A reason to hesitate before trusting a certificate in a store (issue 2: warnings, which
/// `--strict` turns into errors).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// basicConstraints does not say cA=TRUE.
    NotCa,
    /// Not self-signed, but going into ROOT/AuthRoot (an intermediate belongs in CA).
    NotSelfSigned {
        /// The target store.
        store: Store,
    },
    /// Past its notAfter.
    Expired {
        /// notAfter, Unix seconds.
        not_after: i64,
    },
    /// Before its notBefore.
    NotYetValid {
        /// notBefore, Unix seconds.
        not_before: i64,
    },
    /// Signed with SHA-1 (or MD5).
    WeakSignature {
        /// The algorithm name.
        algorithm: String,
    },
    /// Something found while reading a `.reg` entry (lower-case key name, blob oddities).
    Entry(String),
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::NotCa => f.write_str("not a CA certificate (no basicConstraints cA=TRUE)"),
            Warning::NotSelfSigned { store } => write!(
                f,
                "not self-signed, yet going to {store}; an intermediate belongs in CA (--store ca)"
            ),
            Warning::Expired { not_after } => {
                write!(f, "expired on {}", x509::format_time(*not_after))
            }
            Warning::NotYetValid { not_before } => {
                write!(f, "not valid before {}", x509::format_time(*not_before))
            }
            Warning::WeakSignature { algorithm } => {
                write!(
                    f,
                    "signed with {algorithm} (SHA-1 signatures are deprecated)"
                )
            }
            Warning::Entry(s) => f.write_str(s),
        }
    }
}

/// The warnings for putting `cert` into `store` at time `now` (Unix seconds).
pub fn check(cert: &CertInfo, store: Store, now: i64) -> Vec<Warning> {
    let mut w = Vec::new();
    if !cert.is_ca && store != Store::TrustedPublisher {
        w.push(Warning::NotCa);
    }
    if store.is_root() && !cert.self_signed {
        w.push(Warning::NotSelfSigned { store });
    }
    if now > cert.not_after {
        w.push(Warning::Expired {
            not_after: cert.not_after,
        });
    }
    if now < cert.not_before {
        w.push(Warning::NotYetValid {
            not_before: cert.not_before,
        });
    }
    if cert.weak_signature() {
        w.push(Warning::WeakSignature {
            algorithm: cert.signature_algorithm.clone(),
        });
    }
    w
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The `.reg` file of the seed procedure's step 1 for these entries: one
/// `[<root_key>\Microsoft\SystemCertificates\<STORE>\Certificates\<THUMBPRINT>]` key with its
/// `"Blob"=hex:` value per entry, byte-identical in layout to a regedit export (§7.1, §7.3).
/// `root_key` is e.g. `HKEY_LOCAL_MACHINE\SOFTWARE` or `HKEY_LOCAL_MACHINE\winpe-offline`.
pub fn reg_export(root_key: &str, entries: &[(Store, String, Vec<u8>)]) -> Vec<u8> {
    let root = root_key.trim_end_matches('\\');
    let keys = entries
        .iter()
        .map(|(store, thumb, blob)| {
            RegKey::set(
                format!(
                    "{root}\\{}",
                    store::cert_key(Location::System, *store, thumb)
                ),
                vec![hive::RawValue {
                    name: "Blob".into(),
                    ty: hive::types::BINARY,
                    data: blob.clone(),
                }],
            )
        })
        .collect();
    reg::write(&RegFile {
        version: reg::Version::V5,
        keys,
    })
}
