//! Machine certificate stores in an offline SOFTWARE hive: list, inject, remove, validate.
//!
//! Spec: `shared/specs/cert-store-blob.md` §1 (locations and stores), §2 (key name), §6 (the
//! 0x03 consistency rule) and §8.1 (hive writing rules, enforced by [`crate::registry::hive`]).
//! Paths here are hive-relative (`Microsoft\SystemCertificates\ROOT\Certificates\<SHA1>`).

use super::Error;
use super::blob::{Blob, prop};
use super::x509::CertInfo;
use crate::registry::hive::{Hive, Node, RawValue, types};

/// A certificate store peforge reads and writes (§1).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Store {
    /// `ROOT`: Trusted Root Certification Authorities.
    Root,
    /// `AuthRoot`: Third-Party Root Certification Authorities (the seed procedure's store).
    AuthRoot,
    /// `CA`: Intermediate Certification Authorities.
    Ca,
    /// `TrustedPublisher`: code-signing trust.
    TrustedPublisher,
}

impl Store {
    /// Every store, in listing order.
    pub const ALL: [Store; 4] = [
        Store::Root,
        Store::AuthRoot,
        Store::Ca,
        Store::TrustedPublisher,
    ];

    /// The key name Windows uses (created with this spelling when missing).
    pub fn key_name(self) -> &'static str {
        match self {
            Store::Root => "ROOT",
            Store::AuthRoot => "AuthRoot",
            Store::Ca => "CA",
            Store::TrustedPublisher => "TrustedPublisher",
        }
    }

    /// Matches a store key name case-insensitively (`Root` and `ROOT` both occur).
    pub fn from_key_name(name: &str) -> Option<Store> {
        Store::ALL
            .into_iter()
            .find(|s| s.key_name().eq_ignore_ascii_case(name))
    }

    /// Whether the store holds roots (self-signed CA certificates expected).
    pub fn is_root(self) -> bool {
        matches!(self, Store::Root | Store::AuthRoot)
    }
}

impl std::fmt::Display for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key_name())
    }
}

/// Where a store lives in the SOFTWARE hive (§1). peforge writes only [`Location::System`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Location {
    /// `Microsoft\SystemCertificates`: the machine's own physical stores.
    System,
    /// `Policies\Microsoft\SystemCertificates`: stores set by Group Policy (read-only here).
    GroupPolicy,
    /// `Microsoft\EnterpriseCertificates`: enterprise stores (read-only here).
    Enterprise,
}

impl Location {
    /// Every location, in listing order.
    pub const ALL: [Location; 3] = [
        Location::System,
        Location::GroupPolicy,
        Location::Enterprise,
    ];

    /// The hive-relative key holding the stores.
    pub fn base(self) -> &'static str {
        match self {
            Location::System => "Microsoft\\SystemCertificates",
            Location::GroupPolicy => "Policies\\Microsoft\\SystemCertificates",
            Location::Enterprise => "Microsoft\\EnterpriseCertificates",
        }
    }

    /// Short name for output.
    pub fn name(self) -> &'static str {
        match self {
            Location::System => "system",
            Location::GroupPolicy => "group-policy",
            Location::Enterprise => "enterprise",
        }
    }
}

/// The hive-relative key of one certificate.
pub fn cert_key(location: Location, store: Store, thumbprint: &str) -> String {
    format!(
        "{}\\{}\\Certificates\\{}",
        location.base(),
        store.key_name(),
        thumbprint
    )
}

/// Normalises a thumbprint typed by a user (spaces, colons, lower case, the invisible U+200E
/// the Windows certificate dialog copies) to 40 upper-case hex digits.
pub fn parse_thumbprint(s: &str) -> Result<String, Error> {
    let hex: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':' && *c != '\u{200e}')
        .collect::<String>()
        .to_ascii_uppercase();
    if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::BadThumbprint { value: s.into() });
    }
    Ok(hex)
}

/// The result of checking one stored entry (key name + Blob) against §3 and §6.
#[derive(Debug, Clone)]
pub struct Validation {
    /// The parsed blob, if it parses.
    pub blob: Option<Blob>,
    /// The certificate of record 0x20, if it parses.
    pub cert: Option<CertInfo>,
    /// Errors: Windows would skip or reject the entry.
    pub errors: Vec<String>,
    /// Warnings: loaded, but unusual.
    pub warnings: Vec<String>,
}

