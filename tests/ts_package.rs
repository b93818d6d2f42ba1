//! `ts package`: the three templates packaged as a directory (checked with `sha256sum -c`) and
//! as a .zip (read with Python's zipfile); flags checked against values computed from the spec
//! table by hand; content.json against the referenceList read by Python; Deploy.ps1 checked
//! structurally (PowerShell is not installable from Debian packages here).

mod common;
use common::{Dir, sha256};

fn tpl(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("templates/ts")
        .join(name)
        .display()
        .to_string()
}

const TEMPLATES: &[(&str, &str)] = &[
    ("bare-metal-cmg.toml", "deploy.toml"),
    ("in-place-upgrade-cmg.toml", "deploy-upgrade.toml"),
    ("autopilot-provisionts.toml", "deploy-provisioning.toml"),
];

const FILES: &[&str] = &[
    "Deploy.ps1",
    "SHA256SUMS",
    "content.json",
    "deployment.json",
    "lint.json",
    "lint.txt",
    "sequence.xml",
];

#[test]
fn templates_are_lint_clean_and_package_into_a_directory() {
    let d = Dir::new();
    for (i, (t, dep)) in TEMPLATES.iter().enumerate() {
        let r = d.peforge(&["ts", "lint", &tpl(t), "--deployment", &tpl(dep)]);
        assert_eq!(r.code, 0, "{t} is not lint-clean:\n{}", r.stdout);
        let out = format!("pkg{i}");
        let j = d
            .peforge(&[
                "ts",
                "package",
                &tpl(t),
                "--deployment",
                &tpl(dep),
                "-o",
                &out,
                "--json",
            ])
            .ok()
            .json();
        assert_eq!(j["kind"], "directory");
        let mut names: Vec<String> = std::fs::read_dir(d.join(&out))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, FILES);
        // Independent check of SHA256SUMS.
        let c = d
            .tool(
                "sh",
                &["-c", &format!("cd {out} && sha256sum -c SHA256SUMS")],
            )
            .ok();
        assert_eq!(c.stdout.matches(": OK").count(), 6, "{}", c.stdout);
        // sequence.xml is the ConfigMgr form.
        let x = std::fs::read_to_string(d.join(&out).join("sequence.xml")).unwrap();
        assert!(x.starts_with("<sequence version=\"3.10\">"));
        // Same input, same package (deterministic).
        let out2 = format!("again{i}");
        d.peforge(&[
            "ts",
            "package",
            &tpl(t),
            "--deployment",
            &tpl(dep),
            "-o",
            &out2,
        ])
        .ok();
        for f in FILES {
            assert_eq!(
                sha256(&d.join(&out).join(f)),
                sha256(&d.join(&out2).join(f)),
                "{f}"
            );
        }
    }
}

#[test]
fn zip_package_reads_back_with_python_and_content_matches_references() {
    let d = Dir::new();
    d.peforge(&[
        "ts",
        "package",
        &tpl("bare-metal-cmg.toml"),
        "--deployment",
        &tpl("deploy.toml"),
        "-o",
        "reimage.zip",
    ])
    .ok();
    let script = r#"
import zipfile, hashlib, json, xml.etree.ElementTree as ET
z = zipfile.ZipFile('reimage.zip')
assert z.testzip() is None
names = sorted(z.namelist())
sums = dict((l.split('  ')[1], l.split('  ')[0]) for l in z.read('SHA256SUMS').decode().splitlines())
for n in names:
    if n != 'SHA256SUMS':
        assert hashlib.sha256(z.read(n)).hexdigest() == sums[n], n
seq = ET.fromstring(z.read('sequence.xml'))
refs = sorted(r.get('package') or r.get('application') for r in seq.iter('reference'))
content = json.loads(z.read('content.json'))
ids = sorted(i['id'] for i in content['items'] if i['kind'] != 'boot_image')
assert refs == ids, (refs, ids)
boot = [i['id'] for i in content['items'] if i['kind'] == 'boot_image']
dep = json.loads(z.read('deployment.json'))
adv = dep['sms_advertisement']
print(' '.join(names))
print(boot[0], adv['AdvertFlags'], adv['RemoteClientFlags'], adv['OfferType'], dep['settings']['availability'])
"#;
    let out = d.tool("python3", &["-c", script]).ok().stdout;
    let mut lines = out.lines();
    assert_eq!(lines.next().unwrap(), FILES.join(" "));
    // Spec §8 by hand: clients+media+PXE 0x40000, show progress 0x800000, internet → 0x80000
    // clear; download when needed 0x100, rerun if failed 0x2000; available → OfferType 2.
    let expect = format!(
        "ABC00005 {} {} 2 clients_media_pxe",
        0x40000 | 0x800000,
        0x100 | 0x2000
    );
    assert_eq!(lines.next().unwrap(), expect);
}

