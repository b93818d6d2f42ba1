//! Lint rules for ADE profiles (spec §1): every rule of kind P, the X rules when their context is
//! given (`--jit-sso-policy`, `--baseline`; otherwise a note saying what to check), schema rules
//! against the Graph model and consistency rules. Every finding has the rule id, a severity, the
//! setting, its place (`file:line:column` for TOML; the property's place in a JSON file), a fix
//! and its basis: *documented* with the seed line, or *inferred*. Where two sources disagree (spec
//! §1.3) the message says which one it follows. Findings are sorted: same input, same output.

use serde::Serialize;
use serde_json::{Map, Value};

pub use crate::ts::lint::{Basis, Severity};

use super::build::{self, Cert};
use super::graph::{self, Issue};
use super::profile::{Affinity, Auth, Pairing, Profile, Spans};
use super::skipkeys::{self, older};

/// Kind of rule (spec §1 kinds, plus peforge's schema and consistency checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// About the profile, checked offline.
    P,
    /// Needs tenant/token/app context.
    X,
    /// Against the Graph model.
    Schema,
    /// Settings that contradict each other.
    Consistency,
}

/// One rule of the catalogue.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rule {
    /// Stable id (spec ids; `ADE-Sxx` schema, `ADE-Cxx` consistency).
    pub id: &'static str,
    /// Short name.
    pub name: &'static str,
    /// Kind.
    pub kind: Kind,
    /// Documented or inferred.
    pub basis: Basis,
    /// Where it comes from (seed lines, spec sections).
    pub reference: &'static str,
}

const fn r(
    id: &'static str,
    name: &'static str,
    kind: Kind,
    basis: Basis,
    reference: &'static str,
) -> Rule {
    Rule {
        id,
        name,
        kind,
        basis,
        reference,
    }
}
use Basis::{Documented as D, Inferred as I};
use Kind::{Consistency as C, P, Schema as S, X};

/// Every rule peforge checks.
pub const RULES: &[Rule] = &[
    r("ADE-004", "supervised-required", P, D, "S1 L55"),
    r("ADE-005", "supervised-flag-ignored-13", P, D, "S1 L55"),
    r("ADE-006", "authentication-method", P, D, "S1 L43, L214-218"),
    r(
        "ADE-007",
        "authentication-needs-user-affinity",
        P,
        D,
        "S1 L210",
    ),
    r("ADE-008", "modern-authentication-ios-13", P, D, "S1 L47"),
    r("ADE-009", "jit-registration", X, D, "S1 L45; M2"),
    r("ADE-010", "legacy-needs-company-portal", P, D, "S1 L219"),
    r("ADE-011", "vpp-token-valid", X, D, "S1 L219"),
    r("ADE-012", "single-app-needs-vpp", P, D, "S1 L221"),
    r("ADE-013", "single-app-mfa", P, D, "S1 L225"),
    r("ADE-014", "single-app-ios-11-3-1", P, D, "S1 L227"),
    r("ADE-016", "company-portal-vpp-app", X, D, "S1 L67-72"),
    r(
        "ADE-019",
        "company-portal-app-configuration",
        X,
        D,
        "S1 L80",
    ),
    r("ADE-031", "name-required", P, I, "S1 L192"),
    r("ADE-032", "rename-breaks-groups", P, I, "S1 L341-343; M3"),
    r("ADE-033", "changes-need-reset", P, D, "S1 L198"),
    r("ADE-035", "user-affinity", P, D, "S1 L200-208"),
    r("ADE-036", "userless-use", P, D, "S1 L204"),
    r("ADE-037", "shared-ipad-supervised", P, D, "S1 L235"),
    r("ADE-039", "locked-enrollment", P, D, "S1 L243"),
    r("ADE-040", "entra-shared-locked", P, D, "S1 L243; M3"),
    r("ADE-043", "shared-ipad-userless", P, D, "S1 L251, L256-259"),
    r("ADE-044", "shared-ipad-ipados-13-4", P, D, "S1 L251, L255"),
    r("ADE-045", "shared-ipad-panes", P, D, "S1 L251, L334"),
    r("ADE-046", "shared-ipad-unsupported-device", P, D, "S1 L255"),
    r("ADE-047", "max-cached-users", P, I, "S1 L263"),
    r("ADE-048", "passcode-grace-period", P, D, "S1 L265"),
    r("ADE-049", "user-session-timeout", P, D, "S1 L267"),
    r("ADE-050", "temporary-session-voids", P, D, "S1 L269-275"),
    r("ADE-051", "temporary-session-timeout", P, D, "S1 L276-278"),
    r("ADE-053", "leaving-temporary-sessions", P, D, "S1 L283"),
    r("ADE-054", "configurator-certificate", P, D, "S1 L284, L292"),
    r("ADE-055", "deny-all-pairing", P, D, "S1 L288"),
    r("ADE-057", "await-final-configuration", P, D, "S1 L294-298"),
    r("ADE-058", "await-authentication", P, D, "S1 L300-304"),
    r("ADE-060", "await-shared-ipad", P, D, "S1 L310-313"),
    r("ADE-061", "device-name-applied", P, D, "S1 L314"),
    r("ADE-062", "device-name-template", P, D, "S1 L318"),
    r("ADE-063", "cellular-plan", P, D, "S1 L320"),
    r(
        "ADE-064",
        "department-contact",
        P,
        D,
        "S1 L327-328; S2 L78-79",
    ),
    r("ADE-066", "keep-passcode-pane", P, D, "S1 L354; S2 L87"),
    r("ADE-067", "passcode-biometric-14-5", P, D, "S1 L359"),
    r("ADE-068", "device-to-device-migration", P, D, "S1 L374"),
    r("ADE-069", "terms-of-address", P, D, "S1 L378"),
    r("ADE-070", "pane-minimum-os", P, D, "S1 L354-378; A1"),
    r("ADE-078", "default-profile", P, D, "S1 L421-428"),
    r("DEP-003", "legacy-no-mfa", P, D, "S2 L58"),
    r("DEP-004", "legacy-ws-trust", X, D, "S2 L62; M2"),
    r(
        "ADE-021",
        "tenant-limits",
        X,
        D,
        "S1 L84-88, L176, L432-442, L469; S2 L138",
    ),
    r("DEP-005", "userless-user-apps", P, D, "S2 L64"),
    r("DEP-007", "supervision-fixed", P, D, "S2 L80-82"),
    r("DEP-008", "locked-needs-supervised", P, D, "S2 L83-85; A2"),
    r("DEP-009", "apple-id-hidden", P, I, "S2 L86-90"),
    r("DEP-010", "pairing-modes", P, D, "S2 L97-100"),
    r("ADE-S01", "unknown-property", S, D, "spec §2.2 (G1)"),
    r("ADE-S02", "wrong-type", S, D, "spec §2.2 (G1)"),
    r("ADE-S03", "enum-value", S, D, "spec §2.2 (G1)"),
    r("ADE-S04", "missing-property", S, D, "spec §2.2 (G1)"),
    r("ADE-S05", "older-type", S, I, "spec §2.3"),
    r("ADE-S06", "response-annotation", S, I, "spec §2.1"),
    r("ADE-C01", "screen-both-ways", C, I, "spec §4, conflict 11"),
    r("ADE-C02", "unknown-skip-key", C, I, "spec §3.3 (A1)"),
    r("ADE-C03", "skip-key-deprecated", C, D, "spec §3.3 (A1)"),
    r("ADE-C04", "await-flags-disagree", C, I, "spec conflict 10"),
    r("ADE-C05", "certificate-thumbprint", C, I, "spec §4"),
    r(
        "ADE-C06",
        "vpp-token-authentication",
        C,
        I,
        "spec conflict 8",
    ),
    r("ADE-C07", "min-ios-version", C, I, "spec §4"),
];

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Rule id.
    pub rule: &'static str,
    /// Rule name.
    pub name: &'static str,
    /// Rule kind.
    pub kind: Kind,
    /// Severity.
    pub severity: Severity,
    /// documented | inferred.
    pub basis: Basis,
    /// Seed lines or spec section.
    pub reference: &'static str,
    /// The setting (TOML key path, or the Graph/Apple property for a JSON input).
    pub setting: String,
    /// `file:line:column` (or the file alone when the setting is not written in it).
    pub location: String,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// What is wrong, ending with its basis.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// The form of the linted file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    /// peforge TOML.
    Toml,
    /// A Graph body.
    Graph,
    /// An Apple profile.
    Apple,
}