impl Validation {
    /// Whether there are no errors.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Checks an entry: the blob parses (§3), and key name, 0x03 and SHA-1(0x20) agree (§6; hex
/// compared case-insensitively, a lower-case key name is a warning).
pub fn validate(key_name: &str, blob: &[u8]) -> Validation {
    let mut v = Validation {
        blob: None,
        cert: None,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let parsed = match Blob::parse(blob) {
        Ok((b, w)) => {
            v.warnings.extend(w.iter().map(ToString::to_string));
            b
        }
        Err(e) => {
            v.errors.push(format!("Blob: {e}"));
            return v;
        }
    };
    let sha1 = {
        use sha1::Digest;
        hex::encode_upper(sha1::Sha1::digest(parsed.certificate()))
    };
    let key_upper = key_name.to_ascii_uppercase();
    if key_upper != sha1 {
        v.errors.push(format!(
            "key name {key_name} is not the SHA-1 of the certificate in the Blob ({sha1})"
        ));
    }
    if let Some(p03) = parsed.get(prop::SHA1_HASH) {
        let p03 = hex::encode_upper(p03);
        if p03 != key_upper {
            v.errors.push(format!(
                "property 0x03 ({p03}) differs from the key name {key_name}: Windows skips this entry"
            ));
        }
    }
    if key_name != key_upper {
        v.warnings.push(format!(
            "key name {key_name} is not upper case (Windows writes upper case)"
        ));
    }
    match CertInfo::from_der(parsed.certificate()) {
        Ok(c) => v.cert = Some(c),
        Err(e) => v.errors.push(format!("certificate in the Blob: {e}")),
    }
    v.blob = Some(parsed);
    v
}

/// One certificate found in a store.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Where the store is.
    pub location: Location,
    /// Which store.
    pub store: Store,
    /// The key name as stored (normally the upper-case thumbprint).
    pub key_name: String,
    /// The Blob bytes (empty when the key has no Blob value).
    pub blob: Vec<u8>,
    /// The result of [`validate`] (an error when the Blob value is missing).
    pub validation: Validation,
}

fn child_named(h: &Hive, node: Node, name: &str) -> Result<Option<Node>, Error> {
    Ok(h.child(node, name)?)
}

/// Lists the certificates of the given stores at the given locations. Missing keys are simply
/// empty stores.
pub fn list(h: &Hive, locations: &[Location], stores: &[Store]) -> Result<Vec<Entry>, Error> {
    let mut out = Vec::new();
    for &location in locations {
        let Some(base) = h.lookup(location.base())? else {
            continue;
        };
        for &store in stores {
            let Some(s) = child_named(h, base, store.key_name())? else {
                continue;
            };
            let Some(certs) = child_named(h, s, "Certificates")? else {
                continue;
            };
            for node in h.children(certs)? {
                let key_name = h.name(node);
                let blob = h.value(node, "Blob")?;
                let (blob, validation) = match blob {
                    Some(v) if v.ty == types::BINARY => {
                        let val = validate(&key_name, &v.data);
                        (v.data, val)
                    }
                    Some(v) => {
                        let mut val = validate(&key_name, &v.data);
                        val.warnings.push(format!(
                            "Blob has registry type {} instead of REG_BINARY",
                            v.ty
                        ));
                        (v.data, val)
                    }
                    None => (
                        Vec::new(),
                        Validation {
                            blob: None,
                            cert: None,
                            errors: vec!["no Blob value".into()],
                            warnings: Vec::new(),
                        },
                    ),
                };
                out.push(Entry {
                    location,
                    store,
                    key_name,
                    blob,
                    validation,
                });
            }
        }
    }
    Ok(out)
}

/// What [`inject`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The key was created.
    Added,
    /// A key with this name existed with an invalid or different-certificate Blob; replaced.
    Replaced,
    /// A valid entry for the same certificate is already there; nothing changed.
    AlreadyPresent,
}

/// Writes `blob` as `Microsoft\SystemCertificates\<store>\Certificates\<thumbprint>\Blob`,
/// creating missing ancestors parent first (§1). An existing valid entry for the same
/// certificate is left alone (idempotent), whatever its property set.
pub fn inject(h: &mut Hive, store: Store, thumbprint: &str, blob: &[u8]) -> Result<Outcome, Error> {
    let key = cert_key(Location::System, store, thumbprint);
    let mut existing = None;
    if let Some(node) = h.lookup(&key)? {
        if h.name(node) != thumbprint {
            // A lower-case (or mixed-case) key name: Windows writes upper case, and whether it
            // compares case-insensitively is unconfirmed (§2). Replace the key.
            h.delete_key(node)?;
            existing = Some(None);
        } else {
            existing = Some(h.value(node, "Blob")?);
        }
    }
    let outcome = match existing {
        None => Outcome::Added,
        Some(Some(v)) if v.ty == types::BINARY && v.data == blob => {
            return Ok(Outcome::AlreadyPresent);
        }
        Some(Some(v)) if v.ty == types::BINARY => {
            let val = validate(thumbprint, &v.data);
            if val.is_valid() {
                return Ok(Outcome::AlreadyPresent);
            }
            Outcome::Replaced
        }
        Some(_) => Outcome::Replaced,
    };
    let node = h.ensure_key(&key)?;
    h.set_value(
        node,
        &RawValue {
            name: "Blob".into(),
            ty: types::BINARY,
            data: blob.to_vec(),
        },
    )?;
    Ok(outcome)
}

/// The Blob stored for `thumbprint` in `store` (system location), if any.
pub fn read_blob(h: &Hive, store: Store, thumbprint: &str) -> Result<Option<Vec<u8>>, Error> {
    let key = cert_key(Location::System, store, thumbprint);
    match h.lookup(&key)? {
        Some(node) => Ok(h.value(node, "Blob")?.map(|v| v.data)),
        None => Ok(None),
    }
}

/// Deletes the certificate key from `store` (system location); returns whether it existed.
pub fn remove(h: &mut Hive, store: Store, thumbprint: &str) -> Result<bool, Error> {
    let key = cert_key(Location::System, store, thumbprint);
    match h.lookup(&key)? {
        Some(node) => {
            h.delete_key(node)?;
            Ok(true)
        }
        None => Ok(false),
    }
}