#[test]
fn flags_for_required_media_only_hidden_intranet() {
    let d = Dir::new();
    std::fs::write(
        d.join("dep.toml"),
        "purpose = \"required\"\ncollection = \"C\"\navailability = \"media_pxe_hidden\"\nallow_internet = false\ndeployment_option = \"download_when_needed\"\nallow_shared_content = true\npre_download = true\nrerun = \"always\"\nmetered_network = true\n[user_experience]\nshow_progress = false\nsoftware_installation_outside_maintenance_window = true\ncommit_on_write_filter = true\n[schedule]\nassignment = \"asap\"\n",
    )
    .unwrap();
    d.peforge(&[
        "ts",
        "package",
        &tpl("in-place-upgrade-cmg.toml"),
        "--deployment",
        "dep.toml",
        "-o",
        "p",
        "--allow-lint-errors",
    ])
    .ok();
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("p/deployment.json")).unwrap())
            .unwrap();
    let a = &j["sms_advertisement"];
    // 0x40000 media | 0x20000000 hidden | 0x80000 intranet only | 0x1000 pre-download |
    // 0x100000 install outside MW | 0x2000000 NO_DISPLAY (required) | 0x20 ASAP.
    let advert: u64 = 0x40000 | 0x2000_0000 | 0x80000 | 0x1000 | 0x100000 | 0x200_0000 | 0x20;
    assert_eq!(a["AdvertFlags"], advert);
    // 0x100 | 0x200 download when needed (local + neighbor) | 0x800 always | 0x40000 metered |
    // 0x8000 write filter.
    assert_eq!(
        a["RemoteClientFlags"],
        0x100 | 0x200 | 0x800 | 0x40000 | 0x8000
    );
    assert_eq!(a["OfferType"], 0);
    let hidden = a["bits_set"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "HIDDENINWINPE")
        .unwrap();
    assert_eq!(hidden["basis"], "inferred");
    assert_eq!(hidden["confirm"], true);
    assert!(
        a["unconfirmed"][0]
            .as_str()
            .unwrap()
            .contains("allow_fallback")
    );
    let ps = std::fs::read_to_string(d.join("p/Deploy.ps1")).unwrap();
    assert!(ps.contains("InternetOption = $false"));
    assert!(ps.contains("ScheduleEvent = 'AsSoonAsPossible'"));
    assert!(
        ps.contains("-bor 0x1000"),
        "pre-download sets OPTIONALPREDOWNLOAD"
    );
}

