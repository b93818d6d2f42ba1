//! The TOML profile: the Intune wizard's settings under short names (spec §4), read with spans so
//! every finding names `file:line:column`, and written back with the wizard's own words as
//! comments. Enumerations are kept as text here and checked by lint (ADE-006, ADE-035), so a typo
//! is a finding with a place, not a parse failure.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Error, Result};

/// An Apple Configurator certificate: a file (PEM or DER, relative to the profile) or the
/// base64 certificate as Graph stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CertRef {
    /// Path to a `.cer`/`.pem` file.
    File(String),
    /// Inline, as imported from Graph (`managementCertificates[]`).
    Inline {
        /// Base64 DER.
        certificate: String,
        /// SHA-1 thumbprint, hex (*inferred* form).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thumbprint: Option<String>,
    },
}

/// The Setup Assistant part of the wizard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupAssistant {
    /// Department (shown under About Configuration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Department phone (shown under Need Help).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_phone: Option<String>,
    /// Screens to hide: Apple skip keys or the wizard's names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hide: Vec<String>,
    /// Screens to show (the default; listing them documents the choice).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub show: Vec<String>,
}

/// Shared iPad settings (without user affinity only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedIpad {
    /// Shared iPad.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Maximum cached users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cached_users: Option<i64>,
    /// Seconds after screen lock before a password is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passcode_grace_seconds: Option<i64>,
    /// User-session inactivity sign-out, seconds (0 = never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_session_timeout_seconds: Option<i64>,
    /// Temporary session only (guest sign-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary_session_only: Option<bool>,
    /// Temporary-session inactivity sign-out, seconds (0 = never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary_session_timeout_seconds: Option<i64>,
}

/// Lint context about the devices (not sent anywhere).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Oldest iOS/iPadOS version the profile's devices run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ios: Option<String>,
    /// Device families the profile is assigned to: `ipad`, `iphone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_families: Option<Vec<String>>,
    /// Access is controlled otherwise (single-app kiosk), so hiding Passcode is intended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_app_kiosk: Option<bool>,
}

/// Values kept verbatim from an imported body that the settings above do not describe (or
/// describe differently), so `build` gives the same body back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kept {
    /// Keys written as they are (TOML values, converted to JSON).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keep: BTreeMap<String, toml::Value>,
    /// Keys whose value TOML cannot hold (null), as JSON text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keep_json: BTreeMap<String, String>,
    /// Keys the imported body did not have: `build` leaves them out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub omit: Vec<String>,
}

impl Kept {
    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.keep.is_empty() && self.keep_json.is_empty() && self.omit.is_empty()
    }
}

/// An ADE enrollment profile (spec §4 names).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Name (administrators only; the `enrollmentProfileName` of dynamic groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// User affinity: `user`, `none`, `entra-shared`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<String>,
    /// Authentication method: `company-portal`, `setup-assistant`, `setup-assistant-modern`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// Just-in-time registration (needs an SSO app-extension policy; not a Graph property).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jit: Option<bool>,
    /// Install Company Portal (Setup Assistant methods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_company_portal: Option<bool>,
    /// VPP token id used to install Company Portal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_portal_vpp_token: Option<String>,
    /// Run Company Portal in Single App Mode until authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_app_until_auth: Option<bool>,
    /// Supervised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervised: Option<bool>,
    /// Locked enrollment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_enrollment: Option<bool>,
    /// Sync with computers: `deny`, `allow`, `certificate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_with_computers: Option<String>,
    /// Apple Configurator certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configurator_certs: Option<Vec<CertRef>>,
    /// Await final configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub await_final_configuration: Option<bool>,
    /// Device name template (absent: no template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name_template: Option<String>,
    /// Cellular data plan activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cellular_activation: Option<bool>,
    /// Carrier activation URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cellular_activation_url: Option<String>,
    /// Entra group ids added at enrollment time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrollment_time_groups: Option<Vec<String>>,
    /// `isMandatory` (not in the wizard; Intune bodies send true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandatory: Option<bool>,
    /// Make it the token's default profile (`setDefaultProfile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
    /// Setup Assistant.
    #[serde(default, skip_serializing_if = "is_default")]
    pub setup_assistant: SetupAssistant,
    /// Shared iPad.
    #[serde(default, skip_serializing_if = "is_default")]
    pub shared_ipad: SharedIpad,
    /// Lint context.
    #[serde(default, skip_serializing_if = "is_default")]
    pub target: Target,
    /// Graph keys kept verbatim from an import.
    #[serde(default, skip_serializing_if = "Kept::is_empty")]
    pub graph: Kept,
    /// Apple keys kept verbatim from an import (and Apple-only keys such as `org_magic`).
    #[serde(default, skip_serializing_if = "Kept::is_empty")]
    pub apple: Kept,
}

fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

/// User affinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affinity {
    /// Enroll with user affinity.
    User,
    /// Enroll without user affinity.
    None,
    /// Microsoft Entra ID shared mode.
    EntraShared,
}

/// Authentication method (user affinity only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Company Portal.
    CompanyPortal,
    /// Setup Assistant (legacy).
    SetupAssistant,
    /// Setup Assistant with modern authentication.
    SetupAssistantModern,
}

/// Sync with computers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pairing {
    /// Deny all (`disallow`).
    Deny,
    /// Allow all (`allow`).
    Allow,
    /// Allow Apple Configurator by certificate (`requiresCertificate`).
    Certificate,
}

/// TOML spellings of the affinities.
pub const AFFINITIES: &[&str] = &["user", "none", "entra-shared"];
/// TOML spellings of the authentication methods.
pub const AUTHS: &[&str] = &[
    "company-portal",
    "setup-assistant",
    "setup-assistant-modern",
];
/// TOML spellings of sync with computers.
pub const PAIRINGS: &[&str] = &["deny", "allow", "certificate"];

impl Profile {
    /// The affinity, if set and valid.
    pub fn affinity(&self) -> Option<Affinity> {
        match self.affinity.as_deref()? {
            "user" => Some(Affinity::User),
            "none" => Some(Affinity::None),
            "entra-shared" => Some(Affinity::EntraShared),
            _ => None,
        }
    }
    /// The authentication method, if set and valid.
    pub fn auth(&self) -> Option<Auth> {
        match self.auth.as_deref()? {
            "company-portal" => Some(Auth::CompanyPortal),
            "setup-assistant" => Some(Auth::SetupAssistant),
            "setup-assistant-modern" => Some(Auth::SetupAssistantModern),
            _ => None,
        }
    }
    /// Sync with computers, if set and valid.
    pub fn pairing(&self) -> Option<Pairing> {
        match self.sync_with_computers.as_deref()? {
            "deny" => Some(Pairing::Deny),
            "allow" => Some(Pairing::Allow),
            "certificate" => Some(Pairing::Certificate),
            _ => None,
        }
    }
    /// Whether Shared iPad is on.
    pub fn shared_ipad_on(&self) -> bool {
        self.shared_ipad.enabled == Some(true)
    }

