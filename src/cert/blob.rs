//! The `Blob` value of a certificate store key: serialized certificate property records.
//!
//! Spec: `shared/specs/cert-store-blob.md` §3 (record layout and reader rules), §4 (property ids
//! and their computation, in [`super::x509`]), §5 (profiles) and §6 (the 0x03 consistency rule).
//!
//! ```text
//! offset 0  u32 LE  property id
//! offset 4  u32 LE  reserved / encoding type, always 1 (X509_ASN_ENCODING)
//! offset 8  u32 LE  data length n
//! offset 12 n bytes data
//! ```
//! Records are concatenated without header, count or padding; the certificate (id 0x20) is last.

use super::x509::CertInfo;

/// Property ids peforge knows (wincrypt names, §4).
pub mod prop {
    /// CERT_SHA1_HASH_PROP_ID: SHA-1 of the DER certificate (= thumbprint = key name).
    pub const SHA1_HASH: u32 = 0x03;
    /// CERT_MD5_HASH_PROP_ID: MD5 of the DER certificate.
    pub const MD5_HASH: u32 = 0x04;
    /// CERT_SIGNATURE_HASH_PROP_ID: hash of the tbsCertificate with the signature's hash.
    pub const SIGNATURE_HASH: u32 = 0x0F;
    /// CERT_KEY_IDENTIFIER_PROP_ID: SubjectKeyIdentifier, or SHA-1 of the SPKI.
    pub const KEY_IDENTIFIER: u32 = 0x14;
    /// CERT_SUBJECT_PUBLIC_KEY_MD5_HASH_PROP_ID: MD5 of the subjectPublicKey bits.
    pub const SUBJECT_PUBLIC_KEY_MD5_HASH: u32 = 0x19;
    /// The certificate element itself (DER); always the last record.
    pub const CERTIFICATE: u32 = 0x20;
    /// CERT_SUBJECT_PUB_KEY_BIT_LENGTH_PROP_ID: public key size in bits, u32 LE.
    pub const SUBJECT_PUB_KEY_BIT_LENGTH: u32 = 0x5C;
    /// CERT_SHA256_HASH_PROP_ID: SHA-256 of the DER certificate.
    pub const SHA256_HASH: u32 = 0x6B;
}

/// The reserved field value every real blob carries (X509_ASN_ENCODING).
pub const RESERVED: u32 = 1;

/// Size of a record header.
const HEADER: usize = 12;

/// Largest blob peforge reads or writes: hivex cannot store a value above 16 344 bytes
/// correctly (§8.1), and real blobs are 0.7–3 KB.
pub const MAX_BLOB_LEN: usize = 16_344;

/// Why a blob cannot be read. Offsets are byte offsets inside the blob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// A record's length runs past the end of the value.
    #[error("record 0x{id:02X} at offset {offset} says {len} bytes but only {available} remain")]
    Overrun {
        /// Offset of the record header.
        offset: usize,
        /// Its property id.
        id: u32,
        /// The length it claims.
        len: u32,
        /// Bytes left after its header.
        available: usize,
    },
    /// There is no certificate record (id 0x20).
    #[error("no certificate record (property 0x20)")]
    NoCertificate,
    /// The blob is larger than [`MAX_BLOB_LEN`].
    #[error("{len} bytes is larger than the {MAX_BLOB_LEN} bytes peforge can store")]
    TooLarge {
        /// The blob size.
        len: usize,
    },
}

/// Something unusual but readable in a blob (§3 reader rules).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlobWarning {
    /// Bytes follow the certificate record; CryptoAPI ignores them.
    TrailingBytes {
        /// Offset of the first byte after the certificate record.
        offset: usize,
        /// How many bytes follow.
        len: usize,
    },
    /// A record's reserved field is not 1 (Wine rejects the element).
    Reserved {
        /// Offset of the record header.
        offset: usize,
        /// Its property id.
        id: u32,
        /// The reserved value found.
        value: u32,
    },
}

impl std::fmt::Display for BlobWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobWarning::TrailingBytes { offset, len } => write!(
                f,
                "{len} byte(s) after the certificate record at offset {offset} (ignored by Windows)"
            ),
            BlobWarning::Reserved { offset, id, value } => write!(
                f,
                "record 0x{id:02X} at offset {offset} has reserved field {value}, not 1 (Wine rejects it)"
            ),
        }
    }
}