#[test]
fn deploy_ps1_is_idempotent_whatif_aware_and_escapes_values() {
    let d = Dir::new();
    std::fs::write(
        d.join("dep.toml"),
        "name = \"O'Brien's $(Remove-Item C:\\\\) TS\"\npurpose = \"available\"\ncollection = \"Coll 'quoted' $env:X\"\navailability = \"clients\"\nallow_internet = true\ndeployment_option = \"download_when_needed\"\ncontent_enabled_cmg = true\nclient_auth = \"entra\"\n",
    )
    .unwrap();
    d.peforge(&[
        "ts",
        "package",
        &tpl("in-place-upgrade-cmg.toml"),
        "--deployment",
        "dep.toml",
        "-o",
        "p",
    ])
    .ok();
    let ps = std::fs::read_to_string(d.join("p/Deploy.ps1")).unwrap();
    // Values are single-quoted PowerShell literals with quotes doubled: no expansion possible.
    assert!(
        ps.contains("$TaskSequenceName = 'O''Brien''s $(Remove-Item C:\\) TS'"),
        "{ps}"
    );
    assert!(ps.contains("$CollectionName = 'Coll ''quoted'' $env:X'"));
    // -WhatIf/-Confirm support, and every change goes through ShouldProcess.
    assert!(ps.contains("[CmdletBinding(SupportsShouldProcess = $true"));
    for cmd in [
        "New-CMTaskSequence @new",
        "SetSequence",
        "Set-CMTaskSequenceDeployment -InputObject",
        "New-CMTaskSequenceDeployment -TaskSequencePackageId",
        "Start-CMContentDistribution",
    ] {
        let at = ps.find(cmd).unwrap_or_else(|| panic!("{cmd} missing"));
        let guard = ps[..at]
            .rfind("$PSCmdlet.ShouldProcess(")
            .expect("ShouldProcess before change");
        assert!(at - guard < 700, "{cmd} not guarded by ShouldProcess");
    }
    // Idempotence: look up before creating, compare before setting.
    let pos = |s: &str| ps.find(s).unwrap_or_else(|| panic!("{s} missing"));
    assert!(pos("Get-CMTaskSequence -Name") < pos("New-CMTaskSequence @new"));
    assert!(pos("$pkg.Sequence -ne $SequenceXml") < pos("MethodName SetSequence"));
    assert!(pos("Get-CMTaskSequenceDeployment") < pos("New-CMTaskSequenceDeployment"));
    assert!(pos("Get-CMCollection -Name $CollectionName") < pos("Get-CMTaskSequenceDeployment"));
    assert!(pos("$present -contains $id") < pos("Start-CMContentDistribution @target"));
    for p in [
        "DeployPurpose = 'Available'",
        "Availability = 'Clients'",
        "InternetOption = $true",
        "DeploymentOption = 'DownloadContentLocallyWhenNeededByRunningTaskSequence'",
    ] {
        assert!(ps.contains(p), "{p}");
    }
    // The SHA-256 check refers to the packaged sequence.xml.
    let h = sha256(&d.join("p/sequence.xml"));
    assert!(ps.contains(&format!("$ExpectedSha256 = '{h}'")));
    // Balanced braces/parentheses outside quoted strings (a cheap syntax check, in Python).
    std::fs::write(
        d.join("bal.py"),
        r#"
import sys
s = open(sys.argv[1], encoding='utf-8').read()
stack, q, i = [], None, 0
pairs = {')': '(', '}': '{', ']': '['}
while i < len(s):
    c = s[i]
    if q:
        if c == q and q == "'" and s[i+1:i+2] == "'": i += 2; continue
        if c == '`' and q == '"': i += 2; continue
        if c == q: q = None
    elif c == '#' and (i == 0 or s[i-1] in ' \n') : 
        i = s.find('\n', i); i = len(s) if i < 0 else i; continue
    elif c == '<' and s[i+1:i+2] == '#':
        i = s.find('#>', i) + 2; continue
    elif c in "'\"": q = c
    elif c in '({[': stack.append(c)
    elif c in ')}]':
        assert stack and stack.pop() == pairs[c], (i, s[max(0,i-60):i+1])
    i += 1
assert not stack and q is None, (stack, q)
print('balanced')
"#,
    )
    .unwrap();
    d.tool("python3", &["bal.py", "p/Deploy.ps1"]).ok();
}

#[test]
fn package_refuses_lint_errors_unless_allowed() {
    let d = Dir::new();
    std::fs::write(
        d.join("dep.toml"),
        "purpose = \"available\"\ncollection = \"C\"\navailability = \"clients\"\nallow_internet = false\ndeployment_option = \"download_when_needed\"\n",
    )
    .unwrap();
    let t = tpl("in-place-upgrade-cmg.toml");
    let r = d
        .peforge(&[
            "ts",
            "package",
            &t,
            "--deployment",
            "dep.toml",
            "-o",
            "out.zip",
        ])
        .fails(2);
    assert!(r.stderr.contains("TS001"), "{}", r.stderr);
    assert!(r.stderr.contains("--allow-lint-errors"));
    assert!(!d.join("out.zip").exists());
    let j = d
        .peforge(&[
            "ts",
            "package",
            &t,
            "--deployment",
            "dep.toml",
            "-o",
            "out.zip",
            "--allow-lint-errors",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(j["lint_errors"], 1);
    let listing = d.tool("bsdtar", &["-tf", "out.zip"]).ok().stdout;
    assert!(
        listing.contains("lint.json") && listing.contains("Deploy.ps1"),
        "{listing}"
    );
}
