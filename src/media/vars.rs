//! ConfigMgr media variables: `SMS\data\Variables.dat` (`shared/specs/boot-media.md` §6).
//!
//! The file is a 24-byte little-endian header (magic `00 00 ED EC`, block size 0x14, plaintext
//! length, ciphertext length, CryptoAPI ALG_ID, 0), the ciphertext, and a trailer of unknown
//! meaning that is kept as read (§6.1). The key is CryptoAPI `CryptDeriveKey` over SHA-1 of the
//! UTF-16LE password (§6.2); the cipher is AES-128/AES-256/3DES in CBC mode with an all-zero IV
//! and PKCS#7 padding (§6.3). Without a media password the fixed default password of §6.4 is used.
//!
//! The plaintext is a UTF-16LE `MediaVarList` XML document (§6.5). [`MediaVarList`] parses it
//! without an XML library (no DTD, no entity expansion beyond the five predefined entities) and
//! keeps everything it does not understand — the prolog, the `Version` attribute, unknown
//! variables and their order, CDATA use, the trailing NUL — so that a template medium's file is
//! rewritten with only the asked changes (§11).
//!
//! Secrets (password, key material, plaintext, variable values) live in [`Zeroizing`] buffers
//! allocated at their final size, and no type here prints them through `Debug`.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Magic bytes at offset 0.
pub const MAGIC: [u8; 4] = [0x00, 0x00, 0xED, 0xEC];
/// Size of the header in bytes; the ciphertext starts here.
pub const HEADER_LEN: usize = 24;
/// Fixed password of media made without a password (§6.4).
pub const DEFAULT_PASSWORD: &str = "{BAC6E688-DE21-4ABE-B7FB-C9F54E6DB664}";
/// Largest Variables.dat accepted (real files are a few tens of KiB; a media PFX adds a few KiB).
pub const MAX_FILE_LEN: usize = 16 << 20;
/// Largest number of variables accepted in one list.
pub const MAX_VARS: usize = 10_000;
/// Longest trailer accepted after the ciphertext (§6.1 says 0–8 bytes; allow some slack).
pub const MAX_TRAILER_LEN: usize = 64;

/// Errors reading or writing Variables.dat. `path` is the file the user named (or the path of
/// the file inside a medium).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file is shorter than its header or its ciphertext length.
    #[error(
        "{path}: Variables.dat is truncated at offset {offset} (needs {needed} bytes for the {field})"
    )]
    Truncated {
        /// The file.
        path: String,
        /// Where the missing data starts.
        offset: usize,
        /// How many bytes the field needs.
        needed: usize,
        /// The field being read.
        field: &'static str,
    },
    /// The magic bytes are wrong: not a media variable file.
    #[error("{path}: not a media variable file (magic {found}, expected 0000edec)")]
    BadMagic {
        /// The file.
        path: String,
        /// The first four bytes, hex.
        found: String,
    },
    /// A header field has an impossible value.
    #[error("{path}: bad Variables.dat header at offset {offset}: {field} = {value:#x}")]
    BadHeader {
        /// The file.
        path: String,
        /// Offset of the field.
        offset: usize,
        /// Field name.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// The ALG_ID is not one this tool can decrypt.
    #[error(
        "{path}: unsupported cipher ALG_ID {alg_id:#06x} (known: 0x660e AES-128, 0x6610 AES-256, 0x6603 3DES)"
    )]
    UnsupportedCipher {
        /// The file.
        path: String,
        /// The ALG_ID found.
        alg_id: u32,
    },
    /// Decryption produced garbage: the password is wrong (or the ciphertext is damaged).
    #[error("{path}: wrong media password (the decrypted data is not a media variable list)")]
    WrongPassword {
        /// The file.
        path: String,
    },
    /// The decrypted XML is not a `MediaVarList`.
    #[error("{path}: the media variable list is malformed at character {offset}: {what}")]
    BadXml {
        /// The file.
        path: String,
        /// Character offset in the decoded text.
        offset: usize,
        /// What is wrong.
        what: String,
    },
    /// A limit was exceeded.
    #[error("{path}: {what} exceeds the limit of {limit}")]
    TooLarge {
        /// The file.
        path: String,
        /// What is too large.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A variable name cannot be stored (empty, or contains `"`, `<`, `>`, `&` or control characters).
    #[error("invalid media variable name {name:?}")]
    BadName {
        /// The name given.
        name: String,
    },
}

