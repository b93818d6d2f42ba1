//! The media certificate: PKCS#12 (RFC 7292) read and re-protect for `_SMSTSMediaPFX`
//! (`shared/specs/boot-media.md` §9).
//!
//! ConfigMgr stores the media's client-authentication certificate and private key as a hex
//! PKCS#12 whose password is the first 31 characters of `_SMSMediaGuid`. [`reprotect`] opens a
//! PFX the administrator exported (password-protected with their own password) and writes a new
//! PKCS#12 with the same certificates, key and bag attributes (friendly name, local key id, the
//! Microsoft CSP name) protected with the media password.
//!
//! Reading accepts what Windows and OpenSSL export: PBES2 (PBKDF2 + AES-CBC, the modern
//! "AES256-SHA256" export) and the PKCS#12 PBEs `pbeWithSHAAnd3-KeyTripleDES-CBC` and
//! `pbeWithSHAAnd40BitRC2-CBC`/`128BitRC2-CBC` (legacy exports), with SHA-1 or SHA-2 MACs.
//! Writing uses `pbeWithSHAAnd3-KeyTripleDES-CBC` for both the key and the certificate bag with
//! an HMAC-SHA1 MAC and 2000 iterations — the format Windows' `PFXExportCertStoreEx` writes by
//! default and every `PFXImportCertStore` (so every WinPE) reads. Salts come from a
//! [`SaltSource`], so a build with `SOURCE_DATE_EPOCH` is byte-reproducible.
//!
//! Encoding is strict DER (the `der` crate): a BER-encoded PFX is refused with a hint.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, InnerIvInit, KeyIvInit, block_padding::Pkcs7};
use der::asn1::OctetString;
use der::{Any, Decode, Encode};
use hmac::Mac as _;
use pkcs12::kdf::{Pkcs12KeyType, derive_key_utf8};
use pkcs12::pbe_params::{EncryptedPrivateKeyInfo, Pkcs12PbeParams};
use pkcs12::safe_bag::SafeBag;
use sha2::Digest;
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

const OID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const OID_ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const OID_PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// Iterations for the PBEs and the MAC of a written PFX (Windows' default).
pub const ITERATIONS: i32 = 2000;
/// Largest PFX accepted.
pub const MAX_LEN: usize = 1 << 20;

/// Errors opening or writing a PKCS#12.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Not a DER PKCS#12.
    #[error("{path}: not a PKCS#12 (PFX) file in DER encoding ({cause})")]
    NotPkcs12 {
        /// The file.
        path: String,
        /// The decoder's message.
        cause: String,
    },
    /// The MAC does not verify: wrong password.
    #[error("{path}: wrong PFX password (the integrity check failed)")]
    WrongPassword {
        /// The file.
        path: String,
    },
    /// An algorithm this tool does not implement.
    #[error("{path}: unsupported PKCS#12 algorithm {oid}")]
    Unsupported {
        /// The file.
        path: String,
        /// The algorithm OID.
        oid: String,
    },
    /// Decryption of a bag failed.
    #[error("{path}: cannot decrypt the PFX content ({what})")]
    Decrypt {
        /// The file.
        path: String,
        /// What failed.
        what: String,
    },
    /// The PFX has no private key or no certificate.
    #[error(
        "{path}: the PFX holds {keys} private key(s) and {certs} certificate(s); a media certificate needs one key and its certificate"
    )]
    Incomplete {
        /// The file.
        path: String,
        /// Private keys found.
        keys: usize,
        /// Certificates found.
        certs: usize,
    },
    /// The file is larger than [`MAX_LEN`].
    #[error("{path}: the PFX is larger than {MAX_LEN} bytes")]
    TooLarge {
        /// The file.
        path: String,
    },
    /// Encoding the new PFX failed.
    #[error("encoding the media PFX failed: {0}")]
    Encode(String),
}

