//! Regedit `.reg` files: a lenient reader and a byte-exact writer.
//!
//! Spec: `shared/specs/cert-store-blob.md` §7. The writer follows §7.1 (what regedit "Version
//! 5.00" writes: UTF-16LE with a BOM, CRLF, `hex:` lines wrapped at 77 columns); the reader
//! follows §7.2 (UTF-16LE / UTF-8 / Windows-1252, continuation lines, `[-key]` and `"v"=-`
//! deletions, `hex(N):`, `dword:`, `str(N):`). The model is generic — keys and their value
//! operations in file order — so that any exported key can be read (certificate stores, the
//! enrollment status page keys of `esp diagnose --reg`, ...).
//!
//! Values are [`RawValue`]s: the bytes a hive would store (REG_SZ as UTF-16LE with its NUL).

use std::path::{Path, PathBuf};

use super::hive::{RawValue, encode_sz, types};

/// Largest `.reg` file the reader accepts (a whole exported SOFTWARE hive is far smaller).
pub const MAX_FILE_LEN: usize = 256 << 20;

/// Largest single value the reader accepts (the registry's own limit is about 1 MB per value).
pub const MAX_VALUE_LEN: usize = 1 << 20;

/// Errors of the `.reg` reader. Each names the file and, when it applies, the 1-based line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The `.reg` file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not text in an encoding regedit writes.
    #[error("{path}: {cause}")]
    Encoding {
        /// The `.reg` file.
        path: PathBuf,
        /// What is wrong with the encoding.
        cause: String,
    },
    /// The first non-empty line is not a regedit header.
    #[error(
        "{path}: not a regedit export (the first line is not \"Windows Registry Editor Version 5.00\" or \"REGEDIT4\")"
    )]
    NoHeader {
        /// The `.reg` file.
        path: PathBuf,
    },
    /// A line cannot be understood.
    #[error("{path}:{line}: {cause}")]
    Syntax {
        /// The `.reg` file.
        path: PathBuf,
        /// 1-based line number where the logical line starts.
        line: usize,
        /// What is wrong.
        cause: String,
    },
    /// The file is larger than [`MAX_FILE_LEN`].
    #[error("{path}: {len} bytes is too large for a .reg file (limit {MAX_FILE_LEN})")]
    TooLarge {
        /// The `.reg` file.
        path: PathBuf,
        /// Its size.
        len: usize,
    },
}

impl Error {
    /// A one-line suggestion of what the user can do.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Encoding { .. } => Some(
                "save the file from regedit (Export) or as UTF-16LE / UTF-8 in a text editor"
                    .into(),
            ),
            Error::NoHeader { .. } => {
                Some("give a file exported with regedit (File > Export)".into())
            }
            Error::Syntax { .. } => {
                Some("fix the line or export the key again with regedit".into())
            }
            _ => None,
        }
    }
}

/// Which header the file had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `Windows Registry Editor Version 5.00` (Unicode strings).
    V5,
    /// `REGEDIT4` (ANSI strings in `hex(2)`/`hex(7)` data).
    Regedit4,
}

/// One value operation inside a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegValueOp {
    /// Set (create or replace) the value.
    Set(RawValue),
    /// `"name"=-`: delete the value.
    Delete(String),
}

impl RegValueOp {
    /// The value name the operation is about (empty for the default value `@`).
    pub fn name(&self) -> &str {
        match self {
            RegValueOp::Set(v) => &v.name,
            RegValueOp::Delete(n) => n,
        }
    }
}

/// One `[key]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegKey {
    /// Full key path as written (e.g. `HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\...`).
    pub path: String,
    /// `[-path]`: delete the key and its subtree (then `values` is empty).
    pub delete: bool,
    /// Value operations in file order.
    pub values: Vec<RegValueOp>,
    /// 1-based line of the `[key]` line, for error messages (0 for keys built in code).
    pub line: usize,
}

impl RegKey {
    /// A key that sets the given values.
    pub fn set(path: impl Into<String>, values: Vec<RawValue>) -> RegKey {
        RegKey {
            path: path.into(),
            delete: false,
            values: values.into_iter().map(RegValueOp::Set).collect(),
            line: 0,
        }
    }

