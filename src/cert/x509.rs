//! X.509 facts peforge needs about a certificate: names, validity, CA flag, self-signature, and
//! the derivable `Blob` properties of `shared/specs/cert-store-blob.md` §4.
//!
//! Parsing uses x509-parser; hashes use RustCrypto (sha1, sha2, md-5); the self-signature check
//! uses x509-parser's `verify` feature (ring).

use md5::Md5;
use sha1::{Digest, Sha1};
use sha2::{Sha256, Sha384};
use x509_parser::prelude::*;

use super::prop;

/// Why bytes are not a usable certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The DER does not parse as an X.509 certificate.
    #[error("not an X.509 certificate ({0})")]
    Invalid(String),
    /// Bytes follow the certificate.
    #[error("{0} unexpected byte(s) after the certificate")]
    Trailing(usize),
}

/// What peforge knows about one certificate. Holds the DER; everything else is derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// The complete DER certificate.
    pub der: Vec<u8>,
    /// SHA-1 of the DER as 40 upper-case hex digits: the thumbprint and store key name (§2).
    pub thumbprint: String,
    /// SHA-256 of the DER, upper-case hex.
    pub sha256: String,
    /// Subject distinguished name (RFC 4514 style).
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// basicConstraints cA=TRUE.
    pub is_ca: bool,
    /// Subject equals issuer and the signature verifies with the certificate's own key (or the
    /// algorithm is one the verifier does not support).
    pub self_signed: bool,
    /// Signature algorithm OID, dotted.
    pub signature_oid: String,
    /// Signature algorithm, readable (e.g. `sha256WithRSAEncryption`).
    pub signature_algorithm: String,
    /// Public key size in bits, when known (RSA modulus, EC curve).
    pub key_bits: Option<u32>,
    tbs: Vec<u8>,
    spki: Vec<u8>,
    public_key_bits: Vec<u8>,
    ski: Option<Vec<u8>>,
}

const SHA1_RSA: &str = "1.2.840.113549.1.1.5";
const SHA1_RSA_OIW: &str = "1.3.14.3.2.29";
const SHA1_ECDSA: &str = "1.2.840.10045.4.1";
const SHA1_DSA: &str = "1.2.840.10040.4.3";
const SHA256_RSA: &str = "1.2.840.113549.1.1.11";
const SHA384_RSA: &str = "1.2.840.113549.1.1.12";
const SHA256_ECDSA: &str = "1.2.840.10045.4.3.2";
const SHA384_ECDSA: &str = "1.2.840.10045.4.3.3";

fn upper_hex(b: &[u8]) -> String {
    hex::encode_upper(b)
}

fn sig_name(oid: &str) -> String {
    match oid {
        SHA1_RSA => "sha1WithRSAEncryption",
        SHA1_RSA_OIW => "sha1WithRSA (OIW)",
        SHA1_ECDSA => "ecdsa-with-SHA1",
        SHA1_DSA => "dsa-with-SHA1",
        SHA256_RSA => "sha256WithRSAEncryption",
        SHA384_RSA => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        SHA256_ECDSA => "ecdsa-with-SHA256",
        SHA384_ECDSA => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "Ed25519",
        other => other,
    }
    .to_string()
}

/// RSA modulus bit length from the big-endian magnitude (leading zero octets skipped).
fn bit_length(magnitude: &[u8]) -> Option<u32> {
    let first = magnitude.iter().position(|b| *b != 0)?;
    let rest = magnitude.get(first..)?;
    let lead = rest.first()?.leading_zeros();
    let bytes = u32::try_from(rest.len()).ok()?;
    bytes.checked_mul(8)?.checked_sub(lead)
}

