//! `ts import` → `ts build` on every real vector, compared by meaning with Python's
//! xml.etree (a different parser, which also extracts the sequence from object.xml on its own),
//! plus console-export .zip import from a ZIP built by Python's zipfile.

mod common;
use common::{Dir, sha256, vectors};

/// Python comparator: parses both files with xml.etree (sequence taken from the CDATA of
/// PROPERTY Sequence for object.xml), and compares element trees: tag, attributes as a set,
/// text (formatting whitespace between child elements ignored), children in order; the
/// single-occurrence children whose position carries no meaning (condition, action,
/// defaultVarList, referenceList, globalVarList) are compared as a set.
const CMP: &str = r#"
import sys, xml.etree.ElementTree as ET
SINGLE = {'condition', 'action', 'defaultVarList', 'referenceList', 'globalVarList'}
def seqtext(f):
    t = open(f, 'rb').read()
    r = ET.fromstring(t)
    if r.tag == 'INSTANCE':
        for p in r.findall('PROPERTY'):
            if p.get('NAME') == 'Sequence':
                return p.find('VALUE').text
        sys.exit('no Sequence property')
    return t.decode('utf-8-sig')
def norm(e):
    kids = list(e)
    text = e.text or ''
    if kids:
        if text.strip() or any((k.tail or '').strip() for k in kids):
            sys.exit('mixed content in ' + e.tag)
        text = ''
    ordered = [norm(k) for k in kids if k.tag not in SINGLE]
    single = sorted((norm(k) for k in kids if k.tag in SINGLE), key=repr)
    return (e.tag, tuple(sorted(e.attrib.items())), text, tuple(ordered), tuple(single))
a = ET.fromstring(seqtext(sys.argv[1]))
b = ET.fromstring(seqtext(sys.argv[2]))
if b.tag != 'sequence':
    sys.exit('output root is ' + b.tag)
if norm(a) != norm(b):
    print('DIFFERENT')
    sys.exit(1)
print('SAME', sum(1 for _ in a.iter('step')))
"#;

fn xml_vectors() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(vectors().join("ts-xml"))
        .expect("ts-xml vectors")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    v.sort();
    assert_eq!(v.len(), 26, "expected the 26 vectors of SOURCES.md");
    v
}

#[test]
fn every_vector_imports_and_builds_back_to_the_same_meaning() {
    let d = Dir::new();
    std::fs::write(d.join("cmp.py"), CMP).unwrap();
    let mut steps_total = 0usize;
    for (i, v) in xml_vectors().iter().enumerate() {
        let before = sha256(v);
        let toml = format!("v{i}.toml");
        let out = format!("v{i}.xml");
        let j = d
            .peforge(&["ts", "import", v.to_str().unwrap(), "-o", &toml, "--json"])
            .ok()
            .json();
        assert_eq!(j["schema_version"], 1);
        d.peforge(&["ts", "build", &toml, "-o", &out]).ok();
        let r = d
            .tool("python3", &["cmp.py", v.to_str().unwrap(), &out])
            .ok();
        let n: usize = r
            .stdout
            .trim()
            .strip_prefix("SAME ")
            .unwrap_or_else(|| panic!("{}: {}", v.display(), r.stdout))
            .parse()
            .unwrap();
        assert_eq!(j["steps"].as_u64().unwrap() as usize, n, "{}", v.display());
        steps_total += n;
        assert_eq!(sha256(v), before, "input changed");
    }
    // spec §4 counts 477 <step> elements over the 26 files.
    assert_eq!(steps_total, 477);
}

