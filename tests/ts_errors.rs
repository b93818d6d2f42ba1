//! Hostile and malformed inputs: billion laughs, external entities, malformed XML and TOML.
//! Each fails with exit 2, one error line naming the file (with line:column where it applies),
//! the input unchanged and no output left behind.

mod common;
use common::{Dir, sha256};

fn refused(d: &Dir, input: &str, cmd: &str, expect: &[&str]) {
    let before = sha256(&d.join(input));
    let args: Vec<&str> = match cmd {
        "import" => vec!["ts", "import", input, "-o", "out.toml"],
        "build" => vec!["ts", "build", input, "-o", "out.xml"],
        _ => vec!["ts", "lint", input],
    };
    let r = d.peforge(&args).fails(2);
    let line = r.stderr.lines().find(|l| l.starts_with("error:")).unwrap();
    assert!(line.contains(input), "error does not name {input}: {line}");
    for e in expect {
        assert!(line.contains(e), "{line:?} lacks {e:?}");
    }
    assert_eq!(sha256(&d.join(input)), before, "input changed");
    assert!(!d.join("out.toml").exists() && !d.join("out.xml").exists());
    let leftovers: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".peforge-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn billion_laughs_is_refused_without_expansion() {
    let d = Dir::new();
    let mut s = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        s.push_str(&format!(
            " <!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    s.push_str("]>\n<sequence version=\"3.10\"><step name=\"&lol9;\"/></sequence>\n");
    std::fs::write(d.join("lol.xml"), s).unwrap();
    for cmd in ["import", "build", "lint"] {
        refused(&d, "lol.xml", cmd, &["lol.xml:2:1", "DOCTYPE"]);
    }
}

#[test]
fn external_entities_are_refused() {
    let d = Dir::new();
    std::fs::write(
        d.join("xxe.xml"),
        "<!DOCTYPE s [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><sequence>&xxe;</sequence>",
    )
    .unwrap();
    refused(&d, "xxe.xml", "import", &["xxe.xml:1:1", "DOCTYPE"]);
    // Without a DOCTYPE, an undeclared entity is still refused (never looked up).
    std::fs::write(
        d.join("ent.xml"),
        "<sequence version=\"3.10\">\n  <step name=\"a\" description=\"&ext;\"/></sequence>",
    )
    .unwrap();
    refused(&d, "ent.xml", "import", &["ent.xml:2:", "&ext;"]);
    std::fs::write(d.join("ent2.xml"), "<sequence>\n\n   &ext2;</sequence>").unwrap();
    refused(&d, "ent2.xml", "build", &["ent2.xml:3:4", "&ext2;"]);
}

#[test]
fn external_entity_inside_object_xml_cdata_is_refused() {
    // The sequence inside object.xml is parsed with the same rules.
    let d = Dir::new();
    std::fs::write(
        d.join("object.xml"),
        "<INSTANCE CLASSNAME=\"SMS_TaskSequencePackage\"><PROPERTY NAME=\"Sequence\" TYPE=\"string\"><QUALIFIER NAME=\"CIMTYPE\"><VALUE>string</VALUE></QUALIFIER><VALUE><![CDATA[<!DOCTYPE s [<!ENTITY x SYSTEM \"http://example.invalid/\">]><sequence>&x;</sequence>]]></VALUE></PROPERTY></INSTANCE>",
    )
    .unwrap();
    refused(
        &d,
        "object.xml",
        "import",
        &["DOCTYPE", "PROPERTY[Sequence]"],
    );
}

#[test]
fn malformed_xml_reports_line_and_column() {
    let d = Dir::new();
    std::fs::write(
        d.join("bad.xml"),
        "<sequence version=\"3.10\">\n  <group name=\"G\">\n    <step name=\"x\"></group>\n</sequence>\n",
    )
    .unwrap();
    refused(&d, "bad.xml", "import", &["bad.xml:3:", "malformed XML"]);
    std::fs::write(d.join("notts.xml"), "<html><body/></html>").unwrap();
    let r = d
        .peforge(&["ts", "import", "notts.xml", "-o", "out.toml"])
        .fails(2);
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    std::fs::write(d.join("zip.zip"), b"PK\x03\x04garbage").unwrap();
    refused(&d, "zip.zip", "import", &[]);
}