    /// Parses profile TOML; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Profile> {
        toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| super::line_col(text, s.start))
                .unwrap_or((0, 0));
            Error::Toml {
                path: path.into(),
                line,
                column,
                message: shorten_unknown(e.message().trim()).replace('\n', "; "),
            }
        })
    }

    /// The profile for an `init` preset.
    pub fn preset(preset: Preset) -> Profile {
        let mut p = Profile {
            description: Some(preset.description().into()),
            supervised: Some(true),
            locked_enrollment: Some(true),
            sync_with_computers: Some("deny".into()),
            // ADE-059: new profiles await final configuration (S1 L306).
            await_final_configuration: Some(true),
            device_name_template: Some("{{DEVICETYPE}}-{{SERIAL}}".into()),
            setup_assistant: SetupAssistant {
                department: Some("IT Service Desk".into()),
                department_phone: Some("+1 555 0100".into()),
                hide: [
                    "Passcode",
                    "Biometric",
                    "Location",
                    "Restore",
                    "Android",
                    "Privacy",
                    "Diagnostics",
                    "Siri",
                    "ScreenTime",
                    "SoftwareUpdate",
                    "WatchMigration",
                    "Appearance",
                    "DeviceToDeviceMigration",
                    "RestoreCompleted",
                    "UpdateCompleted",
                    "Welcome",
                ]
                .map(String::from)
                .to_vec(),
                show: vec!["AppleID".into(), "TOS".into()],
            },
            target: Target {
                min_ios: Some("15.0".into()),
                ..Target::default()
            },
            ..Profile::default()
        };
        match preset {
            Preset::UserModern => {
                p.name = Some("iOS corporate - modern authentication".into());
                p.affinity = Some("user".into());
                p.auth = Some("setup-assistant-modern".into());
                p.install_company_portal = Some(true);
                p.jit = Some(false);
            }
            Preset::UserCompanyPortal => {
                p.name = Some("iOS corporate - Company Portal".into());
                p.affinity = Some("user".into());
                p.auth = Some("company-portal".into());
                // ADE-058: await is not supported with Company Portal authentication.
                p.await_final_configuration = Some(false);
            }
            Preset::Userless => {
                p.name = Some("iOS userless".into());
                p.affinity = Some("none".into());
                p.install_company_portal = Some(false);
            }
            Preset::SharedIpad => {
                p.name = Some("iPadOS Shared iPad".into());
                p.affinity = Some("none".into());
                p.install_company_portal = Some(false);
                // ADE-060: await is not offered with Shared iPad.
                p.await_final_configuration = Some(false);
                // ADE-045: every pane is skipped on Shared iPad; choices have no effect.
                p.setup_assistant.hide.clear();
                p.setup_assistant.show.clear();
                p.shared_ipad = SharedIpad {
                    enabled: Some(true),
                    max_cached_users: Some(10),
                    passcode_grace_seconds: Some(300),
                    user_session_timeout_seconds: Some(0),
                    temporary_session_only: Some(false),
                    temporary_session_timeout_seconds: Some(0),
                };
                p.target.device_families = Some(vec!["ipad".into()]);
            }
            Preset::EntraShared => {
                p.name = Some("iOS Entra ID shared device mode".into());
                p.affinity = Some("entra-shared".into());
            }
        }
        p
    }
}

/// serde's "unknown field `x`, expected one of …" listing every setting becomes "unknown setting
/// `x` (did you mean `y`?)" when one name is close.
fn shorten_unknown(msg: &str) -> String {
    let Some(rest) = msg.strip_prefix("unknown field `") else {
        return msg.to_string();
    };
    let Some((name, expected)) = rest.split_once('`') else {
        return msg.to_string();
    };
    let best = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|c| (distance(name, c), c))
        .min();
    match best {
        Some((d, c)) if d <= 3 => format!("unknown setting `{name}` (did you mean `{c}`?)"),
        _ => msg.to_string(),
    }
}

/// Levenshtein distance (names are short).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// `init` presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// User affinity, Setup Assistant with modern authentication.
    UserModern,
    /// User affinity, Company Portal authentication.
    UserCompanyPortal,
    /// Without user affinity (kiosk, point of sale, shared utility devices).
    Userless,
    /// Shared iPad for Business.
    SharedIpad,
    /// Microsoft Entra ID shared device mode.
    EntraShared,
}

