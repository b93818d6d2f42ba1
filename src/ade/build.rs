//! Profile → Graph beta body of `#microsoft.graph.depIOSEnrollmentProfile` (spec §4), and a Graph
//! body → profile. Import is lossless by construction: whatever the typed settings do not give
//! back exactly is kept verbatim (`[graph.keep]`, `[graph.keep_json]`, `[graph.omit]`), and the
//! import checks that the profile rebuilds the same body before it is written.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::graph::{self, ODATA_TYPE};
use super::profile::{Affinity, Auth, CertRef, Kept, Pairing, Profile};
use super::skipkeys;
use super::{Error, Result};

/// A certificate ready for the body: base64 DER and its SHA-1 thumbprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cert {
    /// Base64 of the DER certificate.
    pub base64: String,
    /// SHA-1 of the DER, upper-case hex (*inferred* thumbprint form).
    pub thumbprint: String,
    /// The thumbprint the profile gave, when inline.
    pub given_thumbprint: Option<String>,
    /// Whether the inline base64 decodes to an X.509 certificate.
    pub valid: bool,
}

/// Base64 of `data` (standard alphabet, padded).
pub fn base64_encode(data: &[u8]) -> String {
    use base64ct::Encoding;
    base64ct::Base64::encode_string(data)
}

/// Decodes standard base64 (whitespace ignored); `None` when malformed.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64ct::Encoding;
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64ct::Base64::decode_vec(&compact).ok()
}

fn sha1_hex(der: &[u8]) -> String {
    use sha1::Digest;
    hex::encode_upper(sha1::Sha1::digest(der))
}

fn is_x509(der: &[u8]) -> bool {
    x509_parser::parse_x509_certificate(der).is_ok_and(|(rest, _)| rest.is_empty())
}

/// Reads every configurator certificate: files relative to `base` (PEM or DER; anything else
/// is an error naming the setting), inline ones decoded (problems left to lint).
pub fn resolve_certs(p: &Profile, base: &Path, path: &Path, text: &str) -> Result<Vec<Cert>> {
    let Some(list) = &p.configurator_certs else {
        return Ok(Vec::new());
    };
    let spans = super::profile::Spans::new(text);
    let mut out = Vec::new();
    for (i, c) in list.iter().enumerate() {
        match c {
            CertRef::File(f) => {
                let file = base.join(f);
                let setting = format!("configurator_certs[{i}]");
                let (line, column) = spans.locate(&setting).unwrap_or((0, 0));
                let bytes = fs_err::read(&file).map_err(|e| Error::Invalid {
                    path: path.into(),
                    line,
                    column,
                    setting: setting.clone(),
                    message: format!("cannot read {}: {}", file.display(), e),
                    fix: "point configurator_certs at the Apple Configurator certificate (.cer or .pem), relative to the profile".into(),
                })?;
                let der = match x509_parser::pem::parse_x509_pem(&bytes) {
                    Ok((_, pem)) if pem.label == "CERTIFICATE" => pem.contents,
                    _ => bytes,
                };
                if !is_x509(&der) {
                    return Err(Error::Invalid {
                        path: path.into(),
                        line,
                        column,
                        setting,
                        message: format!("{} is not an X.509 certificate (PEM or DER)", file.display()),
                        fix: "point configurator_certs at the Apple Configurator certificate file (PEM or DER), the same one the Mac holds (S1 L290)".into(),
                    });
                }
                out.push(Cert {
                    base64: base64_encode(&der),
                    thumbprint: sha1_hex(&der),
                    given_thumbprint: None,
                    valid: true,
                });
            }
            CertRef::Inline {
                certificate,
                thumbprint,
            } => {
                let der = base64_decode(certificate);
                let valid = der.as_deref().is_some_and(is_x509);
                out.push(Cert {
                    base64: certificate.clone(),
                    thumbprint: der.as_deref().map(sha1_hex).unwrap_or_default(),
                    given_thumbprint: thumbprint.clone(),
                    valid,
                });
            }
        }
    }
    Ok(out)
}

