//! ts acceptance (issue 4): every lint rule's documented/inferred label checked against the
//! spec's own §9 list (D = documented, I = inferred, read from `shared/specs/task-sequence.md` at
//! test time), the rules the other tests leave out, and content errors in TOML named by line.

mod common;
use common::{Dir, vectors};
use serde_json::Value;

fn lint(d: &Dir, input: &str, dep: Option<&str>) -> (i32, Value) {
    let mut args = vec!["ts", "lint", input, "--format", "json"];
    if let Some(x) = dep {
        args.extend(["--deployment", x]);
    }
    let r = d.peforge(&args);
    assert!(r.code == 0 || r.code == 1, "{}: {}", r.code, r.stderr);
    (r.code, r.json())
}

fn findings<'a>(rep: &'a Value, rule: &str) -> Vec<&'a Value> {
    rep["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

fn has(rep: &Value, rule: &str, sev: &str) -> bool {
    findings(rep, rule).iter().any(|f| f["severity"] == sev)
}

fn write(d: &Dir, name: &str, body: &str) -> String {
    std::fs::write(d.join(name), body).unwrap();
    name.to_string()
}

/// The §9 items of the spec: `D1`… are documented, `I1`… inferred.
fn spec_items() -> Vec<(String, &'static str)> {
    let spec = std::fs::read_to_string(vectors().join("../specs/task-sequence.md")).expect("spec");
    let s9 = spec
        .split("\n## 9.")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("spec §9");
    s9.lines()
        .filter_map(|l| l.strip_prefix("- "))
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|id| match id.chars().next() {
            Some('D') => Some((id.to_string(), "documented")),
            Some('I') => Some((id.to_string(), "inferred")),
            _ => None,
        })
        .collect()
}

#[test]
fn rule_labels_follow_the_spec() {
    let items = spec_items();
    assert!(items.len() >= 20, "{items:?}");
    let d = Dir::new();
    let t = write(
        &d,
        "t.toml",
        "[[steps]]\nname = \"x\"\nkind = \"restart\"\n",
    );
    let r = d.peforge(&["ts", "lint", &t, "--format", "sarif"]);
    let sarif: Value = serde_json::from_str(&r.stdout).expect("sarif");
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let mut checked = 0;
    for rule in rules {
        let spec = rule["properties"]["spec"].as_str().unwrap();
        let Some(s9) = spec.split("§9 ").nth(1) else {
            continue;
        };
        let ids: Vec<&str> = s9
            .split([',', ' '])
            .filter(|x| x.starts_with('D') || x.starts_with('I'))
            .collect();
        assert!(!ids.is_empty(), "{spec}");
        for id in ids {
            let (_, label) = items
                .iter()
                .find(|(x, _)| x == id)
                .unwrap_or_else(|| panic!("{} cites {id}, not in spec §9", rule["id"]));
            assert_eq!(rule["properties"]["basis"], *label, "{} ({id})", rule["id"]);
            checked += 1;
        }
    }
    // Every §9 item the issue names has a rule: D1–D8, D11, D12 and I1–I6.
    assert!(checked >= 16, "{checked}");
}