/// The lint report (`--format json` prints it with `schema_version`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The checked file.
    pub source: String,
    /// Its form.
    pub form: Form,
    /// The iOS version checked against, if any.
    pub min_ios: Option<String>,
    /// Error count.
    pub errors: usize,
    /// Warning count.
    pub warnings: usize,
    /// Note count.
    pub notes: usize,
    /// Findings, sorted by severity, rule, line, setting, message.
    pub findings: Vec<Finding>,
}

/// Context given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `--min-ios` (overrides `[target] min_ios`).
    pub min_ios: Option<String>,
    /// `--jit-sso-policy`: the SSO app-extension policy exists.
    pub jit_sso_policy: bool,
    /// `--baseline`: the profile as it is in the tenant now, with its certificates.
    pub baseline: Option<(Profile, Vec<Cert>)>,
}

/// What to lint.
pub struct Input<'a> {
    /// The file name, for locations.
    pub source: &'a str,
    /// The file's text (for places).
    pub text: &'a str,
    /// Its form.
    pub form: Form,
    /// The profile (typed; a JSON input is imported first).
    pub profile: &'a Profile,
    /// Its resolved configurator certificates.
    pub certs: &'a [Cert],
    /// The raw Graph body, for a Graph input.
    pub graph: Option<&'a Map<String, Value>>,
}

/// Valid passcode grace periods (S1 L265).
pub const GRACE_SECONDS: &[i64] = &[0, 60, 300, 900, 3600, 14400];
/// Template tokens (S1 L318).
pub const TEMPLATE_TOKENS: &[&str] = &["DEVICETYPE", "SERIAL"];
/// Longest device name (S1 L318).
pub const NAME_MAX: usize = 63;
/// Assumed longest expansions (*inferred*: "iPhone"; 12-character serials).
pub const EXPANSION: &[(&str, usize)] = &[("DEVICETYPE", 6), ("SERIAL", 12)];

/// The Graph property that carries a TOML setting (for places in a Graph JSON).
fn graph_name(setting: &str) -> &str {
    let base = setting.split('[').next().unwrap_or(setting);
    match base {
        "name" => "displayName",
        "description" => "description",
        "affinity" => "requiresUserAuthentication",
        "auth" => "enableAuthenticationViaCompanyPortal",
        "install_company_portal" => "requireCompanyPortalOnSetupAssistantEnrolledDevices",
        "company_portal_vpp_token" => "companyPortalVppTokenId",
        "single_app_until_auth" => "enableSingleAppEnrollmentMode",
        "supervised" => "supervisedModeEnabled",
        "locked_enrollment" => "profileRemovalDisabled",
        "sync_with_computers" => "iTunesPairingMode",
        "configurator_certs" => "managementCertificates",
        "await_final_configuration" => "awaitDeviceConfiguredConfirmation",
        "device_name_template" => "deviceNameTemplate",
        "cellular_activation" | "cellular_activation_url" => "carrierActivationUrl",
        "default" => "isDefault",
        "setup_assistant.department" => "supportDepartment",
        "setup_assistant.department_phone" => "supportPhoneNumber",
        "setup_assistant.hide" | "setup_assistant.show" => "enabledSkipKeys",
        "shared_ipad.enabled" => "enableSharedIPad",
        "shared_ipad.max_cached_users" => "sharedIPadMaximumUserCount",
        "shared_ipad.passcode_grace_seconds" => "passcodeLockGracePeriodInSeconds",
        "shared_ipad.user_session_timeout_seconds" => "userSessionTimeoutInSeconds",
        "shared_ipad.temporary_session_only" => "forceTemporarySession",
        "shared_ipad.temporary_session_timeout_seconds" => "temporarySessionTimeoutInSeconds",
        x => x.strip_prefix("graph.keep.").unwrap_or(x),
    }
}

/// The Apple key that carries a TOML setting.
fn apple_name(setting: &str) -> &str {
    let base = setting.split('[').next().unwrap_or(setting);
    match base {
        "name" => "profile_name",
        "supervised" => "is_supervised",
        "locked_enrollment" => "is_mdm_removable",
        "sync_with_computers" => "allow_pairing",
        "configurator_certs" => "supervising_host_certs",
        "await_final_configuration" => "await_device_configured",
        "setup_assistant.department" => "department",
        "setup_assistant.department_phone" => "support_phone_number",
        "setup_assistant.hide" | "setup_assistant.show" => "skip_setup_items",
        "shared_ipad.enabled" => "is_multi_user",
        x => x,
    }
}