/// The hidden screens: Apple keys (verbatim when unknown, in the profile's order, each once)
/// and the Graph-only booleans.
pub fn hidden(p: &Profile) -> (Vec<String>, Vec<&'static str>) {
    let mut keys: Vec<String> = Vec::new();
    let mut graph_only = Vec::new();
    for h in &p.setup_assistant.hide {
        if let Some(k) = skipkeys::find(h) {
            if !keys.iter().any(|x| x == k.key) {
                keys.push(k.key.to_string());
            }
        } else if let Some((_, g)) = skipkeys::find_graph_only(h) {
            if !graph_only.contains(&g) {
                graph_only.push(g);
            }
        } else if !keys.contains(h) {
            keys.push(h.clone());
        }
    }
    (keys, graph_only)
}

/// TOML value → JSON value.
pub fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        toml::Value::Boolean(b) => json!(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, x)| (k.clone(), toml_to_json(x)))
                .collect(),
        ),
    }
}

/// JSON value → TOML value, when TOML can hold it exactly (no null, integers within i64).
pub fn json_to_toml(v: &Value) -> Option<toml::Value> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None if n.is_f64() => toml::Value::Float(n.as_f64()?),
            None => return None,
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(a) => toml::Value::Array(a.iter().map(json_to_toml).collect::<Option<_>>()?),
        Value::Object(m) => toml::Value::Table(
            m.iter()
                .map(|(k, x)| Some((k.clone(), json_to_toml(x)?)))
                .collect::<Option<_>>()?,
        ),
    })
}

/// Applies kept values and omissions to a body. A `keep_json` value that is not JSON is an
/// error naming the key.
pub fn apply_kept(
    body: &mut Map<String, Value>,
    k: &Kept,
    table: &str,
) -> std::result::Result<(), String> {
    for (n, v) in &k.keep {
        body.insert(n.clone(), toml_to_json(v));
    }
    for (n, v) in &k.keep_json {
        let j: Value = serde_json::from_str(v)
            .map_err(|e| format!("[{table}.keep_json] {n}: not JSON ({e})"))?;
        body.insert(n.clone(), j);
    }
    for n in &k.omit {
        body.remove(n);
    }
    Ok(())
}

/// Keeps `input`'s value for every key where `built` differs, and omits keys `input` lacks.
fn fix_up(
    kept: &mut Kept,
    input: &Map<String, Value>,
    built: &Map<String, Value>,
    ignore: &[&str],
) {
    for (k, v) in input {
        if ignore.contains(&k.as_str()) || built.get(k) == Some(v) {
            continue;
        }
        match json_to_toml(v) {
            Some(t) => {
                kept.keep.insert(k.clone(), t);
            }
            None => {
                kept.keep_json.insert(k.clone(), v.to_string());
            }
        }
    }
    for k in built.keys() {
        if !input.contains_key(k) && !ignore.contains(&k.as_str()) {
            kept.omit.push(k.clone());
        }
    }
}