#[test]
fn remaining_rules_fire_where_the_spec_says() {
    let d = Dir::new();
    // §10: SMSSITECODE=AUTO with CCMHOSTNAME; §6: no Continue on error on Setup Windows.
    let t = write(
        &d,
        "setup.toml",
        "[[steps]]\nname = \"Setup Windows and ConfigMgr\"\nkind = \"setup_windows_and_configmgr\"\ncontinue_on_error = true\nclient_package = \"ABC00004\"\nccmhostname = \"contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500\"\nsite_code = \"AUTO\"\n",
    );
    let (code, rep) = lint(&d, &t, None);
    assert_eq!(code, 1, "{rep}");
    assert!(has(&rep, "TS007", "error"), "{rep}");
    assert!(has(&rep, "TS008", "warning"), "{rep}");

    // D11 BitLocker escrow to AD, I5 run-as, I6 Auto Apply Drivers (unconfirmed), §2 name length.
    let long = "N".repeat(51);
    let t = write(
        &d,
        "misc.toml",
        &format!(
            r#"
[[steps]]
name = "BitLocker"
type = "SMS_TaskSequence_EnableBitLockerAction"
variables = [ {{ name = "OSDBitLockerCreateRecoveryPassword", property = "CreateRecoveryPassword", value = "AD" }} ]

[[steps]]
name = "Run as"
type = "SMS_TaskSequence_RunCommandLineAction"
action = "smsswd.exe /run: cmd /c echo"
variables = [ {{ name = "SMSTSRunCommandLineUserName", property = "RunAsUserName", value = "CORP\\svc" }} ]

[[steps]]
name = "Drivers"
type = "SMS_TaskSequence_AutoApplyAction"
action = "osddriverclient.exe /auto"

[[steps]]
name = "{long}"
kind = "restart"
"#
        ),
    );
    let (_, rep) = lint(&d, &t, None);
    for (rule, sev, basis) in [
        ("TS018", "warning", "documented"),
        ("TS021", "warning", "inferred"),
        ("TS022", "warning", "inferred"),
        ("TS025", "note", "documented"),
    ] {
        let f = findings(&rep, rule);
        assert_eq!(f.len(), 1, "{rule}: {rep}");
        assert_eq!(f[0]["severity"], sev, "{rule}");
        assert_eq!(f[0]["basis"], basis, "{rule}");
        let msg = f[0]["message"].as_str().unwrap();
        assert!(msg.ends_with(&format!("[{basis}]")), "{rule}: {msg}");
    }
    assert!(
        findings(&rep, "TS022")[0]["message"]
            .as_str()
            .unwrap()
            .contains("unconfirmed")
    );
    assert_eq!(findings(&rep, "TS025")[0]["location"], format!("/{long}"));

    // Seed 002: an OS deployment made available to clients only cannot run from boot media
    // (TS023); PXE is not supported through a CMG (TS016).
    let os = write(
        &d,
        "os.toml",
        "[[steps]]\nname = \"Partition\"\nkind = \"format_and_partition_disk\"\n",
    );
    let base = "purpose = \"available\"\ncollection = \"C\"\nallow_internet = true\ndeployment_option = \"download_when_needed\"\ncontent_enabled_cmg = true\n";
    let clients = write(
        &d,
        "clients.toml",
        &format!("{base}availability = \"clients\"\n"),
    );
    let (_, rep) = lint(&d, &os, Some(&clients));
    assert!(has(&rep, "TS023", "note"), "{rep}");
    assert!(findings(&rep, "TS016").is_empty());
    let media = write(
        &d,
        "media.toml",
        &format!("{base}availability = \"media_pxe\"\n"),
    );
    let (_, rep) = lint(&d, &os, Some(&media));
    assert!(has(&rep, "TS016", "note"), "{rep}");
    assert!(findings(&rep, "TS023").is_empty());
}

#[test]
fn content_errors_in_toml_name_the_entry_line_and_column() {
    let d = Dir::new();
    // Array-of-tables entries (nested) and inline-table entries.
    let nested = "[[steps]]\ngroup = \"G\"\n\n  [[steps.steps]]\n  name = \"ok\"\n  kind = \"restart\"\n\n  [[steps.steps]]\n  name = \"bad\"\n  kind = \"restart\"\n  zzz = 1\n";
    let inline = "[[steps]]\ngroup = \"G\"\nsteps = [ { name = \"ok\", kind = \"restart\" },\n  { name = \"bad\", kind = \"nope\" } ]\n";
    for (file, text, needle) in [
        ("n.toml", nested, "[[steps.steps]]\n  name = \"bad\""),
        ("i.toml", inline, "{ name = \"bad\""),
    ] {
        std::fs::write(d.join(file), text).unwrap();
        // Expected position computed from the text: the entry that holds the bad step.
        let at = text.find(needle).unwrap();
        let line = text[..at].matches('\n').count() + 1;
        let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
        let r = d.peforge(&["ts", "build", file, "-o", "out.xml"]).fails(2);
        assert!(
            r.stderr.contains(&format!(
                "error: {file}:{line}:{column}: steps[0] (group \"G\")/steps[1] (step \"bad\")"
            )),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("hint: "), "{}", r.stderr);
        assert!(!d.join("out.xml").exists());
    }
}