/// Byte offset of `"key"` used as an object key in JSON text (first occurrence).
fn json_key_offset(text: &str, key: &str) -> Option<usize> {
    let needle = format!("\"{key}\"");
    let mut from = 0;
    while let Some(i) = text.get(from..)?.find(&needle) {
        let at = from + i;
        let rest = text.get(at + needle.len()..)?.trim_start();
        if rest.starts_with(':') {
            return Some(at);
        }
        from = at + needle.len();
    }
    None
}

struct Lint<'a> {
    input: &'a Input<'a>,
    spans: Option<Spans>,
    out: Vec<Finding>,
}

impl Lint<'_> {
    fn add(
        &mut self,
        id: &'static str,
        sev: Severity,
        setting: &str,
        msg: impl Into<String>,
        fix: &str,
    ) {
        let rule = RULES
            .iter()
            .find(|r| r.id == id)
            .copied()
            .unwrap_or(r(id, "", P, I, ""));
        let (shown, place) = match self.input.form {
            Form::Toml => (
                setting.to_string(),
                self.spans.as_ref().and_then(|s| s.locate(setting)),
            ),
            Form::Graph => {
                let g = graph_name(setting).to_string();
                let at = json_key_offset(self.input.text, &g)
                    .map(|o| super::line_col(self.input.text, o));
                (g, at)
            }
            Form::Apple => {
                let a = apple_name(setting).to_string();
                let at = json_key_offset(self.input.text, &a)
                    .map(|o| super::line_col(self.input.text, o));
                (a, at)
            }
        };
        let location = match place {
            Some((l, c)) => format!("{}:{l}:{c}", self.input.source),
            None => self.input.source.to_string(),
        };
        let label = match rule.basis {
            Basis::Documented => format!("documented ({})", rule.reference),
            Basis::Inferred => format!("inferred ({})", rule.reference),
        };
        self.out.push(Finding {
            rule: rule.id,
            name: rule.name,
            kind: rule.kind,
            severity: sev,
            basis: rule.basis,
            reference: rule.reference,
            setting: shown,
            location,
            line: place.map(|p| p.0),
            column: place.map(|p| p.1),
            message: format!("{} — {label}", msg.into()),
            fix: fix.to_string(),
        });
    }
}

/// Checks a profile.
pub fn lint(input: &Input, ctx: &Context) -> Report {
    let mut l = Lint {
        input,
        spans: (input.form == Form::Toml).then(|| Spans::new(input.text)),
        out: Vec::new(),
    };
    let p = input.profile;
    let min_ios = ctx.min_ios.clone().or_else(|| p.target.min_ios.clone());
    let mut min = min_ios.as_deref();
    if let Some(m) = min
        && skipkeys::parse_version(m).is_none()
    {
        let setting = if ctx.min_ios.is_some() {
            "--min-ios"
        } else {
            "target.min_ios"
        };
        l.add(
            "ADE-C07",
            Severity::Error,
            setting,
            format!("{m:?} is not an iOS version"),
            "write a dotted version such as \"15.0\" or \"17.4\"",
        );
        min = None;
    }
    let below = |v: &str| min.is_some_and(|m| older(m, v));
    let at_least = |v: &str| min.is_some_and(|m| !older(m, v));

    rules_affinity(&mut l, p, &below);
    rules_supervision(&mut l, p, &at_least);
    rules_shared_ipad(&mut l, p, &below);
    rules_await_and_misc(&mut l, p, &below);
    rules_screens(&mut l, p, &below, &at_least);
    rules_certs(&mut l, p, input.certs);
    rules_x(&mut l, p, ctx);
    if let Some((b, bc)) = &ctx.baseline {
        rules_baseline(&mut l, p, b, input.certs, bc);
    }
    match (input.form, input.graph) {
        (Form::Graph, Some(body)) => rules_graph_body(&mut l, body),
        (Form::Toml, _) => {
            if let Ok(body) = build::to_graph(p, input.certs) {
                schema(&mut l, &body, true, true);
            }
        }
        _ => {}
    }

    let mut findings = l.out;
    findings.sort_by(|a, b| {
        (a.severity, a.rule, a.line, &a.setting, &a.message)
            .cmp(&(b.severity, b.rule, b.line, &b.setting, &b.message))
    });
    findings.dedup();
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    Report {
        source: input.source.to_string(),
        form: input.form,
        min_ios: min.map(String::from),
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        notes: count(Severity::Note),
        findings,
    }
}