/// The full Graph body (POST) of a profile. `certs` are the resolved configurator certificates
/// in profile order. Errors: an enumeration value lint would report, a kept value that is not
/// JSON.
pub fn to_graph(p: &Profile, certs: &[Cert]) -> std::result::Result<Map<String, Value>, String> {
    let mut m = Map::new();
    // Keys are sorted (serde_json's map), so the order of these calls does not matter.
    auth_props(&mut m, p)?;
    shared_ipad_props(&mut m, &p.shared_ipad);
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("@odata.type", json!(ODATA_TYPE));
    if let Some(v) = &p.name {
        put("displayName", json!(v));
    }
    if let Some(v) = &p.description {
        put("description", json!(v));
    }
    if let Some(v) = &p.company_portal_vpp_token {
        put("companyPortalVppTokenId", json!(v));
    }
    put(
        "enableSingleAppEnrollmentMode",
        json!(p.single_app_until_auth.unwrap_or(false)),
    );
    put("supervisedModeEnabled", json!(p.supervised.unwrap_or(true)));
    put(
        "profileRemovalDisabled",
        json!(p.locked_enrollment.unwrap_or(false)),
    );
    let pairing = match (&p.sync_with_computers, p.pairing()) {
        (None, _) => Pairing::Deny,
        (Some(_), Some(x)) => x,
        (Some(x), None) => {
            return Err(format!(
                "sync_with_computers {x:?} is not one of deny, allow, certificate"
            ));
        }
    };
    put(
        "iTunesPairingMode",
        json!(match pairing {
            Pairing::Deny => "disallow",
            Pairing::Allow => "allow",
            Pairing::Certificate => "requiresCertificate",
        }),
    );
    if p.configurator_certs.is_some() {
        let list: Vec<Value> = certs
            .iter()
            .map(|c| {
                json!({
                    "certificate": c.base64,
                    "thumbprint": c.given_thumbprint.clone().unwrap_or_else(|| c.thumbprint.clone()),
                })
            })
            .collect();
        put("managementCertificates", Value::Array(list));
    }
    let wait = p.await_final_configuration.unwrap_or(false);
    // Conflict 10: which flag the admin center writes for iOS is unknown; emit both, equal.
    put("awaitDeviceConfiguredConfirmation", json!(wait));
    put("waitForDeviceConfiguredConfirmation", json!(wait));
    if let Some(v) = &p.device_name_template {
        put("deviceNameTemplate", json!(v));
    }
    if let Some(v) = &p.cellular_activation_url {
        put("carrierActivationUrl", json!(v));
    }
    if let Some(v) = &p.setup_assistant.department {
        put("supportDepartment", json!(v));
    }
    if let Some(v) = &p.setup_assistant.department_phone {
        put("supportPhoneNumber", json!(v));
    }
    put(
        "enrollmentTimeAzureAdGroupIds",
        json!(p.enrollment_time_groups.clone().unwrap_or_default()),
    );
    put("isMandatory", json!(p.mandatory.unwrap_or(true)));
    put("isDefault", json!(p.default.unwrap_or(false)));
    let (keys, graph_only) = hidden(p);
    for s in skipkeys::SKIP_KEYS {
        if let Some(g) = s.graph {
            put(g, json!(keys.iter().any(|k| k == s.key)));
        }
    }
    for (_, _, g) in skipkeys::GRAPH_ONLY {
        put(g, json!(graph_only.contains(g)));
    }
    put("enabledSkipKeys", json!(keys));
    apply_kept(&mut m, &p.graph, "graph")?;
    Ok(m)
}

/// Affinity and authentication (spec §4's table): the five flags that encode them.
fn auth_props(m: &mut Map<String, Value>, p: &Profile) -> std::result::Result<(), String> {
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    let aff = match (&p.affinity, p.affinity()) {
        (None, _) => Affinity::None,
        (Some(_), Some(a)) => a,
        (Some(x), None) => {
            return Err(format!(
                "affinity {x:?} is not one of user, none, entra-shared"
            ));
        }
    };
    let auth = match (&p.auth, p.auth()) {
        (None, _) => None,
        (Some(_), Some(a)) => Some(a),
        (Some(x), None) => {
            return Err(format!(
                "auth {x:?} is not one of company-portal, setup-assistant, setup-assistant-modern"
            ));
        }
    };
    let user = aff == Affinity::User;
    put("requiresUserAuthentication", json!(user));
    put(
        "enableAuthenticationViaCompanyPortal",
        json!(user && auth == Some(Auth::CompanyPortal)),
    );
    put(
        "configurationWebUrl",
        json!(user && auth == Some(Auth::SetupAssistantModern)),
    );
    put(
        "requireCompanyPortalOnSetupAssistantEnrolledDevices",
        json!(
            user && matches!(
                auth,
                Some(Auth::SetupAssistant | Auth::SetupAssistantModern)
            ) && p.install_company_portal == Some(true)
        ),
    );
    put(
        "userlessSharedAadModeEnabled",
        json!(aff == Affinity::EntraShared),
    );
    Ok(())
}

