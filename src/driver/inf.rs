//! The INF format: decoding, sections, lines, values and `%strkey%` substitution.
//!
//! Follows `shared/specs/winpe-customize.md` §8.1 (Microsoft's "General Syntax Rules for INF
//! Files", "INF Strings Section", "Creating International INF Files"; the Wine facts listed
//! there). This module only reads the text; what the sections mean is in [`super::package`].
//!
//! - Encoding: `FF FE` UTF-16LE, `FE FF` UTF-16BE, `EF BB BF` UTF-8; without a BOM, UTF-16LE
//!   when the second byte is 0 (Wine's heuristic), ASCII, UTF-8 when the bytes are valid UTF-8,
//!   else Windows-1252.
//! - A Ctrl-Z (0x1A) ends the file; lines end at LF (CR is whitespace).
//! - `;` starts a comment outside `"…"`; a `\` at the end of a line (outside quotes and
//!   comments) continues it on the next line.
//! - `[name]` opens a section (text after `]` is ignored); names and keys are case-insensitive
//!   and sections with the same name merge.
//! - A line is `key = v1, v2, …` or `v1, v2, …`; blanks around values are dropped, quotes are
//!   removed (`""` inside quotes is one `"`), empty middle values keep their place.
//! - `%strkey%` is replaced from `[Strings]` or a localized `[Strings.<LANGID>]`; `%%` is `%`;
//!   an undefined key stays as written.

use std::collections::HashMap;

/// Largest INF peforge reads (the biggest real driver INFs are a few MiB).
pub const MAX_INF_BYTES: usize = 32 << 20;

/// Errors of INF reading; the caller adds the file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The bytes are not text in any encoding an INF may use.
    #[error("not a text file ({0})")]
    NotText(String),
    /// A section header without its closing bracket.
    #[error("line {line}: section name not closed with ']'")]
    UnclosedSection {
        /// 1-based physical line.
        line: usize,
    },
    /// The file is larger than [`MAX_INF_BYTES`].
    #[error("{0} bytes is larger than any driver INF (limit {MAX_INF_BYTES})")]
    TooLarge(usize),
}

/// How the file was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// Only 7-bit bytes.
    Ascii,
    /// UTF-8 without a BOM (Windows reads such a file in the ANSI code page).
    Utf8,
    /// UTF-8 with a BOM (Windows support is not documented).
    Utf8Bom,
    /// UTF-16 little-endian (with or without a BOM).
    Utf16le,
    /// UTF-16 big-endian with a BOM.
    Utf16be,
    /// 8-bit text that is not UTF-8, read as Windows-1252.
    Windows1252,
}

/// One line of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The key before `=`, if any (unsubstituted, as written).
    pub key: Option<String>,
    /// The comma-separated values (unsubstituted, quotes removed).
    pub values: Vec<String>,
    /// 1-based physical line where it starts.
    pub line: usize,
}

/// A section: every line of every `[name]` header with this name, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The name as first written.
    pub name: String,
    /// Its lines.
    pub lines: Vec<Line>,
}

impl Section {
    /// The values of the first line whose key is `key` (case-insensitive).
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.lines
            .iter()
            .find(|l| {
                l.key
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case(key))
            })
            .map(|l| l.values.as_slice())
    }
}

/// A parsed INF file.
#[derive(Debug, Clone)]
pub struct Inf {
    /// The encoding found.
    pub encoding: Encoding,
    /// The sections, in order of first appearance.
    pub sections: Vec<Section>,
    /// Number of physical lines.
    pub physical_lines: usize,
    /// Number of lines that continue on the next one.
    pub continuations: usize,
    /// Physical lines where a quoted value is not closed (the text is kept).
    pub unterminated_quotes: Vec<usize>,
    /// Lines with content before the first section (ignored, as Windows does).
    pub lines_before_first_section: usize,
    index: HashMap<String, usize>,
}

const CP1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}', '\u{8F}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}', '\u{178}',
];

fn cp1252(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => CP1252_HIGH
                .get(usize::from(b - 0x80))
                .copied()
                .unwrap_or('?'),
            _ => char::from(b),
        })
        .collect()
}

