//! Loading certificates from the files users have: DER, PEM, PEM bundles, and regedit `.reg`
//! exports of a certificate store key (the seed procedure's step 1).
//!
//! Spec: `shared/specs/cert-store-blob.md` §7.2 (.reg import: any key prefix, the store named in
//! the key path is kept) and §6 (a `.reg` Blob must match its key name).

use std::path::{Path, PathBuf};

use x509_parser::pem::Pem;

use super::Error;
use super::store::{self, Location, Store};
use super::x509::CertInfo;
use crate::registry::reg::{self, RegFile, RootKey};

/// Where one loaded certificate came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// The whole file is one DER certificate.
    Der,
    /// The n-th (1-based) CERTIFICATE block of a PEM file.
    Pem(usize),
    /// A `.reg` key (1-based line of its `[key]` line).
    Reg {
        /// Line of the `[key]` line.
        line: usize,
        /// The full key path as written.
        key: String,
    },
}

/// A store entry taken from a `.reg` file: written as is (its Blob bytes are kept).
#[derive(Debug, Clone)]
pub struct RegEntry {
    /// The store named in the key path.
    pub store: Store,
    /// The key name as written.
    pub key_name: String,
    /// The Blob bytes as written.
    pub blob: Vec<u8>,
    /// Warnings from validation (lower-case key name, reserved fields, trailing bytes).
    pub warnings: Vec<String>,
}

/// One certificate loaded from a file.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The certificate.
    pub info: CertInfo,
    /// The file it came from.
    pub path: PathBuf,
    /// Which part of the file.
    pub part: Part,
    /// For `.reg` input: the entry to write as is.
    pub reg: Option<RegEntry>,
}

impl Loaded {
    /// `file`, `file (certificate 2)` or `file:LINE` for messages.
    pub fn origin(&self) -> String {
        match &self.part {
            Part::Der | Part::Pem(1) => self.path.display().to_string(),
            Part::Pem(n) => format!("{} (certificate {n})", self.path.display()),
            Part::Reg { line, .. } => format!("{}:{line}", self.path.display()),
        }
    }
}

/// Which `.reg` key roots are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegRoots {
    /// Machine stores only: `HKEY_LOCAL_MACHINE\<any mount>\...`, `HKLM\...`, or a path without
    /// a root key (`SOFTWARE\...`, `winpe-offline\...`, `Microsoft\...`). User roots are refused.
    Machine,
    /// Any root (§7.2 allows ignoring the prefix, e.g. to check the HKCU test vectors).
    Any,
}

/// Largest certificate file read (a PEM bundle of every public root is about 300 KB).
pub const MAX_FILE_LEN: u64 = 16 << 20;

/// Loads every certificate of a file (DER, PEM, PEM bundle or `.reg`), machine stores only.
pub fn load(path: &Path) -> Result<Vec<Loaded>, Error> {
    load_with(path, RegRoots::Machine)
}

