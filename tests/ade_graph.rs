//! `ade profile build` against the Graph beta CSDL extract (read here with a small quick-xml walk
//! of its own, not peforge's model), the spec's mapping tables for each preset, round trips over
//! the vector payload, PATCH bodies and `--request`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{Dir, jsonschema_errors, schema_file, vectors};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
struct CsdlProp {
    ty: String,
    nullable: bool,
}

#[derive(Debug, Default)]
struct Csdl {
    /// type name → (base type, properties)
    types: BTreeMap<String, (Option<String>, BTreeMap<String, CsdlProp>)>,
    enums: BTreeMap<String, Vec<String>>,
}

/// Reads EntityType/ComplexType/EnumType elements of the extract.
fn csdl() -> Csdl {
    use quick_xml::events::Event;
    let text = std::fs::read_to_string(vectors().join("ade/graph-beta-csdl-extract.xml")).unwrap();
    let mut r = quick_xml::Reader::from_str(&text);
    let mut c = Csdl::default();
    let mut cur_type: Option<String> = None;
    let mut cur_enum: Option<String> = None;
    let attr = |e: &quick_xml::events::BytesStart, n: &str| -> Option<String> {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == n)
            .map(|a| a.value.to_string())
    };
    loop {
        match r.read_event().unwrap() {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let name = e.name().as_ref().to_string();
                match name.as_str() {
                    "EntityType" | "ComplexType" => {
                        let n = attr(&e, "Name").unwrap();
                        let base = attr(&e, "BaseType")
                            .map(|b| b.trim_start_matches("graph.").to_string());
                        c.types.insert(n.clone(), (base, BTreeMap::new()));
                        cur_type = Some(n);
                    }
                    "EnumType" => {
                        let n = attr(&e, "Name").unwrap();
                        c.enums.insert(n.clone(), Vec::new());
                        cur_enum = Some(n);
                    }
                    "Member" => {
                        if let Some(en) = &cur_enum {
                            c.enums.get_mut(en).unwrap().push(attr(&e, "Name").unwrap());
                        }
                    }
                    "Property" => {
                        if let Some(t) = &cur_type {
                            let p = CsdlProp {
                                ty: attr(&e, "Type").unwrap(),
                                nullable: attr(&e, "Nullable").as_deref() != Some("false"),
                            };
                            c.types
                                .get_mut(t)
                                .unwrap()
                                .1
                                .insert(attr(&e, "Name").unwrap(), p);
                        }
                    }
                    _ => {}
                }
            }
            Event::End(e) => match e.name().as_ref() {
                "EntityType" | "ComplexType" => cur_type = None,
                "EnumType" => cur_enum = None,
                _ => {}
            },
            _ => {}
        }
    }
    c
}

impl Csdl {
    /// Every property of a type and its bases.
    fn chain(&self, ty: &str) -> BTreeMap<String, CsdlProp> {
        let mut out = BTreeMap::new();
        let mut t = Some(ty.to_string());
        while let Some(name) = t {
            let (base, props) = self
                .types
                .get(&name)
                .unwrap_or_else(|| panic!("type {name} not in extract"));
            for (k, p) in props {
                out.insert(k.clone(), p.clone());
            }
            t = base.clone();
        }
        out
    }

    /// Whether `v` is a value of CSDL type `ty`.
    fn value_ok(&self, v: &Value, ty: &str, nullable: bool) -> bool {
        if v.is_null() {
            return nullable;
        }
        if let Some(inner) = ty
            .strip_prefix("Collection(")
            .and_then(|s| s.strip_suffix(')'))
        {
            return v
                .as_array()
                .is_some_and(|a| a.iter().all(|x| self.value_ok(x, inner, false)));
        }
        match ty {
            "Edm.Boolean" => v.is_boolean(),
            "Edm.String" => v.is_string(),
            "Edm.Int32" => v
                .as_i64()
                .is_some_and(|n| (i32::MIN as i64..=i32::MAX as i64).contains(&n)),
            "Edm.Guid" => v.as_str().is_some_and(|s| {
                let parts: Vec<&str> = s.split('-').collect();
                parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
                    && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
            }),
            t => {
                let short = t.trim_start_matches("graph.");
                if let Some(members) = self.enums.get(short) {
                    return v.as_str().is_some_and(|s| members.iter().any(|m| m == s));
                }
                let props = self.chain(short);
                v.as_object().is_some_and(|o| {
                    o.iter().all(|(k, x)| {
                        k == "@odata.type"
                            || props
                                .get(k)
                                .is_some_and(|p| self.value_ok(x, &p.ty, p.nullable))
                    })
                })
            }
        }
    }
}