impl Error {
    /// A one-line suggestion of what the user can do about this error.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NotPkcs12 { .. } => Some(
                "export the certificate with its private key as .pfx (certlm.msc → Export → Yes, export the private key), or convert with `openssl pkcs12 -export`".into(),
            ),
            Error::WrongPassword { .. } => {
                Some("put the PFX's export password in the file given to --media-cert-password-file".into())
            }
            Error::Unsupported { .. } | Error::Decrypt { .. } => Some(
                "re-export the PFX with AES256-SHA256 or TripleDES-SHA1 encryption (or `openssl pkcs12 -export -keypbe AES-256-CBC -certpbe AES-256-CBC`)".into(),
            ),
            Error::Incomplete { .. } => Some(
                "export the media client-authentication certificate together with its private key".into(),
            ),
            _ => None,
        }
    }
}

/// Where salts come from: random for normal builds, derived from the inputs for reproducible
/// builds (`SOURCE_DATE_EPOCH`).
#[derive(Debug, Clone)]
pub enum SaltSource {
    /// Operating-system randomness.
    Random,
    /// SHA-256 of this seed and a per-use label (the seed is a hash of the build's inputs).
    Derived([u8; 32]),
}

impl SaltSource {
    fn salt(&self, label: &str) -> Result<[u8; 20], Error> {
        let mut out = [0u8; 20];
        match self {
            SaltSource::Random => getrandom::getrandom(&mut out)
                .map_err(|e| Error::Encode(format!("no randomness: {e}")))?,
            SaltSource::Derived(seed) => {
                let mut h = sha2::Sha256::new();
                h.update(b"peforge pkcs12 salt\0");
                h.update(seed);
                h.update(label.as_bytes());
                let d = h.finalize();
                out.copy_from_slice(d.get(..20).unwrap_or(&[0u8; 20]));
            }
        }
        Ok(out)
    }
}

/// Non-secret facts about a PFX's first certificate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CertInfo {
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// notBefore, RFC 3339.
    pub not_before: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
    /// notAfter as Unix seconds (for expiry checks).
    pub not_after_unix: i64,
    /// notBefore as Unix seconds.
    pub not_before_unix: i64,
    /// Whether the extended key usage allows client authentication (`None`: no EKU extension,
    /// so any purpose).
    pub client_auth: Option<bool>,
    /// SHA-1 thumbprint, upper-case hex.
    pub thumbprint: String,
}

/// The content of a PFX: bags decrypted (key bags hold the plain PKCS#8).
pub struct Contents {
    /// Certificate bags (DER of the `CertBag`) with their attributes.
    certs: Vec<SafeBag>,
    /// Private keys: plain PKCS#8 DER and the bag's attributes.
    keys: Vec<(Zeroizing<Vec<u8>>, Option<x509_attrs::Attributes>)>,
}

/// Bag attribute types (the X.509 attribute set PKCS#12 bags carry).
pub mod x509_attrs {
    pub use cms::cert::x509::attr::Attributes;
}

impl std::fmt::Debug for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contents")
            .field("certs", &self.certs.len())
            .field("keys", &self.keys.len())
            .finish()
    }
}

