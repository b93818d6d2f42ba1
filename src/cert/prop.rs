//! Property ids peforge knows (wincrypt names, §4).

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
