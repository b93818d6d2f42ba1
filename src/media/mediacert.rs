//! A new self-signed media identity for `_SMSTSMediaPFX` (`shared/specs/boot-media.md` §9,
//! option (b)), as the console's "Create self-signed media certificate" does.
//!
//! [`create`] makes an RSA-2048 key and a self-signed X.509 v3 certificate signed with
//! SHA-256 (PKCS#1 v1.5) that allows client authentication (EKU 1.3.6.1.5.5.7.3.2), valid for a
//! number of days from a start time, and protects key and certificate with the PKCS#12 writer of
//! [`super::pfx`] under the media password (the first 31 characters of the media GUID).
//!
//! With a seed (builds under `SOURCE_DATE_EPOCH`) the key, the serial number and the PKCS#12
//! salts are derived from it (ChaCha20 seeded with SHA-256 of the seed), so two builds with the
//! same inputs are byte-identical. The subject `CN=SCCM Boot Media <site code>` is a peforge
//! choice: what the console writes is not publicly known.
//!
//! The site must know the certificate before the medium can authenticate (§9). [`Registration`]
//! holds what an administrator submits through the SMS Provider
//! (`SMS_Site.SubmitRegistrationRecord`); that the console registers media with
//! `SMSID = _SMSMediaGuid` and `Type = 1` is **inferred** (§9, §11 item 9). It holds no private
//! key and no password.

use std::str::FromStr;

use der::Encode;
use rand_core::{CryptoRngCore, SeedableRng};
use rsa::pkcs8::EncodePrivateKey;
use serde::Serialize;
use sha2::Digest;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use zeroize::Zeroizing;

use super::pfx::{self, CertInfo, SaltSource};

/// RSA modulus size of a new media key (what the console's self-signed certificate uses).
pub const KEY_BITS: usize = 2048;
/// Default validity in days (the console's default: one year).
pub const DEFAULT_DAYS: u32 = 365;
/// Longest validity accepted, in days.
pub const MAX_DAYS: u32 = 3650;

/// The client-authentication extended key usage (id-kp-clientAuth).
const ID_KP_CLIENT_AUTH: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