/// The Shared iPad settings (absent ones sent as Graph's non-nullable zero/false).
fn shared_ipad_props(m: &mut Map<String, Value>, si: &super::profile::SharedIpad) {
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("enableSharedIPad", json!(si.enabled.unwrap_or(false)));
    put(
        "sharedIPadMaximumUserCount",
        json!(si.max_cached_users.unwrap_or(0)),
    );
    if let Some(v) = si.passcode_grace_seconds {
        put("passcodeLockGracePeriodInSeconds", json!(v));
    }
    put(
        "userSessionTimeoutInSeconds",
        json!(si.user_session_timeout_seconds.unwrap_or(0)),
    );
    put(
        "forceTemporarySession",
        json!(si.temporary_session_only.unwrap_or(false)),
    );
    put(
        "temporarySessionTimeoutInSeconds",
        json!(si.temporary_session_timeout_seconds.unwrap_or(0)),
    );
}

/// The PATCH body: client-settable properties only (no `id`, `isDefault`,
/// `configurationEndpointUrl`, no response annotations), and with a `baseline` (the current
/// GET) only those that differ from it. `@odata.type` stays: Graph needs it for a derived type.
pub fn to_patch(
    full: &Map<String, Value>,
    baseline: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    full.iter()
        .filter(|(k, _)| {
            k.as_str() == "@odata.type"
                || (!k.starts_with("@odata.") && graph::prop(k).is_none_or(|p| !p.server))
        })
        .filter(|(k, v)| {
            k.as_str() == "@odata.type" || baseline.is_none_or(|b| b.get(*k) != Some(v))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn get_bool(m: &Map<String, Value>, k: &str) -> Option<bool> {
    m.get(k).and_then(Value::as_bool)
}
fn get_str(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).map(String::from)
}
fn get_int(m: &Map<String, Value>, k: &str) -> Option<i64> {
    m.get(k).and_then(Value::as_i64)
}

/// What kind of JSON document a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JsonForm {
    /// A Graph `depIOSEnrollmentProfile` (GET response or POST body).
    Graph,
    /// The older Graph `depEnrollmentProfile`.
    GraphOld,
    /// A Graph list (`value[]`).
    GraphList,
    /// An Apple Define Profile body.
    Apple,
}

/// Recognises the document, refusing a settings-catalog enrollment policy and anything else.
pub fn detect(v: &Value, path: &Path) -> Result<JsonForm> {
    let Some(m) = v.as_object() else {
        return Err(Error::Form {
            path: path.into(),
            message: "the JSON is not an object".into(),
            fix: "pass a Graph depIOSEnrollmentProfile (GET response, list or POST body) or an Apple profile JSON".into(),
        });
    };
    let ty = m.get("@odata.type").and_then(Value::as_str).unwrap_or("");
    let catalog = ty.ends_with("deviceManagementConfigurationPolicy")
        || m.contains_key("templateReference")
        || m.get("creationSource")
            .and_then(Value::as_str)
            .is_some_and(|s| s.starts_with("DepTokenId_"))
        || (m.contains_key("settings") && m.contains_key("technologies"));
    if catalog {
        return Err(Error::Form {
            path: path.into(),
            message: "this is a settings-catalog \"enrollment policy\" (deviceManagement/configurationPolicies, the new ADE experience), not a depIOSEnrollmentProfile; it is not supported yet".into(),
            fix: "export the classic profile instead: GET /beta/deviceManagement/depOnboardingSettings/{id}/enrollmentProfiles/{profileId}".into(),
        });
    }
    if m.get("value").is_some_and(Value::is_array) {
        return Ok(JsonForm::GraphList);
    }
    if ty.eq_ignore_ascii_case(graph::ODATA_TYPE_OLD)
        || ty.eq_ignore_ascii_case(graph::ODATA_TYPE_OLD.trim_start_matches('#'))
    {
        return Ok(JsonForm::GraphOld);
    }
    if !ty.is_empty() {
        let t = ty.trim_start_matches('#');
        if t != ODATA_TYPE.trim_start_matches('#') {
            return Err(Error::Form {
                path: path.into(),
                message: format!("@odata.type {ty:?} is not an iOS/iPadOS ADE profile"),
                fix: "pass a #microsoft.graph.depIOSEnrollmentProfile (macOS, tvOS and visionOS profiles are not supported)".into(),
            });
        }
        return Ok(JsonForm::Graph);
    }
    let apple = [
        "is_mdm_removable",
        "org_magic",
        "profile_name",
        "skip_setup_items",
        "is_supervised",
    ];
    if apple.iter().any(|k| m.contains_key(*k)) {
        return Ok(JsonForm::Apple);
    }
    if m.keys().any(|k| graph::prop(k).is_some() && k != "id") {
        return Ok(JsonForm::Graph);
    }
    Err(Error::Form {
        path: path.into(),
        message: "neither a Graph enrollment profile (no @odata.type, no known property) nor an Apple profile".into(),
        fix: "pass a Graph depIOSEnrollmentProfile (GET response, list or POST body) or an Apple profile JSON".into(),
    })
}

/// The typed reading of a Graph body (spec §4 tables read backwards).
fn typed_from_graph(m: &Map<String, Value>) -> Profile {
    let mut p = Profile {
        name: get_str(m, "displayName"),
        description: get_str(m, "description"),
        ..Profile::default()
    };
    graph_affinity(m, &mut p);
    p.company_portal_vpp_token = get_str(m, "companyPortalVppTokenId");
    p.single_app_until_auth = get_bool(m, "enableSingleAppEnrollmentMode");
    p.supervised = get_bool(m, "supervisedModeEnabled");
    p.locked_enrollment = get_bool(m, "profileRemovalDisabled");
    p.sync_with_computers = m
        .get("iTunesPairingMode")
        .and_then(Value::as_str)
        .and_then(|s| match s {
            "disallow" => Some("deny"),
            "allow" => Some("allow"),
            "requiresCertificate" => Some("certificate"),
            _ => None,
        })
        .map(String::from);
    if let Some(list) = m.get("managementCertificates").and_then(Value::as_array) {
        p.configurator_certs = graph_certs(list);
    }
    // ADE-059: an existing profile without the flag does not await (S1 L308).
    p.await_final_configuration = get_bool(m, "awaitDeviceConfiguredConfirmation")
        .or_else(|| get_bool(m, "waitForDeviceConfiguredConfirmation"));
    p.device_name_template = get_str(m, "deviceNameTemplate");
    p.cellular_activation_url = get_str(m, "carrierActivationUrl");
    if p.cellular_activation_url
        .as_deref()
        .is_some_and(|u| !u.is_empty())
    {
        p.cellular_activation = Some(true);
    }
    p.setup_assistant.department = get_str(m, "supportDepartment");
    p.setup_assistant.department_phone = get_str(m, "supportPhoneNumber");
    p.enrollment_time_groups = m
        .get("enrollmentTimeAzureAdGroupIds")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(|x| x.as_str().map(String::from)).collect());
    p.mandatory = get_bool(m, "isMandatory");
    p.default = get_bool(m, "isDefault");
    p.setup_assistant.hide = graph_hidden_screens(m);
    graph_shared_ipad(m, &mut p.shared_ipad);
    p
}