const PRESETS: &[&str] = &[
    "user-modern",
    "user-company-portal",
    "userless",
    "shared-ipad",
    "entra-shared",
];

fn build(d: &Dir, preset: &str) -> (PathBuf, Value) {
    let toml = d.join(&format!("{preset}.toml"));
    d.peforge(&[
        "ade",
        "profile",
        "init",
        "--preset",
        preset,
        "-o",
        toml.to_str().unwrap(),
    ])
    .ok();
    let out = d.join(&format!("{preset}.json"));
    d.peforge(&[
        "ade",
        "profile",
        "build",
        toml.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])
    .ok();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    (toml, v)
}

fn assert_on_chain(c: &Csdl, body: &Value, what: &str) {
    let chain = c.chain("depIOSEnrollmentProfile");
    for (k, v) in body.as_object().unwrap() {
        if k == "@odata.type" {
            assert_eq!(v, "#microsoft.graph.depIOSEnrollmentProfile", "{what}");
            continue;
        }
        let p = chain.get(k).unwrap_or_else(|| {
            panic!("{what}: {k} is not on the depIOSEnrollmentProfile type chain")
        });
        assert!(
            c.value_ok(v, &p.ty, p.nullable),
            "{what}: {k} = {v} is not a {} (nullable {})",
            p.ty,
            p.nullable
        );
    }
}

#[test]
fn every_emitted_key_is_on_the_csdl_type_chain_with_its_edm_type_and_post_bodies_are_full() {
    let c = csdl();
    let chain = c.chain("depIOSEnrollmentProfile");
    assert_eq!(
        chain.len(),
        58,
        "spec §2.2 counts 58 properties on the chain"
    );
    let d = Dir::new();
    for preset in PRESETS {
        let (_, body) = build(&d, preset);
        assert_on_chain(&c, &body, preset);
        for (k, p) in &chain {
            if !p.nullable && k != "id" {
                assert!(
                    body.get(k).is_some(),
                    "{preset}: non-nullable {k} missing from the POST body"
                );
            }
        }
        // Stable output: sorted keys, two-space indentation, LF, final newline.
        let text = std::fs::read_to_string(d.join(&format!("{preset}.json"))).unwrap();
        assert!(
            text.ends_with("}\n") && !text.contains('\r'),
            "{preset}: LF and final newline"
        );
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        let text_keys: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with("  \"") && !l.starts_with("   "))
            .map(|l| l.trim_start()[1..].split('"').next().unwrap().to_string())
            .collect();
        let mut sorted = text_keys.clone();
        sorted.sort();
        assert_eq!(text_keys, sorted, "{preset}: keys are written sorted");
        assert_eq!(text_keys.len(), keys.len());
    }
}