    /// The value set under `name` (case-insensitive, last one wins, as regedit applies them).
    pub fn value(&self, name: &str) -> Option<&RawValue> {
        self.values.iter().rev().find_map(|op| match op {
            RegValueOp::Set(v) if v.name.eq_ignore_ascii_case(name) => Some(v),
            _ => None,
        })
    }
}

/// A parsed `.reg` file: keys in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegFile {
    /// The header the file had.
    pub version: Version,
    /// The `[key]` sections in file order (a key may appear more than once).
    pub keys: Vec<RegKey>,
}

/// A predefined root key, the first component of a `.reg` key path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKey {
    /// `HKEY_LOCAL_MACHINE` / `HKLM`.
    LocalMachine,
    /// `HKEY_CURRENT_USER` / `HKCU`.
    CurrentUser,
    /// `HKEY_USERS` / `HKU`.
    Users,
    /// `HKEY_CLASSES_ROOT` / `HKCR`.
    ClassesRoot,
    /// `HKEY_CURRENT_CONFIG` / `HKCC`.
    CurrentConfig,
}

/// Splits `HKEY_LOCAL_MACHINE\SOFTWARE\X` into (`LocalMachine`, `SOFTWARE\X`); `None` when the
/// path does not start with a root key name (full or abbreviated, any case).
pub fn split_root(path: &str) -> Option<(RootKey, &str)> {
    let path = path.trim_start_matches('\\');
    let (first, rest) = path.split_once('\\').unwrap_or((path, ""));
    let root = match first.to_ascii_uppercase().as_str() {
        "HKEY_LOCAL_MACHINE" | "HKLM" => RootKey::LocalMachine,
        "HKEY_CURRENT_USER" | "HKCU" => RootKey::CurrentUser,
        "HKEY_USERS" | "HKU" => RootKey::Users,
        "HKEY_CLASSES_ROOT" | "HKCR" => RootKey::ClassesRoot,
        "HKEY_CURRENT_CONFIG" | "HKCC" => RootKey::CurrentConfig,
        _ => return None,
    };
    Some((root, rest))
}

/// Maps a `.reg` key path onto a path relative to an offline hive loaded under one of `mounts`
/// (case-insensitive): `HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\X` with mounts `["SOFTWARE",
/// "winpe-offline"]` gives `Microsoft\X`. `HKLM\` is accepted as an alias. `None` when the key
/// is elsewhere.
pub fn hive_relative<'a>(path: &'a str, mounts: &[&str]) -> Option<&'a str> {
    let (root, rest) = split_root(path)?;
    if root != RootKey::LocalMachine {
        return None;
    }
    let (mount, inner) = rest.split_once('\\').unwrap_or((rest, ""));
    mounts
        .iter()
        .any(|m| m.eq_ignore_ascii_case(mount))
        .then_some(inner)
}

/// Reads and parses a `.reg` file.
pub fn read(path: &Path) -> Result<RegFile, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    parse(&bytes, path)
}