impl Error {
    /// A one-line suggestion of what the user can do about this error.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::WrongPassword { .. } => Some(
                "give the media password with --password-file (media made without a password use the documented default; try without --password-file)".into(),
            ),
            Error::Truncated { .. } | Error::BadHeader { .. } | Error::BadXml { .. } => Some(
                "the file is damaged: copy SMS\\data\\Variables.dat again from the original medium".into(),
            ),
            Error::BadMagic { .. } => {
                Some("give the SMS\\data\\Variables.dat of a ConfigMgr boot medium".into())
            }
            Error::BadName { .. } => Some(
                "variable names are plain words such as OSDComputerName or _SMSTSSiteCode".into(),
            ),
            _ => None,
        }
    }
}

/// The cipher of a Variables.dat, by its CryptoAPI ALG_ID (§6.1, §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cipher {
    /// `CALG_AES_128` (0x660E): what ConfigMgr has long written for media; peforge's default.
    Aes128,
    /// `CALG_AES_256` (0x6610): seen in PXE variable files of ConfigMgr 2509.
    Aes256,
    /// `CALG_3DES` (0x6603): old sites; read and kept when a template uses it.
    TripleDes,
}

impl Cipher {
    /// The CryptoAPI ALG_ID written in the header.
    pub fn alg_id(self) -> u32 {
        match self {
            Cipher::Aes128 => 0x660E,
            Cipher::Aes256 => 0x6610,
            Cipher::TripleDes => 0x6603,
        }
    }
    /// The cipher of an ALG_ID, if known.
    pub fn from_alg_id(id: u32) -> Option<Cipher> {
        match id {
            0x660E => Some(Cipher::Aes128),
            0x6610 => Some(Cipher::Aes256),
            0x6603 => Some(Cipher::TripleDes),
            _ => None,
        }
    }
    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Cipher::Aes128 => 16,
            Cipher::Aes256 => 32,
            Cipher::TripleDes => 24,
        }
    }
    /// Block (and IV) length in bytes.
    pub fn block_len(self) -> usize {
        match self {
            Cipher::TripleDes => 8,
            _ => 16,
        }
    }
    /// Display name (`aes128`, `aes256`, `3des`).
    pub fn name(self) -> &'static str {
        match self {
            Cipher::Aes128 => "aes128",
            Cipher::Aes256 => "aes256",
            Cipher::TripleDes => "3des",
        }
    }
}

/// CryptoAPI `CryptDeriveKey` key material for SHA-1 (§6.2): 40 bytes, `A‖B`. The AES-128 key is
/// the first 16 bytes, AES-256 the first 32, 3DES the first 24.
pub fn derive_key_material(password: &str) -> Zeroizing<[u8; 40]> {
    let mut utf16 = Zeroizing::new(Vec::with_capacity(password.len() * 2));
    for u in password.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let h = Zeroizing::new(<[u8; 20]>::from(Sha1::digest(utf16.as_slice())));
    let mut out = Zeroizing::new([0u8; 40]);
    for (pad, half) in [(0x36u8, 0usize), (0x5C, 20)] {
        let mut block = Zeroizing::new([pad; 64]);
        for (b, k) in block.iter_mut().zip(h.iter()) {
            *b ^= k;
        }
        let d = Zeroizing::new(<[u8; 20]>::from(Sha1::digest(block.as_slice())));
        if let Some(dst) = out.get_mut(half..half + 20) {
            dst.copy_from_slice(d.as_slice());
        }
    }
    out
}

/// The header facts of a Variables.dat that are not secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The cipher (ALG_ID).
    pub cipher: Cipher,
    /// Plaintext length in bytes.
    pub plaintext_len: usize,
    /// Ciphertext length in bytes.
    pub ciphertext_len: usize,
    /// Bytes after the ciphertext, kept as read (meaning unknown, §6.1).
    pub trailer: Vec<u8>,
    /// The header field after the ALG_ID: 0 in every known file (§6.1), meaning unknown, so kept
    /// as read when a template is rewritten.
    pub reserved: u32,
}

fn u32_at(bytes: &[u8], offset: usize, path: &str, field: &'static str) -> Result<u32, Error> {
    let b = bytes
        .get(offset..offset + 4)
        .ok_or_else(|| Error::Truncated {
            path: path.into(),
            offset,
            needed: 4,
            field,
        })?;
    let arr: [u8; 4] = b.try_into().map_err(|_| Error::Truncated {
        path: path.into(),
        offset,
        needed: 4,
        field,
    })?;
    Ok(u32::from_le_bytes(arr))
}

