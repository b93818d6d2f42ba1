//! Which hive a file is (SOFTWARE, SYSTEM, BCD, a user hive, ...), from the keys under its root,
//! so commands that need the SOFTWARE hive can say "wrong file" instead of "nothing found".
//!
//! The markers are the top-level keys Windows creates in each hive; a real SOFTWARE hive always
//! has `Microsoft\Windows\CurrentVersion` and `Microsoft\Windows NT\CurrentVersion`. A hive with
//! either of those and none of the other hives' markers counts as SOFTWARE.

use super::hive::{Error, Hive};

/// What a hive looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// `Windows\System32\config\SOFTWARE`.
    Software,
    /// `Windows\System32\config\SYSTEM` (`Select`, `ControlSet00n`, `MountedDevices`).
    System,
    /// A boot configuration store, `Boot\BCD` or `EFI\Microsoft\Boot\BCD` (`Objects`, `Description`).
    Bcd,
    /// A user hive, `NTUSER.DAT` or `config\DEFAULT` (`Control Panel`, `Environment`, ...).
    User,
    /// `config\SAM`.
    Sam,
    /// `config\SECURITY`.
    Security,
    /// `config\COMPONENTS`.
    Components,
    /// None of the above (e.g. an empty hive).
    Unknown,
}

impl Kind {
    /// How to name this kind in a message.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Software => "a SOFTWARE hive",
            Kind::System => "it looks like a SYSTEM hive: it has Select/ControlSet keys",
            Kind::Bcd => "it looks like a BCD boot store: it has Objects and Description keys",
            Kind::User => {
                "it looks like a user hive (NTUSER.DAT or DEFAULT): it has Control Panel/Environment keys"
            }
            Kind::Sam => "it looks like the SAM hive",
            Kind::Security => "it looks like the SECURITY hive",
            Kind::Components => "it looks like the COMPONENTS hive",
            Kind::Unknown => {
                "it has no Microsoft\\Windows\\CurrentVersion or Microsoft\\Windows NT\\CurrentVersion key"
            }
        }
    }
}

/// Classifies an open hive by its root keys.
pub fn detect(h: &Hive) -> Result<Kind, Error> {
    let root = h.root();
    let names: Vec<String> = h
        .children(root)?
        .into_iter()
        .map(|n| h.name(n).to_ascii_lowercase())
        .collect();
    let has = |n: &str| names.iter().any(|x| x == n);
    let kind = if has("objects") && has("description") {
        Kind::Bcd
    } else if has("select")
        || has("mounteddevices")
        || names.iter().any(|n| n.starts_with("controlset0"))
    {
        Kind::System
    } else if has("sam") {
        Kind::Sam
    } else if has("policy") && has("rxact") {
        Kind::Security
    } else if has("deriveddata") || has("canonicaldata") {
        Kind::Components
    } else if has("control panel") || has("environment") || has("appevents") || has("console") {
        Kind::User
    } else if h.lookup("Microsoft\\Windows\\CurrentVersion")?.is_some()
        || h.lookup("Microsoft\\Windows NT\\CurrentVersion")?.is_some()
    {
        Kind::Software
    } else {
        Kind::Unknown
    };
    Ok(kind)
}

/// Fails with [`Error::NotSoftware`] unless `h` is a SOFTWARE hive.
pub fn require_software(h: &Hive) -> Result<(), Error> {
    match detect(h)? {
        Kind::Software => Ok(()),
        k => Err(Error::NotSoftware {
            path: h.path().into(),
            found: k.describe().into(),
            want: "Windows\\System32\\config\\SOFTWARE of the same Windows installation or image",
        }),
    }
}