/// Like [`load`] with a choice of accepted `.reg` roots.
pub fn load_with(path: &Path, roots: RegRoots) -> Result<Vec<Loaded>, Error> {
    let io = |source| Error::Io {
        path: path.into(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(Error::NotACertificate {
            path: path.into(),
            cause: "it is a directory".into(),
        });
    }
    if meta.len() > MAX_FILE_LEN {
        return Err(Error::NotACertificate {
            path: path.into(),
            cause: format!("{} bytes is too large for a certificate file", meta.len()),
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    load_bytes(&bytes, path, roots)
}

fn looks_like_reg(bytes: &[u8], path: &Path) -> bool {
    let ext_reg = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("reg"));
    let head = bytes.get(..256).unwrap_or(bytes);
    let ascii: Vec<u8> = head.iter().copied().filter(|b| *b != 0).collect();
    let text = String::from_utf8_lossy(&ascii);
    ext_reg
        || head.starts_with(&[0xFF, 0xFE])
        || text.contains("Windows Registry Editor")
        || text.contains("REGEDIT4")
}

/// Loads certificates from file bytes; `path` names the file in messages.
pub fn load_bytes(bytes: &[u8], path: &Path, roots: RegRoots) -> Result<Vec<Loaded>, Error> {
    if looks_like_reg(bytes, path) {
        let file = reg::parse(bytes, path)?;
        return from_reg(&file, path, roots);
    }
    if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return from_pem(bytes, path);
    }
    let info = CertInfo::from_der(bytes).map_err(|e| Error::NotACertificate {
        path: path.into(),
        cause: format!("neither PEM, DER nor a .reg export: {e}"),
    })?;
    Ok(vec![Loaded {
        info,
        path: path.into(),
        part: Part::Der,
        reg: None,
    }])
}

fn from_pem(bytes: &[u8], path: &Path) -> Result<Vec<Loaded>, Error> {
    let mut out = Vec::new();
    let mut n = 0usize;
    for block in Pem::iter_from_buffer(bytes) {
        let pem = block.map_err(|e| Error::NotACertificate {
            path: path.into(),
            cause: format!("bad PEM block after certificate {n}: {e}"),
        })?;
        if pem.label != "CERTIFICATE" && pem.label != "X509 CERTIFICATE" {
            continue;
        }
        n += 1;
        let info = CertInfo::from_der(&pem.contents).map_err(|e| Error::NotACertificate {
            path: path.into(),
            cause: format!("PEM certificate {n}: {e}"),
        })?;
        out.push(Loaded {
            info,
            path: path.into(),
            part: Part::Pem(n),
            reg: None,
        });
    }
    if out.is_empty() {
        return Err(Error::NotACertificate {
            path: path.into(),
            cause: "no CERTIFICATE block in this PEM file".into(),
        });
    }
    Ok(out)
}

/// A key path split around `...\SystemCertificates\<STORE>\Certificates\<NAME>`.
struct CertPath<'a> {
    location: Location,
    store_name: &'a str,
    key_name: &'a str,
}

fn cert_path<'a>(parts: &[&'a str]) -> Option<CertPath<'a>> {
    let n = parts.len();
    if n < 4 {
        return None;
    }
    let container = parts.get(n - 4)?;
    if !parts.get(n - 2)?.eq_ignore_ascii_case("Certificates") {
        return None;
    }
    let location = if container.eq_ignore_ascii_case("EnterpriseCertificates") {
        Location::Enterprise
    } else if container.eq_ignore_ascii_case("SystemCertificates") {
        let policies = n >= 6
            && parts
                .get(n - 6)
                .is_some_and(|p| p.eq_ignore_ascii_case("Policies"));
        if policies {
            Location::GroupPolicy
        } else {
            Location::System
        }
    } else {
        return None;
    };
    Some(CertPath {
        location,
        store_name: parts.get(n - 3)?,
        key_name: parts.get(n - 1)?,
    })
}