impl Preset {
    /// Every preset with its CLI name.
    pub const ALL: &[(Preset, &'static str)] = &[
        (Preset::UserModern, "user-modern"),
        (Preset::UserCompanyPortal, "user-company-portal"),
        (Preset::Userless, "userless"),
        (Preset::SharedIpad, "shared-ipad"),
        (Preset::EntraShared, "entra-shared"),
    ];
    fn description(self) -> &'static str {
        match self {
            Preset::UserModern => {
                "Corporate iPhone/iPad with a primary user; MFA in Setup Assistant"
            }
            Preset::UserCompanyPortal => {
                "Corporate iPhone/iPad with a primary user; sign-in in Company Portal"
            }
            Preset::Userless => "Kiosk, point-of-sale or shared utility device without user data",
            Preset::SharedIpad => "Shared iPad for Business: several users sign in on one iPad",
            Preset::EntraShared => {
                "Frontline shared device in Microsoft Entra ID shared device mode"
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Renders a TOML value on one line.
fn val(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(t) => {
            let inner: Vec<String> = t
                .iter()
                .map(|(k, x)| format!("{} = {}", key(k), val(x)))
                .collect();
            format!("{{ {} }}", inner.join(", "))
        }
        toml::Value::Array(a) => {
            let inner: Vec<String> = a.iter().map(val).collect();
            format!("[{}]", inner.join(", "))
        }
        x => x.to_string(),
    }
}

/// A TOML key, quoted when it is not bare.
fn key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        k.to_string()
    } else {
        // Always a one-line basic string: toml's Value renders text with a line break as a
        // multi-line string, which TOML does not allow as a key (fuzz/ade_profile finding).
        let mut out = String::from("\"");
        for c in k.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }
}

fn s(v: &str) -> toml::Value {
    toml::Value::String(v.into())
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        return "[]".into();
    }
    let mut out = String::from("[\n");
    for x in v {
        out.push_str(&format!("    {},\n", s(x)));
    }
    out.push(']');
    out
}

struct W(String);

impl W {
    fn comment(&mut self, c: &str) {
        for l in c.lines() {
            self.0.push_str("# ");
            self.0.push_str(l);
            self.0.push('\n');
        }
    }
    /// `key = value`, or the commented example when unset.
    fn set(&mut self, c: &str, k: &str, v: Option<String>, example: &str) {
        self.comment(c);
        match v {
            Some(v) => self.0.push_str(&format!("{k} = {v}\n")),
            None => self.0.push_str(&format!("# {k} = {example}\n")),
        }
        self.0.push('\n');
    }
}

fn ob(v: Option<bool>) -> Option<String> {
    v.map(|b| b.to_string())
}
fn os(v: &Option<String>) -> Option<String> {
    v.as_deref().map(|x| s(x).to_string())
}
fn oi(v: Option<i64>) -> Option<String> {
    v.map(|n| n.to_string())
}

fn kept(w: &mut W, table: &str, k: &Kept, what: &str) {
    if k.is_empty() {
        return;
    }
    w.comment(what);
    if !k.omit.is_empty() {
        w.0.push_str(&format!("[{table}]\nomit = {}\n\n", list(&k.omit)));
    }
    if !k.keep.is_empty() {
        w.0.push_str(&format!("[{table}.keep]\n"));
        for (n, v) in &k.keep {
            w.0.push_str(&format!("{} = {}\n", key(n), val(v)));
        }
        w.0.push('\n');
    }
    if !k.keep_json.is_empty() {
        w.0.push_str(&format!("[{table}.keep_json]\n"));
        for (n, v) in &k.keep_json {
            w.0.push_str(&format!("{} = {}\n", key(n), s(v)));
        }
        w.0.push('\n');
    }
}

/// Writes the profile as commented TOML in the wizard's words (English, with the French seed's
/// labels), every setting in wizard order; unset ones appear as commented examples.
pub fn to_toml(p: &Profile) -> String {
    let mut w = W(String::new());
    w.comment("peforge ADE enrollment profile (iOS/iPadOS Automated Device Enrollment, Apple DEP).\nIntune: Devices > iOS/iPadOS > Enrollment > Enrollment program tokens > <token> > Profiles.\nCheck: peforge ade profile lint <this file>   Graph body: peforge ade profile build <this file> -o graph.json\nChanges reach assigned devices only after a factory reset (S1 L198).");
    w.0.push('\n');
    toml_enrollment(&mut w, p);
    toml_configurator_certs(&mut w, p);
    toml_final(&mut w, p);
    toml_setup_assistant(&mut w, p);
    toml_shared_ipad(&mut w, p);
    toml_target(&mut w, p);

    kept(
        &mut w,
        "graph",
        &p.graph,
        "Kept verbatim from the imported Graph body (not described by the settings above):\nbuild writes these back as they are.",
    );
    kept(
        &mut w,
        "apple",
        &p.apple,
        "Kept verbatim from the imported Apple profile, or Apple-only keys (org_magic, url, ...):\nbuild --apple writes these back as they are.",
    );
    while w.0.ends_with("\n\n") {
        w.0.pop();
    }
    w.0
}