#[test]
fn import_refuses_nesting_its_toml_cannot_carry_and_names_the_input() {
    let d = Dir::new();
    let nest = |n: usize| {
        format!(
            "<sequence version=\"3.10\">{}<step type=\"SMS_TaskSequence_RebootAction\" name=\"r\" description=\"\"><action>smsboot.exe</action></step>{}</sequence>",
            "<group name=\"g\" description=\"\">".repeat(n),
            "</group>".repeat(n)
        )
    };
    // 64 levels import, and python3's tomllib reads the TOML back with the step 64 deep.
    std::fs::write(d.join("ok.xml"), nest(64)).unwrap();
    d.peforge(&["ts", "import", "ok.xml", "-o", "ok.toml"]).ok();
    let depth = d
        .tool(
            "python3",
            &[
                "-c",
                "import tomllib\nt = tomllib.load(open('ok.toml', 'rb'))['steps'][0]\nn = 0\nwhile 'group' in t: t = t['steps'][0]; n += 1\nprint(n, t['name'])",
            ],
        )
        .ok()
        .stdout;
    assert_eq!(depth.trim(), "64 r");
    // Deeper: refused naming the XML (not the TOML it would have written); lint still reads it.
    std::fs::write(d.join("deep.xml"), nest(100)).unwrap();
    let before = common::sha256(&d.join("deep.xml"));
    let r = d
        .peforge(&["ts", "import", "deep.xml", "-o", "deep.toml"])
        .fails(2);
    assert!(
        r.stderr.contains("error: deep.xml: group nesting depth"),
        "{}",
        r.stderr
    );
    assert!(!d.join("deep.toml").exists());
    assert_eq!(common::sha256(&d.join("deep.xml")), before);
    let (_, rep) = lint(&d, "deep.xml", None);
    assert_eq!(rep["errors"], 0);
}

/// spec §8, typed in: Python reads deploy.toml with tomllib and computes the flags itself.
const FLAGS_PY: &str = r#"
import sys, json, tomllib
d = tomllib.load(open(sys.argv[1], 'rb'))
ux = d.get('user_experience', {})
av, opt = d['availability'], d['deployment_option']
a = 0
if av != 'clients': a |= 0x00040000
if av == 'media_pxe': a |= 0x10000000
if av == 'media_pxe_hidden': a |= 0x20000000
if not d['allow_internet']: a |= 0x00080000
if d.get('pre_download'): a |= 0x1000
if ux.get('show_progress', True): a |= 0x00800000
if ux.get('software_installation_outside_maintenance_window'): a |= 0x00100000
if ux.get('system_restart_outside_maintenance_window'): a |= 0x00200000
if d.get('send_wake_up'): a |= 0x00400000
if d['purpose'] == 'required':
    if not ux.get('allow_user_run_independently'): a |= 0x02000000
    a |= {'asap': 0x20, 'logon': 0x200, 'logoff': 0x400}.get(d.get('schedule', {}).get('assignment'), 0)
shared = d.get('allow_shared_content', False)
r = {'download_when_needed': (0x100, 0x200), 'download_all_first': (0x10, 0x40), 'access_directly': (0x08, 0x80)}[opt]
rc = r[0] | (r[1] if shared else 0)
rc |= {'always': 0x800, 'never': 0x1000, 'if_failed': 0x2000, 'if_succeeded': 0x4000}[d.get('rerun', 'if_failed')]
if ux.get('commit_on_write_filter'): rc |= 0x8000
if d.get('metered_network'): rc |= 0x40000
adv = json.load(open(sys.argv[2]))['sms_advertisement']
got = (adv['AdvertFlags'], adv['RemoteClientFlags'], adv['OfferType'])
want = (a, rc, 0 if d['purpose'] == 'required' else 2)
assert got == want, (sys.argv[1], [hex(x) for x in got], [hex(x) for x in want])
print(hex(a), hex(rc))
"#;