/// Expected Graph values per preset, from the spec's §4 affinity/authentication table and the
/// preset's settings (independent of peforge's code).
#[test]
fn presets_follow_the_spec_mapping_table() {
    let d = Dir::new();
    // (preset, requiresUserAuthentication, enableAuthenticationViaCompanyPortal,
    //  configurationWebUrl, requireCompanyPortal..., userlessSharedAadModeEnabled, enableSharedIPad, await)
    let table = [
        ("user-modern", true, false, true, true, false, false, true),
        (
            "user-company-portal",
            true,
            true,
            false,
            false,
            false,
            false,
            false,
        ),
        ("userless", false, false, false, false, false, false, true),
        (
            "shared-ipad",
            false,
            false,
            false,
            false,
            false,
            true,
            false,
        ),
        (
            "entra-shared",
            false,
            false,
            false,
            false,
            true,
            false,
            true,
        ),
    ];
    for (preset, rua, cp, web, req, entra, shared, wait) in table {
        let (_, b) = build(&d, preset);
        assert_eq!(b["requiresUserAuthentication"], rua, "{preset}");
        assert_eq!(b["enableAuthenticationViaCompanyPortal"], cp, "{preset}");
        assert_eq!(b["configurationWebUrl"], web, "{preset}");
        assert_eq!(
            b["requireCompanyPortalOnSetupAssistantEnrolledDevices"], req,
            "{preset}"
        );
        assert_eq!(b["userlessSharedAadModeEnabled"], entra, "{preset}");
        assert_eq!(b["enableSharedIPad"], shared, "{preset}");
        // Conflict 10: both await flags, equal.
        assert_eq!(b["awaitDeviceConfiguredConfirmation"], wait, "{preset}");
        assert_eq!(b["waitForDeviceConfiguredConfirmation"], wait, "{preset}");
        assert_eq!(b["supervisedModeEnabled"], true, "{preset}");
        assert_eq!(b["profileRemovalDisabled"], true, "{preset}");
        assert_eq!(b["iTunesPairingMode"], "disallow", "{preset}");
        assert_eq!(b["isMandatory"], true, "{preset}");
        assert_eq!(
            b["deviceNameTemplate"], "{{DEVICETYPE}}-{{SERIAL}}",
            "{preset}"
        );
        // Each hidden screen: its §3.3 Graph boolean is true and the key is in enabledSkipKeys.
        let keys: Vec<&str> = b["enabledSkipKeys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        let spec_booleans = [
            ("Passcode", "passCodeDisabled"),
            ("Location", "locationDisabled"),
            ("Restore", "restoreBlocked"),
            ("AppleID", "appleIdDisabled"),
            ("TOS", "termsAndConditionsDisabled"),
            ("Biometric", "touchIdDisabled"),
            ("Payment", "applePayDisabled"),
            ("Zoom", "zoomDisabled"),
            ("Siri", "siriDisabled"),
            ("Diagnostics", "diagnosticsDisabled"),
            ("DisplayTone", "displayToneSetupDisabled"),
            ("Privacy", "privacyPaneDisabled"),
            ("Android", "restoreFromAndroidDisabled"),
            ("iMessageAndFaceTime", "iMessageAndFaceTimeScreenDisabled"),
            ("OnBoarding", "onBoardingScreenDisabled"),
            ("ScreenTime", "screenTimeScreenDisabled"),
            ("SIMSetup", "simSetupScreenDisabled"),
            ("SoftwareUpdate", "softwareUpdateScreenDisabled"),
            ("WatchMigration", "watchMigrationScreenDisabled"),
            ("Appearance", "appearanceScreenDisabled"),
            ("DeviceToDeviceMigration", "deviceToDeviceMigrationDisabled"),
            ("RestoreCompleted", "restoreCompletedScreenDisabled"),
            ("UpdateCompleted", "updateCompleteScreenDisabled"),
            ("Welcome", "welcomeScreenDisabled"),
            ("HomeButtonSensitivity", "homeButtonScreenDisabled"),
        ];
        for (key, prop) in spec_booleans {
            assert_eq!(
                b[prop],
                keys.contains(&key),
                "{preset}: {prop} vs enabledSkipKeys {key}"
            );
        }
        if preset == "shared-ipad" {
            assert!(keys.is_empty(), "ADE-045: Shared iPad preset hides nothing");
            assert_eq!(b["sharedIPadMaximumUserCount"], 10);
            assert_eq!(b["passcodeLockGracePeriodInSeconds"], 300);
        } else {
            assert!(
                keys.contains(&"Passcode")
                    && keys.contains(&"Welcome")
                    && !keys.contains(&"AppleID"),
                "{preset}"
            );
        }
    }
}

/// The committed, hand-reviewed golden body of the user-modern preset.
#[test]
fn user_modern_matches_the_reviewed_golden_file() {
    let d = Dir::new();
    build(&d, "user-modern");
    let got = std::fs::read_to_string(d.join("user-modern.json")).unwrap();
    let want = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/ade/user-modern.graph.json"),
    )
    .unwrap();
    assert_eq!(got, want);
}

fn canon(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut items: Vec<_> = m.iter().collect();
            items.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                items
                    .into_iter()
                    .map(|(k, x)| (k.clone(), canon(x)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(canon).collect()),
        x => x.clone(),
    }
}