/// Parses the header (no password needed).
pub fn read_header(bytes: &[u8], path: &str) -> Result<Header, Error> {
    if bytes.len() > MAX_FILE_LEN {
        return Err(Error::TooLarge {
            path: path.into(),
            what: "file size",
            limit: MAX_FILE_LEN,
        });
    }
    let magic = bytes.get(0..4).ok_or_else(|| Error::Truncated {
        path: path.into(),
        offset: 0,
        needed: HEADER_LEN,
        field: "header",
    })?;
    if magic != MAGIC {
        return Err(Error::BadMagic {
            path: path.into(),
            found: hex::encode(magic),
        });
    }
    if bytes.len() < HEADER_LEN {
        return Err(Error::Truncated {
            path: path.into(),
            offset: bytes.len(),
            needed: HEADER_LEN,
            field: "header",
        });
    }
    let block = u32_at(bytes, 4, path, "header block size")?;
    if block != 0x14 {
        return Err(Error::BadHeader {
            path: path.into(),
            offset: 4,
            field: "header block size",
            value: block.into(),
        });
    }
    let plain = u32_at(bytes, 8, path, "plaintext length")?;
    let cipher_len = u32_at(bytes, 12, path, "ciphertext length")?;
    let alg_id = u32_at(bytes, 16, path, "ALG_ID")?;
    let cipher = Cipher::from_alg_id(alg_id).ok_or_else(|| Error::UnsupportedCipher {
        path: path.into(),
        alg_id,
    })?;
    // §6.1: the last header field is 0 in every known file; its meaning is unknown, so it is
    // kept (and written back by `VariablesFile::encrypt`) rather than refused or zeroed.
    let reserved = u32_at(bytes, 20, path, "header")?;
    let plaintext_len = usize::try_from(plain).unwrap_or(usize::MAX);
    let ciphertext_len = usize::try_from(cipher_len).unwrap_or(usize::MAX);
    let bl = cipher.block_len();
    // PKCS#7 always adds 1..=block bytes: ciphertext = plaintext rounded up to the next block.
    if ciphertext_len == 0 || !ciphertext_len.is_multiple_of(bl) {
        return Err(Error::BadHeader {
            path: path.into(),
            offset: 12,
            field: "ciphertext length",
            value: cipher_len.into(),
        });
    }
    if plaintext_len >= ciphertext_len || ciphertext_len - plaintext_len > bl {
        return Err(Error::BadHeader {
            path: path.into(),
            offset: 8,
            field: "plaintext length",
            value: plain.into(),
        });
    }
    let end = HEADER_LEN
        .checked_add(ciphertext_len)
        .ok_or(Error::TooLarge {
            path: path.into(),
            what: "ciphertext length",
            limit: MAX_FILE_LEN,
        })?;
    if bytes.len() < end {
        return Err(Error::Truncated {
            path: path.into(),
            offset: bytes.len(),
            needed: end - bytes.len(),
            field: "ciphertext",
        });
    }
    let trailer = bytes.get(end..).unwrap_or_default();
    if trailer.len() > MAX_TRAILER_LEN {
        return Err(Error::TooLarge {
            path: path.into(),
            what: "data after the ciphertext",
            limit: MAX_TRAILER_LEN,
        });
    }
    Ok(Header {
        cipher,
        plaintext_len,
        ciphertext_len,
        trailer: trailer.to_vec(),
        reserved,
    })
}

/// UTF-16LE of `<?xml ve`: the first plaintext block of every media variable file (§6.6).
const XML_PREFIX: &[u8; 16] = b"<\0?\0x\0m\0l\0 \0v\0e\0";

fn cbc_decrypt(cipher: Cipher, key: &[u8], buf: &mut [u8]) -> Option<()> {
    match cipher {
        Cipher::Aes128 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, &[0u8; 16])
            .ok()?
            .decrypt_padded_mut::<aes::cipher::block_padding::NoPadding>(buf)
            .ok()
            .map(|_| ()),
        Cipher::Aes256 => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, &[0u8; 16])
            .ok()?
            .decrypt_padded_mut::<aes::cipher::block_padding::NoPadding>(buf)
            .ok()
            .map(|_| ()),
        Cipher::TripleDes => cbc::Decryptor::<des::TdesEde3>::new_from_slices(key, &[0u8; 8])
            .ok()?
            .decrypt_padded_mut::<aes::cipher::block_padding::NoPadding>(buf)
            .ok()
            .map(|_| ()),
    }
}