fn utf16(bytes: &[u8], le: bool) -> Result<String, ParseError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(ParseError::NotText("odd number of bytes for UTF-16".into()));
    }
    if le {
        return crate::text::decode_utf16le(bytes)
            .ok_or_else(|| ParseError::NotText("invalid UTF-16LE".into()));
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| {
            u16::from_be_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
        .collect();
    String::from_utf16(&units).map_err(|_| ParseError::NotText("invalid UTF-16BE".into()))
}

/// Decodes the bytes of an INF file.
pub fn decode(bytes: &[u8]) -> Result<(String, Encoding), ParseError> {
    if bytes.len() > MAX_INF_BYTES {
        return Err(ParseError::TooLarge(bytes.len()));
    }
    let (text, enc) = if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        (utf16(rest, true)?, Encoding::Utf16le)
    } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        (utf16(rest, false)?, Encoding::Utf16be)
    } else if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        let s = std::str::from_utf8(rest)
            .map_err(|e| ParseError::NotText(format!("invalid UTF-8: {e}")))?;
        (s.to_string(), Encoding::Utf8Bom)
    } else if bytes.len() >= 2 && bytes.get(1) == Some(&0) && bytes.first() != Some(&0) {
        (utf16(bytes, true)?, Encoding::Utf16le)
    } else if bytes.is_ascii() {
        (String::from_utf8_lossy(bytes).into_owned(), Encoding::Ascii)
    } else if let Ok(s) = std::str::from_utf8(bytes) {
        (s.to_string(), Encoding::Utf8)
    } else {
        (cp1252(bytes), Encoding::Windows1252)
    };
    // Ctrl-Z ends the file (Wine); a NUL means binary data, not an INF.
    let text = match text.find('\u{1A}') {
        Some(i) => text.get(..i).unwrap_or_default().to_string(),
        None => text,
    };
    if text.contains('\0') {
        return Err(ParseError::NotText("it contains NUL bytes".into()));
    }
    Ok((text, enc))
}

/// A field being built: characters, each marked quoted or not (only unquoted blanks are trimmed).
#[derive(Default)]
struct Field(Vec<(char, bool)>);

impl Field {
    fn finish(&mut self) -> String {
        let v = std::mem::take(&mut self.0);
        let start = v
            .iter()
            .position(|(c, q)| *q || !c.is_whitespace())
            .unwrap_or(v.len());
        let end = v
            .iter()
            .rposition(|(c, q)| *q || !c.is_whitespace())
            .map_or(start, |e| e + 1);
        v.get(start..end)
            .unwrap_or_default()
            .iter()
            .map(|(c, _)| *c)
            .collect()
    }
}

/// The content of one physical line: comment removed; whether it continues; whether a quote is
/// left open.
fn split_physical(line: &str) -> (&str, bool, bool) {
    let mut in_quote = false;
    let mut end = line.len();
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            ';' if !in_quote => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let content = line.get(..end).unwrap_or_default();
    let trimmed = content.trim_end();
    if !in_quote && trimmed.ends_with('\\') {
        let cut = trimmed.len().saturating_sub(1);
        return (trimmed.get(..cut).unwrap_or_default(), true, false);
    }
    (content, false, in_quote)
}

/// Splits a logical line (its physical pieces) into key and values.
fn tokenize(pieces: &[&str]) -> (Option<String>, Vec<String>) {
    let mut key = None;
    let mut values = Vec::new();
    let mut field = Field::default();
    let mut first = true;
    for piece in pieces {
        let mut in_quote = false;
        let mut chars = piece.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' if in_quote && chars.peek() == Some(&'"') => {
                    chars.next();
                    field.0.push(('"', true));
                }
                '"' => {
                    in_quote = !in_quote;
                    // An empty quoted string still counts as quoted content.
                    if !in_quote && field.0.last().is_none_or(|(_, q)| !*q) {
                        field.0.push(('\u{0}', true));
                    }
                }
                '=' if !in_quote && first && key.is_none() => {
                    key = Some(field.finish().replace('\0', ""));
                    first = false;
                }
                ',' if !in_quote => {
                    values.push(field.finish().replace('\0', ""));
                    first = false;
                }
                c if c == '\r' && !in_quote => field.0.push((' ', false)),
                c => field.0.push((c, in_quote)),
            }
        }
    }
    values.push(field.finish().replace('\0', ""));
    (key, values)
}