#[test]
fn import_then_build_gives_back_the_vector_post_body() {
    let d = Dir::new();
    let src = vectors().join("ade/graph-depiosenrollmentprofile.packt-cookbook.post.json");
    let orig: Value = serde_json::from_str(&std::fs::read_to_string(&src).unwrap()).unwrap();
    assert_eq!(
        orig.as_object().unwrap().len(),
        54,
        "vector: 53 properties + @odata.type"
    );
    let imp = d
        .peforge(&[
            "ade",
            "profile",
            "import",
            src.to_str().unwrap(),
            "-o",
            "p.toml",
            "--json",
        ])
        .ok();
    assert!(jsonschema_errors(&schema_file("ade-profile-import"), &imp.json()).is_empty());
    d.peforge(&["ade", "profile", "build", "p.toml", "-o", "back.json"])
        .ok();
    let back: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("back.json")).unwrap()).unwrap();
    assert_eq!(
        canon(&back),
        canon(&orig),
        "import → build must give the same keys and values"
    );
    // The 5 non-nullable properties the book's body lacks stay absent (spec §6).
    for k in [
        "enrollmentTimeAzureAdGroupIds",
        "expressLanguageScreenDisabled",
        "isDefault",
        "preferredLanguageScreenDisabled",
        "waitForDeviceConfiguredConfirmation",
    ] {
        assert!(back.get(k).is_none(), "{k}");
    }
    // build → import → build is stable.
    d.peforge(&["ade", "profile", "import", "back.json", "-o", "p2.toml"])
        .ok();
    d.peforge(&["ade", "profile", "build", "p2.toml", "-o", "back2.json"])
        .ok();
    assert_eq!(
        std::fs::read(d.join("back.json")).unwrap(),
        std::fs::read(d.join("back2.json")).unwrap()
    );
    // The typed settings were read (not everything kept verbatim).
    let t = std::fs::read_to_string(d.join("p.toml")).unwrap();
    assert!(t.contains("auth = \"setup-assistant-modern\""), "{t}");
    assert!(t.contains("company_portal_vpp_token = \"5f5a5226-27b9-45cc-8008-e4f7c9dd6c04\""));
    assert!(t.contains("passcodeLockGracePeriodInSeconds = \"null\""));
}

#[test]
fn build_import_build_is_stable_for_every_preset() {
    let d = Dir::new();
    for preset in PRESETS {
        let (toml, _) = build(&d, preset);
        let first = d.join(&format!("{preset}.json"));
        let t2 = d.join(&format!("{preset}.2.toml"));
        d.peforge(&[
            "ade",
            "profile",
            "import",
            first.to_str().unwrap(),
            "-o",
            t2.to_str().unwrap(),
        ])
        .ok();
        let second = d.join(&format!("{preset}.2.json"));
        d.peforge(&[
            "ade",
            "profile",
            "build",
            t2.to_str().unwrap(),
            "-o",
            second.to_str().unwrap(),
            "--allow-lint-errors",
        ])
        .ok();
        assert_eq!(
            std::fs::read(&first).unwrap(),
            std::fs::read(&second).unwrap(),
            "{preset}"
        );
        // A fresh import needs nothing kept verbatim.
        let text = std::fs::read_to_string(&t2).unwrap();
        assert!(
            !text.contains("[graph"),
            "{preset}: import of peforge's own body kept keys:\n{text}"
        );
        let _ = toml;
    }
}