fn cbc_encrypt(cipher: Cipher, key: &[u8], buf: &mut [u8]) -> Option<()> {
    let len = buf.len();
    match cipher {
        Cipher::Aes128 => cbc::Encryptor::<aes::Aes128>::new_from_slices(key, &[0u8; 16])
            .ok()?
            .encrypt_padded_mut::<aes::cipher::block_padding::NoPadding>(buf, len)
            .ok()
            .map(|_| ()),
        Cipher::Aes256 => cbc::Encryptor::<aes::Aes256>::new_from_slices(key, &[0u8; 16])
            .ok()?
            .encrypt_padded_mut::<aes::cipher::block_padding::NoPadding>(buf, len)
            .ok()
            .map(|_| ()),
        Cipher::TripleDes => cbc::Encryptor::<des::TdesEde3>::new_from_slices(key, &[0u8; 8])
            .ok()?
            .encrypt_padded_mut::<aes::cipher::block_padding::NoPadding>(buf, len)
            .ok()
            .map(|_| ()),
    }
}

/// Decrypts a Variables.dat with `password` (use [`DEFAULT_PASSWORD`] for media without one).
/// Returns the header and the plaintext (`plaintext_len` bytes, UTF-16LE XML).
pub fn decrypt(
    bytes: &[u8],
    password: &str,
    path: &str,
) -> Result<(Header, Zeroizing<Vec<u8>>), Error> {
    let header = read_header(bytes, path)?;
    let material = derive_key_material(password);
    let key = material.get(..header.cipher.key_len()).unwrap_or_default();
    let ct = bytes
        .get(HEADER_LEN..HEADER_LEN + header.ciphertext_len)
        .unwrap_or_default();
    let mut buf = Zeroizing::new(ct.to_vec());
    let wrong = || Error::WrongPassword { path: path.into() };
    cbc_decrypt(header.cipher, key, &mut buf).ok_or_else(wrong)?;
    // Known plaintext (§6.6): compare in constant time so a password check leaks nothing by timing.
    let head = buf.get(..16).unwrap_or_default();
    if !bool::from(head.ct_eq(XML_PREFIX.as_slice())) {
        return Err(wrong());
    }
    // PKCS#7: the last byte n (1..=block) repeated n times; the header's plaintext length must
    // agree with what the padding leaves.
    let n = usize::from(*buf.last().unwrap_or(&0));
    let bl = header.cipher.block_len();
    let unpadded = buf.len().checked_sub(n).filter(|_| (1..=bl).contains(&n));
    let pad_ok = unpadded.is_some_and(|u| {
        buf.get(u..)
            .is_some_and(|p| p.iter().all(|&b| usize::from(b) == n))
    });
    if !pad_ok || unpadded != Some(header.plaintext_len) {
        return Err(Error::BadHeader {
            path: path.into(),
            offset: 8,
            field: "plaintext length (padding disagrees)",
            value: u64::try_from(header.plaintext_len).unwrap_or(u64::MAX),
        });
    }
    buf.truncate(header.plaintext_len);
    Ok((header, buf))
}