impl CertInfo {
    /// Parses a DER certificate; trailing bytes are an error.
    pub fn from_der(der: &[u8]) -> Result<CertInfo, ParseError> {
        let (rest, cert) =
            X509Certificate::from_der(der).map_err(|e| ParseError::Invalid(e.to_string()))?;
        if !rest.is_empty() {
            return Err(ParseError::Trailing(rest.len()));
        }
        let signature_oid = cert.signature_algorithm.algorithm.to_id_string();
        let spki = cert.public_key();
        let key_bits = match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => bit_length(rsa.modulus),
            Ok(x509_parser::public_key::PublicKey::EC(_)) => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|o| o.to_id_string());
                match curve.as_deref() {
                    Some("1.2.840.10045.3.1.7") => Some(256),
                    Some("1.3.132.0.34") => Some(384),
                    Some("1.3.132.0.35") => Some(521),
                    _ => None,
                }
            }
            _ => None,
        };
        let ski = cert
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
                _ => None,
            });
        let names_equal = cert.subject().as_raw() == cert.issuer().as_raw();
        let self_signed = names_equal
            && match cert.verify_signature(None) {
                Ok(()) => true,
                Err(X509Error::SignatureUnsupportedAlgorithm) => true,
                Err(_) => false,
            };
        Ok(CertInfo {
            der: der.to_vec(),
            thumbprint: upper_hex(&Sha1::digest(der)),
            sha256: upper_hex(&Sha256::digest(der)),
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            is_ca: cert.is_ca(),
            self_signed,
            signature_algorithm: sig_name(&signature_oid),
            signature_oid,
            key_bits,
            tbs: cert.tbs_certificate.as_ref().to_vec(),
            spki: spki.raw.to_vec(),
            public_key_bits: spki.subject_public_key.data.to_vec(),
            ski,
        })
    }

    /// A short name for messages: the subject's CN if any, else the whole subject.
    pub fn short_name(&self) -> String {
        self.subject
            .split(", ")
            .find_map(|p| p.strip_prefix("CN="))
            .map(str::to_string)
            .unwrap_or_else(|| self.subject.clone())
    }

    /// Whether the signature uses SHA-1 (or MD5).
    pub fn weak_signature(&self) -> bool {
        matches!(
            self.signature_oid.as_str(),
            SHA1_RSA | SHA1_RSA_OIW | SHA1_ECDSA | SHA1_DSA | "1.2.840.113549.1.1.4"
        )
    }

    /// The data of a derivable property (§4), or `None` when peforge does not compute it for
    /// this certificate (unknown id, 0x0F with an unconfirmed hash, 0x5C for an unknown key).
    pub fn property(&self, id: u32) -> Option<Vec<u8>> {
        match id {
            prop::SHA1_HASH => Some(Sha1::digest(&self.der).to_vec()),
            prop::MD5_HASH => Some(Md5::digest(&self.der).to_vec()),
            prop::SHA256_HASH => Some(Sha256::digest(&self.der).to_vec()),
            prop::SIGNATURE_HASH => match self.signature_oid.as_str() {
                SHA1_RSA | SHA1_RSA_OIW => Some(Sha1::digest(&self.tbs).to_vec()),
                SHA256_RSA | SHA256_ECDSA => Some(Sha256::digest(&self.tbs).to_vec()),
                SHA384_RSA | SHA384_ECDSA => Some(Sha384::digest(&self.tbs).to_vec()),
                _ => None,
            },
            prop::KEY_IDENTIFIER => Some(
                self.ski
                    .clone()
                    .unwrap_or_else(|| Sha1::digest(&self.spki).to_vec()),
            ),
            prop::SUBJECT_PUBLIC_KEY_MD5_HASH => Some(Md5::digest(&self.public_key_bits).to_vec()),
            prop::SUBJECT_PUB_KEY_BIT_LENGTH => self.key_bits.map(|b| b.to_le_bytes().to_vec()),
            prop::CERTIFICATE => Some(self.der.clone()),
            _ => None,
        }
    }
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (UTC), the one time format of peforge's
/// output; a time outside the representable range prints as its raw number.
pub fn format_time(t: i64) -> String {
    const FORMAT: &[::time::format_description::FormatItem<'static>] =
        ::time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    ::time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(FORMAT).ok())
        .unwrap_or_else(|| format!("@{t}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_time(2_145_916_799), "2037-12-31T23:59:59Z");
        assert_eq!(format_time(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn bits() {
        assert_eq!(bit_length(&[0x00, 0x80, 0]), Some(16));
        assert_eq!(bit_length(&[0x01, 0]), Some(9));
        assert_eq!(bit_length(&[0, 0]), None);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(CertInfo::from_der(b"garbage").is_err());
    }
}
