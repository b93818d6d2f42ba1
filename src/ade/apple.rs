//! peforge's mapping of a profile to Apple's Device Assignment "Define Profile" body (spec §3.2,
//! §4 Apple column). The whole mapping is *inferred*: what Intune uploads to Apple is not public.
//! It is for other MDMs; Apple-only keys (`org_magic`, `url`, `anchor_certs`, ...) come from the
//! profile's `[apple]` table.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::build::{Cert, apply_kept, fix_up_apple, hidden, inline_certs};
use super::profile::{CertRef, Pairing, Profile};
use super::{Error, Result};

/// The label every output of the mapping carries.
pub const LABEL: &str = "peforge mapping (inferred), not what Intune uploads to Apple";

/// The Apple body of a profile.
pub fn to_apple(p: &Profile, certs: &[Cert]) -> std::result::Result<Map<String, Value>, String> {
    let mut m = Map::new();
    if let Some(n) = &p.name {
        m.insert("profile_name".into(), json!(n));
    }
    m.insert(
        "allow_pairing".into(),
        json!(p.pairing() == Some(Pairing::Allow)),
    );
    m.insert("is_supervised".into(), json!(p.supervised.unwrap_or(true)));
    m.insert("is_mandatory".into(), json!(p.mandatory.unwrap_or(true)));
    m.insert(
        "is_mdm_removable".into(),
        json!(!p.locked_enrollment.unwrap_or(false)),
    );
    m.insert(
        "await_device_configured".into(),
        json!(p.await_final_configuration.unwrap_or(false)),
    );
    m.insert("is_multi_user".into(), json!(p.shared_ipad_on()));
    if let Some(d) = &p.setup_assistant.department {
        m.insert("department".into(), json!(d));
    }
    if let Some(d) = &p.setup_assistant.department_phone {
        m.insert("support_phone_number".into(), json!(d));
    }
    if p.configurator_certs.is_some() {
        let list: Vec<Value> = certs.iter().map(|c| json!(c.base64)).collect();
        m.insert("supervising_host_certs".into(), Value::Array(list));
    }
    let (keys, _) = hidden(p);
    m.insert("skip_setup_items".into(), json!(keys));
    // Required by Apple; its value is the MDM's, unknown to Intune data (spec §5).
    m.insert("org_magic".into(), json!(""));
    apply_kept(&mut m, &p.apple, "apple")?;
    Ok(m)
}

/// Imports an Apple profile body losslessly: [`to_apple`] of the result equals `m`.
pub fn from_apple(m: &Map<String, Value>, path: &Path) -> Result<Profile> {
    let b = |k: &str| m.get(k).and_then(Value::as_bool);
    let s = |k: &str| m.get(k).and_then(Value::as_str).map(String::from);
    let mut p = Profile {
        name: s("profile_name"),
        supervised: b("is_supervised"),
        mandatory: b("is_mandatory"),
        locked_enrollment: b("is_mdm_removable").map(|r| !r),
        await_final_configuration: b("await_device_configured"),
        sync_with_computers: b("allow_pairing").map(|a| if a { "allow" } else { "deny" }.into()),
        ..Profile::default()
    };
    p.shared_ipad.enabled = b("is_multi_user");
    p.setup_assistant.department = s("department");
    p.setup_assistant.department_phone = s("support_phone_number");
    if let Some(a) = m.get("skip_setup_items").and_then(Value::as_array) {
        p.setup_assistant.hide = a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect();
    }
    if let Some(a) = m.get("supervising_host_certs").and_then(Value::as_array) {
        p.configurator_certs = a
            .iter()
            .map(|x| {
                x.as_str().map(|c| CertRef::Inline {
                    certificate: c.into(),
                    thumbprint: None,
                })
            })
            .collect();
    }
    let certs = inline_certs(&p);
    let internal = |e: String| Error::Form {
        path: path.into(),
        message: format!("internal check failed: {e}"),
        fix: "report this file to the peforge maintainers".into(),
    };
    let built = to_apple(&p, &certs).map_err(internal)?;
    fix_up_apple(&mut p.apple, m, &built);
    let again = to_apple(&p, &certs).map_err(internal)?;
    if again != *m {
        return Err(internal(
            "the imported profile does not rebuild the same Apple body".into(),
        ));
    }
    Ok(p)
}