fn rules_affinity(l: &mut Lint, p: &Profile, below: &dyn Fn(&str) -> bool) {
    use Severity::{Error, Note, Warning};
    if p.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        l.add("ADE-031", Error, "name", "the profile has no name; the wizard requires one (administrators see it, users never do)", "set name = \"...\"");
    }
    match (&p.affinity, p.affinity()) {
        // An Apple profile has no affinity (Intune applies it): nothing to report there.
        (None, _) if l.input.form == Form::Apple => {}
        (None, _) => l.add(
            "ADE-035",
            Error,
            "affinity",
            "user affinity is not set",
            "set affinity = \"user\", \"none\" or \"entra-shared\"",
        ),
        (Some(x), None) => l.add(
            "ADE-035",
            Error,
            "affinity",
            format!("affinity {x:?} is not one of the three the wizard offers"),
            "use \"user\", \"none\" or \"entra-shared\"",
        ),
        _ => {}
    }
    let aff = p.affinity();
    let auth = p.auth();
    if let (Some(x), None) = (&p.auth, auth) {
        l.add(
            "ADE-006",
            Error,
            "auth",
            format!("auth {x:?} is not one of the three authentication methods"),
            "use \"company-portal\", \"setup-assistant-modern\" or \"setup-assistant\"",
        );
    }
    if p.auth.is_some() && aff.is_some() && aff != Some(Affinity::User) {
        l.add(
            "ADE-007",
            Error,
            "auth",
            "an authentication method exists only with user affinity",
            "remove auth, or set affinity = \"user\"",
        );
    }
    if aff == Some(Affinity::User) && p.auth.is_none() {
        l.add(
            "ADE-006",
            Error,
            "auth",
            "user affinity needs an authentication method",
            "set auth = \"setup-assistant-modern\" (modern, MFA) or \"company-portal\"",
        );
    }
    let user = aff == Some(Affinity::User);
    if user && auth == Some(Auth::SetupAssistantModern) && below("13.0") {
        l.add("ADE-008", Warning, "auth", "Setup Assistant with modern authentication needs iOS/iPadOS 13.0; older devices fall back to the legacy Setup Assistant", "raise target.min_ios to 13.0, or expect legacy authentication on older devices");
    }
    if user && auth == Some(Auth::SetupAssistant) {
        if p.install_company_portal != Some(true) {
            l.add("ADE-010", Warning, "install_company_portal", "with the legacy Setup Assistant, Conditional Access and company apps need Company Portal installed and signed in", "set install_company_portal = true");
        }
        l.add("DEP-003", Note, "auth", "legacy Setup Assistant authentication runs no MFA, cannot prompt a forced password change and does not reset expired passwords", "prefer auth = \"setup-assistant-modern\"");
    }
    if p.jit == Some(true) && !(user && auth == Some(Auth::SetupAssistantModern)) {
        l.add("ADE-009", Error, "jit", "just-in-time registration works only with the Setup Assistant with modern authentication", "set auth = \"setup-assistant-modern\" or jit = false");
    }
    let vpp = p
        .company_portal_vpp_token
        .as_deref()
        .is_some_and(|v| !v.trim().is_empty());
    if p.single_app_until_auth == Some(true) {
        if !vpp {
            l.add("ADE-012", Error, "single_app_until_auth", "Single App Mode until authentication needs Company Portal installed with a VPP token", "set company_portal_vpp_token, or single_app_until_auth = false");
        }
        l.add("ADE-013", Warning, "single_app_until_auth", "MFA cannot be completed on a device locked in Single App mode: the second factor must be on another device", "make sure users have their second factor on another device, or turn single_app_until_auth off");
        if below("11.3.1") {
            l.add(
                "ADE-014",
                Warning,
                "single_app_until_auth",
                "Single App Mode until authentication needs iOS/iPadOS 11.3.1 or later",
                "raise target.min_ios to 11.3.1",
            );
        }
    }
    if vpp && auth != Some(Auth::CompanyPortal) {
        l.add("ADE-C06", Note, "company_portal_vpp_token", "Graph's description of companyPortalVppTokenId says Company Portal authentication must be on, but the seed offers VPP with the Setup Assistant (S1 L219) and real bodies send it with modern authentication; follows S1 (conflict 8)", "nothing to do unless Graph refuses the body");
    }
    if aff == Some(Affinity::None) {
        l.add("ADE-036", Note, "affinity", "without user affinity suits kiosk, point-of-sale and shared utility devices with no user data", "use affinity = \"user\" for devices that belong to one person");
        if p.install_company_portal == Some(true) {
            l.add("DEP-005", Warning, "install_company_portal", "without user affinity, user-bound apps (Company Portal for line-of-business apps included) do not work", "set install_company_portal = false, or use affinity = \"user\"");
        }
    }
    if aff == Some(Affinity::EntraShared) && p.locked_enrollment != Some(true) {
        l.add(
            "ADE-040",
            Error,
            "locked_enrollment",
            "Microsoft Entra ID shared mode requires locked enrollment",
            "set locked_enrollment = true",
        );
    }
}

fn rules_supervision(l: &mut Lint, p: &Profile, at_least: &dyn Fn(&str) -> bool) {
    use Severity::{Error, Note};
    if p.supervised == Some(false) {
        l.add(
            "ADE-004",
            Error,
            "supervised",
            "corporate iOS/iPadOS 11+ ADE devices must be supervised",
            "set supervised = true",
        );
        if at_least("13.0") {
            l.add("ADE-005", Note, "supervised", "from iOS/iPadOS 13.0 Intune ignores the supervised flag: these devices are supervised at enrollment anyway", "set supervised = true to say what happens");
        }
        if p.locked_enrollment == Some(true) {
            l.add("DEP-008", Error, "locked_enrollment", "locking the profile to the device requires supervision; Apple rejects is_mdm_removable = false without is_supervised = true (FLAGS_INVALID)", "set supervised = true, or locked_enrollment = false");
        }
    }
    if p.locked_enrollment == Some(true) {
        l.add("ADE-039", Note, "locked_enrollment", "locked enrollment hides the Settings control that removes the management profile (devices added to ABM after purchase show it for 30 days)", "nothing to do");
    }
    match p.pairing() {
        Some(Pairing::Deny) => l.add("ADE-055", Note, "sync_with_computers", "Deny all leaves the port for charging only: iTunes and Apple Configurator 2 are blocked", "nothing to do; use \"certificate\" to allow Apple Configurator"),
        Some(x @ (Pairing::Allow | Pairing::Certificate)) => l.add("DEP-010", Note, "sync_with_computers", format!("{} pairs {}; Disallow (deny) is advised", if x == Pairing::Allow { "Allow" } else { "Require certificate" }, if x == Pairing::Allow { "with any computer" } else { "with Macs holding the imported certificate" }), "use sync_with_computers = \"deny\" unless devices are managed with Apple Configurator"),
        None => {
            if let Some(x) = &p.sync_with_computers {
                l.add("ADE-S03", Error, "sync_with_computers", format!("{x:?} is not a sync-with-computers choice"), "use \"deny\", \"allow\" or \"certificate\"");
            }
        }
    }
    if p.pairing() == Some(Pairing::Certificate)
        && p.configurator_certs.as_ref().is_none_or(Vec::is_empty)
    {
        l.add("ADE-054", Error, "configurator_certs", "Allow Apple Configurator by certificate needs at least one Apple Configurator certificate", "list the certificate file in configurator_certs = [\"configurator.cer\"]");
    }
}