impl Inf {
    /// Parses INF bytes.
    pub fn parse(bytes: &[u8]) -> Result<Inf, ParseError> {
        let (text, encoding) = decode(bytes)?;
        Self::parse_text(&text, encoding)
    }

    /// Parses decoded INF text.
    pub fn parse_text(text: &str, encoding: Encoding) -> Result<Inf, ParseError> {
        let physical: Vec<&str> = text.split('\n').collect();
        let physical_lines = if text.ends_with('\n') {
            physical.len().saturating_sub(1)
        } else {
            physical.len()
        };
        let mut inf = Inf {
            encoding,
            sections: Vec::new(),
            physical_lines,
            continuations: 0,
            unterminated_quotes: Vec::new(),
            lines_before_first_section: 0,
            index: HashMap::new(),
        };
        let mut current: Option<usize> = None;
        let mut n = 0usize;
        while n < physical.len() {
            let start = n + 1;
            let mut pieces = Vec::new();
            loop {
                let raw = physical.get(n).copied().unwrap_or_default();
                n += 1;
                let (content, cont, open_quote) = split_physical(raw);
                if open_quote {
                    inf.unterminated_quotes.push(n);
                }
                pieces.push(content);
                if !cont {
                    break;
                }
                inf.continuations += 1;
                if n >= physical.len() {
                    break;
                }
            }
            let first = pieces.first().copied().unwrap_or_default();
            let lead = first.trim_start_matches(|c: char| c.is_whitespace());
            if let Some(rest) = lead.strip_prefix('[') {
                let Some(close) = rest.find(']') else {
                    return Err(ParseError::UnclosedSection { line: start });
                };
                let name = rest.get(..close).unwrap_or_default().trim().to_string();
                let lower = name.to_lowercase();
                let idx = match inf.index.get(&lower) {
                    Some(&i) => i,
                    None => {
                        inf.sections.push(Section {
                            name,
                            lines: Vec::new(),
                        });
                        let i = inf.sections.len() - 1;
                        inf.index.insert(lower, i);
                        i
                    }
                };
                current = Some(idx);
                continue;
            }
            if pieces.iter().all(|p| p.trim().is_empty()) {
                continue;
            }
            let (key, values) = tokenize(&pieces);
            match current.and_then(|i| inf.sections.get_mut(i)) {
                Some(s) => s.lines.push(Line {
                    key,
                    values,
                    line: start,
                }),
                None => inf.lines_before_first_section += 1,
            }
        }
        Ok(inf)
    }

    /// The section called `name` (case-insensitive).
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.index
            .get(&name.to_lowercase())
            .and_then(|&i| self.sections.get(i))
    }

    /// The localized string sections' LANGIDs (`Strings.0407` → `0407`), as written.
    pub fn localized_string_sections(&self) -> Vec<String> {
        self.sections
            .iter()
            .filter_map(|s| {
                let (head, tail) = s.name.split_once('.')?;
                head.eq_ignore_ascii_case("strings")
                    .then(|| tail.to_string())
            })
            .collect()
    }

    /// The string table for `locale` (a hex LANGID such as `0407`, or `None` for `[Strings]`
    /// only): undecorated `[Strings]` first, overridden per key by the best localized section
    /// (exact LANGID, then SUBLANG_NEUTRAL, then the same primary language).
    pub fn strings(&self, locale: Option<&str>) -> Strings {
        let mut map = HashMap::new();
        let mut load = |s: &Section| {
            for l in &s.lines {
                if let Some(k) = &l.key {
                    let v = if l.values.len() == 1 {
                        l.values.first().cloned().unwrap_or_default()
                    } else {
                        l.values.join(",")
                    };
                    map.insert(k.to_lowercase(), v);
                }
            }
        };
        if let Some(s) = self.section("Strings") {
            load(s);
        }
        if let Some(want) = locale.and_then(|l| u16::from_str_radix(l, 16).ok()) {
            let candidates: Vec<(u16, &Section)> = self
                .sections
                .iter()
                .filter_map(|s| {
                    let (head, tail) = s.name.split_once('.')?;
                    if !head.eq_ignore_ascii_case("strings") {
                        return None;
                    }
                    Some((u16::from_str_radix(tail, 16).ok()?, s))
                })
                .collect();
            let primary = want & 0x3FF;
            let pick = candidates
                .iter()
                .find(|(id, _)| *id == want)
                .or_else(|| candidates.iter().find(|(id, _)| *id == primary))
                .or_else(|| candidates.iter().find(|(id, _)| id & 0x3FF == primary));
            if let Some((_, s)) = pick {
                load(s);
            }
        }
        Strings { map }
    }
}