/// Parses the bytes of a `.reg` file; `path` is only used in error messages.
pub fn parse(bytes: &[u8], path: &Path) -> Result<RegFile, Error> {
    if bytes.len() > MAX_FILE_LEN {
        return Err(Error::TooLarge {
            path: path.into(),
            len: bytes.len(),
        });
    }
    let text = decode(bytes, path)?;
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let syntax = |line: usize, cause: String| Error::Syntax {
        path: path.into(),
        line,
        cause,
    };

    let mut version = None;
    let mut keys: Vec<RegKey> = Vec::new();
    let mut i = 0usize;
    while let Some(first) = lines.get(i) {
        let start = i + 1;
        i += 1;
        let mut logical = first.trim_start().to_string();
        if version.is_none() {
            if logical.trim().is_empty() {
                continue;
            }
            let head = logical.trim_start_matches('\u{feff}').trim_end();
            version = if head.contains("Windows Registry Editor Version 5.00") {
                Some(Version::V5)
            } else if head.starts_with("REGEDIT4") {
                Some(Version::Regedit4)
            } else {
                return Err(Error::NoHeader { path: path.into() });
            };
            continue;
        }
        if logical.is_empty() || logical.starts_with(';') {
            continue;
        }
        if !logical.starts_with('[') {
            // Continuation: a line ending with `\` (then optional spaces) joins the next one.
            // Appends in place: a 1 MB hex value has ~40 000 continuation lines.
            while let Some(body_len) = logical.trim_end().strip_suffix('\\').map(str::len) {
                logical.truncate(body_len);
                let Some(next) = lines.get(i) else {
                    break;
                };
                i += 1;
                logical.push_str(next.trim_start());
            }
        }
        if let Some(inner) = logical.strip_prefix('[') {
            let end = inner
                .rfind(']')
                .ok_or_else(|| syntax(start, "key line without a closing ]".into()))?;
            let inner = inner.get(..end).unwrap_or_default();
            let (delete, key) = match inner.strip_prefix('-') {
                Some(k) => (true, k),
                None => (false, inner),
            };
            if key.trim().is_empty() {
                return Err(syntax(start, "empty key path".into()));
            }
            keys.push(RegKey {
                path: key.to_string(),
                delete,
                values: Vec::new(),
                line: start,
            });
            continue;
        }
        let op = parse_value(&logical, version.unwrap_or(Version::V5))
            .map_err(|cause| syntax(start, cause))?;
        match keys.last_mut() {
            Some(k) if !k.delete => k.values.push(op),
            Some(_) => {
                return Err(syntax(start, "value line under a [-deleted] key".into()));
            }
            None => return Err(syntax(start, "value line before the first [key]".into())),
        }
    }
    let version = version.ok_or_else(|| Error::NoHeader { path: path.into() })?;
    Ok(RegFile { version, keys })
}

/// Windows-1252 code points for bytes 0x80..=0x9F (the rest equals Latin-1).
const CP1252_HIGH: [u16; 32] = [
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
];

fn cp1252_char(b: u8) -> char {
    let cp = match b {
        0x80..=0x9F => CP1252_HIGH
            .get(usize::from(b - 0x80))
            .copied()
            .unwrap_or(u16::from(b)),
        _ => u16::from(b),
    };
    char::from_u32(u32::from(cp)).unwrap_or('\u{fffd}')
}

fn decode_utf16le(bytes: &[u8], path: &Path) -> Result<String, Error> {
    let units = crate::text::utf16le_units(bytes).ok_or_else(|| Error::Encoding {
        path: path.into(),
        cause: "UTF-16LE text with an odd number of bytes (truncated?)".into(),
    })?;
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|e| Error::Encoding {
            path: path.into(),
            cause: format!("invalid UTF-16LE text ({e})"),
        })
}

/// Decodes the file per §7.2: BOM FF FE → UTF-16LE; BOM EF BB BF → UTF-8; otherwise UTF-8,
/// falling back to Windows-1252. UTF-16 without a BOM is recognised by its zero high bytes.
fn decode(bytes: &[u8], path: &Path) -> Result<String, Error> {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return decode_utf16le(rest, path);
    }
    if bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Error::Encoding {
            path: path.into(),
            cause: "UTF-16 big-endian text; regedit reads only UTF-16LE, UTF-8 or ANSI".into(),
        });
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8(rest.to_vec()).map_err(|e| Error::Encoding {
            path: path.into(),
            cause: format!("invalid UTF-8 after a UTF-8 byte order mark ({e})"),
        });
    }
    if let [a, 0, b, 0, ..] = bytes
        && *a != 0
        && *b != 0
    {
        return decode_utf16le(bytes, path);
    }
    if bytes.contains(&0) {
        return Err(Error::Encoding {
            path: path.into(),
            cause: "binary data, not text".into(),
        });
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(_) => Ok(bytes.iter().copied().map(cp1252_char).collect()),
    }
}

