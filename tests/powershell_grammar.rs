//! The PowerShell peforge writes, parsed by an independent grammar: tree-sitter's PowerShell
//! grammar from PyPI (`tree-sitter`, `tree-sitter-powershell`, installed by scripts/setup.sh).
//! `Deploy.ps1` of `ts package` (each template and deployment) and the registration snippet of a
//! new self-signed media certificate (`media build` without --media-cert) must parse without an
//! error node, and every command they invoke must be a ConfigMgr or core PowerShell cmdlet from
//! the lists below.

mod common;

use common::Dir;

/// ConfigurationManager module cmdlets (ConfigMgr console's PowerShell module) the scripts may
/// call.
const CONFIGMGR_CMDLETS: &[&str] = &[
    "Get-CMApplication",
    "Get-CMCollection",
    "Get-CMDeploymentPackage",
    "Get-CMTaskSequence",
    "Get-CMTaskSequenceDeployment",
    "New-CMTaskSequence",
    "New-CMTaskSequenceDeployment",
    "Set-CMTaskSequenceDeployment",
    "Start-CMContentDistribution",
];

/// Cmdlets of the modules that ship with Windows PowerShell 5.1 and PowerShell 7
/// (Microsoft.PowerShell.Core/Management/Utility/Security, CimCmdlets).
const CORE_CMDLETS: &[&str] = &[
    "ConvertFrom-Json",
    "ForEach-Object",
    "Get-CimInstance",
    "Get-Content",
    "Get-FileHash",
    "Get-Module",
    "Get-PSDrive",
    "Import-Module",
    "Invoke-CimMethod",
    "Join-Path",
    "New-PSDrive",
    "Out-Null",
    "Pop-Location",
    "Push-Location",
    "Set-CimInstance",
    "Split-Path",
    "Where-Object",
    "Write-Verbose",
    "Write-Warning",
];

/// Parses each file given and prints one JSON line per file: the error and missing nodes
/// (line:column and text) and the name of every command invoked (or `<dynamic>` when the
/// command name is not a literal).
const PARSE_PY: &str = r#"
import json, sys
import tree_sitter_powershell
from tree_sitter import Language, Parser
parser = Parser(Language(tree_sitter_powershell.language()))
for path in sys.argv[1:]:
    tree = parser.parse(open(path, "rb").read())
    errors, commands = [], []
    def walk(n):
        if n.type == "ERROR" or n.is_missing:
            errors.append(f"{n.start_point[0] + 1}:{n.start_point[1] + 1}: {n.type} {n.text[:60]!r}")
        if n.type == "command":
            name = n.child_by_field_name("command_name")
            literal = name is not None and name.type == "command_name" and name.named_child_count == 0
            commands.append(name.text.decode() if literal else "<dynamic>")
        for c in n.children:
            walk(c)
    walk(tree.root_node)
    print(json.dumps({"path": path, "has_error": tree.root_node.has_error, "errors": errors, "commands": commands}))
"#;

struct Parsed {
    path: String,
    has_error: bool,
    errors: Vec<String>,
    commands: Vec<String>,
}

fn parse(d: &Dir, files: &[&str]) -> Vec<Parsed> {
    std::fs::write(d.join("parse_ps.py"), PARSE_PY).unwrap();
    let mut args = vec!["parse_ps.py"];
    args.extend_from_slice(files);
    let out = d.tool("python3", &args).ok();
    out.stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let strings = |k: &str| -> Vec<String> {
                v[k].as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect()
            };
            Parsed {
                path: v["path"].as_str().unwrap().into(),
                has_error: v["has_error"].as_bool().unwrap(),
                errors: strings("errors"),
                commands: strings("commands"),
            }
        })
        .collect()
}

fn assert_clean(p: &Parsed) {
    assert!(
        !p.has_error && p.errors.is_empty(),
        "{}: PowerShell syntax errors: {:?}",
        p.path,
        p.errors
    );
    assert!(!p.commands.is_empty(), "{}: no commands found", p.path);
    let unknown: Vec<&String> = p
        .commands
        .iter()
        .filter(|c| !CONFIGMGR_CMDLETS.contains(&c.as_str()) && !CORE_CMDLETS.contains(&c.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "{}: commands that are not known ConfigMgr or core cmdlets: {unknown:?}",
        p.path
    );
}

#[test]
fn deploy_ps1_of_every_template_parses_and_calls_only_known_cmdlets() {
    let d = Dir::new();
    let t = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/ts");
    let cases = [
        ("bare-metal-cmg.toml", "deploy.toml"),
        ("in-place-upgrade-cmg.toml", "deploy-upgrade.toml"),
        ("autopilot-provisionts.toml", "deploy-provisioning.toml"),
    ];
    let mut files = Vec::new();
    for (n, (ts, dep)) in cases.iter().enumerate() {
        let out = format!("pkg{n}");
        d.peforge(&[
            "ts",
            "package",
            t.join(ts).to_str().unwrap(),
            "--deployment",
            t.join(dep).to_str().unwrap(),
            "-o",
            &out,
        ])
        .ok();
        files.push(format!("{out}/Deploy.ps1"));
    }
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let parsed = parse(&d, &refs);
    assert_eq!(parsed.len(), cases.len());
    for p in &parsed {
        assert_clean(p);
        // The script does what the README says: creates the task sequence, deploys it.
        for c in ["Get-CMTaskSequence", "New-CMTaskSequenceDeployment"] {
            assert!(p.commands.iter().any(|x| x == c), "{}: no {c}", p.path);
        }
    }
}

#[test]
fn media_certificate_registration_snippet_parses_and_calls_only_known_cmdlets() {
    let d = Dir::new();
    d.sample_wim("boot.wim", true);
    d.media_pki("Registration Root", "pfx-Pass-1");
    d.secret_file("media.pass", "Registration-Passw0rd!");
    d.peforge(&[
        "media",
        "build",
        "--boot-wim",
        "boot.wim",
        "--mp",
        "https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500",
        "--site-code",
        "PS1",
        "--root-cert",
        "root.pem",
        "--password-file",
        "media.pass",
        "--format",
        "dir",
        "-o",
        "medium",
    ])
    .ok();
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("medium.media-cert-registration.json")).unwrap(),
    )
    .unwrap();
    let lines: Vec<&str> = record["powershell"]
        .as_array()
        .expect("a powershell snippet")
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    std::fs::write(d.join("register.ps1"), lines.join("\n") + "\n").unwrap();
    let parsed = parse(&d, &["register.ps1"]);
    assert_clean(&parsed[0]);
    for c in ["Invoke-CimMethod", "Get-CimInstance", "ConvertFrom-Json"] {
        assert!(parsed[0].commands.iter().any(|x| x == c), "no {c}");
    }
}

/// The checks can fail: a syntax error and an unknown command are both reported.
#[test]
fn the_grammar_check_sees_errors_and_unknown_commands() {
    let d = Dir::new();
    std::fs::write(d.join("broken.ps1"), "if ($x) {\n  Write-Verbose 'a'\n").unwrap();
    std::fs::write(d.join("other.ps1"), "Remove-Item -Recurse C:\\\n& $cmd\n").unwrap();
    let parsed = parse(&d, &["broken.ps1", "other.ps1"]);
    assert!(parsed[0].has_error, "{:?}", parsed[0].errors);
    assert!(!parsed[1].has_error);
    assert_eq!(parsed[1].commands, ["Remove-Item", "<dynamic>"]);
}