fn rules_shared_ipad(l: &mut Lint, p: &Profile, below: &dyn Fn(&str) -> bool) {
    use Severity::{Error, Note, Warning};
    let si = &p.shared_ipad;
    if p.shared_ipad_on() {
        if p.supervised == Some(false) {
            l.add(
                "ADE-037",
                Error,
                "shared_ipad.enabled",
                "Shared iPad for Business devices must be supervised",
                "set supervised = true",
            );
        }
        if p.affinity() != Some(Affinity::None) {
            l.add(
                "ADE-043",
                Error,
                "shared_ipad.enabled",
                "Shared iPad works only without user affinity",
                "set affinity = \"none\"",
            );
        }
        if below("13.4") {
            l.add("ADE-044", Warning, "shared_ipad.enabled", "Shared iPad needs iPadOS 13.4 (S1 L251; L255 says supported from 13.3: follows 13.4, conflict 3)", "raise target.min_ios to 13.4");
        }
        if !p.setup_assistant.hide.is_empty() || !p.setup_assistant.show.is_empty() {
            l.add("ADE-045", Note, "setup_assistant.hide", "on Shared iPad every pane after activation is skipped, so the pane choices have no effect", "leave hide and show empty");
        }
        let fams = p.target.device_families.as_deref().unwrap_or_default();
        if fams.is_empty() || fams.iter().any(|f| !f.eq_ignore_ascii_case("ipad")) {
            l.add("ADE-046", Warning, "target.device_families", "a Shared iPad profile sent to an unsupported device (any iPhone, an iPad on 13.3 or older) needs a reset", "assign the profile to iPads only and say so: target.device_families = [\"ipad\"]");
        }
        match si.max_cached_users {
            Some(n) if n > 24 => l.add(
                "ADE-047",
                Warning,
                "shared_ipad.max_cached_users",
                format!("{n} cached users: 32 and 64 GB iPads hold at most 24"),
                "use 24 or fewer unless every iPad has more storage",
            ),
            Some(n) if n < 1 => l.add(
                "ADE-047",
                Error,
                "shared_ipad.max_cached_users",
                format!("{n} cached users on a Shared iPad"),
                "use a number from 1 to 24",
            ),
            None => l.add(
                "ADE-047",
                Error,
                "shared_ipad.max_cached_users",
                "Shared iPad without a maximum of cached users (Graph sends 0)",
                "set max_cached_users, 1 to 24",
            ),
            _ => {}
        }
    } else if si.max_cached_users.is_some_and(|n| n > 24) {
        l.add(
            "ADE-047",
            Warning,
            "shared_ipad.max_cached_users",
            "more than 24 cached users",
            "use 24 or fewer",
        );
    }
    if let Some(g) = si.passcode_grace_seconds
        && !GRACE_SECONDS.contains(&g)
    {
        l.add("ADE-048", Error, "shared_ipad.passcode_grace_seconds", format!("{g} s is not one of the wizard's choices 0, 60, 300, 900, 3600, 14400 (memdocs says 0 to 14,400: follows S1, conflict 4)"), "use 0, 60, 300, 900, 3600 or 14400");
    }
    if let Some(t) = si.user_session_timeout_seconds
        && (1..30).contains(&t)
    {
        l.add(
            "ADE-049",
            Error,
            "shared_ipad.user_session_timeout_seconds",
            format!("{t} s: the user-session sign-out is 0 (never) or at least 30 s"),
            "use 0 or a value of at least 30",
        );
    }
    if si.temporary_session_only == Some(true) {
        let voided: Vec<&str> = [
            (
                "max_cached_users",
                si.max_cached_users.is_some_and(|n| n > 0),
            ),
            (
                "passcode_grace_seconds",
                si.passcode_grace_seconds.is_some(),
            ),
            (
                "user_session_timeout_seconds",
                si.user_session_timeout_seconds.is_some_and(|n| n > 0),
            ),
        ]
        .iter()
        .filter(|(_, set)| *set)
        .map(|(n, _)| *n)
        .collect();
        if !voided.is_empty() {
            l.add(
                "ADE-050",
                Warning,
                "shared_ipad.temporary_session_only",
                format!(
                    "temporary session only offers the guest sign-in only and voids {}",
                    voided.join(", ")
                ),
                "remove those settings, or turn temporary_session_only off",
            );
        }
    }
    if let Some(t) = si.temporary_session_timeout_seconds {
        if (1..30).contains(&t) {
            l.add(
                "ADE-051",
                Error,
                "shared_ipad.temporary_session_timeout_seconds",
                format!("{t} s: the temporary-session sign-out is 0 (never) or at least 30 s"),
                "use 0 or a value of at least 30",
            );
        } else if t > 0 && si.temporary_session_only != Some(true) {
            l.add(
                "ADE-051",
                Error,
                "shared_ipad.temporary_session_timeout_seconds",
                "a temporary-session sign-out is set but temporary_session_only is not on",
                "set temporary_session_only = true, or the timeout to 0",
            );
        }
    }
}

fn rules_await_and_misc(l: &mut Lint, p: &Profile, below: &dyn Fn(&str) -> bool) {
    use Severity::{Error, Note, Warning};
    if p.await_final_configuration == Some(true) {
        l.add("ADE-057", Note, "await_final_configuration", "Setup Assistant waits until critical policies install, with no time limit (most test devices finish within 15 min); tell third-party provisioners", "nothing to do");
        let aff = p.affinity();
        let auth = p.auth();
        if aff == Some(Affinity::User)
            && matches!(auth, Some(Auth::CompanyPortal | Auth::SetupAssistant))
        {
            l.add("ADE-058", Warning, "await_final_configuration", "await final configuration works with modern-auth Setup Assistant, without user affinity or in Entra shared mode, not with Company Portal or legacy authentication (T1 also requires modern auth without affinity: follows S1, conflict 7)", "use auth = \"setup-assistant-modern\", or await_final_configuration = false");
        }
        if aff == Some(Affinity::None) && p.shared_ipad_on() {
            l.add(
                "ADE-060",
                Error,
                "await_final_configuration",
                "await final configuration is not offered without user affinity with Shared iPad",
                "set await_final_configuration = false",
            );
        }
        if below("13.0") {
            l.add(
                "ADE-058",
                Warning,
                "await_final_configuration",
                "await final configuration needs iOS/iPadOS 13.0",
                "raise target.min_ios to 13.0",
            );
        }
    }
    if let Some(t) = p.device_name_template.as_deref().filter(|t| !t.is_empty()) {
        l.add("ADE-061", Note, "device_name_template", "the template names devices at enrollment and at every check-in: manual renames are reverted", "nothing to do");
        template(l, t);
    }
    let url = p
        .cellular_activation_url
        .as_deref()
        .filter(|u| !u.trim().is_empty());
    if p.cellular_activation == Some(true) {
        if url.is_none() {
            l.add(
                "ADE-063",
                Error,
                "cellular_activation",
                "cellular data plan activation needs the carrier activation URL",
                "set cellular_activation_url = \"https://...\" (from the carrier)",
            );
        }
        if below("13.0") {
            l.add("ADE-063", Warning, "cellular_activation", "cellular data plan activation needs iOS/iPadOS 13.0 and eSIM devices provisioned by the carrier", "raise target.min_ios to 13.0");
        }
    }
    if let Some(u) = url
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        l.add(
            "ADE-063",
            Error,
            "cellular_activation_url",
            format!("{u:?} is not an http(s) URL"),
            "use the carrier's activation URL, https://...",
        );
    }
    for (s, v, what) in [
        (
            "setup_assistant.department",
            &p.setup_assistant.department,
            "Department (shown under About Configuration)",
        ),
        (
            "setup_assistant.department_phone",
            &p.setup_assistant.department_phone,
            "Department phone (shown under Need Help)",
        ),
    ] {
        if v.as_deref().is_none_or(|x| x.trim().is_empty()) {
            l.add(
                "ADE-064",
                Warning,
                s,
                format!("{what} is empty: users see no contact during setup"),
                "fill it in",
            );
        }
    }
    if p.default == Some(true) {
        l.add("ADE-078", Note, "default", "a token has one default profile for all its enrolling devices; Graph sets isDefault only through setDefaultProfile (S2 L110 said default profiles end: follows S1, conflict 2)", "run the setDefaultProfile call that build --request prints");
    }
}