/// Parses a quoted string starting at `s` (which begins with `"`); returns the unescaped text
/// and the rest after the closing quote. `\\`, `\"`, and (as Wine writes them) `\n`, `\r`, `\0`
/// are escapes; any other backslash is kept as is.
fn quoted(s: &str) -> Result<(String, &str), String> {
    let body = s
        .strip_prefix('"')
        .ok_or_else(|| "expected a quoted string".to_string())?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, body.get(i + 1..).unwrap_or_default())),
            '\\' => match chars.next() {
                Some((_, '\\')) => out.push('\\'),
                Some((_, '"')) => out.push('"'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, '0')) => out.push('\0'),
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    Err("unterminated quoted string".into())
}

fn hex_bytes(s: &str) -> Result<Vec<u8>, String> {
    let digits: String = s
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    if let Some(bad) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!("{bad:?} is not a hex digit in hex data"));
    }
    if !digits.len().is_multiple_of(2) {
        return Err("hex data with an odd number of digits".into());
    }
    if digits.len() / 2 > MAX_VALUE_LEN {
        return Err(format!("value larger than {MAX_VALUE_LEN} bytes"));
    }
    hex::decode(&digits).map_err(|e| format!("bad hex data ({e})"))
}

fn ansi_to_utf16(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|b| cp1252_char(*b))
        .collect::<String>()
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect()
}

fn parse_value(line: &str, version: Version) -> Result<RegValueOp, String> {
    let (name, rest) = value_name(line)?;
    let rest = rest
        .trim_start()
        .strip_prefix('=')
        .ok_or_else(|| format!("expected = after the value name {name:?}"))?
        .trim();
    if rest == "-" {
        return Ok(RegValueOp::Delete(name));
    }
    let (ty, data) = value_data(rest, version)?;
    Ok(RegValueOp::Set(RawValue { name, ty, data }))
}

/// Splits a value line into its name (`@` = the default value) and what follows the name.
fn value_name(line: &str) -> Result<(String, &str), String> {
    if let Some(r) = line.strip_prefix('@') {
        Ok((String::new(), r))
    } else if line.starts_with('"') {
        let (name, rest) = quoted(line)?;
        // Regedit's quoted strings know only the `\\` and `\"` escapes, so a name with a line
        // break or NUL (Wine's `\n`, `\r`, `\0`, or a raw CR) has no form regedit reads back;
        // the Win32 API cannot create a NUL inside a name either. Refused rather than written
        // as a different name.
        if let Some(c) = name.chars().find(|c| matches!(c, '\n' | '\r' | '\0')) {
            let shown: String = name.chars().take(40).collect();
            return Err(format!(
                "value name {shown:?} contains {}: regedit cannot export or import such a name \
                 (a .reg string has only the \\\\ and \\\" escapes)",
                match c {
                    '\n' => "a line feed",
                    '\r' => "a carriage return",
                    _ => "a NUL character",
                }
            ));
        }
        Ok((name, rest))
    } else {
        Err(format!(
            "expected [key], \"name\"=... or @=..., found {:?}",
            line.chars().take(40).collect::<String>()
        ))
    }
}

/// Decodes the data after `=`: a string, `dword:`, `hex:`, `hex(N):` or Wine's `str:` forms.
fn value_data(rest: &str, version: Version) -> Result<(u32, Vec<u8>), String> {
    if rest.starts_with('"') {
        let (s, tail) = quoted(rest)?;
        if !tail.trim().is_empty() {
            return Err(format!(
                "unexpected text after the string: {:?}",
                tail.trim()
            ));
        }
        return Ok((types::SZ, encode_sz(&s)));
    }
    let lower = rest.to_ascii_lowercase();
    if let Some(d) = lower.strip_prefix("dword:") {
        let d = d.trim();
        if d.is_empty() || d.len() > 8 {
            return Err(format!("dword:{d} needs 1 to 8 hex digits"));
        }
        let n = u32::from_str_radix(d, 16).map_err(|_| format!("dword:{d} is not hex"))?;
        return Ok((types::DWORD, n.to_le_bytes().to_vec()));
    }
    if let Some(d) = lower.strip_prefix("hex:") {
        return Ok((types::BINARY, hex_bytes(d)?));
    }
    if let Some(after) = lower.strip_prefix("hex(") {
        let (n, d) = after
            .split_once("):")
            .ok_or_else(|| "hex(N) without ):".to_string())?;
        let ty = u32::from_str_radix(n.trim(), 16).map_err(|_| format!("hex({n}): bad type"))?;
        let mut data = hex_bytes(d)?;
        if version == Version::Regedit4 && (ty == types::EXPAND_SZ || ty == types::MULTI_SZ) {
            data = ansi_to_utf16(&data);
        }
        return Ok((ty, data));
    }
    if lower.starts_with("str") {
        return wine_str(rest);
    }
    Err(format!(
        "unrecognised value data {:?}",
        rest.chars().take(40).collect::<String>()
    ))
}