#[test]
fn unknown_keys_and_lists_and_the_older_type_are_imported_without_loss() {
    let d = Dir::new();
    let src = vectors().join("ade/graph-depiosenrollmentprofile.packt-cookbook.post.json");
    let mut body: Value = serde_json::from_str(&std::fs::read_to_string(&src).unwrap()).unwrap();
    body["futureGraphProperty"] = json!({"nested": [1, null, "x"]});
    body["id"] = json!("token_3f4c");
    body["@odata.context"] = json!(
        "https://graph.microsoft.com/beta/$metadata#deviceManagement/depOnboardingSettings('t')/enrollmentProfiles/$entity"
    );
    let mut second = body.clone();
    second["displayName"] = json!("Second profile");
    let list = json!({"@odata.context": "x", "value": [body.clone(), second]});
    std::fs::write(d.join("get.json"), body.to_string()).unwrap();
    std::fs::write(d.join("list.json"), list.to_string()).unwrap();

    d.peforge(&["ade", "profile", "import", "get.json", "-o", "g.toml"])
        .ok();
    d.peforge(&["ade", "profile", "build", "g.toml", "-o", "g.json"])
        .ok();
    let back: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("g.json")).unwrap()).unwrap();
    assert_eq!(canon(&back), canon(&body));
    let lint = d.peforge(&["ade", "profile", "lint", "get.json", "--format", "json"]);
    let rules: Vec<String> = lint.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    assert!(
        rules.contains(&"ADE-S01".to_string()) && rules.contains(&"ADE-S06".to_string()),
        "{rules:?}"
    );

    // A list: by name, or one TOML per profile into a folder; ambiguous without either.
    d.peforge(&[
        "ade",
        "profile",
        "import",
        "list.json",
        "--name",
        "Second profile",
        "-o",
        "s.toml",
    ])
    .ok();
    assert!(
        std::fs::read_to_string(d.join("s.toml"))
            .unwrap()
            .contains("name = \"Second profile\"")
    );
    let r = d
        .peforge(&["ade", "profile", "import", "list.json", "-o", "one.toml"])
        .fails(2);
    assert!(
        r.stderr.contains("Second profile") && r.stderr.contains("--name"),
        "{}",
        r.stderr
    );
    assert!(!d.join("one.toml").exists());
    d.peforge(&["ade", "profile", "import", "list.json", "-o", "all/"])
        .ok();
    let mut files: Vec<String> = std::fs::read_dir(d.join("all"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["ios-enrollment-profile.toml", "second-profile.toml"]
    );

    // The older flat type maps onto the iOS model; its macOS-only keys are kept and flagged.
    let old = json!({
        "@odata.type": "#microsoft.graph.depEnrollmentProfile",
        "displayName": "Old", "requiresUserAuthentication": false, "supervisedModeEnabled": true,
        "profileRemovalDisabled": true, "awaitDeviceConfiguredConfirmation": false,
        "macOSFileVaultDisabled": false, "iTunesPairingMode": "disallow"
    });
    std::fs::write(d.join("old.json"), old.to_string()).unwrap();
    let r = d
        .peforge(&[
            "ade", "profile", "import", "old.json", "-o", "old.toml", "--json",
        ])
        .ok();
    assert_eq!(r.json()["files"][0]["form"], "graph-old");
    d.peforge(&["ade", "profile", "build", "old.toml", "-o", "old.out.json"])
        .ok();
    let b: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("old.out.json")).unwrap()).unwrap();
    assert_eq!(b["@odata.type"], "#microsoft.graph.depIOSEnrollmentProfile");
    assert_eq!(b["macOSFileVaultDisabled"], false);
    let l = d
        .peforge(&["ade", "profile", "lint", "old.json", "--format", "json"])
        .json();
    let rules: Vec<&str> = l["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"ADE-S05") && rules.contains(&"ADE-S01"),
        "{rules:?}"
    );
}

#[test]
fn patch_bodies_and_the_request() {
    let d = Dir::new();
    let (toml, full) = build(&d, "user-modern");
    let t = toml.to_str().unwrap();
    let r = d
        .peforge(&[
            "ade",
            "profile",
            "build",
            t,
            "-o",
            "patch.json",
            "--patch",
            "--request",
            "--token-id",
            "tok1",
            "--profile-id",
            "tok1_abc",
            "--json",
        ])
        .ok();
    let s = r.json();
    assert!(
        jsonschema_errors(&schema_file("ade-profile-build"), &s).is_empty(),
        "{s}"
    );
    assert_eq!(s["request"]["method"], "PATCH");
    assert_eq!(
        s["request"]["url"],
        "https://graph.microsoft.com/beta/deviceManagement/depOnboardingSettings/tok1/enrollmentProfiles/tok1_abc"
    );
    let patch: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("patch.json")).unwrap()).unwrap();
    assert!(patch.get("isDefault").is_none() && patch.get("id").is_none());
    assert_eq!(
        patch.as_object().unwrap().len(),
        full.as_object().unwrap().len() - 1
    );

    // With a baseline, only what changed (and @odata.type).
    let changed = std::fs::read_to_string(&toml).unwrap().replace(
        "department = \"IT Service Desk\"",
        "department = \"Helpdesk\"",
    );
    std::fs::write(d.join("changed.toml"), changed).unwrap();
    let base = d.join("user-modern.json");
    d.peforge(&[
        "ade",
        "profile",
        "build",
        "changed.toml",
        "-o",
        "p2.json",
        "--patch",
        "--baseline",
        base.to_str().unwrap(),
    ])
    .ok();
    let p2: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("p2.json")).unwrap()).unwrap();
    assert_eq!(
        p2,
        json!({"@odata.type": "#microsoft.graph.depIOSEnrollmentProfile", "supportDepartment": "Helpdesk"})
    );

    // A default profile: the setDefaultProfile call is printed after the POST.
    let def = std::fs::read_to_string(&toml)
        .unwrap()
        .replace("# default = false", "default = true");
    std::fs::write(d.join("def.toml"), def).unwrap();
    let r = d
        .peforge(&[
            "ade",
            "profile",
            "build",
            "def.toml",
            "-o",
            "def.json",
            "--request",
        ])
        .ok();
    assert!(r.stdout.starts_with("POST https://graph.microsoft.com/beta/deviceManagement/depOnboardingSettings/{depOnboardingSettingId}/enrollmentProfiles\n"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("DeviceManagementServiceConfig.ReadWrite.All")
    );
    assert!(r.stdout.contains("/setDefaultProfile"), "{}", r.stdout);
}