/// Finds every certificate store key with a `Blob` in a parsed `.reg` file and validates it
/// (§3, §6). Keys outside certificate stores are ignored; a file with none is an error.
pub fn from_reg(file: &RegFile, path: &Path, roots: RegRoots) -> Result<Vec<Loaded>, Error> {
    let mut out = Vec::new();
    let mut other = None;
    for key in &file.keys {
        let parts: Vec<&str> = key.path.split('\\').filter(|p| !p.is_empty()).collect();
        let Some(cp) = cert_path(&parts) else {
            // Value-less keys are the ancestors regedit exports along; anything else would be
            // silently dropped, so it is refused below.
            if (key.delete || !key.values.is_empty()) && other.is_none() {
                other = Some(key);
            }
            continue;
        };
        let at = |cause: String| Error::RegEntry {
            path: path.into(),
            line: key.line,
            key: key.path.clone(),
            cause,
        };
        if roots == RegRoots::Machine
            && let Some((root, _)) = reg::split_root(&key.path)
            && root != RootKey::LocalMachine
        {
            return Err(Error::RegUserKey {
                path: path.into(),
                line: key.line,
                key: key.path.clone(),
            });
        }
        if key.delete {
            return Err(at(
                "deletes a certificate key; use `peforge cert remove` instead".into(),
            ));
        }
        let Some(store) = Store::from_key_name(cp.store_name) else {
            return Err(at(format!(
                "store {:?} is not one peforge writes (ROOT, AuthRoot, CA, TrustedPublisher)",
                cp.store_name
            )));
        };
        if roots == RegRoots::Machine && cp.location != Location::System {
            return Err(at(format!(
                "the {} location is read-only in peforge; export the key from Microsoft\\SystemCertificates",
                cp.location.name()
            )));
        }
        let Some(blob) = key.value("Blob") else {
            return Err(at("the key has no \"Blob\" value".into()));
        };
        if blob.ty != crate::registry::hive::types::BINARY {
            return Err(at(format!(
                "the \"Blob\" value has registry type {} instead of REG_BINARY (hex:)",
                blob.ty
            )));
        }
        let v = store::validate(cp.key_name, &blob.data);
        if let Some(first) = v.errors.first() {
            return Err(Error::RegMismatch {
                path: path.into(),
                line: key.line,
                key: key.path.clone(),
                cause: first.clone(),
            });
        }
        let Some(info) = v.cert else {
            return Err(at("the Blob holds no readable certificate".into()));
        };
        out.push(Loaded {
            info,
            path: path.into(),
            part: Part::Reg {
                line: key.line,
                key: key.path.clone(),
            },
            reg: Some(RegEntry {
                store,
                key_name: cp.key_name.to_string(),
                blob: blob.data.clone(),
                warnings: v.warnings,
            }),
        });
    }
    if out.is_empty() {
        return Err(Error::RegNoCertificate { path: path.into() });
    }
    if let Some(key) = other {
        return Err(Error::RegEntry {
            path: path.into(),
            line: key.line,
            key: key.path.clone(),
            cause: "not a certificate store key; peforge imports only ...\\Certificates\\<THUMBPRINT> keys (import other keys with `peforge hive set`)".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::reg::parse;

    /// The Blob hex of a real vector (ISRG Root X1, minimal profile) and its key name.
    fn vector() -> (String, String) {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/vectors/cert-reg/SYNTHETIC__ISRG_Root_X1__minimal.reg");
        let f = reg::read(&p).unwrap();
        let k = &f.keys[0];
        let blob = k.value("Blob").unwrap();
        let name = k.path.rsplit('\\').next().unwrap().to_string();
        let hex: Vec<String> = blob.data.iter().map(|b| format!("{b:02x}")).collect();
        (name, hex.join(","))
    }

    fn load_text(key: &str, value: &str) -> Result<Vec<Loaded>, Error> {
        let text = format!("Windows Registry Editor Version 5.00\r\n\r\n[{key}]\r\n{value}\r\n");
        let f = parse(text.as_bytes(), Path::new("t.reg")).unwrap();
        from_reg(&f, Path::new("t.reg"), RegRoots::Machine)
    }

    #[test]
    fn reg_key_rules() {
        let (name, hex) = vector();
        let blob = format!("\"Blob\"=hex:{hex}");
        for prefix in [
            "HKEY_LOCAL_MACHINE\\SOFTWARE\\",
            "HKLM\\winpe-offline\\",
            "SOFTWARE\\",
            "",
        ] {
            let key =
                format!("{prefix}Microsoft\\SystemCertificates\\AuthRoot\\Certificates\\{name}");
            let l = load_text(&key, &blob).unwrap();
            assert_eq!(l[0].reg.as_ref().unwrap().store, Store::AuthRoot, "{key}");
            assert_eq!(l[0].part, Part::Reg { line: 3, key });
        }
        let refused = [
            (
                "HKEY_CURRENT_USER\\Software\\Microsoft\\SystemCertificates\\ROOT\\Certificates\\",
                &blob,
                "not a machine certificate store",
            ),
            (
                "HKLM\\SOFTWARE\\Policies\\Microsoft\\SystemCertificates\\ROOT\\Certificates\\",
                &blob,
                "read-only",
            ),
            (
                "HKLM\\SOFTWARE\\Microsoft\\EnterpriseCertificates\\ROOT\\Certificates\\",
                &blob,
                "read-only",
            ),
            (
                "HKLM\\SOFTWARE\\Microsoft\\SystemCertificates\\Disallowed\\Certificates\\",
                &blob,
                "not one peforge writes",
            ),
        ];
        for (k, v, needle) in refused {
            let e = load_text(&format!("{k}{name}"), v).unwrap_err().to_string();
            assert!(e.contains(needle) && e.starts_with("t.reg:3: "), "{e}");
        }
        let key =
            format!("HKLM\\SOFTWARE\\Microsoft\\SystemCertificates\\ROOT\\Certificates\\{name}");
        let e = load_text(&key, &format!("\"Blob\"=hex(1):{hex}")).unwrap_err();
        assert!(e.to_string().contains("REG_BINARY"), "{e}");
        let e = load_text(&key, "\"Other\"=dword:00000001").unwrap_err();
        assert!(e.to_string().contains("no \"Blob\""), "{e}");
        let e = load_text(&format!("-{key}"), "").unwrap_err();
        assert!(e.to_string().contains("cert remove"), "{e}");
        let e = load_text("HKLM\\SOFTWARE\\Contoso", "\"x\"=\"y\"").unwrap_err();
        assert!(matches!(e, Error::RegNoCertificate { .. }), "{e}");
        // Ancestor keys without values are fine; other keys with values are refused.
        let text = format!(
            "Windows Registry Editor Version 5.00\r\n\r\n[HKLM\\SOFTWARE\\Microsoft\\SystemCertificates\\ROOT]\r\n\r\n[{key}]\r\n{blob}\r\n\r\n[HKLM\\SOFTWARE\\Contoso]\r\n\"x\"=\"y\"\r\n"
        );
        let f = parse(text.as_bytes(), Path::new("t.reg")).unwrap();
        let e = from_reg(&f, Path::new("t.reg"), RegRoots::Machine).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.reg:8: [HKLM\\SOFTWARE\\Contoso]: not a certificate store key"),
            "{e}"
        );
        let ok = text.replace("\"x\"=\"y\"", "");
        let f = parse(ok.as_bytes(), Path::new("t.reg")).unwrap();
        assert_eq!(
            from_reg(&f, Path::new("t.reg"), RegRoots::Machine)
                .unwrap()
                .len(),
            1
        );
    }
}