fn template(l: &mut Lint, t: &str) {
    let len = t.chars().count();
    if len > NAME_MAX {
        l.add(
            "ADE-062",
            Severity::Error,
            "device_name_template",
            format!("{len} characters, more than {NAME_MAX} (variables count as written)"),
            "shorten the template",
        );
    }
    let mut rest = t;
    let mut expanded = 0usize;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("{{") {
            match after.find("}}") {
                Some(end) => {
                    let tok = &after[..end];
                    match EXPANSION.iter().find(|(n, _)| *n == tok) {
                        Some((_, w)) => expanded += w,
                        None => l.add(
                            "ADE-062",
                            Severity::Error,
                            "device_name_template",
                            format!("unknown token {{{{{tok}}}}}"),
                            "use only {{DEVICETYPE}} and {{SERIAL}} (upper case)",
                        ),
                    }
                    rest = &after[end + 2..];
                }
                None => {
                    l.add(
                        "ADE-062",
                        Severity::Error,
                        "device_name_template",
                        "\"{{\" without a closing \"}}\"",
                        "close the token: {{SERIAL}}",
                    );
                    break;
                }
            }
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            if c == '{' || c == '}' {
                l.add(
                    "ADE-062",
                    Severity::Error,
                    "device_name_template",
                    format!("single brace {c:?}: tokens are written {{{{SERIAL}}}}"),
                    "double the braces around the token, or remove the brace",
                );
                break;
            }
            expanded += 1;
            rest = &rest[c.len_utf8()..];
        }
    }
    if len <= NAME_MAX && expanded > NAME_MAX {
        l.add("ADE-062", Severity::Warning, "device_name_template", format!("expanded it may reach {expanded} characters (\"iPhone\", 12-character serials: inferred), more than {NAME_MAX}"), "shorten the fixed text");
    }
}

fn rules_screens(
    l: &mut Lint,
    p: &Profile,
    below: &dyn Fn(&str) -> bool,
    at_least: &dyn Fn(&str) -> bool,
) {
    use Severity::{Error, Note, Warning};
    let sa = &p.setup_assistant;
    let resolve = |n: &str| -> String {
        skipkeys::find(n)
            .map(|k| k.key.to_string())
            .or_else(|| skipkeys::find_graph_only(n).map(|(k, _)| k.to_string()))
            .unwrap_or_else(|| n.to_string())
    };
    let hidden: Vec<String> = sa.hide.iter().map(|h| resolve(h)).collect();
    let is_hidden = |k: &str| hidden.iter().any(|h| h == k);
    for (list, name) in [
        (&sa.hide, "setup_assistant.hide"),
        (&sa.show, "setup_assistant.show"),
    ] {
        for (i, h) in list.iter().enumerate() {
            let at = format!("{name}[{i}]");
            let known = skipkeys::find(h);
            if known.is_none() && skipkeys::find_graph_only(h).is_none() {
                l.add("ADE-C02", Warning, &at, format!("{h:?} is not a skip key in Apple's list (A1, October 2024) nor a wizard screen name; kept as written (Apple adds keys every release)"), "check the spelling with `peforge ade skip-keys`");
            }
            if name.ends_with("show") && is_hidden(&resolve(h)) {
                l.add(
                    "ADE-C01",
                    Error,
                    &at,
                    format!("{h:?} is both hidden and shown"),
                    "keep it in one list only",
                );
            }
            let Some(k) = known else { continue };
            if below(k.introduced) {
                let mut seed = k
                    .seed_minimum
                    .map(|s| format!("; the seed says {s} (conflict 6: both values reported)"))
                    .unwrap_or_default();
                if k.key == "DeviceToDeviceMigration" {
                    seed.push_str("; Apple's own description says iOS 13 (conflict 6)");
                }
                l.add(
                    "ADE-070",
                    Note,
                    &at,
                    format!(
                        "{} needs iOS {} (Apple){seed}: on older devices the choice does nothing",
                        k.key, k.introduced
                    ),
                    "nothing to do if older devices may show the screen",
                );
            } else if let Some(s) = k.seed_minimum
                && below(s)
            {
                l.add(
                    "ADE-070",
                    Note,
                    &at,
                    format!(
                        "{}: Apple says iOS {}, the seed {s} (conflict 6: both values reported)",
                        k.key, k.introduced
                    ),
                    "nothing to do",
                );
            }
            if let Some(d) = k.deprecated
                && at_least(d)
            {
                l.add(
                    "ADE-C03",
                    Note,
                    &at,
                    format!(
                        "{} is deprecated from iOS {d} (Apple): no effect on these devices",
                        k.key
                    ),
                    "remove it once no device older than that is enrolled",
                );
            }
        }
    }
    let kiosk = p.target.single_app_kiosk == Some(true);
    if is_hidden("Passcode") && !kiosk && !at_least("14.5") && !p.shared_ipad_on() {
        l.add("ADE-066", Warning, "setup_assistant.hide", "the Passcode screen is hidden; keep it unless access is controlled another way (single-app kiosk)", "remove Passcode from hide, or set target.single_app_kiosk = true");
    }
    if at_least("14.5") && !p.shared_ipad_on() {
        for k in ["Passcode", "Biometric"] {
            if !is_hidden(k) {
                l.add(
                    "ADE-067",
                    Warning,
                    "setup_assistant.hide",
                    format!("on iOS/iPadOS 14.5+ the {k} screen does not work during setup"),
                    "hide it and enforce a passcode with a device restriction policy instead",
                );
            }
        }
    }
    if !is_hidden("DeviceToDeviceMigration") && !p.shared_ipad_on() {
        l.add("ADE-068", Note, "setup_assistant.hide", "direct device-to-device transfer is not available for ADE devices on iOS 13+, so the Device to Device Migration screen offers nothing", "add DeviceToDeviceMigration to hide");
    }
    if hidden.iter().any(|h| h == "TermsOfAddress")
        || sa.show.iter().any(|h| resolve(h) == "TermsOfAddress")
    {
        l.add(
            "ADE-069",
            Note,
            "setup_assistant.hide",
            "Terms of Address is an iOS 16.0+ screen in some languages only",
            "nothing to do",
        );
    }
    if is_hidden("AppleID")
        && p.company_portal_vpp_token
            .as_deref()
            .is_none_or(|v| v.trim().is_empty())
        && p.affinity() == Some(Affinity::User)
    {
        l.add("DEP-009", Warning, "setup_assistant.hide", "the Apple ID screen is hidden and Company Portal is not installed with a VPP token: App Store apps then need an Apple ID the user must add later", "set company_portal_vpp_token (device licensing), or show AppleID");
    }
}