/// A new media identity: the PKCS#12 for `_SMSTSMediaPFX` and the public facts.
pub struct Identity {
    /// The PKCS#12 (DER), protected with the media password.
    pub pfx: Zeroizing<Vec<u8>>,
    /// The certificate (DER).
    pub cert_der: Vec<u8>,
    /// Facts about the certificate.
    pub info: CertInfo,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// The subject of a new media certificate (a peforge choice; the console's is not public).
pub fn subject_for(site_code: &str) -> String {
    format!("CN=SCCM Boot Media {site_code}")
}

fn encode(e: impl std::fmt::Display) -> pfx::Error {
    pfx::Error::Encode(format!("new media certificate: {e}"))
}

/// Creates a self-signed media identity for `site_code`, valid `days` days from `not_before`
/// (Unix seconds), protected with the media password of `media_guid`. `seed` makes key and
/// serial reproducible; `salts` are the PKCS#12 salts.
pub fn create(
    site_code: &str,
    media_guid: &str,
    not_before: i64,
    days: u32,
    seed: Option<&[u8; 32]>,
    salts: &SaltSource,
) -> Result<Identity, pfx::Error> {
    if days == 0 || days > MAX_DAYS {
        return Err(encode(format!(
            "validity of {days} days is outside 1..={MAX_DAYS}"
        )));
    }
    let mut rng: Box<dyn CryptoRngCore> = match seed {
        Some(s) => {
            let mut h = sha2::Sha256::new();
            h.update(b"peforge media key\0");
            h.update(s);
            Box::new(rand_chacha::ChaCha20Rng::from_seed(h.finalize().into()))
        }
        None => Box::new(rand_core::OsRng),
    };
    let key = rsa::RsaPrivateKey::new(&mut rng, KEY_BITS).map_err(encode)?;
    // A positive 16-byte serial without a leading zero byte.
    let mut serial = [0u8; 16];
    rng.try_fill_bytes(&mut serial).map_err(encode)?;
    serial[0] = (serial[0] & 0x7F) | 0x40;

    let subject = Name::from_str(&subject_for(site_code)).map_err(encode)?;
    let end = i64::from(days)
        .checked_mul(86_400)
        .and_then(|d| not_before.checked_add(d))
        .ok_or_else(|| encode("validity end out of range"))?;
    let time = |t: i64| -> Result<Time, pfx::Error> {
        let secs = u64::try_from(t).map_err(encode)?;
        let dt = der::DateTime::from_unix_duration(std::time::Duration::from_secs(secs))
            .map_err(encode)?;
        Ok(Time::GeneralTime(
            der::asn1::GeneralizedTime::from_date_time(dt),
        ))
    };
    let validity = Validity {
        not_before: time(not_before)?,
        not_after: time(end)?,
    };
    let spki = SubjectPublicKeyInfoOwned::from_key(key.to_public_key()).map_err(encode)?;
    let pkcs8 = Zeroizing::new(key.to_pkcs8_der().map_err(encode)?.as_bytes().to_vec());
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
    let mut builder = CertificateBuilder::new(
        Profile::Leaf {
            issuer: subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: true,
        },
        SerialNumber::new(&serial).map_err(encode)?,
        validity,
        subject,
        spki,
        &signer,
    )
    .map_err(encode)?;
    builder
        .add_extension(&ExtendedKeyUsage(vec![ID_KP_CLIENT_AUTH]))
        .map_err(encode)?;
    let cert = builder
        .build::<rsa::pkcs1v15::Signature>()
        .map_err(encode)?;
    let cert_der = cert.to_der().map_err(encode)?;

    let attrs = pfx::local_key_id(&sha1::Sha1::digest(&cert_der))?;
    let contents = pfx::Contents::from_parts(&cert_der, pkcs8, Some(attrs))?;
    let out = contents.write(&pfx::media_pfx_password(media_guid), salts)?;
    let info = pfx::cert_info(&cert_der).ok_or_else(|| encode("cannot re-read the certificate"))?;
    Ok(Identity {
        pfx: Zeroizing::new(out),
        cert_der,
        info,
    })
}

/// What an administrator submits so the site knows a new media certificate (§9). Holds no
/// private key and no password. The `SMSID` is the media GUID: with the decrypted Variables.dat
/// its first 31 characters open the PFX, so the file is written readable by its owner only.
#[derive(Debug, Clone, Serialize)]
#[allow(non_snake_case)]
pub struct Registration {
    /// What this file is.
    pub description: String,
    /// That the registration details are inferred, not documented.
    pub inferred: String,
    /// The site code.
    pub site_code: String,
    /// `SMS_Certificate.SMSID`: the media GUID.
    pub SMSID: String,
    /// The certificate, upper-case hex DER (`SubmitRegistrationRecord`'s `Certificate`).
    pub Certificate: String,
    /// `Type` 1 = Boot Media.
    pub Type: u32,
    /// `KeyType` 1 = self-signed.
    pub KeyType: u32,
    /// Certificate subject.
    pub subject: String,
    /// SHA-1 thumbprint (as the console shows it).
    pub thumbprint: String,
    /// notBefore, RFC 3339.
    pub valid_from: String,
    /// notAfter, RFC 3339.
    pub valid_to: String,
    /// A PowerShell snippet that submits the record through the SMS Provider.
    pub powershell: Vec<String>,
}

impl Registration {
    /// The registration record of `identity` for the medium `media_guid` of site `site_code`.
    pub fn new(identity: &Identity, media_guid: &str, site_code: &str) -> Registration {
        Registration {
            description: "peforge: registration of a new self-signed boot media certificate; submit it through the SMS Provider so the site trusts the medium (Administration > Security > Certificates, type Boot Media)".into(),
            inferred: "INFERRED (shared/specs/boot-media.md §9, §11 item 9): SMS_Site.SubmitRegistrationRecord and SMS_Certificate (Type 1 = Boot Media, KeyType 1 = self-signed) are documented; that the console registers media with SMSID = _SMSMediaGuid, and the exact argument types, are not. Check the certificate appears under Certificates before using the medium.".into(),
            site_code: site_code.into(),
            SMSID: media_guid.into(),
            Certificate: hex::encode_upper(&identity.cert_der),
            Type: 1,
            KeyType: 1,
            subject: identity.info.subject.clone(),
            thumbprint: identity.info.thumbprint.clone(),
            valid_from: identity.info.not_before.clone(),
            valid_to: identity.info.not_after.clone(),
            powershell: vec![
                "# Run on a machine that reaches the SMS Provider, as a ConfigMgr administrator (inferred, see \"inferred\").".into(),
                "$r = Get-Content -Raw -LiteralPath '<this file>' | ConvertFrom-Json".into(),
                "$provider = '<SMS Provider server>'".into(),
                "Invoke-CimMethod -ComputerName $provider -Namespace \"root\\SMS\\site_$($r.site_code)\" -ClassName SMS_Site -MethodName SubmitRegistrationRecord -Arguments @{ SMSID = $r.SMSID; Certificate = $r.Certificate; Type = [uint32]$r.Type; ServerName = ''; UdaSetting = [uint32]0; IssuedCert = $false }".into(),
                "Get-CimInstance -ComputerName $provider -Namespace \"root\\SMS\\site_$($r.site_code)\" -ClassName SMS_Certificate -Filter \"SMSID='$($r.SMSID)'\"".into(),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_identity_is_reproducible_and_opens_with_the_guid() {
        let guid = "D3ADBEEF-0000-4000-8000-0123456789AB";
        let salts = SaltSource::Derived([3; 32]);
        let a = create("PS1", guid, 1_700_000_000, 365, Some(&[9; 32]), &salts).unwrap();
        let b = create("PS1", guid, 1_700_000_000, 365, Some(&[9; 32]), &salts).unwrap();
        assert_eq!(a.pfx.as_slice(), b.pfx.as_slice());
        assert_eq!(a.info.not_after_unix - a.info.not_before_unix, 365 * 86_400);
        assert_eq!(a.info.client_auth, Some(true));
        let c = pfx::open(&a.pfx, &pfx::media_pfx_password(guid), "t").unwrap();
        assert!(c.cert_info().is_some());
        assert!(create("PS1", guid, 0, 0, None, &salts).is_err());
    }
}
