//! `peforge client cmdline`: a table of accepted and rejected inputs. Expected lines are the
//! documented examples of `shared/specs/task-sequence.md` §6/§10 and Microsoft's client
//! installation docs, written out by hand; lengths are counted here, not by peforge; the quoting
//! of the Intune form is checked with an independent msiexec-style splitter written in Python.

mod common;
use common::Dir;

const H: &str = "contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500";
const TENANT: &str = "7506ee10-f7ec-415a-b415-cd3d58790d97";

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["client", "cmdline"];
    v.extend_from_slice(extra);
    v
}

#[test]
fn accepted_inputs_give_the_documented_lines() {
    let d = Dir::new();
    let docs_all = "CCMSETUPCMD=\"CCMHOSTNAME=CONTOSO.CLOUDAPP.NET/CCM_Proxy_MutualAuth/72186325152220500 SMSSITECODE=ABC AADCLIENTAPPID=7506ee10-f7ec-415a-b415-cd3d58790d97 AADRESOURCEURI=https://contososerver SMSMP=https://mp1.contoso.com PROVISIONTS=PRI20001\"";
    let table: &[(&[&str], &str)] = &[
        // §10: the Enablement tab example.
        (
            &["--cmg", H, "--site-code", "ABC"],
            "CCMSETUPCMD=\"CCMHOSTNAME=contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500 SMSSITECODE=ABC\"",
        ),
        // An internet MP FQDN without the CMG path is also a valid CCMHOSTNAME (§10).
        (
            &["--cmg", "mp.contoso.com", "--site-code", "P01"],
            "CCMSETUPCMD=\"CCMHOSTNAME=mp.contoso.com SMSSITECODE=P01\"",
        ),
        // Parameters come before properties (§10 syntax), whatever the flag order.
        (
            &[
                "--site-code",
                "ABC",
                "--provision-ts",
                "PRI20001",
                "--no-crl-check",
                "--cmg",
                H,
                "--mp",
                &format!("https://{H}"),
                "--upgrade-to-latest",
            ],
            "CCMSETUPCMD=\"/mp:https://contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500 /NoCRLCheck /UpgradeToLatest CCMHOSTNAME=contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500 SMSSITECODE=ABC PROVISIONTS=PRI20001\"",
        ),
        // GUID in braces and upper case is normalized to the form dsregcmd prints.
        (
            &[
                "--cmg",
                H,
                "--site-code",
                "ABC",
                "--aad-tenant-id",
                "{7506EE10-F7EC-415A-B415-CD3D58790D97}",
            ],
            "CCMSETUPCMD=\"CCMHOSTNAME=contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500 SMSSITECODE=ABC AADTENANTID=7506ee10-f7ec-415a-b415-cd3d58790d97\"",
        ),
        // A value with spaces is quoted, and the quotes doubled inside CCMSETUPCMD (msiexec rule).
        (
            &[
                "--cmg",
                H,
                "--site-code",
                "ABC",
                "--property",
                "FSP=fsp 1.contoso.com",
            ],
            "CCMSETUPCMD=\"CCMHOSTNAME=contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500 SMSSITECODE=ABC FSP=\"\"fsp 1.contoso.com\"\"\"",
        ),
        // The documented example's items, from the flags (the host's case kept as given).
        (
            &[
                "--cmg",
                "CONTOSO.CLOUDAPP.NET/CCM_Proxy_MutualAuth/72186325152220500",
                "--site-code",
                "ABC",
                "--aad-client-app-id",
                TENANT,
                "--aad-resource-uri",
                "https://contososerver",
                "--smsmp",
                "https://mp1.contoso.com",
                "--provision-ts",
                "PRI20001",
            ],
            // Flags give a fixed order (SMSMP next to the site); ccmsetup does not care.
            "CCMSETUPCMD=\"CCMHOSTNAME=CONTOSO.CLOUDAPP.NET/CCM_Proxy_MutualAuth/72186325152220500 SMSSITECODE=ABC SMSMP=https://mp1.contoso.com AADCLIENTAPPID=7506ee10-f7ec-415a-b415-cd3d58790d97 AADRESOURCEURI=https://contososerver PROVISIONTS=PRI20001\"",
        ),
        // The full documented example re-emits unchanged.
        (&["--from", docs_all], docs_all),
        // --from with a change: the new property is appended, the existing one replaced in place.
        (
            &[
                "--from",
                &format!("CCMSETUPCMD=\"CCMHOSTNAME={H} SMSSITECODE=ABC\""),
                "--provision-ts",
                "ABC2000A",
                "--site-code",
                "XYZ",
            ],
            "CCMSETUPCMD=\"CCMHOSTNAME=contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500 SMSSITECODE=XYZ PROVISIONTS=ABC2000A\"",
        ),
        // msiexec wrapper, mixed-case names, a property outside CCMSETUPCMD, a removal.
        (
            &[
                "--from",
                &format!(
                    "msiexec /i ccmsetup.msi /qn CCMSETUPCMD=\"CCMHOSTNAME={H} SMSSiteCode=ABC AADRESOURCEURI=https://contososerver\" PROVISIONTS=PRI20001"
                ),
                "--property",
                "AADRESOURCEURI=",
            ],
            "CCMSETUPCMD=\"CCMHOSTNAME=contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500 SMSSITECODE=ABC PROVISIONTS=PRI20001\"",
        ),
        // A plain ccmsetup.exe line (§6 observed values).
        (
            &[
                "--from",
                &format!(
                    "ccmsetup.exe /NoCRLCheck CCMHOSTNAME={H} SMSSITECODE=ABC SMSCACHESIZE=25600"
                ),
            ],
            "CCMSETUPCMD=\"/NoCRLCheck CCMHOSTNAME=contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500 SMSSITECODE=ABC SMSCACHESIZE=25600\"",
        ),
    ];
    for (extra, want) in table {
        let r = d.peforge(&args(extra)).ok();
        assert_eq!(r.stdout.trim_end_matches('\n'), *want, "{}", r.what);
    }
}