/// Wine registry files: str:"..." and str(N):"..." (N = 2 expand, 7 multi with \0 separators).
fn wine_str(rest: &str) -> Result<(u32, Vec<u8>), String> {
    let (ty, q) = if let Some(q) = rest.get(3..).and_then(|r| r.strip_prefix(':')) {
        (types::SZ, q)
    } else {
        let after = rest
            .get(3..)
            .and_then(|r| r.strip_prefix('('))
            .unwrap_or_default();
        let (n, q) = after
            .split_once("):")
            .ok_or_else(|| "str(N) without ):".to_string())?;
        let ty = u32::from_str_radix(n.trim(), 16).map_err(|_| format!("str({n}): bad type"))?;
        (ty, q)
    };
    let (s, _) = quoted(q.trim_start())?;
    let mut data: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    if !s.ends_with('\0') || ty != types::MULTI_SZ {
        data.extend([0, 0]);
    }
    Ok((ty, data))
}

/// Escapes a name or string for a `"..."` field (§7.1: `\` → `\\`, `"` → `\"`). Value names
/// with CR, LF or NUL have no regedit form; the reader refuses them, so parsed files never hold
/// one.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// REG_SZ data that regedit writes as `"text"`: valid UTF-16LE, exactly one terminating NUL, no
/// CR or LF (their export form is unconfirmed, §7.1, so they go out as `hex(1):`).
fn sz_text(data: &[u8]) -> Option<String> {
    let units = crate::text::utf16le_units(data)?;
    let (last, body) = units.split_last()?;
    if *last != 0 || body.contains(&0) {
        return None;
    }
    let s = String::from_utf16(body).ok()?;
    (!s.contains(['\r', '\n'])).then_some(s)
}

/// Appends `prefix` and the bytes as two-digit lower-case hex with the §7.1 wrapping rule: the
/// column starts at the length of the name part plus the prefix; after each byte but the last a
/// comma, +3 columns, and at ≥ 77 a `\` CRLF and a two-space indent (column 2).
fn push_hex(out: &mut String, name_part: &str, prefix: &str, data: &[u8]) {
    out.push_str(prefix);
    let mut col = name_part.encode_utf16().count() + prefix.len();
    let n = data.len();
    for (i, b) in data.iter().enumerate() {
        out.push_str(&format!("{b:02x}"));
        if i + 1 < n {
            out.push(',');
            col += 3;
            if col >= 77 {
                out.push_str("\\\r\n  ");
                col = 2;
            }
        }
    }
}

fn value_line(out: &mut String, v: &RawValue) {
    let name_part = if v.name.is_empty() {
        "@=".to_string()
    } else {
        format!("\"{}\"=", escape(&v.name))
    };
    out.push_str(&name_part);
    match v.ty {
        types::SZ => match sz_text(&v.data) {
            Some(s) => out.push_str(&format!("\"{}\"", escape(&s))),
            None => push_hex(out, &name_part, "hex(1):", &v.data),
        },
        types::DWORD if v.data.len() == 4 => {
            let b: [u8; 4] = [
                v.data.first().copied().unwrap_or(0),
                v.data.get(1).copied().unwrap_or(0),
                v.data.get(2).copied().unwrap_or(0),
                v.data.get(3).copied().unwrap_or(0),
            ];
            out.push_str(&format!("dword:{:08x}", u32::from_le_bytes(b)));
        }
        types::BINARY => push_hex(out, &name_part, "hex:", &v.data),
        other => push_hex(out, &name_part, &format!("hex({other:x}):"), &v.data),
    }
    out.push_str("\r\n");
}