/// The enrollment settings, name to sync with computers (S1 L192-288), in wizard order.
fn toml_enrollment(w: &mut W, p: &Profile) {
    w.set("Name / Nom (S1 L192): administrators see it, users never do. It is the device's\nenrollmentProfileName used by Entra dynamic groups and filters: renaming breaks them.", "name", os(&p.name), "\"iOS corporate\"");
    w.set(
        "Description (S1 L192).",
        "description",
        os(&p.description),
        "\"\"",
    );
    w.set("User affinity / Affinité utilisateur (S1 L200-208):\n  \"user\"         Enroll with User Affinity\n  \"none\"         Enroll without User Affinity (kiosk, point of sale, shared utility devices)\n  \"entra-shared\" Enroll with Microsoft Entra ID shared mode (needs locked_enrollment = true)", "affinity", os(&p.affinity), "\"user\"");
    w.set("Select where users must authenticate / Méthode d'authentification (S1 L210-218, user affinity only):\n  \"company-portal\"          Company Portal\n  \"setup-assistant\"         Setup Assistant (legacy): no MFA\n  \"setup-assistant-modern\"  Setup Assistant with modern authentication (iOS/iPadOS 13.0+)", "auth", os(&p.auth), "\"setup-assistant-modern\"");
    w.set("Just-in-time registration (S1 L45): modern authentication only, and an SSO app-extension\ndevice configuration policy must exist before the profile. Not a Graph property: lint only.", "jit", ob(p.jit), "false");
    w.set("Install Company Portal / Installer le Portail d'entreprise (S1 L219, Setup Assistant methods).", "install_company_portal", ob(p.install_company_portal), "true");
    w.set(
        "Install Company Portal with VPP: the VPP token id (S1 L219). Avoids an App Store sign-in.",
        "company_portal_vpp_token",
        os(&p.company_portal_vpp_token),
        "\"<VPP token id>\"",
    );
    w.set("Run Company Portal in Single App Mode until authentication (S1 L221, iOS 11.3.1+; needs the VPP token).", "single_app_until_auth", ob(p.single_app_until_auth), "false");
    w.set(
        "Supervised / Supervisé (S1 L231, L55): required for corporate ADE devices.",
        "supervised",
        ob(p.supervised),
        "true",
    );
    w.set("Locked enrollment / Inscription verrouillée (S1 L243): hides the Settings control that removes\nthe management profile. Requires supervised.", "locked_enrollment", ob(p.locked_enrollment), "true");
    w.set("Sync with computers / Synchroniser avec les ordinateurs (S1 L284-288):\n  \"deny\"        Deny all (charging only)\n  \"allow\"       Allow all\n  \"certificate\" Allow Apple Configurator by certificate (list configurator_certs)", "sync_with_computers", os(&p.sync_with_computers), "\"deny\"");
}

/// The Apple Configurator certificates, files or inline.
fn toml_configurator_certs(w: &mut W, p: &Profile) {
    let certs = p.configurator_certs.as_ref().map(|c| {
        let items: Vec<String> = c
            .iter()
            .map(|x| match x {
                CertRef::File(f) => s(f).to_string(),
                CertRef::Inline {
                    certificate,
                    thumbprint,
                } => match thumbprint {
                    Some(t) => format!(
                        "{{ certificate = {}, thumbprint = {} }}",
                        s(certificate),
                        s(t)
                    ),
                    None => format!("{{ certificate = {} }}", s(certificate)),
                },
            })
            .collect();
        if items.is_empty() {
            "[]".to_string()
        } else {
            format!("[\n    {},\n]", items.join(",\n    "))
        }
    });
    w.set(
        "Apple Configurator certificates (S1 L292): .cer/.pem files, relative to this file.",
        "configurator_certs",
        certs,
        "[\"configurator.cer\"]",
    );
}