/// Affinity and authentication method from the Graph flags, and whether Company Portal is
/// installed (asked only for the Setup Assistant methods).
fn graph_affinity(m: &Map<String, Value>, p: &mut Profile) {
    let user = get_bool(m, "requiresUserAuthentication") == Some(true);
    let entra = get_bool(m, "userlessSharedAadModeEnabled") == Some(true);
    p.affinity = Some(
        if entra {
            "entra-shared"
        } else if user {
            "user"
        } else {
            "none"
        }
        .into(),
    );
    if user && !entra {
        let auth = if get_bool(m, "enableAuthenticationViaCompanyPortal") == Some(true) {
            "company-portal"
        } else if get_bool(m, "configurationWebUrl") == Some(true) {
            "setup-assistant-modern"
        } else {
            "setup-assistant"
        };
        p.auth = Some(auth.into());
        if auth != "company-portal" {
            p.install_company_portal =
                get_bool(m, "requireCompanyPortalOnSetupAssistantEnrolledDevices");
        }
    }
}

/// Configurator certificates from `managementCertificates` (none when an entry is not a
/// certificate object).
fn graph_certs(list: &[Value]) -> Option<Vec<CertRef>> {
    list.iter()
        .map(|c| {
            let o = c.as_object()?;
            Some(CertRef::Inline {
                certificate: o.get("certificate")?.as_str()?.to_string(),
                thumbprint: o
                    .get("thumbprint")
                    .and_then(Value::as_str)
                    .map(String::from),
            })
        })
        .collect()
}