fn rules_certs(l: &mut Lint, p: &Profile, certs: &[Cert]) {
    let Some(list) = &p.configurator_certs else {
        return;
    };
    for (i, (c, r)) in certs.iter().zip(list).enumerate() {
        let at = format!("configurator_certs[{i}]");
        if matches!(r, super::profile::CertRef::Inline { .. }) && !c.valid {
            l.add("ADE-C05", Severity::Error, &at, "the certificate is not base64 of an X.509 certificate", "replace it with the Apple Configurator certificate file: configurator_certs = [\"configurator.cer\"]");
            continue;
        }
        if let Some(t) = &c.given_thumbprint {
            let norm: String = t
                .chars()
                .filter(|c| c.is_ascii_hexdigit())
                .collect::<String>()
                .to_uppercase();
            if norm != c.thumbprint {
                l.add(
                    "ADE-C05",
                    Severity::Error,
                    &at,
                    format!(
                        "thumbprint {t} does not match the certificate (SHA-1 {})",
                        c.thumbprint
                    ),
                    "remove the thumbprint (build computes it) or fix it",
                );
            }
        }
    }
}

fn rules_x(l: &mut Lint, p: &Profile, ctx: &Context) {
    use Severity::Note;
    // One note for the tenant checks no profile file can answer (ADE-021..024, 079, 080, 084,
    // DEP-013).
    l.add("ADE-021", Note, "(tenant)", "not checked offline: at most 1,000 profiles per token (a 2020 service error said 100: follows S1, conflict 5), 200,000 devices per profile and per token, the token renewed every year, licensed users (or device licences for userless devices), the \"All users\" device type restriction allowing iOS/iPadOS, and the user device limit", "check them in the tenant before assigning the profile");
    let user = p.affinity() == Some(Affinity::User);
    let auth = p.auth();
    if p.jit == Some(true) && !ctx.jit_sso_policy {
        l.add("ADE-009", Note, "jit", "JIT registration needs an SSO app-extension device configuration policy created before the profile; not checked offline", "create it first, then pass --jit-sso-policy to say it exists");
    }
    if p.company_portal_vpp_token
        .as_deref()
        .is_some_and(|v| !v.trim().is_empty())
    {
        l.add("ADE-011", Note, "company_portal_vpp_token", "the VPP token must be unexpired with enough device licences, or enrollment is blocked (ADE-034); not checked offline", "check the token in Tenant administration > Connectors and tokens > Apple VPP tokens");
    } else if user && p.install_company_portal == Some(true) {
        l.add("ADE-016", Note, "install_company_portal", "Company Portal should be a required VPP app with device licensing, to reach every ADE device and stay updated", "set company_portal_vpp_token to the VPP token id");
    }
    if user && auth == Some(Auth::SetupAssistantModern) && p.install_company_portal == Some(true) {
        l.add("ADE-019", Note, "install_company_portal", "Intune pushes the Company Portal app configuration itself; deploying it by hand too makes users sign in again", "do not assign your own Company Portal app configuration to these devices");
    }
    if user && auth == Some(Auth::SetupAssistant) {
        l.add("DEP-004", Note, "auth", "the legacy Setup Assistant needs the AD FS WS-Trust 1.3 Username/Mixed endpoint when federated", "check the endpoint, or use modern authentication");
    }
}

fn rules_baseline(l: &mut Lint, p: &Profile, b: &Profile, certs: &[Cert], bcerts: &[Cert]) {
    use Severity::{Note, Warning};
    if p.name != b.name {
        l.add("ADE-032", Note, "name", format!("renamed from {:?}: the name is the enrollmentProfileName of Entra dynamic groups and filters, which stop matching", b.name.as_deref().unwrap_or("")), "update the dynamic group rules and filters that use the old name");
    }
    if p.supervised.unwrap_or(true) != b.supervised.unwrap_or(true) {
        l.add(
            "DEP-007",
            Warning,
            "supervised",
            "supervision is fixed at activation: the change needs a factory reset",
            "reset the devices after the change, or keep the old value",
        );
    }
    if b.shared_ipad.temporary_session_only == Some(true)
        && p.shared_ipad.temporary_session_only != Some(true)
    {
        l.add("ADE-053", Warning, "shared_ipad.temporary_session_only", "leaving temporary sessions on an existing Shared iPad setup needs a full reset and a new profile", "reset the iPads and assign a new profile");
    }
    let (Ok(now), Ok(then)) = (build::to_graph(p, certs), build::to_graph(b, bcerts)) else {
        return;
    };
    let changed: Vec<&String> = now
        .iter()
        .filter(|(k, v)| {
            !k.starts_with("@odata.")
                && k.as_str() != "deviceNameTemplate"
                && then.get(*k) != Some(*v)
        })
        .map(|(k, _)| k)
        .collect();
    if !changed.is_empty() {
        let names: Vec<&str> = changed.iter().map(|s| s.as_str()).collect();
        l.add("ADE-033", Warning, "name", format!("changes reach assigned devices only after a factory reset and reactivation (only the device name template applies at the next check-in): {}", names.join(", ")), "plan a reset of the assigned devices, or create a new profile for new devices");
    }
}