/// The settings from awaiting final configuration to the default profile, in wizard order.
fn toml_final(w: &mut W, p: &Profile) {
    w.set("Await final configuration / Attendre la configuration finale (S1 L294-313): holds the end of\nSetup Assistant until critical policies install. Default Yes for new profiles (S1 L306).", "await_final_configuration", ob(p.await_final_configuration), "true");
    w.set("Apply device name template / Modèle de nom (S1 L316-318): {{DEVICETYPE}} and {{SERIAL}},\nat most 63 characters. Applied at enrollment and at every check-in.", "device_name_template", os(&p.device_name_template), "\"{{DEVICETYPE}}-{{SERIAL}}\"");
    w.set("Cellular data plan activation (S1 L320, iOS 13.0+, eSIM): needs the carrier activation URL.", "cellular_activation", ob(p.cellular_activation), "false");
    w.set(
        "Carrier activation URL.",
        "cellular_activation_url",
        os(&p.cellular_activation_url),
        "\"https://carrier.example/activate\"",
    );
    w.set("Entra group ids to add devices to at enrollment time (Graph enrollmentTimeAzureAdGroupIds).", "enrollment_time_groups", p.enrollment_time_groups.as_ref().map(|g| list(g)), "[]");
    w.set(
        "isMandatory (not in the wizard; Intune bodies send true).",
        "mandatory",
        ob(p.mandatory),
        "true",
    );
    w.set("Make this the token's default profile (S1 L421-428): build --request prints the\nsetDefaultProfile call; Graph sets isDefault only through it.", "default", ob(p.default), "false");
}

/// The `[setup_assistant]` table: department and the screens hidden or shown.
fn toml_setup_assistant(w: &mut W, p: &Profile) {
    let sa = &p.setup_assistant;
    w.0.push_str("[setup_assistant]\n");
    w.set(
        "Department (S1 L327): shown under About Configuration.",
        "department",
        os(&sa.department),
        "\"IT\"",
    );
    w.set(
        "Department phone / Téléphone du département (S1 L328): shown under Need Help.",
        "department_phone",
        os(&sa.department_phone),
        "\"+1 555 0100\"",
    );
    w.set("Setup Assistant screens / Écrans (S1 L330-378): Hide skips a screen (the feature stays in\nSettings); Show displays it when steps remain. Apple skip keys or the wizard's names;\n`peforge ade skip-keys` lists them with their iOS versions.", "hide", Some(list(&sa.hide)), "[\"Location\"]");
    w.set(
        "Screens shown on purpose (everything not hidden is shown).",
        "show",
        Some(list(&sa.show)),
        "[\"AppleID\"]",
    );
}

/// The `[shared_ipad]` table.
fn toml_shared_ipad(w: &mut W, p: &Profile) {
    let si = &p.shared_ipad;
    w.0.push_str("[shared_ipad]\n");
    w.set(
        "Shared iPad / iPad partagé (S1 L251): without user affinity and supervised; iPadOS 13.4+.",
        "enabled",
        ob(si.enabled),
        "false",
    );
    w.set(
        "Maximum cached users (S1 L263): up to 24 on 32/64 GB iPads.",
        "max_cached_users",
        oi(si.max_cached_users),
        "10",
    );
    w.set("Required seconds after screen lock before a password (S1 L265): 0, 60, 300, 900, 3600 or 14400.", "passcode_grace_seconds", oi(si.passcode_grace_seconds), "300");
    w.set("User session inactivity sign-out, seconds (S1 L267): 0 = never, else at least 30. iPadOS 14.5+.", "user_session_timeout_seconds", oi(si.user_session_timeout_seconds), "0");
    w.set(
        "Require temporary session only (S1 L269-275): guest sign-in only. iPadOS 14.5+.",
        "temporary_session_only",
        ob(si.temporary_session_only),
        "false",
    );
    w.set("Temporary session inactivity sign-out, seconds (S1 L276-278): 0 = never, else at least 30.", "temporary_session_timeout_seconds", oi(si.temporary_session_timeout_seconds), "0");
}

