//! Every `--json` document against its JSON Schema in `schemas/`, checked by an independent
//! validator (Python `jsonschema`, draft 2020-12), on real outputs of every command.
//!
//! To add a command: add a row to [`ROWS`] (its arguments run in one shared fixture folder, in
//! table order, so a row may use what an earlier row wrote), add its schema file, and add the
//! schema's line to [`SCHEMAS`] with its fingerprint (the failing test prints it). Changing a
//! schema changes its fingerprint: the test then asks for a new line with a higher
//! `schema_version`, which the schema's `schema_version` const and the command must emit.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::Dir;

/// One command run whose stdout is a JSON document described by `schemas/<schema>.schema.json`.
struct Row {
    schema: &'static str,
    /// Arguments; `{templates}` is replaced by the repository's templates folder.
    args: &'static [&'static str],
    /// Accepted exit codes (1 = findings, still a complete document).
    exit: &'static [i32],
}

const MP: &str = "https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500";

/// The fixture folder holds `boot.wim` (ConfigMgr sample), `plain.wim` (no SOFTWARE hive),
/// `root.pem`, `media.pfx` + `pfx.pass`, `media.pass`, `SOFTWARE` (from boot.wim) and `junk/`.
#[rustfmt::skip]
const ROWS: &[Row] = &[
    Row { schema: "wim-info", args: &["wim", "info", "boot.wim", "--json"], exit: &[0] },
    Row { schema: "wim-info", args: &["wim", "info", "plain.wim", "--json"], exit: &[0] },
    Row { schema: "wim-ls", args: &["wim", "ls", "boot.wim", "Windows", "--recursive", "--json"], exit: &[0] },
    Row { schema: "wim-ls", args: &["wim", "ls", "boot.wim", "Windows\\System32\\config", "--json"], exit: &[0] },
    Row { schema: "hive-get", args: &["hive", "get", "--wim", "boot.wim", "--hive", "SOFTWARE", "--key", "Microsoft\\Windows NT\\CurrentVersion", "--json"], exit: &[0] },
    Row { schema: "hive-get", args: &["hive", "get", "--wim", "boot.wim", "--hive", "SOFTWARE", "--key", "Microsoft\\Windows NT\\CurrentVersion", "--value", "CurrentMajorVersionNumber", "--json"], exit: &[0] },
    Row { schema: "hive-set", args: &["hive", "set", "--wim", "boot.wim", "--hive", "SOFTWARE", "--key", "Microsoft\\Peforge", "--value", "List", "--type", "multi_sz", "--data", "a", "--data", "b", "--json"], exit: &[0] },
    Row { schema: "hive-get", args: &["hive", "get", "--wim", "boot.wim", "--hive", "SOFTWARE", "--key", "Microsoft\\Peforge", "--json"], exit: &[0] },
    Row { schema: "cert-reg", args: &["cert", "reg", "--cert", "root.pem", "-o", "root.reg", "--json"], exit: &[0] },
    Row { schema: "cert-inject", args: &["cert", "inject", "--wim", "boot.wim", "--cert", "root.pem", "--dry-run", "--json"], exit: &[0] },
    Row { schema: "cert-inject", args: &["cert", "inject", "--wim", "boot.wim", "--cert", "root.pem", "--json"], exit: &[0] },
    Row { schema: "cert-inject", args: &["cert", "inject", "--wim", "boot.wim", "--cert", "root.pem", "--json"], exit: &[0] },
    Row { schema: "cert-inject", args: &["cert", "inject", "--hive-file", "SOFTWARE", "--cert", "root.pem", "--store", "root", "--json"], exit: &[0] },
    Row { schema: "cert-list", args: &["cert", "list", "--wim", "boot.wim", "--json"], exit: &[0] },
    Row { schema: "cert-list", args: &["cert", "list", "--hive-file", "SOFTWARE", "--json"], exit: &[0] },
    Row { schema: "cert-verify", args: &["cert", "verify", "--wim", "boot.wim", "--json"], exit: &[0] },
    Row { schema: "wim-info", args: &["wim", "info", "boot.wim", "--json"], exit: &[0] },
    Row { schema: "cert-remove", args: &["cert", "remove", "--hive-file", "SOFTWARE", "--thumbprint", "{thumbprint}", "--json"], exit: &[0] },
    Row { schema: "cert-remove", args: &["cert", "remove", "--wim", "boot.wim", "--thumbprint", "0000000000000000000000000000000000000000", "--dry-run", "--json"], exit: &[0] },
    Row { schema: "media-build", args: &["media", "build", "--boot-wim", "boot.wim", "--mp", MP, "--site-code", "PS1", "--root-cert", "root.pem", "--media-cert", "media.pfx", "--media-cert-password-file", "pfx.pass", "--password-file", "media.pass", "--format", "iso", "-o", "m.iso", "--json"], exit: &[0] },
    Row { schema: "media-build", args: &["media", "build", "--boot-wim", "boot.wim", "--mp", MP, "--site-code", "PS1", "--root-cert", "root.pem", "--password-file", "media.pass", "--format", "dir", "-o", "m-dir", "--json"], exit: &[0] },
    Row { schema: "media-inspect", args: &["media", "inspect", "m.iso", "--json"], exit: &[0, 1] },
    Row { schema: "media-inspect", args: &["media", "inspect", "m-dir", "--password-file", "media.pass", "--json"], exit: &[0, 1] },
    Row { schema: "media-retarget", args: &["media", "retarget", "m.iso", "--mp", "https://cmg2.contoso.com/CCM_Proxy_MutualAuth/72186325152220501", "--password-file", "media.pass", "--format", "usb", "-o", "m2.img", "--json"], exit: &[0] },
    Row { schema: "media-inspect", args: &["media", "inspect", "m2.img", "--json"], exit: &[0, 1] },
    Row { schema: "ts-build", args: &["ts", "build", "{templates}/ts/bare-metal-cmg.toml", "-o", "seq.xml", "--json"], exit: &[0] },
    Row { schema: "ts-import", args: &["ts", "import", "seq.xml", "-o", "re.toml", "--json"], exit: &[0] },
    Row { schema: "ts-lint", args: &["ts", "lint", "{templates}/ts/bare-metal-cmg.toml", "--deployment", "{templates}/ts/deploy.toml", "--format", "json"], exit: &[0, 1] },
    Row { schema: "ts-lint", args: &["ts", "lint", "junk/bad-ts.toml", "--format", "json"], exit: &[0, 1] },
    Row { schema: "ts-package", args: &["ts", "package", "{templates}/ts/bare-metal-cmg.toml", "--deployment", "{templates}/ts/deploy.toml", "-o", "ts.zip", "--json"], exit: &[0] },
    Row { schema: "ts-package", args: &["ts", "package", "{templates}/ts/autopilot-provisionts.toml", "--deployment", "{templates}/ts/deploy-provisioning.toml", "-o", "ts-dir", "--json"], exit: &[0] },
    Row { schema: "client-cmdline", args: &["client", "cmdline", "--cmg", "cmg.contoso.com", "--site-code", "P01", "--format", "json"], exit: &[0] },
    Row { schema: "client-cmdline", args: &["client", "cmdline", "--cmg", "cmg.contoso.com", "--site-code", "P01", "--provision-ts", "ABC20001", "--no-crl-check", "--mp", "https://mp.contoso.com", "--format", "json"], exit: &[0] },
    Row { schema: "esp-diagnose", args: &["esp", "diagnose", "--hive", "SOFTWARE", "--json"], exit: &[0, 1] },
    Row { schema: "esp-diagnose", args: &["esp", "diagnose", "--wim", "boot.wim", "--index", "1", "--json"], exit: &[0, 1] },
    Row { schema: "ade-profile-init", args: &["ade", "profile", "init", "--preset", "user-modern", "-o", "ade.toml", "--json"], exit: &[0] },
    Row { schema: "ade-profile-lint", args: &["ade", "profile", "lint", "ade.toml", "--format", "json"], exit: &[0, 1] },
    Row { schema: "ade-profile-lint", args: &["ade", "profile", "lint", "junk/bad-ade.toml", "--format", "json"], exit: &[1] },
    Row { schema: "ade-profile-build", args: &["ade", "profile", "build", "ade.toml", "-o", "ade.json", "--json"], exit: &[0] },
    Row { schema: "ade-profile-import", args: &["ade", "profile", "import", "ade.json", "-o", "ade-back.toml", "--json"], exit: &[0] },
    Row { schema: "ade-skip-keys", args: &["ade", "skip-keys", "--json"], exit: &[0] },
    Row { schema: "driver-inspect", args: &["driver", "inspect", "{vectors}/inf", "--json"], exit: &[0, 1] },
    Row { schema: "wim-customize", args: &["wim", "customize", "--wim", "boot.wim", "--overlay", "overlay:Windows\\Peforge", "--start-script", "start.cmd", "--json"], exit: &[0] },
    Row { schema: "wim-customize", args: &["wim", "customize", "--wim", "boot.wim", "--list", "--json"], exit: &[0] },
    Row { schema: "media-build", args: &["media", "build", "--boot-wim", "boot.wim", "--mp", MP, "--site-code", "PS1", "--password-file", "media.pass", "-o", "c-dir/", "--json"], exit: &[0] },
    Row { schema: "media-inspect", args: &["media", "inspect", "c-dir", "--password-file", "media.pass", "--json"], exit: &[0, 1] },
    Row { schema: "hive-recover", args: &["hive", "recover", "SOFTWARE", "-o", "SOFTWARE.clean", "--json"], exit: &[0] },
    Row { schema: "media-write", args: &["media", "write", "m2.img", "--device", "stick.bin", "--yes", "--json"], exit: &[0] },
    Row { schema: "media-devices", args: &["media", "devices", "--json"], exit: &[0] },
];