/// One property record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Property id (see [`prop`]).
    pub id: u32,
    /// Reserved / encoding type; 1 in every real blob.
    pub reserved: u32,
    /// Property data.
    pub data: Vec<u8>,
}

impl Record {
    /// A record with the usual reserved value 1.
    pub fn new(id: u32, data: Vec<u8>) -> Record {
        Record {
            id,
            reserved: RESERVED,
            data,
        }
    }
}

/// A parsed `Blob`: property records, the certificate record last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// The records in stored order; the last one has id 0x20.
    pub records: Vec<Record>,
}

fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    let b = bytes.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

impl Blob {
    /// Reads a blob per §3: records while 12 bytes remain; stop at 0x20 (warn about trailing
    /// bytes) or at id 0 (the end marker of the file-format variant); unknown ids are kept.
    pub fn parse(bytes: &[u8]) -> Result<(Blob, Vec<BlobWarning>), BlobError> {
        if bytes.len() > MAX_BLOB_LEN {
            return Err(BlobError::TooLarge { len: bytes.len() });
        }
        let mut records = Vec::new();
        let mut warnings = Vec::new();
        let mut offset = 0usize;
        while bytes.len().saturating_sub(offset) >= HEADER {
            let (Some(id), Some(reserved), Some(len)) = (
                u32_at(bytes, offset),
                u32_at(bytes, offset + 4),
                u32_at(bytes, offset + 8),
            ) else {
                break;
            };
            if id == 0 {
                break;
            }
            let start = offset + HEADER;
            let available = bytes.len() - start;
            let end = usize::try_from(len)
                .ok()
                .and_then(|l| start.checked_add(l))
                .filter(|e| *e <= bytes.len())
                .ok_or(BlobError::Overrun {
                    offset,
                    id,
                    len,
                    available,
                })?;
            if reserved != RESERVED {
                warnings.push(BlobWarning::Reserved {
                    offset,
                    id,
                    value: reserved,
                });
            }
            records.push(Record {
                id,
                reserved,
                data: bytes.get(start..end).unwrap_or_default().to_vec(),
            });
            offset = end;
            if id == prop::CERTIFICATE {
                if end < bytes.len() {
                    warnings.push(BlobWarning::TrailingBytes {
                        offset: end,
                        len: bytes.len() - end,
                    });
                }
                return Ok((Blob { records }, warnings));
            }
        }
        Err(BlobError::NoCertificate)
    }

    /// The serialized bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for r in &self.records {
            out.extend(r.id.to_le_bytes());
            out.extend(r.reserved.to_le_bytes());
            out.extend(
                u32::try_from(r.data.len())
                    .unwrap_or(u32::MAX)
                    .to_le_bytes(),
            );
            out.extend(&r.data);
        }
        out
    }

    /// The data of the first record with this id.
    pub fn get(&self, id: u32) -> Option<&[u8]> {
        self.records
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.data.as_slice())
    }

    /// The DER certificate (record 0x20); a parsed blob always has one.
    pub fn certificate(&self) -> &[u8] {
        self.get(prop::CERTIFICATE).unwrap_or_default()
    }

    /// The property ids in stored order.
    pub fn ids(&self) -> Vec<u32> {
        self.records.iter().map(|r| r.id).collect()
    }

    /// Builds the blob of `cert` with the properties of `profile`, in its order. A property
    /// that cannot be computed for this certificate (e.g. 0x0F for an unconfirmed signature
    /// hash, §4) is left out; 0x20 is always last.
    pub fn build(cert: &CertInfo, profile: Profile) -> Result<Blob, BlobError> {
        let mut records: Vec<Record> = profile
            .ids()
            .iter()
            .filter_map(|id| cert.property(*id).map(|d| Record::new(*id, d)))
            .collect();
        records.push(Record::new(prop::CERTIFICATE, cert.der.clone()));
        let blob = Blob { records };
        let len = blob.to_bytes().len();
        if len > MAX_BLOB_LEN {
            return Err(BlobError::TooLarge { len });
        }
        Ok(blob)
    }
}

