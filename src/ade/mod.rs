//! iOS/iPadOS Automated Device Enrollment (ADE, formerly Apple DEP) profiles as code
//! (`shared/specs/ade-profile.md`): a commented TOML profile in the Intune wizard's words, lint
//! rules from the two product documents, the Microsoft Graph beta body of
//! `#microsoft.graph.depIOSEnrollmentProfile`, import from Graph (GET, list, POST body, the older
//! `depEnrollmentProfile`) and Apple profile JSON, and peforge's *inferred* Apple "Define Profile"
//! mapping for other MDMs. Offline only: nothing here opens a network connection.
//!
//! - [`skipkeys`]: the Setup Assistant screens (Apple skip keys) carried in the binary.
//! - [`graph`]: the Graph beta type chain and its schema checks.
//! - [`profile`]: the TOML model, its reader (with line:column spans) and writer, presets.
//! - [`build`]: profile → Graph body (POST or PATCH) and import back, losslessly.
//! - [`apple`]: profile ↔ Apple profile JSON (*inferred* mapping).
//! - [`lint`]: the rules, with id, severity, setting, location, fix and basis.
//!
//! ```
//! use peforge::ade::{build, profile};
//! let p = profile::Profile::preset(profile::Preset::Userless);
//! let body = build::to_graph(&p, &[]).unwrap();
//! assert_eq!(body["requiresUserAuthentication"], false);
//! ```

use std::path::{Path, PathBuf};

pub mod apple;
pub mod build;
pub mod graph;
pub mod lint;
pub mod profile;
pub mod skipkeys;

/// Largest input file read (profiles are a few kilobytes).
pub const MAX_FILE: u64 = 16 << 20;

/// Errors of the ADE domain; each names the file and, where known, the line and column.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE`].
    #[error("{}: larger than {MAX_FILE} bytes, not an enrollment profile", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The TOML is malformed or a value has the wrong type.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Toml {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The JSON is malformed (or repeats a key).
    #[error("{}:{line}:{column}: malformed JSON: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The JSON is well formed but not an enrollment profile peforge reads.
    #[error("{}: {message}", path.display())]
    Form {
        /// The file.
        path: PathBuf,
        /// What it is.
        message: String,
        /// What to do.
        fix: String,
    },
    /// A setting's value cannot be used.
    #[error("{}:{line}:{column}: {setting}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// The setting (TOML key path).
        setting: String,
        /// What is wrong.
        message: String,
        /// What to do.
        fix: String,
    },
}

impl Error {
    /// The fix to suggest.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Io { .. } => "check the path and permissions".into(),
            Error::TooLarge { .. } => "pass a profile TOML or a Graph/Apple profile JSON".into(),
            Error::Toml { .. } => "fix the value at that place (`peforge ade profile init -o example.toml` writes a commented profile with every setting)".into(),
            Error::Json { .. } => "fix the JSON at that place (each key once, as Graph and Apple expect)".into(),
            Error::Form { fix, .. } | Error::Invalid { fix, .. } => fix.clone(),
        })
    }
}

/// Result of the ADE domain.
pub type Result<T> = std::result::Result<T, Error>;

/// 1-based line and column (in characters) of byte offset `at` in `text`.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Reads a file with the size limit, as UTF-8 text (a UTF-8 BOM is dropped).
pub fn read_text(path: &Path) -> Result<String> {
    use std::io::Read;
    let f = fs_err::File::open(path).map_err(|e| Error::Io {
        path: path.into(),
        source: e,
    })?;
    let mut buf = Vec::new();
    f.take(MAX_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::Io {
            path: path.into(),
            source: e,
        })?;
    if buf.len() as u64 > MAX_FILE {
        return Err(Error::TooLarge { path: path.into() });
    }
    let buf = buf
        .strip_prefix(b"\xEF\xBB\xBF")
        .map(<[u8]>::to_vec)
        .unwrap_or(buf);
    String::from_utf8(buf).map_err(|e| {
        let (line, column) = line_col(
            &String::from_utf8_lossy(&e.as_bytes()[..e.utf8_error().valid_up_to()]),
            usize::MAX,
        );
        Error::Toml {
            path: path.into(),
            line,
            column,
            message: "not UTF-8 text".into(),
        }
    })
}