/// The hidden Setup Assistant screens: `enabledSkipKeys`, then the keys whose Graph boolean
/// is set.
fn graph_hidden_screens(m: &Map<String, Value>) -> Vec<String> {
    let mut hide: Vec<String> = m
        .get("enabledSkipKeys")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    for s in skipkeys::SKIP_KEYS {
        if let Some(g) = s.graph
            && get_bool(m, g) == Some(true)
            && !hide.iter().any(|h| h == s.key)
        {
            hide.push(s.key.to_string());
        }
    }
    for (k, _, g) in skipkeys::GRAPH_ONLY {
        if get_bool(m, g) == Some(true) {
            hide.push((*k).to_string());
        }
    }
    hide
}

/// The Shared iPad settings.
fn graph_shared_ipad(m: &Map<String, Value>, si: &mut super::profile::SharedIpad) {
    si.enabled = get_bool(m, "enableSharedIPad");
    si.max_cached_users = get_int(m, "sharedIPadMaximumUserCount");
    si.passcode_grace_seconds = get_int(m, "passcodeLockGracePeriodInSeconds");
    si.user_session_timeout_seconds = get_int(m, "userSessionTimeoutInSeconds");
    si.temporary_session_only = get_bool(m, "forceTemporarySession");
    si.temporary_session_timeout_seconds = get_int(m, "temporarySessionTimeoutInSeconds");
}

/// Imports one Graph body (GET response, POST body, or the older type) losslessly: the returned
/// profile's [`to_graph`] equals `m` (the `@odata.type` of the older type becomes the iOS one).
pub fn from_graph(m: &Map<String, Value>, path: &Path) -> Result<Profile> {
    let mut p = typed_from_graph(m);
    let certs = inline_certs(&p);
    let built = to_graph(&p, &certs).map_err(|e| internal(path, &e))?;
    // The older type is read onto the iOS one, and a body without a type gets it; any other
    // type is kept as written (lint reports it).
    let ty = m.get("@odata.type").and_then(Value::as_str);
    let retype = ty
        .is_none_or(|t| t.trim_start_matches('#') == graph::ODATA_TYPE_OLD.trim_start_matches('#'));
    let ignore: &[&str] = if retype { &["@odata.type"] } else { &[] };
    fix_up(&mut p.graph, m, &built, ignore);
    let again = to_graph(&p, &certs).map_err(|e| internal(path, &e))?;
    let mut want = m.clone();
    if retype {
        want.insert("@odata.type".into(), json!(ODATA_TYPE));
    }
    if graph::canonical(&Value::Object(again)) != graph::canonical(&Value::Object(want)) {
        return Err(internal(
            path,
            "the imported profile does not rebuild the same body",
        ));
    }
    Ok(p)
}

/// The inline certificates of a profile (an import); certificate files are never read here, so
/// a profile that names files gets none (use [`resolve_certs`]).
pub fn inline_certs(p: &Profile) -> Vec<Cert> {
    let Some(list) = &p.configurator_certs else {
        return Vec::new();
    };
    if list.iter().any(|c| matches!(c, CertRef::File(_))) {
        return Vec::new();
    }
    resolve_certs(p, Path::new("."), Path::new(""), "").unwrap_or_default()
}

fn internal(path: &Path, e: &str) -> Error {
    Error::Form {
        path: path.into(),
        message: format!("internal check failed: {e}"),
        fix: "report this file to the peforge maintainers".into(),
    }
}

/// Extends [`fix_up`] for the Apple side.
pub(crate) fn fix_up_apple(
    kept: &mut Kept,
    input: &Map<String, Value>,
    built: &Map<String, Value>,
) {
    fix_up(kept, input, built, &[]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for n in 0..40u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            let e = base64_encode(&data);
            assert_eq!(base64_decode(&e).as_deref(), Some(&data[..]));
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_decode("Zm8="), Some(b"fo".to_vec()));
        assert_eq!(base64_decode("Zm=8"), None);
        assert_eq!(base64_decode("Zm8"), None);
    }
}
