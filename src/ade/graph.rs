//! The Microsoft Graph beta model of `#microsoft.graph.depIOSEnrollmentProfile` (spec §2.2, from
//! the msgraph-metadata CSDL): every property of its type chain with its EDM type, and the schema
//! checks `lint` runs on a Graph JSON body (unknown key, wrong type, enum value, missing
//! non-nullable property). Tests check this table against the CSDL extract with their own reader.

use serde_json::Value;

/// `@odata.type` of an iOS/iPadOS ADE profile.
pub const ODATA_TYPE: &str = "#microsoft.graph.depIOSEnrollmentProfile";
/// `@odata.type` of the older flat type (spec §2.3), imported onto the iOS model (*inferred*).
pub const ODATA_TYPE_OLD: &str = "#microsoft.graph.depEnrollmentProfile";
/// The Graph permission every create/update needs (Graph docs, delegated or application).
pub const PERMISSION: &str = "DeviceManagementServiceConfig.ReadWrite.All";
/// Graph beta base URL (ADE exists only in beta).
pub const BETA: &str = "https://graph.microsoft.com/beta";

/// EDM type of a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edm {
    /// `Edm.Boolean`.
    Boolean,
    /// `Edm.String`.
    String,
    /// `Edm.Int32`.
    Int32,
    /// `Collection(Edm.String)`.
    Strings,
    /// `Collection(Edm.Guid)`.
    Guids,
    /// `graph.iTunesPairingMode` (enum).
    PairingMode,
    /// `Collection(graph.managementCertificateWithThumbprint)`.
    Certificates,
}

impl Edm {
    /// The CSDL spelling.
    pub fn csdl(self) -> &'static str {
        match self {
            Edm::Boolean => "Edm.Boolean",
            Edm::String => "Edm.String",
            Edm::Int32 => "Edm.Int32",
            Edm::Strings => "Collection(Edm.String)",
            Edm::Guids => "Collection(Edm.Guid)",
            Edm::PairingMode => "graph.iTunesPairingMode",
            Edm::Certificates => "Collection(graph.managementCertificateWithThumbprint)",
        }
    }
}

/// One property of the type chain.
#[derive(Debug, Clone, Copy)]
pub struct Prop {
    /// JSON name.
    pub name: &'static str,
    /// EDM type.
    pub edm: Edm,
    /// `Nullable` (false: the CSDL says `Nullable="false"`).
    pub nullable: bool,
    /// Set by the service, not by a request body (*inferred*, spec §2.2 "set by").
    pub server: bool,
}

const fn p(name: &'static str, edm: Edm, nullable: bool) -> Prop {
    Prop {
        name,
        edm,
        nullable,
        server: false,
    }
}
const fn b(name: &'static str) -> Prop {
    p(name, Edm::Boolean, false)
}

/// `iTunesPairingMode` members, in CSDL order (disallow=0, allow=1, requiresCertificate=2).
pub const PAIRING_MODES: &[&str] = &["disallow", "allow", "requiresCertificate"];

/// Every property of `depIOSEnrollmentProfile` and its base types (58, spec §2.2).
pub const PROPS: &[Prop] = &[
    Prop {
        server: true,
        ..p("id", Edm::String, false)
    },
    // enrollmentProfile
    Prop {
        server: true,
        ..p("configurationEndpointUrl", Edm::String, true)
    },
    p("description", Edm::String, true),
    p("displayName", Edm::String, true),
    b("enableAuthenticationViaCompanyPortal"),
    b("requireCompanyPortalOnSetupAssistantEnrolledDevices"),
    b("requiresUserAuthentication"),
    // depEnrollmentBaseProfile
    b("appleIdDisabled"),
    b("applePayDisabled"),
    b("configurationWebUrl"),
    p("deviceNameTemplate", Edm::String, true),
    b("diagnosticsDisabled"),
    b("displayToneSetupDisabled"),
    p("enabledSkipKeys", Edm::Strings, true),
    p("enrollmentTimeAzureAdGroupIds", Edm::Guids, false),
    Prop {
        server: true,
        ..b("isDefault")
    },
    b("isMandatory"),
    b("locationDisabled"),
    b("privacyPaneDisabled"),
    b("profileRemovalDisabled"),
    b("restoreBlocked"),
    b("screenTimeScreenDisabled"),
    b("siriDisabled"),
    b("supervisedModeEnabled"),
    p("supportDepartment", Edm::String, true),
    p("supportPhoneNumber", Edm::String, true),
    b("termsAndConditionsDisabled"),
    b("touchIdDisabled"),
    b("waitForDeviceConfiguredConfirmation"),
    // depIOSEnrollmentProfile
    b("appearanceScreenDisabled"),
    b("awaitDeviceConfiguredConfirmation"),
    p("carrierActivationUrl", Edm::String, true),
    p("companyPortalVppTokenId", Edm::String, true),
    b("deviceToDeviceMigrationDisabled"),
    b("enableSharedIPad"),
    b("enableSingleAppEnrollmentMode"),
    b("expressLanguageScreenDisabled"),
    b("forceTemporarySession"),
    b("homeButtonScreenDisabled"),
    b("iMessageAndFaceTimeScreenDisabled"),
    p("iTunesPairingMode", Edm::PairingMode, false),
    p("managementCertificates", Edm::Certificates, true),
    b("onBoardingScreenDisabled"),
    b("passCodeDisabled"),
    p("passcodeLockGracePeriodInSeconds", Edm::Int32, true),
    b("preferredLanguageScreenDisabled"),
    b("restoreCompletedScreenDisabled"),
    b("restoreFromAndroidDisabled"),
    p("sharedIPadMaximumUserCount", Edm::Int32, false),
    b("simSetupScreenDisabled"),
    b("softwareUpdateScreenDisabled"),
    p("temporarySessionTimeoutInSeconds", Edm::Int32, false),
    b("updateCompleteScreenDisabled"),
    b("userlessSharedAadModeEnabled"),
    p("userSessionTimeoutInSeconds", Edm::Int32, false),
    b("watchMigrationScreenDisabled"),
    b("welcomeScreenDisabled"),
    b("zoomDisabled"),
];