#[test]
fn ccmsetup_form_and_json() {
    let d = Dir::new();
    let r = d
        .peforge(&args(&[
            "--cmg",
            H,
            "--site-code",
            "ABC",
            "--no-crl-check",
            "--format",
            "ccmsetup",
        ]))
        .ok();
    assert_eq!(
        r.stdout.trim(),
        format!("ccmsetup.exe /NoCRLCheck CCMHOSTNAME={H} SMSSITECODE=ABC")
    );
    let j = d
        .peforge(&args(&[
            "--cmg",
            H,
            "--site-code",
            "ABC",
            "--aad-tenant-id",
            TENANT,
            "--format",
            "json",
        ]))
        .ok()
        .json();
    assert_eq!(j["schema_version"], 1);
    let intune = j["intune"].as_str().unwrap();
    assert_eq!(j["intune_length"], intune.chars().count());
    assert_eq!(j["intune_max_length"], 1024);
    assert_eq!(j["properties"][2]["name"], "AADTENANTID");
    assert_eq!(j["properties"][2]["value"], TENANT);
    assert_eq!(j["warnings"].as_array().unwrap().len(), 0);
}

#[test]
fn rejected_inputs_say_what_to_fix() {
    let d = Dir::new();
    // (flags, text in the error line, text in the hint line)
    let table: &[(&[&str], &str, &str)] = &[
        (
            &["--cmg", &format!("https://{H}"), "--site-code", "ABC"],
            "starts with https://",
            &format!("without the scheme: {H}"),
        ),
        (
            &["--cmg", &format!("{H}/"), "--site-code", "ABC"],
            "remove what follows",
            "CCM_Proxy_MutualAuth",
        ),
        (
            &["--cmg", "contoso.cloudapp.net/", "--site-code", "ABC"],
            "trailing /",
            "CCM_Proxy_MutualAuth",
        ),
        (
            &[
                "--cmg",
                "contoso.cloudapp.net/CCM_Proxy_MutualAuth/72x",
                "--site-code",
                "ABC",
            ],
            "must be digits",
            "e.g. contoso",
        ),
        (
            &[
                "--cmg",
                "contoso.cloudapp.net/CCM_Proxy/1",
                "--site-code",
                "ABC",
            ],
            "expected <host>",
            "SMS_ActiveMPCandidate",
        ),
        (
            &[
                "--cmg",
                "contoso.cloudapp.net:443/CCM_Proxy_MutualAuth/1",
                "--site-code",
                "ABC",
            ],
            "remove the port",
            "e.g.",
        ),
        (
            &["--cmg", "contoso", "--site-code", "ABC"],
            "not a fully qualified name",
            "e.g.",
        ),
        (
            &["--cmg", "con_toso.net", "--site-code", "ABC"],
            "contains '_'",
            "e.g.",
        ),
        (
            &["--site-code", "ABC"],
            "CCMHOSTNAME is missing",
            "add --cmg",
        ),
        (&["--cmg", H], "SMSSITECODE is missing", "add --site-code"),
        (
            &["--cmg", H, "--site-code", "ABCD"],
            "is not a site code",
            "three-character",
        ),
        (
            &["--cmg", H, "--site-code", "A-C"],
            "is not a site code",
            "three-character",
        ),
        (
            &["--cmg", H, "--site-code", "AUTO"],
            "AUTO cannot be combined",
            "--site-code",
        ),
        (
            &[
                "--cmg",
                H,
                "--site-code",
                "ABC",
                "--mp",
                &format!("http://{H}"),
            ],
            "must be an https:// URL",
            &format!("https://{H}"),
        ),
        (
            &["--cmg", H, "--site-code", "ABC", "--mp", H],
            "must be an https:// URL",
            &format!("https://{H}"),
        ),
        (
            &[
                "--cmg",
                H,
                "--site-code",
                "ABC",
                "--aad-tenant-id",
                "7506ee10f7ec415ab415cd3d58790d97",
            ],
            "is not a GUID",
            "8-4-4-4-12",
        ),
        (
            &[
                "--cmg",
                H,
                "--site-code",
                "ABC",
                "--aad-client-app-id",
                "7506ee10-f7ec-415a-b415-cd3d58790d9",
            ],
            "is not a GUID",
            "8-4-4-4-12",
        ),
        (
            &[
                "--cmg",
                H,
                "--site-code",
                "ABC",
                "--aad-tenant-id",
                "00000000-0000-0000-0000-000000000000",
            ],
            "is not a GUID",
            "dsregcmd",
        ),
        (
            &[
                "--cmg",
                H,
                "--site-code",
                "ABC",
                "--aad-resource-uri",
                "contososerver",
            ],
            "scheme:// missing",
            "full URL",
        ),
        (
            &["--cmg", H, "--site-code", "ABC", "--smsmp", "https://"],
            "no host",
            "full URL",
        ),
        (
            &[
                "--cmg",
                H,
                "--site-code",
                "ABC",
                "--provision-ts",
                "PRI2001",
            ],
            "is not a deployment ID",
            "All Provisioning Devices",
        ),
        (
            &[
                "--cmg",
                H,
                "--site-code",
                "ABC",
                "--provision-ts",
                "PRI2000G",
            ],
            "is not a deployment ID",
            "All Provisioning Devices",
        ),
        (
            &["--cmg", H, "--site-code", "ABC", "--property", "X=a\"b"],
            "double quote",
            "remove them",
        ),
        (
            &["--cmg", H, "--site-code", "ABC", "--property", "X=a\tb"],
            "control character",
            "remove them",
        ),
        (
            &["--cmg", H, "--site-code", "ABC", "--property", "1X=a"],
            "property name \"1X\" is not valid",
            "start with a letter",
        ),
        (
            &["--cmg", H, "--site-code", "ABC", "--property", "NOEQUALS"],
            "has no =",
            "NAME=VALUE",
        ),
        (
            &[
                "--cmg",
                H,
                "--site-code",
                "ABC",
                "--property",
                "CCMHOSTNAME=x.y",
            ],
            "has its own flag",
            "use --cmg x.y",
        ),
        (
            &["--cmg", H, "--site-code", "ABC", "--property", "GONE="],
            "does not have",
            "property name",
        ),
        (
            &["--from", "CCMSETUPCMD=\"CCMHOSTNAME=a.b SMSSITECODE=ABC"],
            "column 13: quote opened here is never closed",
            "exactly as the Enablement tab",
        ),
        (
            &[
                "--from",
                "CCMSETUPCMD=\u{201c}CCMHOSTNAME=a.b SMSSITECODE=ABC\u{201d}",
            ],
            "typographic quote",
            "exactly as the Enablement tab",
        ),
        (
            &[
                "--from",
                &format!("CCMSETUPCMD=\"CCMHOSTNAME={H} SMSSITECODE=ABC SMSSITECODE=XYZ\""),
            ],
            "SMSSITECODE is given twice",
            "keep one SMSSITECODE",
        ),
        (
            &[
                "--from",
                &format!("CCMSETUPCMD=\"CCMHOSTNAME={H} SMSSITECODE=ABC stray\""),
            ],
            "\"stray\" is neither",
            "quote values",
        ),
        (
            &[
                "--from",
                &format!("CCMSETUPCMD=\"CCMHOSTNAME={H} SMSSITECODE=ABC =x\""),
            ],
            "has no property name",
            "exactly as",
        ),
    ];
    for (extra, err, hint) in table {
        let r = d.peforge(&args(extra)).fails(2);
        let e = r.stderr.lines().find(|l| l.starts_with("error:")).unwrap();
        assert!(e.contains(err), "{}: error {e:?} lacks {err:?}", r.what);
        let h = r.stderr.lines().find(|l| l.starts_with("hint:"));
        assert!(
            h.is_some_and(|h| h.contains(hint)),
            "{}: hint {h:?} lacks {hint:?}",
            r.what
        );
        assert!(r.stdout.is_empty(), "{}: printed {}", r.what, r.stdout);
    }
}

