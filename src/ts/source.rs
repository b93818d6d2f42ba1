//! Reading task sequences in every real form (`shared/specs/task-sequence.md` §1): a raw
//! `<sequence>` (the `SMS_TaskSequencePackage.Sequence` string), a console export `object.xml`
//! (WMI CIM-XML `<INSTANCE CLASSNAME="SMS_TaskSequencePackage">`, the sequence in the CDATA of the
//! `<VALUE>` that is a direct child of `<PROPERTY NAME="Sequence">`), an MDT `ts.xml`, a console
//! export `.zip` (`SMS_TaskSequencePackage/<PackageID>/object.xml`), and peforge's TOML.

use std::io::Read;
use std::path::Path;

use serde::Serialize;

use super::model::Sequence;
use super::xml::{self, Element};
use super::{Error, Result};

/// Largest ZIP member read (a console export's object.xml is well under 1 MB).
pub const MAX_ZIP_MEMBER: u64 = 64 << 20;
/// Largest file read at all.
pub const MAX_FILE: u64 = 256 << 20;

/// Which form a task sequence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// Raw `<sequence version="3.10">`.
    Raw,
    /// MDT `ts.xml` (`<sequence version="3.00">` with a prolog).
    Mdt,
    /// Console export `object.xml`.
    ObjectXml,
    /// Console export `.zip`.
    ExportZip,
    /// peforge TOML authoring format.
    Toml,
}

pub use super::model::PackageInfo;

/// A loaded task sequence.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The sequence.
    pub sequence: Sequence,
    /// The form it came from.
    pub form: Form,
    /// Console-export properties, when the form has them.
    pub package: PackageInfo,
}

/// Reads a file with a size limit.
pub fn read_limited(path: &Path) -> Result<Vec<u8>> {
    let f = fs_err::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = Vec::new();
    f.take(MAX_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(path, e))?;
    if buf.len() as u64 > MAX_FILE {
        return Err(Error::Limit {
            path: path.into(),
            what: "file size",
            limit: MAX_FILE,
        });
    }
    Ok(buf)
}

/// Parses a raw sequence from a string (for tests and inline use).
pub fn parse_sequence_str(text: &str, path: &Path) -> Result<Sequence> {
    let doc = xml::parse(text, path)?;
    Sequence::from_element(&doc.root, doc.declaration, path)
}

/// Loads an XML or ZIP task sequence (not TOML), detecting the form.
pub fn load_xml(path: &Path) -> Result<Loaded> {
    let bytes = read_limited(path)?;
    if bytes.starts_with(b"PK") {
        return load_zip(&bytes, path);
    }
    load_xml_bytes(&bytes, path)
}

/// Loads XML bytes (raw, MDT or object.xml).
pub fn load_xml_bytes(bytes: &[u8], path: &Path) -> Result<Loaded> {
    let text = xml::decode(bytes, path)?;
    let doc = xml::parse(&text, path)?;
    match doc.root.name.as_str() {
        "sequence" => {
            let sequence = Sequence::from_element(&doc.root, doc.declaration, path)?;
            let form = if sequence.version() == Some("3.00") || doc.declaration {
                Form::Mdt
            } else {
                Form::Raw
            };
            Ok(Loaded {
                sequence,
                form,
                package: PackageInfo::default(),
            })
        }
        "INSTANCE" => from_instance(&doc.root, path),
        other => Err(Error::Form {
            path: path.into(),
            message: format!("root element <{other}> is neither <sequence> nor <INSTANCE>"),
        }),
    }
}

/// The text of the `<VALUE>` that is a direct child of `<PROPERTY NAME="…">`.
fn property<'a>(inst: &'a Element, name: &str) -> Option<&'a Element> {
    inst.elements()
        .find(|p| p.name == "PROPERTY" && p.attr("NAME") == Some(name))
}

fn property_value(inst: &Element, name: &str) -> Option<String> {
    property(inst, name)?.child("VALUE").map(Element::text)
}