/// Properties of the older `depEnrollmentProfile` type that the iOS type lacks.
pub const OLD_ONLY: &[&str] = &["macOSFileVaultDisabled", "macOSRegistrationDisabled"];

/// The property named `name`.
pub fn prop(name: &str) -> Option<&'static Prop> {
    PROPS.iter().find(|p| p.name == name)
}

/// A schema problem in a Graph JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    /// The key is not a property of the type chain.
    Unknown(String),
    /// The value does not have the property's EDM type.
    WrongType {
        /// Property.
        name: String,
        /// Expected EDM type.
        expected: &'static str,
    },
    /// The enum value is not a member.
    EnumValue {
        /// Property.
        name: String,
        /// The value found.
        value: String,
    },
    /// A non-nullable property is absent.
    Missing(String),
}

fn is_guid(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok()
}

/// Whether `v` has EDM type `edm` (`null` only where nullable).
pub fn type_ok(v: &Value, edm: Edm, nullable: bool) -> bool {
    if v.is_null() {
        return nullable;
    }
    match edm {
        Edm::Boolean => v.is_boolean(),
        Edm::String | Edm::PairingMode => v.is_string(),
        Edm::Int32 => v.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
        Edm::Strings => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
        Edm::Guids => v
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x.as_str().is_some_and(is_guid))),
        Edm::Certificates => v.as_array().is_some_and(|a| {
            a.iter().all(|c| {
                c.as_object().is_some_and(|o| {
                    o.iter().all(|(k, x)| match k.as_str() {
                        "certificate" | "thumbprint" => x.is_string() || x.is_null(),
                        "@odata.type" => x.is_string(),
                        _ => false,
                    })
                })
            })
        }),
    }
}

/// Schema problems of a body: every key against [`PROPS`] (`@odata.*` annotations allowed),
/// and, with `require_all`, absent non-nullable properties (except the server-set `id`).
pub fn check(body: &serde_json::Map<String, Value>, require_all: bool) -> Vec<Issue> {
    let mut out = Vec::new();
    for (k, v) in body {
        if k.starts_with("@odata.") {
            continue;
        }
        let Some(p) = prop(k) else {
            out.push(Issue::Unknown(k.clone()));
            continue;
        };
        if !type_ok(v, p.edm, p.nullable) {
            out.push(Issue::WrongType {
                name: k.clone(),
                expected: p.edm.csdl(),
            });
        } else if p.edm == Edm::PairingMode
            && let Some(s) = v.as_str()
            && !PAIRING_MODES.contains(&s)
        {
            out.push(Issue::EnumValue {
                name: k.clone(),
                value: s.to_string(),
            });
        }
    }
    if require_all {
        for p in PROPS {
            if !p.nullable && p.name != "id" && !body.contains_key(p.name) {
                out.push(Issue::Missing(p.name.to_string()));
            }
        }
    }
    out
}

/// Recursively sorts object keys (serde_json's map is already ordered; this rebuilds a value
/// through it) so two bodies compare and print canonically.
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut items: Vec<(&String, &Value)> = m.iter().collect();
            items.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                items
                    .into_iter()
                    .map(|(k, x)| (k.clone(), canonical(x)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        x => x.clone(),
    }
}

/// Stable text of a JSON document: sorted keys, two-space indentation, LF, final newline.
pub fn to_text(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(&canonical(v)).unwrap_or_default();
    s.push('\n');
    s
}
