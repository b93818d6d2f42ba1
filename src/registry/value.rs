//! Registry values as a user types and reads them: [`encode`] turns a type and text data
//! (`--type dword --data 0x10`) into the bytes a hive stores, [`render`] and [`type_name`] turn
//! stored bytes back into text and JSON (what `peforge hive get` shows).

use super::hive::{self, RawValue, types};

/// Value types a user can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    /// REG_SZ
    Sz,
    /// REG_EXPAND_SZ
    ExpandSz,
    /// REG_DWORD (decimal or 0x-prefixed hex)
    Dword,
    /// REG_QWORD (decimal or 0x-prefixed hex)
    Qword,
    /// REG_BINARY (hex, commas, spaces and colons allowed between bytes)
    Binary,
    /// REG_MULTI_SZ (one string per data item)
    MultiSz,
}

/// Data that does not fit its type. Messages quote the user's data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A single-valued type got zero or several data items.
    #[error("this type takes exactly one --data")]
    NotOne,
    /// A DWORD that is not a 32-bit number.
    #[error("{given:?} is not a 32-bit number")]
    NotDword {
        /// The data given.
        given: String,
    },
    /// A QWORD that is not a 64-bit number.
    #[error("{given:?} is not a 64-bit number")]
    NotQword {
        /// The data given.
        given: String,
    },
    /// Binary data that is not hex bytes.
    #[error("--data {given:?} is not hex bytes")]
    NotHex {
        /// The data given.
        given: String,
    },
}

impl Error {
    /// A one-line suggestion of what the user can do.
    pub fn hint(&self) -> Option<String> {
        Some(
            match self {
                Error::NotOne => "give --data once",
                Error::NotDword { .. } => "give a decimal or 0x-prefixed hex number below 2^32",
                Error::NotQword { .. } => "give a decimal or 0x-prefixed hex number",
                Error::NotHex { .. } => "write bytes as hex, e.g. 01,02,ff",
            }
            .into(),
        )
    }
}

/// The value name a user means: `@` is the default value (`""`).
pub fn value_name(v: &str) -> &str {
    if v == "@" { "" } else { v }
}

/// How a value name is shown: the default value as `@`.
pub fn display_name(n: &str) -> &str {
    if n.is_empty() { "@" } else { n }
}

fn parse_int(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Encodes text `data` as a value of type `ty`: returns the registry type and the bytes.
pub fn encode(ty: ValueType, data: &[String]) -> Result<(u32, Vec<u8>), Error> {
    let one = || -> Result<&str, Error> {
        match data {
            [d] => Ok(d.as_str()),
            _ => Err(Error::NotOne),
        }
    };
    Ok(match ty {
        ValueType::Sz => (types::SZ, hive::encode_sz(one()?)),
        ValueType::ExpandSz => (types::EXPAND_SZ, hive::encode_sz(one()?)),
        ValueType::Dword => {
            let given = one()?;
            let v = parse_int(given)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| Error::NotDword {
                    given: given.into(),
                })?;
            (types::DWORD, v.to_le_bytes().to_vec())
        }
        ValueType::Qword => {
            let given = one()?;
            let v = parse_int(given).ok_or_else(|| Error::NotQword {
                given: given.into(),
            })?;
            (types::QWORD, v.to_le_bytes().to_vec())
        }
        ValueType::Binary => {
            let given = one()?;
            // Separators between bytes are allowed; any other character is a mistake, not
            // something to drop silently.
            let bad = given
                .chars()
                .any(|c| !c.is_ascii_hexdigit() && !matches!(c, ',' | ' ' | ':'));
            let clean: String = given.chars().filter(|c| c.is_ascii_hexdigit()).collect();
            let bytes = (!bad)
                .then(|| hex::decode(&clean).ok())
                .flatten()
                .ok_or_else(|| Error::NotHex {
                    given: given.into(),
                })?;
            (types::BINARY, bytes)
        }
        ValueType::MultiSz => (types::MULTI_SZ, hive::encode_multi_sz(data)),
    })
}

/// The name of a registry type as `hive get` prints it (`sz`, `dword`, ..., `typeN`).
pub fn type_name(ty: u32) -> String {
    match ty {
        types::NONE => "none".into(),
        types::SZ => "sz".into(),
        types::EXPAND_SZ => "expand_sz".into(),
        types::BINARY => "binary".into(),
        types::DWORD => "dword".into(),
        types::MULTI_SZ => "multi_sz".into(),
        types::QWORD => "qword".into(),
        other => format!("type{other}"),
    }
}

/// A value's data as text (strings quoted, numbers in decimal and hex, else hex bytes) and as
/// JSON (a string, a number, a list of strings, or hex).
pub fn render(v: &RawValue) -> (String, serde_json::Value) {
    match v.ty {
        types::SZ | types::EXPAND_SZ => {
            let s = hive::decode_sz(&v.data);
            (format!("{s:?}"), s.into())
        }
        types::DWORD if v.data.len() == 4 => {
            let n = <[u8; 4]>::try_from(v.data.as_slice()).map_or(0, u32::from_le_bytes);
            (format!("{n} (0x{n:08x})"), n.into())
        }
        types::QWORD if v.data.len() == 8 => {
            let n = <[u8; 8]>::try_from(v.data.as_slice()).map_or(0, u64::from_le_bytes);
            (format!("{n} (0x{n:016x})"), n.into())
        }
        types::MULTI_SZ => {
            let items = hive::decode_multi_sz(&v.data);
            (format!("{items:?}"), items.into())
        }
        _ => (hex::encode(&v.data), hex::encode(&v.data).into()),
    }
}