fn from_instance(inst: &Element, path: &Path) -> Result<Loaded> {
    if inst.attr("CLASSNAME") != Some("SMS_TaskSequencePackage") {
        return Err(Error::Form {
            path: path.into(),
            message: format!(
                "<INSTANCE CLASSNAME={:?}> is not an SMS_TaskSequencePackage",
                inst.attr("CLASSNAME").unwrap_or("")
            ),
        });
    }
    let text = property_value(inst, "Sequence").ok_or_else(|| Error::Form {
        path: path.into(),
        message: "object.xml has no <PROPERTY NAME=\"Sequence\"> with a <VALUE>".into(),
    })?;
    let inner = path.join("PROPERTY[Sequence]");
    let doc = xml::parse(&text, &inner)?;
    let sequence = Sequence::from_element(&doc.root, doc.declaration, &inner)?;
    let package = PackageInfo {
        name: property_value(inst, "Name"),
        description: property_value(inst, "Description"),
        package_id: property_value(inst, "PackageID"),
        boot_image_id: property_value(inst, "BootImageID"),
        dependent_program: property_value(inst, "DependentProgram"),
    };
    Ok(Loaded {
        sequence,
        form: Form::ObjectXml,
        package,
    })
}

fn zip_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Zip {
        path: path.into(),
        message: e.to_string(),
    }
}

fn load_zip(bytes: &[u8], path: &Path) -> Result<Loaded> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| zip_err(path, e))?;
    let mut names: Vec<String> = z
        .file_names()
        .filter_map(|n| n.ok().map(|c| c.into_owned()))
        .filter(|n| {
            let parts: Vec<&str> = n.split(['/', '\\']).collect();
            matches!(parts.as_slice(), ["SMS_TaskSequencePackage", id, f] if !id.is_empty() && f.eq_ignore_ascii_case("object.xml"))
        })
        .collect();
    names.sort();
    let name = match names.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(Error::Form {
                path: path.into(),
                message: "ZIP has no SMS_TaskSequencePackage/<PackageID>/object.xml (not a console export)".into(),
            });
        }
        many => {
            return Err(Error::Form {
                path: path.into(),
                message: format!(
                    "ZIP holds {} task sequences ({}); export one at a time",
                    many.len(),
                    many.join(", ")
                ),
            });
        }
    };
    let member = z.by_name(&name).map_err(|e| zip_err(path, e))?;
    let mut buf = Vec::new();
    member
        .take(MAX_ZIP_MEMBER + 1)
        .read_to_end(&mut buf)
        .map_err(|e| zip_err(path, e))?;
    if buf.len() as u64 > MAX_ZIP_MEMBER {
        return Err(Error::Limit {
            path: path.join(&name),
            what: "ZIP member size",
            limit: MAX_ZIP_MEMBER,
        });
    }
    let mut l = load_xml_bytes(&buf, &path.join(&name))?;
    l.form = Form::ExportZip;
    Ok(l)
}

/// Whether `path` looks like peforge TOML rather than XML or ZIP (by extension, then content).
pub fn is_toml(path: &Path, bytes: &[u8]) -> bool {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        return true;
    }
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = b.iter().find(|c| !c.is_ascii_whitespace());
    !b.starts_with(b"PK") && first != Some(&b'<')
}

/// Loads any supported form: TOML (by extension or content) or XML/ZIP.
pub fn load_any(path: &Path) -> Result<Loaded> {
    let bytes = read_limited(path)?;
    if is_toml(path, &bytes) {
        let text = xml::decode(&bytes, path)?;
        let (sequence, package) = super::author::build(&text, path)?;
        return Ok(Loaded {
            sequence,
            form: Form::Toml,
            package,
        });
    }
    if bytes.starts_with(b"PK") {
        return load_zip(&bytes, path);
    }
    load_xml_bytes(&bytes, path)
}
