//! `SMS\data\TsmBootstrap.ini`, the site media descriptor (`shared/specs/boot-media.md` §5.1).
//!
//! Section `[MediaInfo]` with the known keys `MediaType`, `PasswordRequired` and `Unattended`.
//! Everything else about the file (other keys, their order, text encoding, line ends) is not
//! publicly known (§11 item 1), so [`TsmBootstrapIni`] keeps a template's lines verbatim,
//! including unknown keys and comments, and changes only the values it is asked to set. Without a
//! template it writes the three known keys in the order shown in the spec, UTF-8, CRLF.

/// Largest file accepted (real files are under 1 KiB).
pub const MAX_LEN: usize = 64 << 10;

/// Errors reading TsmBootstrap.ini.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file is not text in a known encoding.
    #[error("{path}: TsmBootstrap.ini is not UTF-8 or UTF-16LE text")]
    Encoding {
        /// The file.
        path: String,
    },
    /// The file is larger than [`MAX_LEN`].
    #[error("{path}: TsmBootstrap.ini is larger than {MAX_LEN} bytes")]
    TooLarge {
        /// The file.
        path: String,
    },
}

impl Error {
    /// A one-line suggestion of what the user can do about this error.
    pub fn hint(&self) -> Option<String> {
        Some("copy SMS\\data\\TsmBootstrap.ini again from the original medium".into())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16LeBom,
}

/// A TsmBootstrap.ini, kept line by line.
#[derive(Debug, Clone)]
pub struct TsmBootstrapIni {
    lines: Vec<String>,
    crlf: bool,
    final_newline: bool,
    encoding: Encoding,
}

/// The section holding the known keys.
pub const SECTION: &str = "MediaInfo";

impl Default for TsmBootstrapIni {
    /// A new file for site-based boot media: `MediaType=BootMedia` (inferred, §5.1),
    /// `PasswordRequired=true`, `Unattended=false`.
    fn default() -> Self {
        TsmBootstrapIni {
            lines: vec![
                "[MediaInfo]".into(),
                "MediaType=BootMedia".into(),
                "PasswordRequired=true".into(),
                "Unattended=false".into(),
            ],
            crlf: true,
            final_newline: true,
            encoding: Encoding::Utf8,
        }
    }
}

fn section_of(line: &str) -> Option<&str> {
    let t = line.trim();
    t.strip_prefix('[')?.strip_suffix(']').map(str::trim)
}

fn key_of(line: &str) -> Option<(&str, &str)> {
    let t = line.trim_start();
    if t.starts_with(';') || t.starts_with('#') || t.starts_with('[') {
        return None;
    }
    let (k, v) = t.split_once('=')?;
    Some((k.trim(), v.trim()))
}

impl TsmBootstrapIni {
    /// Parses a template file (UTF-8 with or without BOM, or UTF-16LE with BOM).
    pub fn parse(bytes: &[u8], path: &str) -> Result<TsmBootstrapIni, Error> {
        if bytes.len() > MAX_LEN {
            return Err(Error::TooLarge { path: path.into() });
        }
        let enc_err = || Error::Encoding { path: path.into() };
        let (text, encoding) = if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
            (
                crate::text::decode_utf16le(rest).ok_or_else(enc_err)?,
                Encoding::Utf16LeBom,
            )
        } else if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
            (
                String::from_utf8(rest.to_vec()).map_err(|_| enc_err())?,
                Encoding::Utf8Bom,
            )
        } else {
            (
                String::from_utf8(bytes.to_vec()).map_err(|_| enc_err())?,
                Encoding::Utf8,
            )
        };
        let crlf = text.contains("\r\n");
        let final_newline = text.ends_with('\n');
        let lines = text
            .lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect();
        Ok(TsmBootstrapIni {
            lines,
            crlf,
            final_newline,
            encoding,
        })
    }

    /// The value of `key` in `[MediaInfo]` (keys compare case-insensitively).
    pub fn get(&self, key: &str) -> Option<&str> {
        let mut in_section = false;
        for l in &self.lines {
            if let Some(s) = section_of(l) {
                in_section = s.eq_ignore_ascii_case(SECTION);
            } else if in_section
                && let Some((k, v)) = key_of(l)
                && k.eq_ignore_ascii_case(key)
            {
                return Some(v);
            }
        }
        None
    }

    /// Sets `key` in `[MediaInfo]`, in place when present (keeping the key's spelling), else after
    /// the section's last key (creating the section when missing).
    pub fn set(&mut self, key: &str, value: &str) {
        let mut in_section = false;
        let mut section_at = None;
        let mut last_key_at = None;
        for (i, l) in self.lines.iter_mut().enumerate() {
            if let Some(s) = section_of(l) {
                in_section = s.eq_ignore_ascii_case(SECTION);
                if in_section {
                    section_at = Some(i);
                }
                continue;
            }
            if !in_section {
                continue;
            }
            if let Some((k, _)) = key_of(l) {
                if k.eq_ignore_ascii_case(key) {
                    *l = format!("{k}={value}");
                    return;
                }
                last_key_at = Some(i);
            }
        }
        match last_key_at.or(section_at) {
            Some(i) => self.lines.insert(i + 1, format!("{key}={value}")),
            None => {
                self.lines.push(format!("[{SECTION}]"));
                self.lines.push(format!("{key}={value}"));
            }
        }
    }

    /// Every key of `[MediaInfo]` with its value, in file order.
    pub fn entries(&self) -> Vec<(String, String)> {
        let mut in_section = false;
        let mut out = Vec::new();
        for l in &self.lines {
            if let Some(s) = section_of(l) {
                in_section = s.eq_ignore_ascii_case(SECTION);
            } else if in_section && let Some((k, v)) = key_of(l) {
                out.push((k.to_string(), v.to_string()));
            }
        }
        out
    }

    /// Serialises in the template's encoding and line ends.
    pub fn to_bytes(&self) -> Vec<u8> {
        let nl = if self.crlf { "\r\n" } else { "\n" };
        let mut text = self.lines.join(nl);
        if self.final_newline {
            text.push_str(nl);
        }
        match self.encoding {
            Encoding::Utf8 => text.into_bytes(),
            Encoding::Utf8Bom => [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
            Encoding::Utf16LeBom => {
                let mut out = vec![0xFF, 0xFE];
                out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_file() {
        let ini = TsmBootstrapIni::default();
        assert_eq!(
            String::from_utf8(ini.to_bytes()).unwrap(),
            "[MediaInfo]\r\nMediaType=BootMedia\r\nPasswordRequired=true\r\nUnattended=false\r\n"
        );
    }

    #[test]
    fn template_keeps_unknown_keys_and_format() {
        let t = "; made by console\n[MediaInfo]\nmediatype=BootMedia\nFutureKey=42\nPasswordRequired=false\n[Other]\nUnattended=keep\n";
        let mut ini = TsmBootstrapIni::parse(t.as_bytes(), "t").unwrap();
        ini.set("PasswordRequired", "true");
        ini.set("Unattended", "true");
        assert_eq!(ini.get("MEDIATYPE"), Some("BootMedia"));
        assert_eq!(
            String::from_utf8(ini.to_bytes()).unwrap(),
            "; made by console\n[MediaInfo]\nmediatype=BootMedia\nFutureKey=42\nPasswordRequired=true\nUnattended=true\n[Other]\nUnattended=keep\n"
        );
        let same = TsmBootstrapIni::parse(t.as_bytes(), "t").unwrap();
        assert_eq!(same.to_bytes(), t.as_bytes());
    }

    #[test]
    fn utf16_round_trip() {
        let mut b = vec![0xFF, 0xFE];
        b.extend(
            "[MediaInfo]\r\nPasswordRequired=false\r\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        );
        let ini = TsmBootstrapIni::parse(&b, "t").unwrap();
        assert_eq!(ini.get("PasswordRequired"), Some("false"));
        assert_eq!(ini.to_bytes(), b);
        assert!(TsmBootstrapIni::parse(&[0xFF, 0xFE, 0x41], "t").is_err());
        assert!(TsmBootstrapIni::parse(&[0xC3, 0x28], "t").is_err());
    }
}