/// The `[target]` table: lint context only.
fn toml_target(w: &mut W, p: &Profile) {
    let t = &p.target;
    w.0.push_str("[target]\n");
    w.comment("Lint context only, never sent to Graph or Apple.");
    w.set(
        "Oldest iOS/iPadOS version of the devices (lint --min-ios overrides it).",
        "min_ios",
        os(&t.min_ios),
        "\"15.0\"",
    );
    w.set(
        "Device families assigned to this profile: \"ipad\", \"iphone\".",
        "device_families",
        t.device_families.as_ref().map(|d| list(d)),
        "[\"ipad\", \"iphone\"]",
    );
    w.set(
        "Access is controlled otherwise (single-app kiosk): hiding Passcode is intended (S1 L354).",
        "single_app_kiosk",
        ob(t.single_app_kiosk),
        "false",
    );
}

// ---------------------------------------------------------------------------------------------
// Places

/// Where settings are in a TOML text (toml_edit keeps spans).
pub struct Spans {
    doc: Option<toml_edit::ImDocument<String>>,
    text: String,
}

impl Spans {
    /// Indexes `text` (no error: a text that does not parse has no spans).
    pub fn new(text: &str) -> Spans {
        Spans {
            doc: toml_edit::ImDocument::parse(text.to_string()).ok(),
            text: text.to_string(),
        }
    }

    /// 1-based line and column of a dotted setting (`shared_ipad.enabled`, `setup_assistant.hide[2]`),
    /// or of its closest existing parent.
    pub fn locate(&self, setting: &str) -> Option<(usize, usize)> {
        let doc = self.doc.as_ref()?;
        let mut item: &toml_edit::Item = doc.as_item();
        let mut best = None;
        for part in setting.split('.') {
            let (name, index) = match part.split_once('[') {
                Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
                None => (part, None),
            };
            let Some(next) = item.get(name) else { break };
            item = next;
            if let Some(sp) = span_of(item) {
                best = Some(sp);
            }
            if let Some(i) = index {
                if let Some(v) = item.as_array().and_then(|a| a.get(i))
                    && let Some(sp) = v.span()
                {
                    best = Some(sp.start);
                }
                break;
            }
        }
        best.map(|o| super::line_col(&self.text, o))
    }
}

fn span_of(item: &toml_edit::Item) -> Option<usize> {
    match item {
        toml_edit::Item::Value(v) => v.span().map(|s| s.start),
        toml_edit::Item::Table(t) => t.span().map(|s| s.start),
        toml_edit::Item::ArrayOfTables(a) => a.span().map(|s| s.start),
        toml_edit::Item::None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_render_and_parse_back() {
        for (p, name) in Preset::ALL {
            let prof = Profile::preset(*p);
            let text = to_toml(&prof);
            let back = Profile::parse(&text, Path::new("x.toml"))
                .unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
            assert_eq!(back, prof, "{name}");
        }
    }

    #[test]
    fn unknown_settings_get_a_suggestion() {
        let e = Profile::parse("supervized = true\n", Path::new("p.toml")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.toml:1:1: unknown setting `supervized` (did you mean `supervised`?)"
        );
        let e = Profile::parse("zzzzzzzzzzzz = 1\n", Path::new("p.toml")).unwrap_err();
        assert!(e.to_string().contains("expected one of"), "{e}");
    }

    #[test]
    fn spans_name_the_value() {
        let text = "name = \"a\"\n[shared_ipad]\nenabled = true\n[setup_assistant]\nhide = [\"x\", \"y\"]\n";
        let s = Spans::new(text);
        assert_eq!(s.locate("shared_ipad.enabled"), Some((3, 11)));
        assert_eq!(s.locate("setup_assistant.hide[1]"), Some((5, 14)));
        assert_eq!(s.locate("name"), Some((1, 8)));
    }
}