/// Encrypts `plaintext` into a complete Variables.dat: header, ciphertext (PKCS#7 padded), and
/// `trailer` (4 zero bytes for new files, the template's trailer otherwise).
pub fn encrypt(
    plaintext: &[u8],
    password: &str,
    cipher: Cipher,
    trailer: &[u8],
) -> Result<Vec<u8>, Error> {
    let bl = cipher.block_len();
    let pad = bl - plaintext.len() % bl;
    let ct_len = plaintext.len() + pad;
    if ct_len > MAX_FILE_LEN {
        return Err(Error::TooLarge {
            path: "Variables.dat".into(),
            what: "media variable list",
            limit: MAX_FILE_LEN,
        });
    }
    let too_large = || Error::TooLarge {
        path: "Variables.dat".into(),
        what: "media variable list",
        limit: MAX_FILE_LEN,
    };
    let plain_u32 = u32::try_from(plaintext.len()).map_err(|_| too_large())?;
    let ct_u32 = u32::try_from(ct_len).map_err(|_| too_large())?;
    let pad_byte = u8::try_from(pad).map_err(|_| too_large())?;
    let mut out = Vec::with_capacity(HEADER_LEN + ct_len + trailer.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&0x14u32.to_le_bytes());
    out.extend_from_slice(&plain_u32.to_le_bytes());
    out.extend_from_slice(&ct_u32.to_le_bytes());
    out.extend_from_slice(&cipher.alg_id().to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    let mut buf = Zeroizing::new(Vec::with_capacity(ct_len));
    buf.extend_from_slice(plaintext);
    buf.resize(ct_len, pad_byte);
    let material = derive_key_material(password);
    let key = material.get(..cipher.key_len()).unwrap_or_default();
    cbc_encrypt(cipher, key, &mut buf).ok_or_else(too_large)?;
    out.extend_from_slice(&buf);
    out.extend_from_slice(trailer);
    Ok(out)
}

/// One media variable. The value is secret (it may be the media PFX).
pub struct Var {
    /// Variable name, e.g. `SMSTSMP`.
    pub name: String,
    /// The value.
    pub value: Zeroizing<String>,
    /// Whether the value was (and will be) written as CDATA.
    pub cdata: bool,
    /// Whitespace before the element in the file, kept so a template round-trips byte for byte.
    pub lead: String,
}

impl std::fmt::Debug for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Var")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A `MediaVarList` (§6.5): the variables in file order plus everything around them, kept
/// verbatim so a template's file round-trips byte for byte.
pub struct MediaVarList {
    /// Text before the first `<var` (prolog and the `<MediaVarList …>` start tag).
    pub head: String,
    /// The variables in order.
    pub vars: Vec<Var>,
    /// Text after the last `</var>` (normally `</MediaVarList>`).
    pub tail: String,
    /// Whether the plaintext ends with a UTF-16 NUL (counted in the plaintext length).
    pub trailing_nul: bool,
}

impl std::fmt::Debug for MediaVarList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaVarList")
            .field(
                "names",
                &self.vars.iter().map(|v| &v.name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Default for MediaVarList {
    /// An empty list with the prolog and `Version` of MDT's copy of the format (§6.5).
    fn default() -> Self {
        MediaVarList {
            head: "<?xml version=\"1.0\" ?><MediaVarList Version=\"4.00.5345.0000\">".into(),
            vars: Vec::new(),
            tail: "</MediaVarList>".into(),
            trailing_nul: true,
        }
    }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Whether `name` can be stored as a variable name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && !name
            .chars()
            .any(|c| c.is_control() || matches!(c, '"' | '<' | '>' | '&'))
}

/// The error for malformed plaintext at UTF-16 unit `offset`.
fn bad_xml(path: &str, offset: usize, what: &str) -> Error {
    Error::BadXml {
        path: path.into(),
        offset,
        what: what.into(),
    }
}

/// Decodes the UTF-16LE plaintext; also says whether it ended with a NUL (kept on write).
fn decode_plaintext(plaintext: &[u8], path: &str) -> Result<(Zeroizing<String>, bool), Error> {
    if !plaintext.len().is_multiple_of(2) {
        return Err(bad_xml(
            path,
            plaintext.len() / 2,
            "odd byte count for UTF-16",
        ));
    }
    let units: Zeroizing<Vec<u16>> = Zeroizing::new(
        plaintext
            .chunks_exact(2)
            .map(|c| {
                u16::from_le_bytes([
                    c.first().copied().unwrap_or(0),
                    c.get(1).copied().unwrap_or(0),
                ])
            })
            .collect(),
    );
    let mut units_slice: &[u16] = &units;
    let trailing_nul = units_slice.last() == Some(&0);
    if trailing_nul {
        units_slice = units_slice.get(..units_slice.len() - 1).unwrap_or_default();
    }
    let text = Zeroizing::new(
        String::from_utf16(units_slice).map_err(|_| bad_xml(path, 0, "invalid UTF-16"))?,
    );
    Ok((text, trailing_nul))
}

/// Reads one `<var>` body (escaped text or CDATA sections): value, whether CDATA, length used.
fn var_value(
    body_rest: &str,
    close: usize,
    body_start: usize,
    path: &str,
) -> Result<(String, bool, usize), Error> {
    // CDATA may contain "</var>"; find the real close after the CDATA sections.
    if body_rest.starts_with("<![CDATA[") {
        let mut v = String::new();
        let mut r = body_rest;
        let mut used = 0usize;
        while let Some(after) = r.strip_prefix("<![CDATA[") {
            let end = after
                .find("]]>")
                .ok_or_else(|| bad_xml(path, body_start + used, "unterminated CDATA"))?;
            v.push_str(after.get(..end).unwrap_or_default());
            let step = 9 + end + 3;
            used += step;
            r = r.get(step..).unwrap_or_default();
        }
        if !r.starts_with("</var>") {
            return Err(bad_xml(
                path,
                body_start + used,
                "text after CDATA in <var>",
            ));
        }
        Ok((v, true, used))
    } else {
        let raw = body_rest.get(..close).unwrap_or_default();
        if raw.contains('<') {
            return Err(bad_xml(path, body_start, "markup inside <var>"));
        }
        Ok((unescape(raw), false, close))
    }
}

impl MediaVarList {
    /// Parses the decrypted plaintext (UTF-16LE).
    pub fn parse(plaintext: &[u8], path: &str) -> Result<MediaVarList, Error> {
        let bad = |offset: usize, what: &str| bad_xml(path, offset, what);
        let (text, trailing_nul) = decode_plaintext(plaintext, path)?;
        if text.contains("<!DOCTYPE") || text.contains("<!ENTITY") {
            return Err(bad(0, "DTDs are not allowed"));
        }
        let root = text
            .find("<MediaVarList")
            .ok_or_else(|| bad(0, "no <MediaVarList> element"))?;
        let mut pos = text
            .get(root..)
            .and_then(|t| t.find('>'))
            .map(|i| root + i + 1)
            .ok_or_else(|| bad(root, "unterminated <MediaVarList> tag"))?;
        let head = text.get(..pos).unwrap_or_default().to_string();
        let mut vars = Vec::new();
        loop {
            let rest = text.get(pos..).unwrap_or_default();
            let skip = rest.len() - rest.trim_start().len();
            let rest_trim = rest.trim_start();
            if !rest_trim.starts_with("<var") {
                break;
            }
            if vars.len() >= MAX_VARS {
                return Err(Error::TooLarge {
                    path: path.into(),
                    what: "variable count",
                    limit: MAX_VARS,
                });
            }
            let start = pos + skip;
            let tag_end = rest_trim
                .find('>')
                .ok_or_else(|| bad(start, "unterminated <var> tag"))?;
            let tag = rest_trim.get(..tag_end).unwrap_or_default();
            let name = attr(tag, "name").ok_or_else(|| bad(start, "<var> without name"))?;
            let name = unescape(name);
            let body_start = start + tag_end + 1;
            let body_rest = text.get(body_start..).unwrap_or_default();
            let close = body_rest
                .find("</var>")
                .ok_or_else(|| bad(body_start, "missing </var>"))?;
            let (value, cdata, consumed) = var_value(body_rest, close, body_start, path)?;
            vars.push(Var {
                name,
                value: Zeroizing::new(value),
                cdata,
                lead: rest.get(..skip).unwrap_or_default().to_string(),
            });
            pos = body_start + consumed + "</var>".len();
        }
        let tail = text.get(pos..).unwrap_or_default().to_string();
        if !tail.trim_start().starts_with("</MediaVarList>") {
            return Err(bad(
                pos,
                "unexpected content (expected <var> or </MediaVarList>)",
            ));
        }
        Ok(MediaVarList {
            head,
            vars,
            tail,
            trailing_nul,
        })
    }

    /// Serialises to the UTF-16LE plaintext.
    pub fn to_plaintext(&self) -> Zeroizing<Vec<u8>> {
        let mut text = Zeroizing::new(String::new());
        text.push_str(&self.head);
        for v in &self.vars {
            text.push_str(&v.lead);
            text.push_str("<var name=\"");
            text.push_str(&escape(&v.name));
            text.push_str("\">");
            if v.cdata {
                text.push_str("<![CDATA[");
                // "]]>" cannot appear inside one CDATA section: split it over two.
                text.push_str(&v.value.replace("]]>", "]]]]><![CDATA[>"));
                text.push_str("]]>");
            } else {
                text.push_str(&escape(&v.value));
            }
            text.push_str("</var>");
        }
        text.push_str(&self.tail);
        let units = text.encode_utf16().count() + usize::from(self.trailing_nul);
        let mut out = Zeroizing::new(Vec::with_capacity(units * 2));
        for u in text.encode_utf16() {
            out.extend_from_slice(&u.to_le_bytes());
        }
        if self.trailing_nul {
            out.extend_from_slice(&[0, 0]);
        }
        out
    }

    /// The value of a variable (names compare case-insensitively, as task sequence variables do).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(name))
            .map(|v| v.value.as_str())
    }

    /// Sets a variable, keeping its position when it exists, appending otherwise (as CDATA).
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), Error> {
        if !valid_name(name) {
            return Err(Error::BadName { name: name.into() });
        }
        if let Some(v) = self
            .vars
            .iter_mut()
            .find(|v| v.name.eq_ignore_ascii_case(name))
        {
            v.value = Zeroizing::new(value.to_string());
        } else {
            if self.vars.len() >= MAX_VARS {
                return Err(Error::TooLarge {
                    path: "Variables.dat".into(),
                    what: "variable count",
                    limit: MAX_VARS,
                });
            }
            self.vars.push(Var {
                name: name.into(),
                value: Zeroizing::new(value.to_string()),
                cdata: true,
                lead: String::new(),
            });
        }
        Ok(())
    }

    /// Removes a variable; returns whether it existed.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.vars.len();
        self.vars.retain(|v| !v.name.eq_ignore_ascii_case(name));
        before != self.vars.len()
    }

    /// The variable names in order.
    pub fn names(&self) -> Vec<String> {
        self.vars.iter().map(|v| v.name.clone()).collect()
    }
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    for q in ['"', '\''] {
        let pat = format!("{name}={q}");
        if let Some(i) = tag.find(&pat) {
            let rest = tag.get(i + pat.len()..)?;
            let end = rest.find(q)?;
            return rest.get(..end);
        }
    }
    None
}