/// A `%strkey%` table.
#[derive(Debug, Clone, Default)]
pub struct Strings {
    map: HashMap<String, String>,
}

impl Strings {
    /// The value of `key` (case-insensitive).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(&key.to_lowercase()).map(String::as_str)
    }

    /// Replaces every `%strkey%` in `s`; `%%` becomes `%`; undefined keys are kept as written.
    pub fn subst(&self, s: &str) -> String {
        self.subst_collect(s, &mut Vec::new())
    }

    /// Like [`Strings::subst`], also collecting the undefined keys.
    pub fn subst_collect(&self, s: &str, undefined: &mut Vec<String>) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find('%') {
            out.push_str(rest.get(..i).unwrap_or_default());
            let after = rest.get(i + 1..).unwrap_or_default();
            if let Some(tail) = after.strip_prefix('%') {
                out.push('%');
                rest = tail;
                continue;
            }
            match after.find('%') {
                Some(j) => {
                    let key = after.get(..j).unwrap_or_default();
                    match self.get(key) {
                        Some(v) => out.push_str(v),
                        None => {
                            undefined.push(key.to_string());
                            out.push('%');
                            out.push_str(key);
                            out.push('%');
                        }
                    }
                    rest = after.get(j + 1..).unwrap_or_default();
                }
                None => {
                    out.push('%');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_rules() {
        let text = "junk\n[Version]\r\nSignature = \"$Windows NT$\" ; c\nA = \"x;y\", , \"q\"\"t\" \n\
                    B = one, \\\n   two\n[strings]\nk=\"v, w\"\n[STRINGS.0407]\nk=de\n[version]\nC=3\n";
        let inf = Inf::parse(text.as_bytes()).unwrap();
        assert_eq!(inf.lines_before_first_section, 1);
        assert_eq!(inf.continuations, 1);
        let v = inf.section("VERSION").unwrap();
        assert_eq!(v.get("signature").unwrap(), ["$Windows NT$"]);
        assert_eq!(v.get("a").unwrap(), ["x;y", "", "q\"t"]);
        assert_eq!(v.get("b").unwrap(), ["one", "two"]);
        assert_eq!(v.get("c").unwrap(), ["3"]);
        assert_eq!(inf.strings(None).subst("%K%-%%-%none%"), "v, w-%-%none%");
        assert_eq!(inf.strings(Some("0407")).subst("%k%"), "de");
        assert_eq!(inf.strings(Some("0C07")).subst("%k%"), "de");
        assert_eq!(inf.strings(Some("0409")).subst("%k%"), "v, w");
    }

    #[test]
    fn encodings() {
        let mut b = vec![0xFF, 0xFE];
        for u in "[Version]\r\nClass=Net\r\n".encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        let inf = Inf::parse(&b).unwrap();
        assert_eq!(inf.encoding, Encoding::Utf16le);
        assert_eq!(
            inf.section("version").unwrap().get("class").unwrap(),
            ["Net"]
        );
        assert_eq!(decode(b"a\x80b").unwrap().0, "a\u{20AC}b");
        assert_eq!(decode("zó".as_bytes()).unwrap().1, Encoding::Utf8);
        assert!(decode(b"[a]\0").is_err());
        assert_eq!(
            Inf::parse(b"[Version\n").unwrap_err(),
            ParseError::UnclosedSection { line: 1 }
        );
        assert_eq!(decode(b"[a]\x1a[b]").unwrap().0, "[a]");
    }
}