/// Renders `file` as regedit 5.00 writes it (§7.1) and returns the text, CRLF line ends, without
/// the BOM. Use [`write()`] for the file bytes.
pub fn to_text(file: &RegFile) -> String {
    let mut out = String::from("Windows Registry Editor Version 5.00\r\n");
    for key in &file.keys {
        out.push_str("\r\n[");
        if key.delete {
            out.push('-');
        }
        out.push_str(&key.path);
        out.push_str("]\r\n");
        for op in &key.values {
            match op {
                RegValueOp::Set(v) => value_line(&mut out, v),
                RegValueOp::Delete(name) => {
                    if name.is_empty() {
                        out.push_str("@=-\r\n");
                    } else {
                        out.push_str(&format!("\"{}\"=-\r\n", escape(name)));
                    }
                }
            }
        }
    }
    out.push_str("\r\n");
    out
}

/// The bytes of a regedit 5.00 export of `file`: UTF-16LE with a BOM, CRLF (§7.1). `version`
/// is ignored: peforge writes only 5.00 files.
pub fn write(file: &RegFile) -> Vec<u8> {
    let text = to_text(file);
    let mut out = Vec::with_capacity(2 + text.len() * 2);
    out.extend([0xFF, 0xFE]);
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<RegFile, Error> {
        parse(s.as_bytes(), Path::new("t.reg"))
    }

    #[test]
    fn wrapping_gives_22_then_25_bytes_per_line() {
        let v = RawValue {
            name: "Blob".into(),
            ty: types::BINARY,
            data: (0u8..=99).collect(),
        };
        let f = RegFile {
            version: Version::V5,
            keys: vec![RegKey::set("HKEY_LOCAL_MACHINE\\X", vec![v.clone()])],
        };
        let text = to_text(&f);
        let lines: Vec<&str> = text.split("\r\n").collect();
        let first = lines.iter().find(|l| l.starts_with("\"Blob\"")).unwrap();
        assert_eq!(first.matches(',').count(), 22);
        assert!(first.ends_with(",\\"));
        assert_eq!(lines[4].matches(',').count(), 25);
        assert!(lines[4].starts_with("  "));
        // Round trip through the reader.
        let back = parse(&write(&f), Path::new("t.reg")).unwrap();
        assert_eq!(back.keys[0].value("blob"), Some(&v));
    }

    #[test]
    fn reads_all_value_forms_with_line_numbers() {
        let f = p("Windows Registry Editor Version 5.00\n\n; c\n[HKEY_LOCAL_MACHINE\\A]\n@=\"d\\\\x\\\"\"\n \"n\"=dword:0000001A\n\"b\"=hex:01,\\\n02\n\"e\"=hex(2):41,00,00,00\n\"q\"=hex(b):01,00,00,00,00,00,00,00\n\"gone\"=-\n[-HKEY_LOCAL_MACHINE\\B]\n").unwrap();
        assert_eq!(f.version, Version::V5);
        let k = &f.keys[0];
        assert_eq!(k.line, 4);
        assert_eq!(k.value("").unwrap().data, encode_sz("d\\x\""));
        assert_eq!(k.value("N").unwrap().data, vec![0x1a, 0, 0, 0]);
        assert_eq!(k.value("b").unwrap().data, vec![1, 2]);
        assert_eq!(k.value("e").unwrap().ty, types::EXPAND_SZ);
        assert_eq!(k.value("q").unwrap().ty, types::QWORD);
        assert_eq!(k.values.last(), Some(&RegValueOp::Delete("gone".into())));
        assert!(f.keys[1].delete);
        let e = p("Windows Registry Editor Version 5.00\n\n[HKLM\\A]\n\"x\"=hex:zz\n").unwrap_err();
        assert!(e.to_string().starts_with("t.reg:4: "), "{e}");
        assert!(matches!(p("hello\n"), Err(Error::NoHeader { .. })));
        assert!(matches!(
            parse(&[0xFE, 0xFF, 0, b'W'], Path::new("t.reg")),
            Err(Error::Encoding { .. })
        ));
    }

    #[test]
    fn regedit4_and_cp1252() {
        let mut bytes = b"REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\A]\r\n\"s\"=\"caf\xe9 \x80\"\r\n\"m\"=hex(7):61,00,00\r\n".to_vec();
        bytes.extend(b"\r\n");
        let f = parse(&bytes, Path::new("t.reg")).unwrap();
        assert_eq!(f.version, Version::Regedit4);
        assert_eq!(f.keys[0].value("s").unwrap().data, encode_sz("café €"));
        assert_eq!(
            f.keys[0].value("m").unwrap().data,
            vec![0x61, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn writer_forms() {
        let f = RegFile {
            version: Version::V5,
            keys: vec![RegKey::set(
                "HKEY_LOCAL_MACHINE\\K",
                vec![
                    RawValue {
                        name: "".into(),
                        ty: types::SZ,
                        data: encode_sz("a\"b"),
                    },
                    RawValue {
                        name: "d".into(),
                        ty: types::DWORD,
                        data: vec![0x1a, 0, 0, 0],
                    },
                    RawValue {
                        name: "e".into(),
                        ty: types::BINARY,
                        data: vec![],
                    },
                    RawValue {
                        name: "x".into(),
                        ty: types::EXPAND_SZ,
                        data: vec![0x41, 0, 0, 0],
                    },
                ],
            )],
        };
        assert_eq!(
            to_text(&f),
            "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\K]\r\n@=\"a\\\"b\"\r\n\"d\"=dword:0000001a\r\n\"e\"=hex:\r\n\"x\"=hex(2):41,00,00,00\r\n\r\n"
        );
    }

    #[test]
    fn random_and_mutated_input_never_panics() {
        let seed_text = "Windows Registry Editor Version 5.00\r\n\r\n[HKLM\\A]\r\n\"b\"=hex:01,02,\\\r\n  03\r\n@=\"x\\\\\"\r\n\"d\"=dword:1\r\n\"s\"=str(7):\"a\\0\"\r\n";
        let seed = write(&parse(seed_text.as_bytes(), Path::new("s.reg")).unwrap());
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..3000 {
            let mut b = if round % 2 == 0 {
                seed.clone()
            } else {
                seed_text.as_bytes().to_vec()
            };
            for _ in 0..(next() % 8 + 1) {
                let len = b.len() as u64;
                let at = (next() % len) as usize;
                match next() % 3 {
                    0 => b[at] = next() as u8,
                    1 => b.truncate(at),
                    _ => b.insert(at, b"\\\"[]=-,:(\n"[(next() % 10) as usize]),
                }
                if b.is_empty() {
                    break;
                }
            }
            if let Ok(f) = parse(&b, Path::new("f.reg")) {
                // Whatever parses must survive a write/parse round trip.
                let again = parse(&write(&f), Path::new("g.reg")).unwrap();
                assert_eq!(again.keys.len(), f.keys.len());
            }
        }
    }

    #[test]
    fn a_large_value_parses_in_linear_time() {
        let v = RawValue {
            name: "Big".into(),
            ty: types::BINARY,
            data: vec![0xA5; MAX_VALUE_LEN / 4],
        };
        let f = RegFile {
            version: Version::V5,
            keys: vec![RegKey::set("HKEY_LOCAL_MACHINE\\X", vec![v.clone()])],
        };
        let back = parse(&write(&f), Path::new("big.reg")).unwrap();
        assert_eq!(back.keys[0].value("Big"), Some(&v));
    }

    #[test]
    fn root_mapping() {
        assert_eq!(
            hive_relative(
                "HKLM\\winpe-offline\\Microsoft\\X",
                &["SOFTWARE", "WinPE-Offline"]
            ),
            Some("Microsoft\\X")
        );
        assert_eq!(
            hive_relative("HKEY_CURRENT_USER\\Software\\X", &["SOFTWARE"]),
            None
        );
        assert_eq!(split_root("hkey_users\\S-1"), Some((RootKey::Users, "S-1")));
    }
}