/// Parses JSON text, refusing a key repeated in one object (serde_json alone keeps the last,
/// silently: a profile with two `supervisedModeEnabled` would be ambiguous).
pub fn parse_json(text: &str, path: &Path) -> Result<serde_json::Value> {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_str(text);
    let v = Strict::deserialize(&mut de).and_then(|v| de.end().map(|()| v.0));
    v.map_err(|e| Error::Json {
        path: path.into(),
        line: e.line(),
        column: e.column(),
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or("")
            .to_string(),
    })
}

/// Depth limit for JSON nesting (profiles are two levels deep).
const MAX_DEPTH: usize = 64;

struct Strict(serde_json::Value);

struct StrictVisitor(usize);

impl<'de> serde::de::DeserializeSeed<'de> for StrictVisitor {
    type Value = serde_json::Value;
    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor(0)).map(Strict)
    }
}

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut a: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        if self.0 >= MAX_DEPTH {
            return Err(serde::de::Error::custom("nested too deeply"));
        }
        let mut out = Vec::new();
        while let Some(v) = a.next_element_seed(StrictVisitor(self.0 + 1))? {
            out.push(v);
        }
        Ok(out.into())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut a: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        if self.0 >= MAX_DEPTH {
            return Err(serde::de::Error::custom("nested too deeply"));
        }
        let mut out = serde_json::Map::new();
        while let Some(k) = a.next_key::<String>()? {
            if out.contains_key(&k) {
                return Err(serde::de::Error::custom(format!("duplicate key {k:?}")));
            }
            let v = a.next_value_seed(StrictVisitor(self.0 + 1))?;
            out.insert(k, v);
        }
        Ok(out.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_json_keys_are_refused_with_a_place() {
        let e = parse_json("{\n \"a\": 1,\n \"a\": 2}", Path::new("x.json")).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("x.json:3:"), "{s}");
        assert!(s.contains("duplicate key \"a\""), "{s}");
        assert!(parse_json("[[[1]]]", Path::new("x")).is_ok());
        assert!(parse_json(&"[".repeat(100), Path::new("x")).is_err());
    }

    #[test]
    fn line_and_column() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("", 0), (1, 1));
    }
}

/// A profile read from any supported file.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The profile.
    pub profile: profile::Profile,
    /// Its configurator certificates, resolved.
    pub certs: Vec<build::Cert>,
    /// The file's text.
    pub text: String,
    /// The file's form.
    pub form: lint::Form,
    /// The raw Graph body, for a Graph file.
    pub graph: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Whether the file is JSON (by extension, then by its first character).
pub fn is_json(path: &Path, text: &str) -> bool {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        return false;
    }
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('{')
}

/// Reads a profile TOML, a Graph body (GET response, POST body, older type) or an Apple profile.
/// A Graph list is refused here (`import` splits it).
pub fn load(path: &Path) -> Result<Loaded> {
    let text = read_text(path)?;
    if !is_json(path, &text) {
        let p = profile::Profile::parse(&text, path)?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let certs = build::resolve_certs(&p, base, path, &text)?;
        return Ok(Loaded {
            profile: p,
            certs,
            text,
            form: lint::Form::Toml,
            graph: None,
        });
    }
    let v = parse_json(&text, path)?;
    let form = build::detect(&v, path)?;
    let serde_json::Value::Object(m) = v else {
        unreachable!("detect accepts objects only")
    };
    match form {
        build::JsonForm::GraphList => Err(Error::Form {
            path: path.into(),
            message: "a Graph list (value[]) holds several profiles".into(),
            fix: "split it first: peforge ade profile import <list.json> --name <displayName> -o profile.toml (or -o <folder>/ for one TOML each)".into(),
        }),
        build::JsonForm::Apple => {
            let p = apple::from_apple(&m, path)?;
            let certs = build::inline_certs(&p);
            Ok(Loaded {
                profile: p,
                certs,
                text,
                form: lint::Form::Apple,
                graph: None,
            })
        }
        build::JsonForm::Graph | build::JsonForm::GraphOld => {
            let p = build::from_graph(&m, path)?;
            let certs = build::inline_certs(&p);
            Ok(Loaded {
                profile: p,
                certs,
                text,
                form: lint::Form::Graph,
                graph: Some(m),
            })
        }
    }
}