/// Which properties to write before the certificate (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// `20`: the certificate only; the minimum Windows accepts.
    CertOnly,
    /// `03 20`: the recommended default; makes the key-name/hash link explicit, loadable by Wine.
    #[default]
    Minimal,
    /// `6B 0F 14 19 03 5C 20`: as a Windows 10/11 regedit export of a root.
    Windows,
    /// `04 0F 14 19 03 5C 20`: as older Windows exports.
    Legacy,
}

impl Profile {
    /// The property ids written before 0x20, in order.
    pub fn ids(self) -> &'static [u32] {
        use prop::*;
        match self {
            Profile::CertOnly => &[],
            Profile::Minimal => &[SHA1_HASH],
            Profile::Windows => &[
                SHA256_HASH,
                SIGNATURE_HASH,
                KEY_IDENTIFIER,
                SUBJECT_PUBLIC_KEY_MD5_HASH,
                SHA1_HASH,
                SUBJECT_PUB_KEY_BIT_LENGTH,
            ],
            Profile::Legacy => &[
                MD5_HASH,
                SIGNATURE_HASH,
                KEY_IDENTIFIER,
                SUBJECT_PUBLIC_KEY_MD5_HASH,
                SHA1_HASH,
                SUBJECT_PUB_KEY_BIT_LENGTH,
            ],
        }
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Profile::CertOnly => "cert-only",
            Profile::Minimal => "minimal",
            Profile::Windows => "windows",
            Profile::Legacy => "legacy",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: u32, reserved: u32, data: &[u8]) -> Vec<u8> {
        let mut v = id.to_le_bytes().to_vec();
        v.extend(reserved.to_le_bytes());
        v.extend((data.len() as u32).to_le_bytes());
        v.extend(data);
        v
    }

    #[test]
    fn mutated_blobs_never_panic() {
        let mut good = rec(0x03, 1, &[0xAA; 20]);
        good.extend(rec(0x20, 1, &[0x30; 40]));
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut b = good.clone();
            let at = (x % b.len() as u64) as usize;
            b[at] = (x >> 32) as u8;
            if x.is_multiple_of(5) {
                b.truncate(at);
            }
            if let Ok((blob, _)) = Blob::parse(&b) {
                assert_eq!(Blob::parse(&blob.to_bytes()).unwrap().0, blob);
            }
        }
    }

    #[test]
    fn parse_round_trip_and_reader_rules() {
        let mut b = rec(0x03, 1, &[0xAA; 20]);
        b.extend(rec(0x99, 1, b"opaque"));
        b.extend(rec(0x20, 1, b"DER"));
        let (blob, w) = Blob::parse(&b).unwrap();
        assert!(w.is_empty());
        assert_eq!(blob.ids(), vec![0x03, 0x99, 0x20]);
        assert_eq!(blob.certificate(), b"DER");
        assert_eq!(blob.to_bytes(), b);

        let mut t = b.clone();
        t.extend([1, 2, 3]);
        let (_, w) = Blob::parse(&t).unwrap();
        assert_eq!(
            w,
            vec![BlobWarning::TrailingBytes {
                offset: b.len(),
                len: 3
            }]
        );

        let r = rec(0x20, 7, b"x");
        let (_, w) = Blob::parse(&r).unwrap();
        assert!(matches!(w[0], BlobWarning::Reserved { value: 7, .. }));

        assert_eq!(
            Blob::parse(&rec(0x03, 1, &[0; 20])),
            Err(BlobError::NoCertificate)
        );
        let mut over = rec(0x20, 1, b"abc");
        over.truncate(over.len() - 1);
        assert!(matches!(
            Blob::parse(&over),
            Err(BlobError::Overrun { id: 0x20, .. })
        ));
        // End marker (id 0) before any certificate.
        assert_eq!(Blob::parse(&rec(0, 0, b"")), Err(BlobError::NoCertificate));
        assert_eq!(Blob::parse(&[]), Err(BlobError::NoCertificate));
        assert!(matches!(
            Blob::parse(&rec(0x20, 1, &[0u8; MAX_BLOB_LEN])),
            Err(BlobError::TooLarge { .. })
        ));
    }
}