fn schema(l: &mut Lint, body: &Map<String, Value>, require_all: bool, from_toml: bool) {
    use Severity::{Error, Note, Warning};
    let place = |k: &str, l: &Lint| -> String {
        if from_toml {
            let p = l.input.profile;
            if p.graph.keep.contains_key(k) {
                return format!("graph.keep.{k}");
            }
            if p.graph.keep_json.contains_key(k) {
                return format!("graph.keep_json.{k}");
            }
            if p.graph.omit.iter().any(|o| o == k) {
                return "graph.omit".into();
            }
        }
        k.to_string()
    };
    for issue in graph::check(body, require_all) {
        match issue {
            Issue::Unknown(k) => {
                let s = place(&k, l);
                let old = graph::OLD_ONLY.contains(&k.as_str());
                l.add(
                    "ADE-S01",
                    Warning,
                    &s,
                    format!(
                        "{k} is not a property of depIOSEnrollmentProfile{}; kept as written",
                        if old {
                            " (it belongs to the older depEnrollmentProfile)"
                        } else {
                            ""
                        }
                    ),
                    "remove it, or check the spelling against the Graph beta model",
                );
            }
            Issue::WrongType { name, expected } => {
                let s = place(&name, l);
                l.add(
                    "ADE-S02",
                    Error,
                    &s,
                    format!("{name} must be {expected}"),
                    "fix the value's type",
                );
            }
            Issue::EnumValue { name, value } => {
                let s = place(&name, l);
                l.add(
                    "ADE-S03",
                    Error,
                    &s,
                    format!(
                        "{name} {value:?} is not one of {}",
                        graph::PAIRING_MODES.join(", ")
                    ),
                    "use one of the enum's members",
                );
            }
            Issue::Missing(name) => {
                let s = place(&name, l);
                l.add("ADE-S04", Note, &s, format!("non-nullable {name} is absent (older bodies lack it; Graph is assumed to default it, inferred)"), "add it, or remove it from [graph] omit, to send an explicit value");
            }
        }
    }
    for k in body
        .keys()
        .filter(|k| k.starts_with("@odata.") && k.as_str() != "@odata.type")
    {
        let s = place(k, l);
        l.add(
            "ADE-S06",
            Note,
            &s,
            format!("{k} is response metadata, not part of a request body"),
            "remove it before sending the body",
        );
    }
}

fn rules_graph_body(l: &mut Lint, body: &Map<String, Value>) {
    schema(l, body, true, false);
    let ty = body
        .get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or("");
    if ty.ends_with("depEnrollmentProfile") {
        l.add("ADE-S05", Severity::Note, "@odata.type", "the older depEnrollmentProfile type; read onto depIOSEnrollmentProfile (inferred), build writes the iOS type", "rebuild the body with peforge ade profile build");
    }
    if let (Some(a), Some(w)) = (
        body.get("awaitDeviceConfiguredConfirmation")
            .and_then(Value::as_bool),
        body.get("waitForDeviceConfiguredConfirmation")
            .and_then(Value::as_bool),
    ) && a != w
    {
        l.add("ADE-C04", Severity::Warning, "waitForDeviceConfiguredConfirmation", format!("awaitDeviceConfiguredConfirmation is {a} but waitForDeviceConfiguredConfirmation is {w}; which one the admin center reads for iOS is unknown (conflict 10)"), "set both to the same value");
    }
    if let Some(keys) = body.get("enabledSkipKeys").and_then(Value::as_array) {
        for s in skipkeys::SKIP_KEYS {
            let Some(g) = s.graph else { continue };
            let Some(flag) = body.get(g).and_then(Value::as_bool) else {
                continue;
            };
            let listed = keys.iter().any(|k| k.as_str() == Some(s.key));
            if flag != listed {
                l.add("ADE-C01", Severity::Warning, g, format!("{g} is {flag} but enabledSkipKeys {} {}; which one Graph follows is unverified (conflict 11)", if listed { "lists" } else { "does not list" }, s.key), "make the boolean and enabledSkipKeys agree");
            }
        }
    }
}

/// Renders the report for people: one line per finding, then a summary line.
pub fn render_text(r: &Report) -> String {
    let mut s = String::new();
    for f in &r.findings {
        let sev = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        s.push_str(&format!(
            "{}: {sev}[{}]: {}: {}\n    fix: {}\n",
            f.location, f.rule, f.setting, f.message, f.fix
        ));
    }
    s.push_str(&format!(
        "{}: {} error(s), {} warning(s), {} note(s)\n",
        r.source, r.errors, r.warnings, r.notes
    ));
    s
}

/// The report as SARIF 2.1.0 (the subset peforge emits), with line and column regions.
pub fn sarif(r: &Report) -> Value {
    use serde_json::json;
    let rules: Vec<Value> = RULES
        .iter()
        .map(|x| json!({"id": x.id, "name": x.name, "shortDescription": {"text": x.name}, "properties": {"basis": x.basis, "kind": x.kind, "reference": x.reference}}))
        .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let mut phys = json!({"artifactLocation": {"uri": r.source}});
            if let (Some(line), Some(col)) = (f.line, f.column) {
                phys["region"] = json!({"startLine": line, "startColumn": col});
            }
            json!({
                "ruleId": f.rule,
                "ruleIndex": RULES.iter().position(|x| x.id == f.rule).unwrap_or(0),
                "level": match f.severity { Severity::Error => "error", Severity::Warning => "warning", Severity::Note => "note" },
                "message": {"text": format!("{}: {} Fix: {}", f.setting, f.message, f.fix)},
                "locations": [{"physicalLocation": phys, "logicalLocations": [{"fullyQualifiedName": f.setting}]}],
                "properties": {"basis": f.basis},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "peforge", "version": env!("CARGO_PKG_VERSION"), "rules": rules}}, "results": results}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_p_rule_has_a_reference() {
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        assert!(RULES.iter().all(|r| !r.reference.is_empty()));
    }

    #[test]
    fn json_key_place() {
        let t = "{\n  \"a\": \"b\",\n  \"b\": 1\n}";
        assert_eq!(
            json_key_offset(t, "b").map(|o| super::super::line_col(t, o)),
            Some((3, 3))
        );
    }
}