#[test]
fn comparator_catches_a_change() {
    // The comparison can fail: change one attribute value in a built sequence.
    let d = Dir::new();
    std::fs::write(d.join("cmp.py"), CMP).unwrap();
    let v = &xml_vectors()[10];
    d.peforge(&["ts", "import", v.to_str().unwrap(), "-o", "a.toml"])
        .ok();
    let t = std::fs::read_to_string(d.join("a.toml")).unwrap();
    let t2 = t.replacen("run_in = \"WinPEandFullOS\"", "run_in = \"FullOS\"", 1);
    assert_ne!(t, t2);
    std::fs::write(d.join("b.toml"), t2).unwrap();
    d.peforge(&["ts", "build", "b.toml", "-o", "b.xml"]).ok();
    let r = d.tool("python3", &["cmp.py", v.to_str().unwrap(), "b.xml"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
}

#[test]
fn built_xml_is_configmgr_form_with_export_attribute_order() {
    let d = Dir::new();
    let tpl =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/ts/bare-metal-cmg.toml");
    d.peforge(&["ts", "build", tpl.to_str().unwrap(), "-o", "s.xml"])
        .ok();
    // Python reads the attribute order as written (dicts keep insertion order).
    let script = r#"
import xml.etree.ElementTree as ET
raw = open('s.xml', encoding='utf-8').read()
assert raw.startswith('<sequence version="3.10">'), raw[:40]
r = ET.fromstring(raw)
order = ['type','name','description','disable','continueOnError','timeout','runIn','successCodeList','retryCount','runFromNet']
for s in r.iter('step'):
    keys = list(s.attrib)
    assert keys == [k for k in order if k in keys], keys
    assert keys[:3] == ['type', 'name', 'description'], keys
    kids = [c.tag for c in s]
    assert kids in (['action', 'defaultVarList'], ['condition', 'action', 'defaultVarList']), kids
refs = [x.get('package') or x.get('application') for x in r.iter('reference')]
assert r[0].tag == 'referenceList', r[0].tag
print(len(list(r.iter('step'))), ' '.join(sorted(refs)))
"#;
    let out = d.tool("python3", &["-c", script]).ok().stdout;
    assert!(out.starts_with("7 "), "{out}");
    for id in ["ABC00004", "ABC00010", "ABC00012"] {
        assert!(out.contains(id), "{out}");
    }
}

#[test]
fn console_export_zip_imports_like_its_object_xml() {
    let d = Dir::new();
    std::fs::write(d.join("cmp.py"), CMP).unwrap();
    let obj = vectors().join("ts-xml/windows-admins_ConfigMgr__ModularOSD_CHQ00012_object.xml");
    // Build an export-shaped ZIP with Python's zipfile (layout of spec §1).
    let script = format!(
        r#"
import zipfile
with zipfile.ZipFile('export.zip', 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('[Content_Types].xml', '<Types/>')
    z.writestr('Manifest.xml', '\ufeff<LibraryDocument/>')
    z.writestr('SMS_TaskSequencePackage/CHQ00012/ReferencesInfo.xml', '\ufeff<x/>')
    z.write(r'{}', 'SMS_TaskSequencePackage/CHQ00012/object.xml')
    z.writestr('SMS_Package/CHQ00001/object.xml', '<INSTANCE CLASSNAME="SMS_Package"/>')
"#,
        obj.display()
    );
    d.tool("python3", &["-c", &script]).ok();
    let j = d
        .peforge(&["ts", "import", "export.zip", "-o", "z.toml", "--json"])
        .ok()
        .json();
    assert_eq!(j["form"], "export_zip");
    let t = std::fs::read_to_string(d.join("z.toml")).unwrap();
    assert!(
        t.contains("package_id = \"CHQ00012\""),
        "{}",
        &t[..400.min(t.len())]
    );
    d.peforge(&["ts", "build", "z.toml", "-o", "z.xml"]).ok();
    let r = d
        .tool("python3", &["cmp.py", obj.to_str().unwrap(), "z.xml"])
        .ok();
    assert!(r.stdout.starts_with("SAME"), "{}", r.stdout);
}

#[test]
fn unknown_elements_and_attributes_survive() {
    let d = Dir::new();
    let src = r#"<sequence version="3.10" futureAttr="1"><futureTop a="b"><x>1</x></futureTop><group name="G" description="" expand="true"><condition><osConditionGroup type="or"><osExpressionGroup type="and" name="x64"><platformKey arch="x64" type="Win_NT" minVer="6.10.0000.0" maxVer="6.10.9999.9999"/></osExpressionGroup></osConditionGroup></condition><step type="SMS_TaskSequence_RunCommandLineAction" name="S" description="" newFlag="yes"><action>cmd /c echo &lt;hi&gt; &amp; done</action><defaultVarList><variable name="CommandLine" property="CommandLine" hidden="true" extra="1">a
b</variable></defaultVarList><telemetry id="7"/></step><subtasksequence type="SMS_TaskSequence_SubTasksequence" name="Run TS" description=""><action>SubTasksequence.exe</action><defaultVarList><variable name="OSDSubTasksequencePackageID" property="TsPackageID">ABC00099</variable></defaultVarList></subtasksequence></group></sequence>"#;
    std::fs::write(d.join("in.xml"), src).unwrap();
    std::fs::write(d.join("cmp.py"), CMP).unwrap();
    let j = d
        .peforge(&["ts", "import", "in.xml", "-o", "in.toml", "--json"])
        .ok()
        .json();
    // <futureTop>, <telemetry> and <osConditionGroup> are not typed, but kept.
    assert_eq!(j["kept_verbatim"], 3);
    d.peforge(&["ts", "build", "in.toml", "-o", "out.xml"]).ok();
    d.tool("python3", &["cmp.py", "in.xml", "out.xml"]).ok();
    let out = std::fs::read_to_string(d.join("out.xml")).unwrap();
    for s in [
        "futureAttr=\"1\"",
        "<telemetry id=\"7\" />",
        "newFlag=\"yes\"",
        "<subtasksequence",
        "platformKey",
    ] {
        assert!(out.contains(s), "{s} missing in {out}");
    }
}