/// A decrypted Variables.dat: what [`open`] returns and [`Self::encrypt`] writes back with the
/// same cipher and trailer.
#[derive(Debug)]
pub struct VariablesFile {
    /// Header facts (cipher, lengths, trailer).
    pub header: Header,
    /// The variables.
    pub list: MediaVarList,
}

/// Decrypts and parses a Variables.dat.
pub fn open(bytes: &[u8], password: &str, path: &str) -> Result<VariablesFile, Error> {
    let (header, plain) = decrypt(bytes, password, path)?;
    let list = MediaVarList::parse(&plain, path)?;
    Ok(VariablesFile { header, list })
}

impl VariablesFile {
    /// Encrypts the list with `password`, the file's cipher, trailer and reserved header field.
    pub fn encrypt(&self, password: &str) -> Result<Vec<u8>, Error> {
        let mut out = encrypt(
            &self.list.to_plaintext(),
            password,
            self.header.cipher,
            &self.header.trailer,
        )?;
        if let Some(field) = out.get_mut(20..24) {
            field.copy_from_slice(&self.header.reserved.to_le_bytes());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    const SAMPLE_XML: &str = "<?xml version=\"1.0\" ?><MediaVarList Version=\"4.00.5345.0000\"><var name=\"_SMSTSSiteCode\"><![CDATA[ABC]]></var></MediaVarList>";

    fn utf16z(s: &str) -> Vec<u8> {
        let mut v: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
        v.extend_from_slice(&[0, 0]);
        v
    }

    #[test]
    fn key_derivation_matches_spec_vectors() {
        assert_eq!(
            *derive_key_material("Password1"),
            hex!(
                "472b14c830bccddc2b57c2f91682e0b39dae488fb213c24bb88985b1af61f433b29b314ccc818289"
            )
        );
        assert_eq!(
            *derive_key_material(DEFAULT_PASSWORD),
            hex!(
                "d15d6a10993a431266d87bf5e6c72252621cfef7c42a749bb4df2aa1a156a95f159bbc8f3571be10"
            )
        );
    }

    #[test]
    fn first_block_matches_public_samples() {
        // First cipher block of the public AES-128 and AES-256 samples (§6.6) is the encryption
        // of UTF-16LE "<?xml ve" under the Password1 key.
        for (cipher, block) in [
            (Cipher::Aes128, hex!("11cb54aa3b699f61f86ab312e6fb97ec")),
            (Cipher::Aes256, hex!("3dd6b8bc6cc41f718b07522266e188ce")),
        ] {
            let m = derive_key_material("Password1");
            let mut b = *XML_PREFIX;
            cbc_encrypt(cipher, &m[..cipher.key_len()], &mut b).unwrap();
            assert_eq!(b, block, "{cipher:?}");
        }
    }

    fn sha256(b: &[u8]) -> String {
        hex::encode(sha2::Sha256::digest(b))
    }

    #[test]
    fn full_vectors() {
        let plain = utf16z(SAMPLE_XML);
        assert_eq!(plain.len(), 250);
        let f = encrypt(&plain, "Password1", Cipher::Aes128, &[]).unwrap();
        assert_eq!(f.len(), 280);
        assert_eq!(
            sha256(&f),
            "446c16ce9d1f4b589e01d7c3435a234b725abcf54f42ca5339e296a8b1eb1ba5"
        );
        assert_eq!(
            &f[..40],
            &hex!(
                "0000edec14000000fa000000000100000e6600000000000011cb54aa3b699f61f86ab312e6fb97ec"
            )
        );
        let f256 = encrypt(&plain, "Password1", Cipher::Aes256, &[]).unwrap();
        assert_eq!(
            sha256(&f256),
            "1a0896022e7cf62de45948ca8fda7ab144af60d39916e46525cb67eacb78d6a9"
        );
        let fdef = encrypt(&plain, DEFAULT_PASSWORD, Cipher::Aes128, &[]).unwrap();
        assert_eq!(
            sha256(&fdef),
            "1440f2d0c923933231a550511157d349adf6a638f93b9b9acd33b48c935e845d"
        );
        let (h, p) = decrypt(&f256, "Password1", "v").unwrap();
        assert_eq!(h.cipher, Cipher::Aes256);
        assert_eq!(p.as_slice(), plain.as_slice());
    }

    #[test]
    fn round_trip_keeps_everything() {
        let xml = "<?xml version=\"1.0\" ?><MediaVarList Version=\"5.00.9999.1000\"><var name=\"A\"><![CDATA[x]]></var> <var name=\"Unknown_Z\">a&amp;b</var><var name=\"B\"><![CDATA[has </var> inside]]></var></MediaVarList>";
        let plain = utf16z(xml);
        for cipher in [Cipher::Aes128, Cipher::Aes256, Cipher::TripleDes] {
            let file = encrypt(&plain, "S3cure!Pass", cipher, &[0, 0, 0, 0]).unwrap();
            let v = open(&file, "S3cure!Pass", "v").unwrap();
            assert_eq!(v.header.trailer, vec![0, 0, 0, 0]);
            assert_eq!(v.list.names(), ["A", "Unknown_Z", "B"]);
            assert_eq!(v.list.get("unknown_z"), Some("a&b"));
            assert_eq!(v.list.get("B"), Some("has </var> inside"));
            assert_eq!(v.encrypt("S3cure!Pass").unwrap(), file, "{cipher:?}");
        }
    }

    #[test]
    fn ciphertext_length_rule() {
        for n in [0usize, 1, 15, 16, 17, 31, 32, 250] {
            let mut plain = XML_PREFIX.to_vec();
            plain.resize(16 + n, b'a');
            let f = encrypt(&plain, "p", Cipher::Aes128, &[]).unwrap();
            let ct = f.len() - HEADER_LEN;
            assert_eq!(ct % 16, 0);
            assert!(ct > plain.len() && ct - plain.len() <= 16, "n={n}");
        }
    }

    #[test]
    fn wrong_password_and_corruption() {
        let f = encrypt(&utf16z(SAMPLE_XML), "Password1", Cipher::Aes128, &[0; 4]).unwrap();
        assert!(matches!(
            decrypt(&f, "Password2", "v"),
            Err(Error::WrongPassword { .. })
        ));
        assert!(matches!(
            decrypt(&f[..100], "Password1", "v"),
            Err(Error::Truncated { .. })
        ));
        let mut bad = f.clone();
        bad[2] = 0;
        assert!(matches!(
            decrypt(&bad, "Password1", "v"),
            Err(Error::BadMagic { .. })
        ));
        let mut bad = f.clone();
        bad[16] = 1;
        assert!(matches!(
            decrypt(&bad, "Password1", "v"),
            Err(Error::UnsupportedCipher { .. })
        ));
        let mut bad = f.clone();
        bad[12] = 0xf1; // ciphertext length not a multiple of 16
        assert!(matches!(
            decrypt(&bad, "Password1", "v"),
            Err(Error::BadHeader { .. })
        ));
        // A flipped last ciphertext byte breaks the padding (or the length check).
        let mut bad = f.clone();
        let last = HEADER_LEN + 255;
        bad[last] ^= 0x55;
        assert!(decrypt(&bad, "Password1", "v").is_err());
        for cut in 0..f.len() {
            let _ = decrypt(&f[..cut], "Password1", "v");
        }
    }

    #[test]
    fn malformed_xml_is_an_error() {
        for xml in [
            "<?xml version=\"1.0\" ?><Other/>",
            "<?xml version=\"1.0\" ?><MediaVarList><var name=\"A\"><![CDATA[x</var></MediaVarList>",
            "<?xml version=\"1.0\" ?><!DOCTYPE x [<!ENTITY a \"b\">]><MediaVarList></MediaVarList>",
            "<?xml version=\"1.0\" ?><MediaVarList><var>x</var></MediaVarList>",
        ] {
            assert!(MediaVarList::parse(&utf16z(xml), "v").is_err(), "{xml}");
        }
    }

    #[test]
    fn set_keeps_order_and_escapes() {
        let mut l = MediaVarList::default();
        l.set("SMSTSMP", "https://a").unwrap();
        l.set("X", "a]]>b<&").unwrap();
        l.set("smstsmp", "https://b").unwrap();
        assert_eq!(l.names(), ["SMSTSMP", "X"]);
        let p = l.to_plaintext();
        let back = MediaVarList::parse(&p, "v").unwrap();
        assert_eq!(back.get("X"), Some("a]]>b<&"));
        assert_eq!(back.get("SMSTSMP"), Some("https://b"));
        assert!(l.set("bad\"name", "x").is_err());
    }

    #[test]
    fn damaged_plaintext_never_panics() {
        let good = utf16z(SAMPLE_XML);
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut bad = good.clone();
            let i = (x as usize) % bad.len();
            bad[i] = (x >> 40) as u8;
            let cut = (x >> 20) as usize % (bad.len() + 1);
            let _ = MediaVarList::parse(&bad, "v");
            let _ = MediaVarList::parse(&bad[..cut], "v");
        }
    }
}