#[test]
fn advertisement_flags_match_the_spec_table_computed_in_python() {
    let d = Dir::new();
    std::fs::write(d.join("flags.py"), FLAGS_PY).unwrap();
    let tpl = |n: &str| format!("{}/templates/ts/{n}", env!("CARGO_MANIFEST_DIR"));
    let mut deps: Vec<(String, String)> = [
        ("bare-metal-cmg.toml", "deploy.toml"),
        ("in-place-upgrade-cmg.toml", "deploy-upgrade.toml"),
        ("autopilot-provisionts.toml", "deploy-provisioning.toml"),
    ]
    .iter()
    .map(|(t, dep)| (tpl(t), tpl(dep)))
    .collect();
    // Plus settings the templates leave at their defaults.
    let extra = [
        "purpose = \"required\"\ncollection = \"C\"\navailability = \"media_pxe\"\nallow_internet = true\ndeployment_option = \"download_all_first\"\nallow_shared_content = true\nrerun = \"never\"\nsend_wake_up = true\n[user_experience]\nsystem_restart_outside_maintenance_window = true\nallow_user_run_independently = true\n[schedule]\nassignment = \"logoff\"\n",
        "purpose = \"required\"\ncollection = \"C\"\navailability = \"clients\"\nallow_internet = true\ndeployment_option = \"access_directly\"\nallow_shared_content = true\nrerun = \"if_succeeded\"\n[schedule]\nassignment = \"logon\"\n",
    ];
    for (i, body) in extra.iter().enumerate() {
        let f = d.join(&format!("extra{i}.toml"));
        std::fs::write(&f, body).unwrap();
        deps.push((tpl("in-place-upgrade-cmg.toml"), f.display().to_string()));
    }
    for (i, (t, dep)) in deps.iter().enumerate() {
        let out = format!("p{i}");
        d.peforge(&[
            "ts",
            "package",
            t,
            "--deployment",
            dep,
            "-o",
            &out,
            "--allow-lint-errors",
        ])
        .ok();
        let json = format!("{out}/deployment.json");
        d.tool("python3", &["flags.py", dep, &json]).ok();
    }
}

#[test]
fn schedule_values_deploy_ps1_cannot_use_are_refused_with_their_line() {
    let d = Dir::new();
    let t = format!(
        "{}/templates/ts/in-place-upgrade-cmg.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let head = "purpose = \"required\"\ncollection = \"C\"\navailability = \"clients\"\nallow_internet = true\ndeployment_option = \"download_when_needed\"\ncontent_enabled_cmg = true\n[schedule]\n";
    for (body, ok) in [
        ("assignment = \"ASAP\"\n", false),
        ("assignment = \"tomorrow 8am\"\n", false),
        ("available = \"12/01/2026\"\n", false),
        ("expires = \"2026-13-01T00:00:00Z\"\n", false),
        ("assignment = \"logoff\"\n", true),
        ("assignment = \"2026-12-01T08:00:00+01:00\"\n", true),
        ("available = \"2026-12-01T08:00:00\"\n", true),
    ] {
        let text = format!("{head}{body}");
        std::fs::write(d.join("dep.toml"), &text).unwrap();
        let r = d.peforge(&[
            "ts",
            "package",
            &t,
            "--deployment",
            "dep.toml",
            "-o",
            "p.zip",
        ]);
        if ok {
            r.ok();
            std::fs::remove_file(d.join("p.zip")).unwrap();
            continue;
        }
        let r = r.fails(2);
        // The value sits on the last line, after `key = `.
        let line = text.lines().count();
        let column = body.find('"').unwrap() + 1;
        let key = body.split(' ').next().unwrap();
        assert!(
            r.stderr.contains(&format!(
                "error: dep.toml:{line}:{column}: schedule.{key}: "
            )),
            "{body}: {}",
            r.stderr
        );
        assert!(r.stderr.contains("hint: "), "{}", r.stderr);
        assert!(!d.join("p.zip").exists());
    }
}

#[test]
fn last_network_settings_joining_a_nameless_workgroup_is_an_error() {
    let d = Dir::new();
    let step = |wg: &str| {
        format!(
            "[[steps]]\nname = \"Net\"\ntype = \"SMS_TaskSequence_ApplyNetworkSettingsAction\"\naction = \"osdnetsettings.exe configure\"\nvariables = [ {{ name = \"OSDNetworkJoinType\", property = \"NetworkJoinType\", value = \"1\" }}, {{ name = \"OSDWorkgroupName\", property = \"WorkgroupName\", value = \"{wg}\" }} ]\n"
        )
    };
    let t = write(&d, "none.toml", &step(""));
    let (code, rep) = lint(&d, &t, None);
    assert_eq!(code, 1);
    assert!(has(&rep, "TS003", "error"), "{rep}");
    let t = write(&d, "wg.toml", &step("WORKGROUP"));
    let (code, rep) = lint(&d, &t, None);
    assert_eq!(code, 0, "{rep}");
    assert!(findings(&rep, "TS003").is_empty());
}