#[test]
fn malformed_toml_reports_line_and_column() {
    let d = Dir::new();
    std::fs::write(
        d.join("bad.toml"),
        "[[steps]]\nname = \"Restart\"\nkind = \"restart\"\ntarget = winpe\n",
    )
    .unwrap();
    refused(&d, "bad.toml", "build", &["bad.toml:4:10"]);
    std::fs::write(
        d.join("kind.toml"),
        "[[steps]]\nname = \"x\"\nkind = \"reboot_now\"\n",
    )
    .unwrap();
    let r = d
        .peforge(&["ts", "build", "kind.toml", "-o", "out.xml"])
        .fails(2);
    assert!(r.stderr.contains("unknown step kind"), "{}", r.stderr);
    assert!(r.stderr.contains("hint: kinds: apply_os"), "{}", r.stderr);
    std::fs::write(
        d.join("dep.toml"),
        "purpose = \"available\"\ncollection = \"C\"\navailability = \"everyone\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("ok.toml"),
        "[[steps]]\nname = \"x\"\nkind = \"restart\"\n",
    )
    .unwrap();
    let r = d
        .peforge(&["ts", "lint", "ok.toml", "--deployment", "dep.toml"])
        .fails(2);
    assert!(r.stderr.contains("dep.toml:3:16"), "{}", r.stderr);
}

#[test]
fn control_characters_are_refused() {
    let d = Dir::new();
    std::fs::write(
        d.join("c.toml"),
        "[[steps]]\nname = \"bell\\u0007\"\nkind = \"restart\"\n",
    )
    .unwrap();
    let r = d
        .peforge(&["ts", "build", "c.toml", "-o", "out.xml"])
        .fails(2);
    assert!(r.stderr.contains("U+0007"), "{}", r.stderr);
    assert!(!d.join("out.xml").exists());
    std::fs::write(
        d.join("c.xml"),
        "<sequence version=\"3.10\"><step name=\"a&#1;\"/></sequence>",
    )
    .unwrap();
    refused(&d, "c.xml", "import", &["c.xml:", "U+0001"]);
}

#[test]
fn build_refuses_to_overwrite_its_input() {
    let d = Dir::new();
    std::fs::write(
        d.join("a.toml"),
        "[[steps]]\nname = \"x\"\nkind = \"restart\"\n",
    )
    .unwrap();
    let before = sha256(&d.join("a.toml"));
    d.peforge(&["ts", "build", "a.toml", "-o", "a.toml"])
        .fails(2);
    assert_eq!(sha256(&d.join("a.toml")), before);
}

#[test]
fn truncated_and_corrupted_vectors_never_panic() {
    // Every vector cut at many offsets and with bytes flipped: an error or a sequence, never a
    // panic; whatever parses also lints and writes back.
    let dir = common::vectors().join("ts-xml");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    let mut errors = 0usize;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let step = (bytes.len() / 23).max(1);
        let mut variants: Vec<Vec<u8>> = (1..bytes.len())
            .step_by(step)
            .map(|n| bytes[..n].to_vec())
            .collect();
        for (k, at) in (0..bytes.len()).step_by(step).enumerate() {
            let mut b = bytes.clone();
            b[at] = [b'<', b'&', 0xff, b'"', b'>'][k % 5];
            variants.push(b);
        }
        for v in variants {
            match peforge::ts::source::load_xml_bytes(&v, f) {
                Ok(l) => {
                    let r = peforge::ts::lint::lint(&l.sequence, &l.package, None, "x");
                    let _ = peforge::ts::lint::render_text(&r);
                    let _ = l.sequence.to_xml();
                }
                Err(e) => {
                    errors += 1;
                    assert!(!e.to_string().is_empty());
                }
            }
        }
    }
    assert!(
        errors > 26 * 20,
        "most damaged files must be refused ({errors})"
    );
}