/// A profile with every setting set (certificates, VPP token, Shared iPad values, groups,
/// cellular URL): still only type-chain keys with their EDM types, nullable ones included.
#[test]
fn a_profile_with_every_setting_stays_on_the_type_chain() {
    let c = csdl();
    let d = Dir::new();
    let toml = r#"
name = "Every setting"
description = "d"
affinity = "user"
auth = "setup-assistant"
jit = false
install_company_portal = true
company_portal_vpp_token = "5f5a5226-27b9-45cc-8008-e4f7c9dd6c04"
single_app_until_auth = true
supervised = true
locked_enrollment = true
sync_with_computers = "certificate"
configurator_certs = [{ certificate = "MIIB", thumbprint = "00" }]
await_final_configuration = false
device_name_template = "{{SERIAL}}"
cellular_activation = true
cellular_activation_url = "https://carrier.example/a"
enrollment_time_groups = ["0b6f1e4c-6a8e-4c1e-9a43-1f0c2d3e4f50"]
mandatory = true
default = true
[setup_assistant]
department = "IT"
department_phone = "1"
hide = ["Passcode", "TermsOfAddress", "ExpressLanguage", "Preferred Language", "Apple Pay", "Code secret"]
show = ["Siri"]
[shared_ipad]
enabled = false
max_cached_users = 3
passcode_grace_seconds = 900
user_session_timeout_seconds = 60
temporary_session_only = false
temporary_session_timeout_seconds = 0
[target]
min_ios = "17.0"
device_families = ["iphone"]
single_app_kiosk = false
"#;
    std::fs::write(d.join("all.toml"), toml).unwrap();
    d.peforge(&[
        "ade",
        "profile",
        "build",
        "all.toml",
        "-o",
        "all.json",
        "--allow-lint-errors",
    ])
    .ok();
    let b: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("all.json")).unwrap()).unwrap();
    assert_on_chain(&c, &b, "every setting");
    let chain = c.chain("depIOSEnrollmentProfile");
    let emitted = b
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !k.starts_with('@'))
        .count();
    // All but the server-set id and configurationEndpointUrl.
    assert_eq!(emitted, chain.len() - 2, "{b}");
    assert_eq!(
        b["managementCertificates"],
        json!([{"certificate": "MIIB", "thumbprint": "00"}])
    );
    assert_eq!(
        b["enabledSkipKeys"],
        json!(["Passcode", "TermsOfAddress", "Payment"]),
        "Graph-only screens are booleans only; names resolve to Apple keys once"
    );
    assert_eq!(b["expressLanguageScreenDisabled"], true);
    assert_eq!(b["preferredLanguageScreenDisabled"], true);
    assert_eq!(b["applePayDisabled"], true);
    assert_eq!(b["siriDisabled"], false);
    assert_eq!(b["isDefault"], true);
    assert_eq!(
        b["requireCompanyPortalOnSetupAssistantEnrolledDevices"],
        true
    );
    assert_eq!(b["configurationWebUrl"], false, "legacy Setup Assistant");
}

/// peforge's Graph model (used by lint's schema rules) equals the CSDL: same 58 names, same
/// types, same nullability.
#[test]
fn the_librarys_graph_model_equals_the_csdl() {
    use peforge::ade::graph::{PAIRING_MODES, PROPS};
    let c = csdl();
    let chain = c.chain("depIOSEnrollmentProfile");
    assert_eq!(PROPS.len(), chain.len());
    for p in PROPS {
        let x = chain
            .get(p.name)
            .unwrap_or_else(|| panic!("{} not in the CSDL", p.name));
        assert_eq!(p.edm.csdl(), x.ty, "{}", p.name);
        assert_eq!(p.nullable, x.nullable, "{}", p.name);
    }
    assert_eq!(c.enums["iTunesPairingMode"], PAIRING_MODES);
}