/// Each schema file with its history of (schema_version, fingerprint); the last line is the
/// current one. The fingerprint is the SHA-256 of the schema's canonical JSON without its
/// `title`, `description` and `$comment` strings, so wording edits need no new version.
const SCHEMAS: &[(&str, &[(u64, &str)])] = &[
    (
        "ade-profile-build",
        &[(
            1,
            "2273092d85dc3d0ea42462ebf47be321908073d448f8699e80b0f2bd52fe079c",
        )],
    ),
    (
        "ade-profile-import",
        &[(
            1,
            "4e5d06cb00ade0a9feae80dbbbe5f5551f70e68ab3dfb93d92be76fd5211a270",
        )],
    ),
    (
        "ade-profile-init",
        &[(
            1,
            "7e5d415c3997aae71eeb711c39e2677b3f165608e1f27c6e794e47cc2d868b4d",
        )],
    ),
    (
        "ade-profile-lint",
        &[(
            1,
            "3f3f5abc2b47dfe46a75d069050d6cb9b56fc3c4bbf5b90aefc41981d986f4ef",
        )],
    ),
    (
        "ade-skip-keys",
        &[(
            1,
            "307297eaf3ad1495aa5966632524dd8cef8e1a6af855310715960f16497dcf82",
        )],
    ),
    (
        "cert-inject",
        &[(
            1,
            "dbc1d3e07c17346bd05ed41ba749f1e92e842f5ac9a5f08ecc1a36bc6d4073de",
        )],
    ),
    (
        "cert-list",
        &[
            (
                1,
                "d8d33933677271fa70d9fda34657d30e60aad797ba5c28a5c732966ea63b3af6",
            ),
            (
                2,
                "8bb6a60c11dc4d75b8292075ae5e854e0ffe1616ed6ddab4da6a931a7152b30a",
            ),
        ],
    ),
    (
        "cert-reg",
        &[(
            1,
            "1c955837d0f55f2ca14195920c8620493c55bee86e8919381c5acc09a169a97c",
        )],
    ),
    (
        "cert-remove",
        &[(
            1,
            "755b3ed0e1baa5094134773fef5035205965ac8a5e4e0567318f01efa9c83f73",
        )],
    ),
    (
        "cert-verify",
        &[
            (
                1,
                "0ea1a04241a540c08d9f56366993fa700e17899fcccb6a6135d2a8960046756a",
            ),
            (
                2,
                "464cd0065971bb75974701052b8322d94a4e68a221c6cbc83b7337def5f8318b",
            ),
        ],
    ),
    (
        "client-cmdline",
        &[(
            1,
            "ae465abbf9cb6e47226eed976baf54eeb5e2736f18e115acb6352e807368e52e",
        )],
    ),
    (
        "driver-inspect",
        &[(
            1,
            "81b840b359c7587911e6476c3ba560a8f22df98bc33f77d1f9ecf8afe2a6885b",
        )],
    ),
    (
        "esp-diagnose",
        &[
            (
                1,
                "b0705f4951531672c62940709e9dccbc89b43bca42849081dbccf55990adfde4",
            ),
            (
                2,
                "66979ed61a115512fc378f46b420ffc933f5289ea5e61591c37c07b0283517c0",
            ),
        ],
    ),
    (
        "hive-get",
        &[
            (
                1,
                "ff702b5a1211e307af1ada1bf438d81b54f87dc3928ce369ba55d824349ff56a",
            ),
            (
                2,
                "3c6b362c21c001e5f08b0c2e75d31d4c610e6f52a106daf985ef555350566e7f",
            ),
        ],
    ),
    (
        "hive-recover",
        &[(
            1,
            "d3dab5c5aa09e113fa446713479b608d54297e0ce67771ea3a56b60c0c7da92a",
        )],
    ),
    (
        "hive-set",
        &[
            (
                1,
                "49bdbd994c06af812badc094bf86a959a463dbaf42634706308c1d9e7a228ef6",
            ),
            (
                2,
                "ca67297ba25b7cb62fd64c6b5925e6589ba60f207df12f005c9bcd7ca94f5587",
            ),
        ],
    ),
    (
        "media-build",
        &[(
            1,
            "2b5c0a0b29e5a003d9ad21ed793f3467eaaeaaa1041cd7171f127848c17b2e8a",
        )],
    ),
    (
        "media-devices",
        &[(
            1,
            "39d78d898e6973fb97f28652c98d377cd791e44d133cfba12148cb96f1cf1721",
        )],
    ),
    (
        "media-inspect",
        &[
            (
                1,
                "f6337270659a5248d8075304ca2013b440f931e8be291ede05cf10b0eb014f9b",
            ),
            (
                2,
                "da6fff62386b2a8f5f1658b9a872647b9f8bbaad1d55ad6e251c6fd65059e684",
            ),
        ],
    ),
    (
        "media-retarget",
        &[(
            1,
            "ccee30c8f0a0b08d5b71e73b618e3d0fcbe2e2d46ad6203b762087481f224f2c",
        )],
    ),
    (
        "media-write",
        &[(
            1,
            "63a060071bee87e5e8903f4d245c29dcd25db4ba0c708fad839a910b0d4746c6",
        )],
    ),
    (
        "ts-build",
        &[(
            1,
            "c8874771a580a83cbee3225128b689cfecd186512926f23b1b33490b97c3ab46",
        )],
    ),
    (
        "ts-import",
        &[(
            1,
            "119723e681e714c5b73de869421fcf28444340af94536bd82d9220656c2de966",
        )],
    ),
    (
        "ts-lint",
        &[(
            1,
            "902ba7c2be680c93165f1f2b5e0a32e9641356f9f8f1674a71e120205699be17",
        )],
    ),
    (
        "ts-package",
        &[(
            1,
            "f2eea3bbbe6272c3419265c98e241464fb20c8a34c9863fc4f7e65e7f9044330",
        )],
    ),
    (
        "wim-customize",
        &[(
            1,
            "921d01f2ef86973ce64aac48c01c00acc1030b363d97f85cfbf26053f03c99b5",
        )],
    ),
    (
        "wim-info",
        &[(
            1,
            "949b96c521f6bfbd81735455f01eff29190405100a4a7cf76019bf08f91b0ef7",
        )],
    ),
    (
        "wim-ls",
        &[(
            1,
            "9aac71bbdde998b881eb3e94833875318351d67703d3e77574a3c4b9cd3227da",
        )],
    ),
];

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