#[test]
fn the_1024_character_limit_is_exact() {
    let d = Dir::new();
    // CCMSETUPCMD="CCMHOSTNAME=<H> SMSSITECODE=ABC X=<pad>": count the fixed part here.
    let fixed = format!("CCMSETUPCMD=\"CCMHOSTNAME={H} SMSSITECODE=ABC X=\"").len();
    let fits = "p".repeat(1024 - fixed);
    let r = d
        .peforge(&args(&[
            "--cmg",
            H,
            "--site-code",
            "ABC",
            "--property",
            &format!("X={fits}"),
        ]))
        .ok();
    assert_eq!(r.stdout.trim_end().chars().count(), 1024);
    let over = "p".repeat(1025 - fixed);
    let r = d
        .peforge(&args(&[
            "--cmg",
            H,
            "--site-code",
            "ABC",
            "--property",
            &format!("X={over}"),
        ]))
        .fails(2);
    assert!(
        r.stderr.contains("is 1025 characters, more than the 1024"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("hint: drop optional properties"),
        "{}",
        r.stderr
    );
    // The ccmsetup.exe form has no such limit.
    d.peforge(&args(&[
        "--cmg",
        H,
        "--site-code",
        "ABC",
        "--property",
        &format!("X={over}"),
        "--format",
        "ccmsetup",
    ]))
    .ok();
}

#[test]
fn intune_quoting_splits_back_with_an_independent_msiexec_splitter() {
    let d = Dir::new();
    let r = d
        .peforge(&args(&[
            "--cmg",
            H,
            "--site-code",
            "ABC",
            "--property",
            "FSP=a b  c",
            "--property",
            "SMSCACHESIZE=100",
        ]))
        .ok();
    // msiexec: PROP="value" with "" as a literal quote; then ccmsetup splits the value on spaces,
    // honouring "...". Written here in Python, independent of peforge's tokenizer.
    let py = r#"
import sys
line = sys.argv[1].strip()
assert line.startswith('CCMSETUPCMD="') and line.endswith('"'), line
inner = line[len('CCMSETUPCMD="'):-1].replace('""', '"')
out, cur, q = [], '', False
for ch in inner:
    if ch == '"':
        q = not q
    elif ch == ' ' and not q:
        if cur: out.append(cur)
        cur = ''
    else:
        cur += ch
if cur: out.append(cur)
print('\n'.join(out))
"#;
    let got = d.tool("python3", &["-c", py, r.stdout.trim()]).ok().stdout;
    let want = format!("CCMHOSTNAME={H}\nSMSSITECODE=ABC\nFSP=a b  c\nSMSCACHESIZE=100\n");
    assert_eq!(got, want);
}

#[test]
fn warnings_go_to_stderr_and_json() {
    let d = Dir::new();
    let r = d
        .peforge(&args(&[
            "--from",
            &format!("ccmsetup.exe /UsePKICert CCMHOSTNAME={H} SMSSITECODE=ABC"),
        ]))
        .ok();
    assert!(r.stderr.contains("warning: /UsePKICert"), "{}", r.stderr);
    assert!(
        r.stdout.starts_with("CCMSETUPCMD=\"/UsePKICert "),
        "{}",
        r.stdout
    );
    let j = d
        .peforge(&args(&[
            "--from",
            &format!("ccmsetup.exe /UsePKICert CCMHOSTNAME={H} SMSSITECODE=ABC"),
            "--format",
            "json",
        ]))
        .ok()
        .json();
    assert_eq!(j["warnings"][0]["code"], "use-pki-cert");
    let r = d
        .peforge(&args(&[
            "--cmg",
            H,
            "--site-code",
            "ABC",
            "--provision-ts",
            "ABC20001",
            "--format",
            "ccmsetup",
            "-q",
        ]))
        .ok();
    assert!(r.stderr.is_empty(), "--quiet still printed {}", r.stderr);
    let r = d
        .peforge(&args(&[
            "--cmg",
            H,
            "--site-code",
            "ABC",
            "--provision-ts",
            "ABC20001",
            "--format",
            "ccmsetup",
        ]))
        .ok();
    assert!(
        r.stderr
            .contains("warning: the docs list PROVISIONTS as a ccmsetup.msi property"),
        "{}",
        r.stderr
    );
}

#[test]
fn from_stdin_reads_one_pasted_line() {
    let d = Dir::new();
    // As saved by Notepad: BOM, CRLF.
    let pasted = format!(
        "\u{feff}CCMSETUPCMD=\"CCMHOSTNAME={H} SMSSITECODE=ABC AADRESOURCEURI=https://contososerver\"\r\n"
    );
    let r = d
        .peforge_stdin(
            &args(&["--from", "-", "--property", "AADRESOURCEURI="]),
            pasted.as_bytes(),
        )
        .ok();
    assert_eq!(
        r.stdout.trim_end(),
        format!("CCMSETUPCMD=\"CCMHOSTNAME={H} SMSSITECODE=ABC\"")
    );
    let r = d
        .peforge_stdin(
            &args(&["--from", "-"]),
            b"CCMHOSTNAME=a.b SMSSITECODE=ABC\nSECOND=line\n",
        )
        .fails(2);
    assert!(r.stderr.contains("more than one line"), "{}", r.stderr);
    let r = d
        .peforge_stdin(&args(&["--from", "-"]), b"\xc3\x28")
        .fails(2);
    assert!(r.stderr.contains("not UTF-8"), "{}", r.stderr);
    // Notepad "Unicode": UTF-16LE with BOM.
    let mut utf16 = vec![0xff, 0xfe];
    for u in format!("CCMSETUPCMD=\"CCMHOSTNAME={H} SMSSITECODE=ABC\"\r\n").encode_utf16() {
        utf16.extend(u.to_le_bytes());
    }
    let r = d.peforge_stdin(&args(&["--from", "-"]), &utf16).ok();
    assert_eq!(
        r.stdout.trim_end(),
        format!("CCMSETUPCMD=\"CCMHOSTNAME={H} SMSSITECODE=ABC\"")
    );
}
