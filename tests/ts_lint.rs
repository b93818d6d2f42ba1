//! `ts lint`: every vector (no panic, byte-identical reruns, JSON read with test-side structs),
//! each internet rule on a small sequence, exit codes, SARIF read back by Python.

mod common;
use common::{Dir, vectors};
use serde::Deserialize;

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Report {
    schema_version: u32,
    source: String,
    deployment_checked: bool,
    errors: usize,
    warnings: usize,
    notes: usize,
    findings: Vec<Finding>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Finding {
    rule: String,
    name: String,
    severity: String,
    basis: String,
    location: String,
    message: String,
    fix: String,
}

fn tpl(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("templates/ts")
        .join(name)
        .display()
        .to_string()
}

fn lint(d: &Dir, input: &str, dep: Option<&str>) -> (i32, Report) {
    let mut args = vec!["ts", "lint", input, "--format", "json"];
    if let Some(x) = dep {
        args.extend(["--deployment", x]);
    }
    let r = d.peforge(&args);
    assert!(r.code == 0 || r.code == 1, "{}: {}", r.code, r.stderr);
    let rep: Report = serde_json::from_str(&r.stdout).expect("lint JSON");
    assert_eq!(rep.schema_version, 1);
    (r.code, rep)
}

fn has(rep: &Report, rule: &str, sev: &str) -> bool {
    rep.findings
        .iter()
        .any(|f| f.rule == rule && f.severity == sev)
}

#[test]
fn every_vector_lints_stably() {
    let d = Dir::new();
    let dep = tpl("deploy.toml");
    let mut dir: Vec<_> = std::fs::read_dir(vectors().join("ts-xml"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    dir.sort();
    for v in &dir {
        let v = v.to_str().unwrap();
        for fmt in ["text", "json", "sarif"] {
            let a = d.peforge(&["ts", "lint", v, "--deployment", &dep, "--format", fmt]);
            let b = d.peforge(&["ts", "lint", v, "--deployment", &dep, "--format", fmt]);
            assert!(a.code == 0 || a.code == 1, "{v}: {}", a.stderr);
            assert!(!a.stderr.contains("panicked"));
            assert_eq!(a.stdout, b.stdout, "{v} {fmt}: output differs between runs");
            assert_eq!(a.code, b.code);
        }
        let (code, rep) = lint(&d, v, Some(&dep));
        assert_eq!(
            code == 1,
            rep.errors > 0,
            "{v}: exit {code} vs {} errors",
            rep.errors
        );
        assert_eq!(rep.errors + rep.warnings + rep.notes, rep.findings.len());
        assert!(rep.deployment_checked);
        assert!(rep.source.ends_with(".xml"));
        for f in &rep.findings {
            assert!(f.basis == "documented" || f.basis == "inferred", "{f:?}");
            assert!(f.message.ends_with(&format!("[{}]", f.basis)), "{f:?}");
            assert!(!f.fix.is_empty() && !f.name.is_empty() && !f.location.is_empty());
        }
    }
}

#[test]
fn real_domain_join_in_last_network_settings_is_an_error() {
    // OSDCloud vector: python finds the last Apply Network Settings and its join type.
    let d = Dir::new();
    let v = vectors().join("ts-xml/garytown__OSDCloudTaskSequence_MEM000F8_object.xml");
    let script = format!(
        r#"
import xml.etree.ElementTree as ET
r = ET.fromstring(open(r'{}', 'rb').read())
seq = [p for p in r.findall('PROPERTY') if p.get('NAME') == 'Sequence'][0].find('VALUE').text
s = ET.fromstring(seq)
nets = [x for x in s.iter('step') if x.get('type') == 'SMS_TaskSequence_ApplyNetworkSettingsAction' and x.get('disable') != 'true']
last = nets[-1]
print(last.get('name'), [v.text for v in last.iter('variable') if v.get('name') == 'OSDNetworkJoinType'][0])
"#,
        v.display()
    );
    let py = d.tool("python3", &["-c", &script]).ok().stdout;
    assert!(py.trim().ends_with(" 0"), "{py}");
    let (code, rep) = lint(&d, v.to_str().unwrap(), None);
    assert_eq!(code, 1);
    let f = rep.findings.iter().find(|f| f.rule == "TS003").unwrap();
    assert_eq!(f.severity, "error");
    assert!(
        f.location.ends_with(py.trim().trim_end_matches(" 0")),
        "{f:?} vs {py}"
    );
}

const BASE: &str = r#"
[[steps]]
name = "Apply Network Settings (domain, overridden)"
kind = "apply_network_settings"
domain = "corp.example"
condition = { variable = "Never", operator = "equals", value = "1" }

[[steps]]
name = "Apply Network Settings"
kind = "apply_network_settings"
workgroup = "WORKGROUP"

[[steps]]
name = "Setup Windows and ConfigMgr"
kind = "setup_windows_and_configmgr"
client_package = "ABC00004"
"#;

fn write(d: &Dir, name: &str, body: &str) -> String {
    std::fs::write(d.join(name), body).unwrap();
    name.to_string()
}

#[test]
fn last_network_settings_wins_and_ccmhostname_rules() {
    let d = Dir::new();
    // Last instance joins a workgroup: the earlier domain one is only a warning (last wins,
    // conditions ignored). No CCMHOSTNAME with token clients: error.
    let dep = write(
        &d,
        "dep.toml",
        "purpose = \"available\"\ncollection = \"C\"\navailability = \"clients_media_pxe\"\nallow_internet = true\ndeployment_option = \"download_when_needed\"\nclient_auth = \"token\"\ncontent_enabled_cmg = true\n",
    );
    let t = write(
        &d,
        "a.toml",
        &format!(
            "{BASE}ccmhostname = \"https://contoso.cloudapp.net/CCM_Proxy_MutualAuth/123\"\ninstall_properties = \"/UsePKICert\"\n"
        ),
    );
    let (code, rep) = lint(&d, &t, Some(&dep));
    assert_eq!(code, 1);
    assert!(!has(&rep, "TS003", "error"), "{rep:?}");
    assert!(has(&rep, "TS012", "warning"));
    assert!(has(&rep, "TS005", "error"), "https:// must be refused");
    assert!(has(&rep, "TS006", "warning"));
    assert!(!has(&rep, "TS004", "error"));

    let t = write(&d, "b.toml", BASE);
    let (_, rep) = lint(&d, &t, Some(&dep));
    assert!(has(&rep, "TS004", "error"));

    let t = write(
        &d,
        "c.toml",
        &format!(
            "{BASE}ccmhostname = \"contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500\"\nsite_code = \"ABC\"\n"
        ),
    );
    let (code, rep) = lint(&d, &t, Some(&dep));
    assert_eq!(code, 0, "{rep:?}");
    assert!(
        !rep.findings
            .iter()
            .any(|f| f.rule == "TS004" || f.rule == "TS005")
    );

    // Swap the order: the domain join is now last → error.
    let swapped = BASE.replacen("Apply Network Settings (domain, overridden)", "First", 1);
    let mut parts: Vec<&str> = swapped.split("\n[[steps]]\n").collect();
    parts.swap(1, 2);
    let t = write(
        &d,
        "d.toml",
        &format!(
            "{}\nccmhostname = \"a.b/CCM_Proxy_MutualAuth/1\"\n",
            parts.join("\n[[steps]]\n")
        ),
    );
    let (code, rep) = lint(&d, &t, Some(&dep));
    assert_eq!(code, 1);
    assert!(has(&rep, "TS003", "error"), "{rep:?}");
    let t = write(
        &d,
        "e.toml",
        &format!("{BASE}ccmhostname = \"contoso.cloudapp.net/CCM_Proxy/abc\"\n"),
    );
    assert!(has(&lint(&d, &t, Some(&dep)).1, "TS005", "error"));
}

#[test]
fn unc_network_folder_smp_and_dependent_program() {
    let d = Dir::new();
    let xml = r#"<INSTANCE CLASSNAME="SMS_TaskSequencePackage"><PROPERTY NAME="DependentProgram" TYPE="string"><VALUE>ABC00001;;Install</VALUE></PROPERTY><PROPERTY NAME="Sequence" TYPE="string"><QUALIFIER NAME="CIMTYPE"><VALUE>string</VALUE></QUALIFIER><VALUE><![CDATA[<sequence version="3.10"><step type="SMS_TaskSequence_RunCommandLineAction" name="Copy" description=""><action>smsswd.exe /run: xcopy \\fs01\share\files C:\x</action></step><step type="SMS_TaskSequence_ConnectNetworkFolderAction" name="Map" description=""><action>smsnetuse.exe</action></step><step type="SMS_TaskSequence_RequestStateStoreAction" name="SMP" description=""><action>osdsmpclient.exe</action></step><step type="SMS_TaskSequence_RequestStateStoreAction" name="Off" description="" disable="true"><action>osdsmpclient.exe</action></step></sequence>]]></VALUE></PROPERTY></INSTANCE>"#;
    let f = write(&d, "object.xml", xml);
    let (code, rep) = lint(&d, &f, None);
    assert_eq!(code, 1);
    assert!(has(&rep, "TS002", "error"));
    assert!(has(&rep, "TS010", "warning"));
    assert!(has(&rep, "TS011", "warning"));
    // A password in the file (console exports leave them out).
    let pw = write(
        &d,
        "pw.toml",
        "[[steps]]\nname = \"Net\"\ntype = \"SMS_TaskSequence_ApplyNetworkSettingsAction\"\nvariables = [ { name = \"OSDNetworkJoinType\", property = \"NetworkJoinType\", value = \"1\" }, { name = \"OSDJoinPassword\", property = \"DomainPassword\", value = \"hunter2\" } ]\n",
    );
    let (_, rep2) = lint(&d, &pw, None);
    assert!(has(&rep2, "TS027", "warning"), "{rep2:?}");
    assert!(
        !rep2.findings.iter().any(|f| f.message.contains("hunter2")),
        "the secret is not repeated"
    );
    let smp: Vec<_> = rep.findings.iter().filter(|x| x.rule == "TS013").collect();
    assert_eq!(smp.len(), 1, "disabled steps are not checked: {smp:?}");
    assert_eq!(smp[0].location, "/SMP");
    assert_eq!(smp[0].basis, "inferred");
}

#[test]
fn deployment_rules() {
    let d = Dir::new();
    let t = write(
        &d,
        "t.toml",
        "[[steps]]\nname = \"Partition\"\nkind = \"format_and_partition_disk\"\n",
    );
    let dep = write(
        &d,
        "dep.toml",
        "purpose = \"required\"\ncollection = \"C\"\navailability = \"media_pxe\"\nallow_internet = false\ndeployment_option = \"access_directly\"\ncontent_enabled_cmg = false\n",
    );
    let (code, rep) = lint(&d, &t, Some(&dep));
    assert_eq!(code, 1);
    for (r, s) in [
        ("TS001", "error"),
        ("TS009", "error"),
        ("TS014", "warning"),
        ("TS015", "error"),
        ("TS017", "warning"),
        ("TS024", "note"),
    ] {
        assert!(has(&rep, r, s), "{r} {s}: {rep:?}");
    }
    let up = write(
        &d,
        "u.toml",
        "[[steps]]\nname = \"Upgrade\"\nkind = \"upgrade_os\"\npackage = \"ABC00020\"\n",
    );
    let media = write(
        &d,
        "media.toml",
        "purpose = \"available\"\ncollection = \"C\"\navailability = \"clients_media_pxe\"\nallow_internet = true\ndeployment_option = \"download_when_needed\"\ncontent_enabled_cmg = true\n",
    );
    let (code, rep2) = lint(&d, &up, Some(&media));
    assert_eq!(code, 1);
    assert!(has(&rep2, "TS026", "error"), "{rep2:?}");
    assert!(has(&rep2, "TS028", "note"), "{rep2:?}");
    // Findings are sorted: errors, then warnings, then notes.
    let order: Vec<&str> = rep.findings.iter().map(|f| f.severity.as_str()).collect();
    let mut sorted = order.clone();
    sorted.sort_by_key(|s| ["error", "warning", "note"].iter().position(|x| x == s));
    assert_eq!(order, sorted);
}

#[test]
fn provisionts_with_many_apps_warns_about_esp_timeout() {
    let d = Dir::new();
    let apps: Vec<String> = (1..=7)
        .map(|i| format!("\"ScopeId_1/Application_{i}\""))
        .collect();
    let t = write(
        &d,
        "p.toml",
        &format!(
            "[[steps]]\nname = \"Apps\"\nkind = \"install_application\"\napplications = [{}]\n",
            apps.join(", ")
        ),
    );
    let dep = write(
        &d,
        "dep.toml",
        "purpose = \"available\"\ncollection = \"All Provisioning Devices\"\navailability = \"clients\"\nallow_internet = true\ndeployment_option = \"download_when_needed\"\ncontent_enabled_cmg = true\nprovisioning = true\nclient_auth = \"entra\"\n",
    );
    let (code, rep) = lint(&d, &t, Some(&dep));
    assert_eq!(code, 0);
    let f = rep
        .findings
        .iter()
        .find(|f| f.rule == "TS020")
        .expect("TS020");
    assert!(f.message.contains("7 applications"), "{f:?}");
    assert!(
        has(&rep, "TS019", "warning"),
        "token/Entra auth with installs: {rep:?}"
    );
    // The template stays under the limit and lint-clean.
    let (code, rep) = lint(
        &d,
        &tpl("autopilot-provisionts.toml"),
        Some(&tpl("deploy-provisioning.toml")),
    );
    assert_eq!(code, 0);
    assert!(!has(&rep, "TS020", "warning"));
}

#[test]
fn sarif_is_valid_and_matches_json() {
    let d = Dir::new();
    let v = vectors().join("ts-xml/microsoft_configmgr-hub__Windows10-Build_and_Capture.xml");
    let v = v.to_str().unwrap();
    let (_, rep) = lint(&d, v, Some(&tpl("deploy.toml")));
    let r = d.peforge(&[
        "ts",
        "lint",
        v,
        "--deployment",
        &tpl("deploy.toml"),
        "--format",
        "sarif",
    ]);
    assert_eq!(r.code, 1, "this vector has a domain join: {}", r.stderr);
    std::fs::write(d.join("out.sarif"), &r.stdout).unwrap();
    let script = r#"
import json
s = json.load(open('out.sarif'))
assert s['version'] == '2.1.0'
run = s['runs'][0]
ids = [r['id'] for r in run['tool']['driver']['rules']]
for res in run['results']:
    assert res['level'] in ('error', 'warning', 'note')
    assert ids[res['ruleIndex']] == res['ruleId']
    assert res['locations'][0]['logicalLocations'][0]['fullyQualifiedName']
print(len(run['results']), sum(1 for r in run['results'] if r['level'] == 'error'))
"#;
    let out = d.tool("python3", &["-c", script]).ok().stdout;
    assert_eq!(out.trim(), format!("{} {}", rep.findings.len(), rep.errors));
}

#[test]
fn unc_path_inside_an_inline_powershell_script_is_found() {
    // Python decodes the inline script (base64 of UTF-16LE with BOM) of the real vector and
    // finds the UNC path; lint must report the same path.
    let d = Dir::new();
    let v = vectors().join("ts-xml/garytown__AppMappingAppInstalls_MCM00029_object.xml");
    let script = format!(
        r#"
import base64, re, xml.etree.ElementTree as ET
r = ET.fromstring(open(r'{}', 'rb').read())
seq = [p for p in r.findall('PROPERTY') if p.get('NAME') == 'Sequence'][0].find('VALUE').text
for var in ET.fromstring(seq).iter('variable'):
    if var.get('name') == 'OSDRunPowerShellScriptSourceScript' and var.text:
        text = base64.b64decode(var.text).decode('utf-16')
        m = re.findall(r'\\\\[A-Za-z0-9%._-]+\\[^\s"\']+', text)
        if m:
            print(m[0])
            break
"#,
        v.display()
    );
    let unc = d.tool("python3", &["-c", &script]).ok().stdout;
    let unc = unc.trim();
    assert!(unc.starts_with("\\\\"), "{unc}");
    let (_, rep) = lint(&d, v.to_str().unwrap(), None);
    let f = rep
        .findings
        .iter()
        .find(|f| f.rule == "TS010")
        .expect("TS010");
    assert!(
        f.message.contains(unc) && f.message.contains("inline script"),
        "{f:?}"
    );
}

#[test]
fn lint_sees_the_same_findings_in_xml_and_imported_toml() {
    let d = Dir::new();
    let dep = tpl("deploy.toml");
    let mut files: Vec<_> = std::fs::read_dir(vectors().join("ts-xml"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    for (i, v) in files.iter().enumerate() {
        let t = format!("v{i}.toml");
        d.peforge(&["ts", "import", v.to_str().unwrap(), "-o", &t])
            .ok();
        let (c1, a) = lint(&d, v.to_str().unwrap(), Some(&dep));
        let (c2, b) = lint(&d, &t, Some(&dep));
        assert_eq!(c1, c2, "{}", v.display());
        let key = |r: &Report| -> Vec<String> {
            r.findings
                .iter()
                .map(|f| format!("{} {} {} {}", f.rule, f.severity, f.location, f.message))
                .collect()
        };
        assert_eq!(key(&a), key(&b), "{}", v.display());
    }
}