fn schema_files() -> BTreeSet<String> {
    std::fs::read_dir(schemas_dir())
        .expect("schemas/ exists")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".schema.json").map(str::to_string))
        .collect()
}

fn load(name: &str) -> serde_json::Value {
    let p = schemas_dir().join(format!("{name}.schema.json"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The schema without its prose, keys sorted (serde_json maps are ordered).
fn strip_prose(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.iter()
                .filter(|(k, v)| {
                    !(v.is_string() && matches!(k.as_str(), "title" | "description" | "$comment"))
                })
                .map(|(k, v)| (k.clone(), strip_prose(v)))
                .collect(),
        ),
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.iter().map(strip_prose).collect())
        }
        other => other.clone(),
    }
}

fn fingerprint(schema: &serde_json::Value) -> String {
    use sha2::Digest;
    let mut bytes = serde_json::to_vec(&strip_prose(schema)).unwrap();
    // The fragments it refers to are part of its shape.
    let text = schema.to_string();
    for f in FRAGMENTS {
        if text.contains(&format!("{f}.schema.json")) {
            bytes.extend(serde_json::to_vec(&strip_prose(&load(f))).unwrap());
        }
    }
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The `schema_version` const(s) a schema accepts (every branch of a top-level `oneOf`).
fn version_consts(schema: &serde_json::Value) -> Vec<u64> {
    let branches: Vec<&serde_json::Value> = match schema.get("oneOf") {
        Some(serde_json::Value::Array(a)) => a.iter().collect(),
        _ => vec![schema],
    };
    branches
        .iter()
        .map(|b| {
            b["properties"]["schema_version"]["const"]
                .as_u64()
                .unwrap_or_else(|| panic!("no schema_version const in {b}"))
        })
        .collect()
}

/// Inputs every row may use, built with peforge's sample builder and openssl.
fn fixture() -> Dir {
    let d = Dir::new();
    d.sample_wim("boot.wim", true);
    std::fs::create_dir_all(d.join("plain/x")).unwrap();
    std::fs::write(d.join("plain/x/a.txt"), "no hives here\n").unwrap();
    d.tool("wimlib-imagex", &["capture", "plain", "plain.wim", "plain"])
        .ok();
    d.media_pki("Schema Root", "pfx-Pass-1");
    d.secret_file("media.pass", "Schema-Media-Passw0rd!");
    d.tool(
        "wimextract",
        &[
            "boot.wim",
            "1",
            "Windows/System32/config/SOFTWARE",
            "--dest-dir=.",
            "--no-acls",
        ],
    )
    .ok();
    std::fs::create_dir_all(d.join("junk")).unwrap();
    // An ADE profile with an error finding (Entra shared mode without locked enrollment).
    std::fs::write(
        d.join("junk/bad-ade.toml"),
        "name = \"bad\"\naffinity = \"entra-shared\"\nlocked_enrollment = false\n",
    )
    .unwrap();
    // What `wim customize` adds: an overlay folder and a start script.
    std::fs::create_dir_all(d.join("overlay/tools")).unwrap();
    std::fs::write(d.join("overlay/tools/readme.txt"), "peforge overlay\n").unwrap();
    std::fs::write(d.join("start.cmd"), "@echo off\r\necho started\r\n").unwrap();
    // A task sequence with lint findings (a UNC path, no deployment settings).
    std::fs::write(
        d.join("junk/bad-ts.toml"),
        "[package]\nname = \"bad\"\n\n[[steps]]\nname = \"Copy from a share\"\n\
         kind = \"run_command_line\"\ncommand = 'cmd /c copy \\\\server\\share\\x.cmd C:\\'\n",
    )
    .unwrap();
    d
}

fn thumbprint(d: &Dir) -> String {
    let out = d
        .tool(
            "openssl",
            &["x509", "-in", "root.pem", "-noout", "-fingerprint", "-sha1"],
        )
        .ok();
    out.stdout
        .trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
}

/// The Python side: validates each (schema file, document file) pair with jsonschema's
/// Draft 2020-12 validator (after checking the schema itself) and prints one line per error.
const VALIDATE_PY: &str = r#"
import glob, json, os, sys
import referencing
from jsonschema import Draft202012Validator
from referencing.jsonschema import DRAFT202012
# Every schema of the folder, so one may $ref another (shared fragments) by file name or $id.
registry = referencing.Registry()
for line in open(sys.argv[1]):
    folder = os.path.dirname(line.split("\t")[0])
    break
for f in glob.glob(os.path.join(folder, "*.schema.json")):
    r = DRAFT202012.create_resource(json.load(open(f)))
    registry = registry.with_resource(r.contents.get("$id", os.path.basename(f)), r)
    registry = registry.with_resource(os.path.basename(f), r)
bad = 0
for line in open(sys.argv[1]):
    schema_path, doc_path = line.rstrip("\n").split("\t")
    schema = json.load(open(schema_path))
    Draft202012Validator.check_schema(schema)
    doc = json.load(open(doc_path))
    for e in Draft202012Validator(schema, registry=registry).iter_errors(doc):
        bad += 1
        print(f"{doc_path}: {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}")
print(f"checked {sum(1 for _ in open(sys.argv[1]))} documents, {bad} errors")
sys.exit(1 if bad else 0)
"#;

#[test]
fn every_command_output_matches_its_schema() {
    let d = fixture();
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let templates = templates.to_str().unwrap();
    let vectors = common::vectors();
    let vectors = vectors.to_str().unwrap();
    let thumb = thumbprint(&d);
    let mut pairs = String::new();
    let mut seen: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (n, row) in ROWS.iter().enumerate() {
        let args: Vec<String> = row
            .args
            .iter()
            .map(|a| {
                a.replace("{templates}", templates)
                    .replace("{vectors}", vectors)
                    .replace("{thumbprint}", &thumb)
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = d.peforge(&args);
        assert!(
            row.exit.contains(&r.code),
            "{}: exit {} (want {:?}): {}",
            r.what,
            r.code,
            row.exit,
            r.stderr
        );
        let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: stdout is not one JSON document: {e}\n{}",
                r.what, r.stdout
            )
        });
        let version = doc["schema_version"]
            .as_u64()
            .unwrap_or_else(|| panic!("{}: no schema_version", r.what));
        seen.entry(row.schema).or_default().push(version);
        let doc_path = d.join(&format!("doc-{n:03}-{}.json", row.schema));
        std::fs::write(&doc_path, &r.stdout).unwrap();
        let schema_path = schemas_dir().join(format!("{}.schema.json", row.schema));
        pairs.push_str(&format!(
            "{}\t{}\n",
            schema_path.display(),
            doc_path.display()
        ));
    }
    std::fs::write(d.join("pairs.tsv"), pairs).unwrap();
    std::fs::write(d.join("validate.py"), VALIDATE_PY).unwrap();
    let r = d.tool("python3", &["validate.py", "pairs.tsv"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains(&format!("checked {} documents, 0 errors", ROWS.len())),
        "{}",
        r.stdout
    );
    // The schema_version each command emits is the one its schema requires.
    for (schema, versions) in seen {
        let consts = version_consts(&load(schema));
        for v in versions {
            assert!(
                consts.contains(&v),
                "{schema}: emits schema_version {v}, schema says {consts:?}"
            );
        }
    }
}

/// Schema files that are shared fragments (`$ref`'d by command schemas), not command outputs:
/// they need no row and carry no `schema_version`; a change to one changes the fingerprint of
/// every schema that refers to it.
const FRAGMENTS: &[&str] = &["hive-transaction-logs"];

#[test]
fn every_schema_file_is_exercised_and_versioned() {
    let files: BTreeSet<String> = schema_files()
        .into_iter()
        .filter(|f| !FRAGMENTS.contains(&f.as_str()))
        .collect();
    let used: BTreeSet<String> = ROWS.iter().map(|r| r.schema.to_string()).collect();
    let listed: BTreeSet<String> = SCHEMAS.iter().map(|s| s.0.to_string()).collect();
    let unused: Vec<_> = files.difference(&used).collect();
    assert!(
        unused.is_empty(),
        "schemas without a row in ROWS: {unused:?}"
    );
    let missing: Vec<_> = used.difference(&files).collect();
    assert!(
        missing.is_empty(),
        "rows without a schemas/<name>.schema.json: {missing:?}"
    );
    assert_eq!(files, listed, "SCHEMAS must list every schema file");
    let mut problems = Vec::new();
    for (name, history) in SCHEMAS {
        let schema = load(name);
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}: not draft 2020-12"
        );
        assert!(
            history.windows(2).all(|w| w[0].0 < w[1].0),
            "{name}: versions must increase"
        );
        let (version, fp) = history.last().unwrap();
        let now = fingerprint(&schema);
        if fp.is_empty() {
            problems.push(format!(
                "{name}: fill in the fingerprint: ({version}, \"{now}\")"
            ));
        } else if now != *fp {
            problems.push(format!(
                "{name}: schema changed (fingerprint {now}); add ({}, \"{now}\") to its SCHEMAS line \
                 and make the command emit and the schema require schema_version {}",
                version + 1,
                version + 1
            ));
        }
        let consts = version_consts(&schema);
        assert!(
            consts.iter().all(|c| c == version),
            "{name}: schema_version const {consts:?}, SCHEMAS says {version}"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