/// The PKCS#12 key derivation (RFC 7292 appendix B) with a password given as UTF-8.
fn kdf<D>(
    password: &str,
    salt: &[u8],
    ty: Pkcs12KeyType,
    iterations: i32,
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, Error>
where
    D: Digest + digest::FixedOutputReset + digest::core_api::BlockSizeUser,
{
    derive_key_utf8::<D>(password, salt, ty, iterations, len)
        .map(Zeroizing::new)
        .map_err(|e| Error::Encode(format!("key derivation: {e}")))
}

fn pbe_params(alg: &AlgorithmIdentifierOwned, path: &str) -> Result<Pkcs12PbeParams, Error> {
    let der = alg
        .parameters
        .as_ref()
        .and_then(|p| p.to_der().ok())
        .unwrap_or_default();
    Pkcs12PbeParams::from_der(&der).map_err(|e| Error::Decrypt {
        path: path.into(),
        what: format!("PBE parameters: {e}"),
    })
}

/// Decrypts `data` encrypted with `alg` under `password`.
fn decrypt(
    alg: &AlgorithmIdentifierOwned,
    data: &[u8],
    password: &str,
    path: &str,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let fail = |what: &str| Error::Decrypt {
        path: path.into(),
        what: what.into(),
    };
    let oid = alg.oid;
    if oid == OID_PBES2 {
        let der = alg.to_der().map_err(|e| fail(&e.to_string()))?;
        let scheme = pkcs5::EncryptionScheme::from_der(&der).map_err(|_| Error::Unsupported {
            path: path.into(),
            oid: oid.to_string(),
        })?;
        return scheme
            .decrypt(password, data)
            .map(Zeroizing::new)
            .map_err(|_| Error::WrongPassword { path: path.into() });
    }
    let p = pbe_params(alg, path)?;
    let iters = p.iterations;
    let salt = p.salt.as_bytes();
    let key_of =
        |len: usize| kdf::<sha1::Sha1>(password, salt, Pkcs12KeyType::EncryptionKey, iters, len);
    let iv = kdf::<sha1::Sha1>(password, salt, Pkcs12KeyType::Iv, iters, 8)?;
    let mut buf = Zeroizing::new(data.to_vec());
    let wrong = || Error::WrongPassword { path: path.into() };
    let n = if oid == pkcs12::PKCS_12_PBE_WITH_SHAAND3_KEY_TRIPLE_DES_CBC {
        let key = key_of(24)?;
        cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .map_err(|_| fail("key size"))?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map_err(|_| wrong())?
            .len()
    } else if oid == pkcs12::PKCS_12_PBEWITH_SHAAND40_BIT_RC2_CBC
        || oid == pkcs12::PKCS_12_PBE_WITH_SHAAND128_BIT_RC2_CBC
    {
        let bits = if oid == pkcs12::PKCS_12_PBEWITH_SHAAND40_BIT_RC2_CBC {
            40
        } else {
            128
        };
        let key = key_of(bits / 8)?;
        let rc2 = rc2::Rc2::new_with_eff_key_len(&key, bits);
        let iv_arr: [u8; 8] = iv.as_slice().try_into().map_err(|_| fail("iv size"))?;
        cbc::Decryptor::<rc2::Rc2>::inner_iv_init(rc2, &iv_arr.into())
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map_err(|_| wrong())?
            .len()
    } else {
        return Err(Error::Unsupported {
            path: path.into(),
            oid: oid.to_string(),
        });
    };
    buf.truncate(n);
    Ok(buf)
}

fn verify_mac(
    pfx: &pkcs12::pfx::Pfx,
    content: &[u8],
    password: &str,
    path: &str,
) -> Result<(), Error> {
    let Some(mac) = &pfx.mac_data else {
        return Ok(());
    };
    let salt = mac.mac_salt.as_bytes();
    let it = mac.iterations;
    let alg = mac.mac.algorithm.oid;
    macro_rules! check {
        ($d:ty, $len:expr) => {{
            let key = kdf::<$d>(password, salt, Pkcs12KeyType::Mac, it, $len)?;
            let mut h = <hmac::Hmac<$d>>::new_from_slice(&key).map_err(|e| Error::Decrypt {
                path: path.into(),
                what: e.to_string(),
            })?;
            h.update(content);
            h.finalize().into_bytes().to_vec()
        }};
    }
    let computed = if alg == OID_SHA1 {
        check!(sha1::Sha1, 20)
    } else if alg == OID_SHA256 {
        check!(sha2::Sha256, 32)
    } else if alg == OID_SHA384 {
        check!(sha2::Sha384, 48)
    } else if alg == OID_SHA512 {
        check!(sha2::Sha512, 64)
    } else {
        return Err(Error::Unsupported {
            path: path.into(),
            oid: alg.to_string(),
        });
    };
    if bool::from(computed.as_slice().ct_eq(mac.mac.digest.as_bytes())) {
        Ok(())
    } else {
        Err(Error::WrongPassword { path: path.into() })
    }
}

fn octets_of(any: &Any, path: &str) -> Result<Vec<u8>, Error> {
    any.decode_as::<OctetString>()
        .map(|o| o.as_bytes().to_vec())
        .map_err(|e| Error::NotPkcs12 {
            path: path.into(),
            cause: e.to_string(),
        })
}

/// Opens a PFX with its password; verifies the MAC and decrypts every bag.
pub fn open(bytes: &[u8], password: &str, path: &str) -> Result<Contents, Error> {
    if bytes.len() > MAX_LEN {
        return Err(Error::TooLarge { path: path.into() });
    }
    let not = |e: der::Error| Error::NotPkcs12 {
        path: path.into(),
        cause: e.to_string(),
    };
    let pfx = pkcs12::pfx::Pfx::from_der(bytes).map_err(not)?;
    if pfx.auth_safe.content_type != OID_DATA {
        return Err(Error::Unsupported {
            path: path.into(),
            oid: pfx.auth_safe.content_type.to_string(),
        });
    }
    let auth_der = octets_of(&pfx.auth_safe.content, path)?;
    verify_mac(&pfx, &auth_der, password, path)?;
    let infos: Vec<cms::content_info::ContentInfo> = Vec::from_der(&auth_der).map_err(not)?;
    let mut contents = Contents {
        certs: Vec::new(),
        keys: Vec::new(),
    };
    for ci in infos {
        let safe_der: Zeroizing<Vec<u8>> = if ci.content_type == OID_DATA {
            Zeroizing::new(octets_of(&ci.content, path)?)
        } else if ci.content_type == OID_ENCRYPTED_DATA {
            let ed: cms::encrypted_data::EncryptedData = ci.content.decode_as().map_err(not)?;
            let enc = ed
                .enc_content_info
                .encrypted_content
                .as_ref()
                .map(|o| o.as_bytes())
                .unwrap_or_default();
            decrypt(&ed.enc_content_info.content_enc_alg, enc, password, path)?
        } else {
            return Err(Error::Unsupported {
                path: path.into(),
                oid: ci.content_type.to_string(),
            });
        };
        let bags: Vec<SafeBag> = Vec::from_der(&safe_der).map_err(not)?;
        for mut bag in bags {
            // The pkcs12 crate decodes bagValue with its `[0] EXPLICIT` wrapper but encodes it
            // by adding one: keep the inner value only.
            bag.bag_value = der::asn1::AnyRef::from_der(&bag.bag_value)
                .map(|a| a.value().to_vec())
                .map_err(not)?;
            if bag.bag_id == pkcs12::PKCS_12_CERT_BAG_OID {
                contents.certs.push(bag);
            } else if bag.bag_id == pkcs12::PKCS_12_PKCS8_KEY_BAG_OID {
                let epki = EncryptedPrivateKeyInfo::from_der(&bag.bag_value).map_err(not)?;
                let plain = decrypt(
                    &epki.encryption_algorithm,
                    epki.encrypted_data.as_bytes(),
                    password,
                    path,
                )?;
                contents.keys.push((plain, bag.bag_attributes));
            } else if bag.bag_id == pkcs12::PKCS_12_KEY_BAG_OID {
                contents
                    .keys
                    .push((Zeroizing::new(bag.bag_value.clone()), bag.bag_attributes));
            }
        }
    }
    if contents.keys.len() != 1 || contents.certs.is_empty() {
        return Err(Error::Incomplete {
            path: path.into(),
            keys: contents.keys.len(),
            certs: contents.certs.len(),
        });
    }
    Ok(contents)
}

impl Contents {
    /// Facts about the first certificate (normally the end-entity certificate that matches the key).
    pub fn cert_info(&self) -> Option<CertInfo> {
        let bag = self.certs.first()?;
        let cb = pkcs12::cert_type::CertBag::from_der(&bag.bag_value).ok()?;
        cert_info(cb.cert_value.as_bytes())
    }
}

/// Facts about a DER certificate.
pub fn cert_info(der: &[u8]) -> Option<CertInfo> {
    let (_, c) = x509_parser::parse_x509_certificate(der).ok()?;
    let v = c.validity();
    Some(CertInfo {
        subject: c.subject().to_string(),
        issuer: c.issuer().to_string(),
        not_before: crate::cert::x509::format_time(v.not_before.timestamp()),
        not_after: crate::cert::x509::format_time(v.not_after.timestamp()),
        not_after_unix: v.not_after.timestamp(),
        not_before_unix: v.not_before.timestamp(),
        client_auth: c
            .extended_key_usage()
            .ok()
            .flatten()
            .map(|e| e.value.client_auth || e.value.any),
        thumbprint: hex::encode_upper(sha1::Sha1::digest(der)),
    })
}

fn pbe_alg(salt: &[u8]) -> Result<AlgorithmIdentifierOwned, Error> {
    let params = Pkcs12PbeParams {
        salt: OctetString::new(salt).map_err(|e| Error::Encode(e.to_string()))?,
        iterations: ITERATIONS,
    };
    let der = params.to_der().map_err(|e| Error::Encode(e.to_string()))?;
    Ok(AlgorithmIdentifierOwned {
        oid: pkcs12::PKCS_12_PBE_WITH_SHAAND3_KEY_TRIPLE_DES_CBC,
        parameters: Some(Any::from_der(&der).map_err(|e| Error::Encode(e.to_string()))?),
    })
}

fn encrypt_3des(plain: &[u8], password: &str, salt: &[u8]) -> Result<Vec<u8>, Error> {
    let key = kdf::<sha1::Sha1>(password, salt, Pkcs12KeyType::EncryptionKey, ITERATIONS, 24)?;
    let iv = kdf::<sha1::Sha1>(password, salt, Pkcs12KeyType::Iv, ITERATIONS, 8)?;
    let pad = 8 - plain.len() % 8;
    let mut buf = Zeroizing::new(Vec::with_capacity(plain.len() + pad));
    buf.extend_from_slice(plain);
    buf.resize(plain.len() + pad, 0);
    let n = cbc::Encryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
        .map_err(|e| Error::Encode(e.to_string()))?
        .encrypt_padded_mut::<Pkcs7>(&mut buf, plain.len())
        .map_err(|e| Error::Encode(e.to_string()))?
        .len();
    Ok(buf.get(..n).unwrap_or_default().to_vec())
}

fn content_info(
    oid: ObjectIdentifier,
    value_der: &[u8],
) -> Result<cms::content_info::ContentInfo, Error> {
    Ok(cms::content_info::ContentInfo {
        content_type: oid,
        content: Any::from_der(value_der).map_err(|e| Error::Encode(e.to_string()))?,
    })
}

impl Contents {
    /// Writes a new PFX protected with `password` (3DES PBE, HMAC-SHA1, [`ITERATIONS`]).
    pub fn write(&self, password: &str, salts: &SaltSource) -> Result<Vec<u8>, Error> {
        let enc = |e: der::Error| Error::Encode(e.to_string());
        // Certificates: one SafeContents, encrypted into an EncryptedData.
        let certs_der = self.certs.to_der().map_err(enc)?;
        let cert_salt = salts.salt("certificates")?;
        let ed = cms::encrypted_data::EncryptedData {
            version: cms::content_info::CmsVersion::V0,
            enc_content_info: cms::enveloped_data::EncryptedContentInfo {
                content_type: OID_DATA,
                content_enc_alg: pbe_alg(&cert_salt)?,
                encrypted_content: Some(
                    OctetString::new(encrypt_3des(&certs_der, password, &cert_salt)?)
                        .map_err(enc)?,
                ),
            },
            unprotected_attrs: None,
        };
        // Keys: shrouded key bags in a plain data SafeContents.
        let mut key_bags = Vec::new();
        for (n, (pkcs8, attrs)) in self.keys.iter().enumerate() {
            let salt = salts.salt(&format!("key{n}"))?;
            let epki = EncryptedPrivateKeyInfo {
                encryption_algorithm: pbe_alg(&salt)?,
                encrypted_data: OctetString::new(encrypt_3des(pkcs8, password, &salt)?)
                    .map_err(enc)?,
            };
            key_bags.push(SafeBag {
                bag_id: pkcs12::PKCS_12_PKCS8_KEY_BAG_OID,
                bag_value: epki.to_der().map_err(enc)?,
                bag_attributes: attrs.clone(),
            });
        }
        let keys_der = key_bags.to_der().map_err(enc)?;
        let auth_safe = vec![
            content_info(OID_ENCRYPTED_DATA, &ed.to_der().map_err(enc)?)?,
            content_info(
                OID_DATA,
                &OctetString::new(keys_der)
                    .map_err(enc)?
                    .to_der()
                    .map_err(enc)?,
            )?,
        ];
        let auth_der = auth_safe.to_der().map_err(enc)?;
        let mac_salt = salts.salt("mac")?;
        let mac_key = kdf::<sha1::Sha1>(password, &mac_salt, Pkcs12KeyType::Mac, ITERATIONS, 20)?;
        let mut h = <hmac::Hmac<sha1::Sha1>>::new_from_slice(&mac_key)
            .map_err(|e| Error::Encode(e.to_string()))?;
        h.update(&auth_der);
        let digest = h.finalize().into_bytes();
        let pfx = pkcs12::pfx::Pfx {
            version: pkcs12::pfx::Version::V3,
            auth_safe: content_info(
                OID_DATA,
                &OctetString::new(auth_der)
                    .map_err(enc)?
                    .to_der()
                    .map_err(enc)?,
            )?,
            mac_data: Some(pkcs12::mac_data::MacData {
                mac: pkcs12::digest_info::DigestInfo {
                    algorithm: AlgorithmIdentifierOwned {
                        oid: OID_SHA1,
                        parameters: Some(Any::null()),
                    },
                    digest: OctetString::new(digest.to_vec()).map_err(enc)?,
                },
                mac_salt: OctetString::new(mac_salt.to_vec()).map_err(enc)?,
                iterations: ITERATIONS,
            }),
        };
        pfx.to_der().map_err(enc)
    }
}

/// PKCS#9 localKeyId: pairs the key bag with its certificate bag on import.
const OID_LOCAL_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.21");

/// Bag attributes holding one PKCS#9 `localKeyId` (what Windows and OpenSSL use to pair a
/// key with its certificate on import).
pub fn local_key_id(id: &[u8]) -> Result<x509_attrs::Attributes, Error> {
    let enc = |e: der::Error| Error::Encode(e.to_string());
    let value =
        Any::from_der(&OctetString::new(id).map_err(enc)?.to_der().map_err(enc)?).map_err(enc)?;
    let attr = cms::cert::x509::attr::Attribute {
        oid: OID_LOCAL_KEY_ID,
        values: der::asn1::SetOfVec::try_from(vec![value]).map_err(enc)?,
    };
    der::asn1::SetOfVec::try_from(vec![attr]).map_err(enc)
}

impl Contents {
    /// Contents made of one certificate (DER) and its private key (plain PKCS#8 DER), both
    /// with `attrs`: what a new media identity writes ([`super::mediacert`]).
    pub fn from_parts(
        cert_der: &[u8],
        pkcs8: Zeroizing<Vec<u8>>,
        attrs: Option<x509_attrs::Attributes>,
    ) -> Result<Contents, Error> {
        let enc = |e: der::Error| Error::Encode(e.to_string());
        let cert_bag = pkcs12::cert_type::CertBag {
            cert_id: pkcs12::PKCS_12_X509_CERT_OID,
            cert_value: OctetString::new(cert_der).map_err(enc)?,
        };
        Ok(Contents {
            certs: vec![SafeBag {
                bag_id: pkcs12::PKCS_12_CERT_BAG_OID,
                bag_value: cert_bag.to_der().map_err(enc)?,
                bag_attributes: attrs.clone(),
            }],
            keys: vec![(pkcs8, attrs)],
        })
    }
}

/// The PKCS#12 password ConfigMgr uses for `_SMSTSMediaPFX`: the first 31 characters of
/// `_SMSMediaGuid` exactly as stored (§9).
pub fn media_pfx_password(media_guid: &str) -> Zeroizing<String> {
    Zeroizing::new(media_guid.chars().take(31).collect())
}

/// Opens `pfx` with `password` and re-protects it with the media password derived from
/// `media_guid`; returns the new PFX and facts about its certificate.
pub fn reprotect(
    pfx: &[u8],
    password: &str,
    media_guid: &str,
    salts: &SaltSource,
    path: &str,
) -> Result<(Zeroizing<Vec<u8>>, Option<CertInfo>), Error> {
    let c = open(pfx, password, path)?;
    let out = c.write(&media_pfx_password(media_guid), salts)?;
    Ok((Zeroizing::new(out), c.cert_info()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Contents {
        let cert_bag = pkcs12::cert_type::CertBag {
            cert_id: pkcs12::PKCS_12_X509_CERT_OID,
            cert_value: OctetString::new(vec![0x30, 0x03, 0x02, 0x01, 0x07]).unwrap(),
        };
        Contents {
            certs: vec![SafeBag {
                bag_id: pkcs12::PKCS_12_CERT_BAG_OID,
                bag_value: cert_bag.to_der().unwrap(),
                bag_attributes: None,
            }],
            keys: vec![(Zeroizing::new(b"not really a pkcs8 key".to_vec()), None)],
        }
    }

    #[test]
    fn write_open_round_trip_and_reproducible_salts() {
        let salts = SaltSource::Derived([7; 32]);
        let a = sample()
            .write("0123456789ABCDEF0123456789ABCDE", &salts)
            .unwrap();
        let b = sample()
            .write("0123456789ABCDEF0123456789ABCDE", &salts)
            .unwrap();
        assert_eq!(a, b, "derived salts make the output reproducible");
        let c = sample()
            .write("0123456789ABCDEF0123456789ABCDE", &SaltSource::Random)
            .unwrap();
        assert_ne!(a, c);
        let back = open(&a, "0123456789ABCDEF0123456789ABCDE", "t").unwrap();
        assert_eq!(back.keys[0].0.as_slice(), b"not really a pkcs8 key");
        assert_eq!(back.certs, sample().certs);
        assert!(matches!(
            open(&a, "wrong", "t"),
            Err(Error::WrongPassword { .. })
        ));
    }

    #[test]
    fn damaged_input_never_panics() {
        let good = sample().write("pw", &SaltSource::Derived([1; 32])).unwrap();
        for cut in 0..good.len() {
            let _ = open(&good[..cut], "pw", "t");
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..400 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut bad = good.clone();
            let i = (x as usize) % bad.len();
            bad[i] ^= (x >> 32) as u8 | 1;
            let _ = open(&bad, "pw", "t");
        }
    }

    #[test]
    fn media_password_is_31_characters() {
        let g = "{D3ADBEEF-0000-4000-8000-0123456789AB}";
        assert_eq!(
            media_pfx_password(g).as_str(),
            "{D3ADBEEF-0000-4000-8000-012345"
        );
    }
}
