//! A minimal, safe element tree for task sequence XML (`shared/specs/task-sequence.md` §2, §4).
//!
//! Reading goes through quick-xml event by event. A `<!DOCTYPE …>` is refused outright, and
//! so is any entity reference other than the five predefined ones and character references:
//! nothing is ever expanded or fetched, so billion-laughs and external-entity files fail with a
//! clear error instead of eating memory or the network. Comments and processing instructions
//! carry no meaning for ConfigMgr and are dropped. Line ends are normalized as XML requires.
//!
//! Writing produces the compact form ConfigMgr stores in `SMS_TaskSequencePackage.Sequence`
//! (no whitespace between elements, attributes in the order given, empty elements as
//! `<x a="b" />`).

use std::path::Path;

use quick_xml::XmlVersion;
use quick_xml::events::Event;

use super::{Error, Result};

/// Largest XML document peforge parses (the largest real export is ~125 KB).
pub const MAX_BYTES: u64 = 64 << 20;
/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 256;
/// Most elements accepted in one document.
pub const MAX_ELEMENTS: usize = 2_000_000;

/// A node of the tree: an element or a run of text (CDATA is text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data, entities already resolved.
    Text(String),
}

/// An element with its attributes in document order and its children.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Tag name as written (prefix included).
    pub name: String,
    /// Attributes in document order, values with entities resolved.
    pub attrs: Vec<(String, String)>,
    /// Child nodes in document order.
    pub children: Vec<Node>,
    /// 1-based line of the start tag in its source (0 for built elements).
    pub line: u64,
}

impl Element {
    /// A new element without attributes or children.
    pub fn new(name: impl Into<String>) -> Element {
        Element {
            name: name.into(),
            ..Default::default()
        }
    }

    /// The value of attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Appends an attribute (builder style).
    pub fn with_attr(mut self, name: &str, value: impl Into<String>) -> Element {
        self.attrs.push((name.into(), value.into()));
        self
    }

    /// The child elements, in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The first child element called `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    /// All text directly inside this element, concatenated.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }

    /// Whether the element has child elements.
    pub fn has_elements(&self) -> bool {
        self.elements().next().is_some()
    }
}

/// A parsed document: the root element and whether it had an `<?xml …?>` declaration.
#[derive(Debug, Clone)]
pub struct Document {
    /// The root element.
    pub root: Element,
    /// Whether the source started with an XML declaration (MDT `ts.xml` does).
    pub declaration: bool,
}

/// Maps byte offsets to 1-based line and column (in characters).
struct Lines<'a> {
    text: &'a str,
    /// Byte offset of the start of each line.
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { text, starts }
    }

    fn at(&self, offset: u64) -> (u64, u64) {
        let mut off = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while !self.text.is_char_boundary(off) {
            off = off.saturating_sub(1);
        }
        // Index of the last line start at or before `off`.
        let idx = self.starts.partition_point(|s| *s <= off).saturating_sub(1);
        let start = self.starts.get(idx).copied().unwrap_or(0);
        let col = self
            .text
            .get(start..off)
            .map(|s| s.chars().count())
            .unwrap_or(0) as u64
            + 1;
        (idx as u64 + 1, col)
    }
}

/// Strips a UTF-8 byte-order mark and checks the text is UTF-8.
pub fn decode(bytes: &[u8], path: &Path) -> Result<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(Error::Form {
            path: path.into(),
            message: "UTF-16 text; task sequence XML is UTF-8".into(),
        });
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            let good = bytes.get(..e.valid_up_to()).unwrap_or(&[]);
            let text = String::from_utf8_lossy(good);
            let (line, column) = Lines::new(&text).at(good.len() as u64);
            Err(Error::Xml {
                path: path.into(),
                line,
                column,
                message: "invalid UTF-8".into(),
            })
        }
    }
}

/// Parses `text` into a tree, refusing DTDs and unknown entities. `path` names the source in
/// errors.
pub fn parse(text: &str, path: &Path) -> Result<Document> {
    if text.len() as u64 > MAX_BYTES {
        return Err(Error::Limit {
            path: path.into(),
            what: "XML size",
            limit: MAX_BYTES,
        });
    }
    let lines = Lines::new(text);
    let mut reader = quick_xml::Reader::from_str(text);
    let cfg = reader.config_mut();
    cfg.trim_text(false);
    cfg.check_end_names = true;
    cfg.expand_empty_elements = false;
    let xml_err = |pos: u64, message: String| {
        let (line, column) = lines.at(pos);
        Error::Xml {
            path: path.into(),
            line,
            column,
            message,
        }
    };
    let mut tree = Tree::default();
    loop {
        let start = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| xml_err(reader.error_position(), e.to_string()))?;
        if !tree.event(ev, start, &lines, path, &xml_err)? {
            break;
        }
    }
    tree.finish(text.len() as u64, &xml_err)
}

/// The tree [`parse`] builds: the open elements, the finished root, and what was seen.
#[derive(Default)]
struct Tree {
    stack: Vec<Element>,
    root: Option<Element>,
    declaration: bool,
    count: usize,
}

impl Tree {
    /// Adds one event at byte `start` to the tree; `false` at the end of the text.
    fn event(
        &mut self,
        ev: Event<'_>,
        start: u64,
        lines: &Lines<'_>,
        path: &Path,
        xml_err: &dyn Fn(u64, String) -> Error,
    ) -> Result<bool> {
        match ev {
            Event::Decl(d) => {
                self.declaration = true;
                if let Some(Ok(enc)) = d.encoding() {
                    let enc = enc.to_ascii_lowercase();
                    if enc != "utf-8" && enc != "utf8" {
                        return Err(xml_err(
                            start,
                            format!("declared encoding {enc:?}; only UTF-8 is read"),
                        ));
                    }
                }
            }
            Event::DocType(_) => {
                let (line, column) = lines.at(start);
                return Err(Error::Dtd {
                    path: path.into(),
                    line,
                    column,
                });
            }
            Event::Start(s) => self.open(&s, false, start, lines, path, xml_err)?,
            Event::Empty(s) => self.open(&s, true, start, lines, path, xml_err)?,
            Event::End(_) => {
                let el = self
                    .stack
                    .pop()
                    .ok_or_else(|| xml_err(start, "unexpected end tag".into()))?;
                close(el, &mut self.stack, &mut self.root);
            }
            Event::Text(t) => {
                let s = t.xml_content(XmlVersion::Implicit1_0);
                push_text(&mut self.stack, &s, start, xml_err)?;
            }
            Event::CData(t) => {
                let s = t.xml_content(XmlVersion::Implicit1_0);
                push_text(&mut self.stack, &s, start, xml_err)?;
            }
            Event::GeneralRef(r) => {
                let resolved = reference(&r, start, lines, path, xml_err)?;
                push_text(&mut self.stack, &resolved, start, xml_err)?;
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => return Ok(false),
        }
        Ok(true)
    }

    /// Opens element `s` (closed at once when `empty`), within the limits and the one root.
    fn open(
        &mut self,
        s: &quick_xml::events::BytesStart<'_>,
        empty: bool,
        start: u64,
        lines: &Lines<'_>,
        path: &Path,
        xml_err: &dyn Fn(u64, String) -> Error,
    ) -> Result<()> {
        self.count += 1;
        check_limits(self.count, self.stack.len(), path)?;
        if self.root.is_some() {
            return Err(xml_err(start, "content after the root element".into()));
        }
        let el = element(s, start, lines, path, xml_err)?;
        if empty {
            close(el, &mut self.stack, &mut self.root);
        } else {
            self.stack.push(el);
        }
        Ok(())
    }

    /// The document, once every element is closed and the text is valid XML 1.0 (`len`: the
    /// text's length, where an unclosed element is reported).
    fn finish(self, len: u64, xml_err: &dyn Fn(u64, String) -> Error) -> Result<Document> {
        if let Some(open) = self.stack.last() {
            return Err(xml_err(
                len,
                format!(
                    "element <{}> opened on line {} is not closed",
                    open.name, open.line
                ),
            ));
        }
        let root = self
            .root
            .ok_or_else(|| xml_err(0, "no root element".into()))?;
        if let Some((name, c)) = invalid_char(&root) {
            return Err(xml_err(
                0,
                format!(
                    "character U+{:04X} in <{name}> is not allowed in XML 1.0",
                    u32::from(c)
                ),
            ));
        }
        Ok(Document {
            root,
            declaration: self.declaration,
        })
    }
}

/// Refuses a document past the element count or nesting depth limits.
fn check_limits(count: usize, depth: usize, path: &Path) -> Result<()> {
    if count > MAX_ELEMENTS {
        return Err(Error::Limit {
            path: path.into(),
            what: "element count",
            limit: MAX_ELEMENTS as u64,
        });
    }
    if depth >= MAX_DEPTH {
        return Err(Error::Limit {
            path: path.into(),
            what: "element nesting depth",
            limit: MAX_DEPTH as u64,
        });
    }
    Ok(())
}

/// A new element from its start tag: name, line and attributes (values normalised).
fn element(
    s: &quick_xml::events::BytesStart<'_>,
    start: u64,
    lines: &Lines<'_>,
    path: &Path,
    xml_err: &dyn Fn(u64, String) -> Error,
) -> Result<Element> {
    let mut el = Element {
        name: s.name().as_ref().to_string(),
        line: lines.at(start).0,
        ..Default::default()
    };
    for a in s.attributes() {
        let a = a.map_err(|e| xml_err(start, e.to_string()))?;
        let key = a.key.as_ref().to_string();
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| attr_error(&a.value, start, lines, path, e.to_string()))?;
        el.attrs.push((key, value.into_owned()));
    }
    Ok(el)
}

/// The text of a character reference or one of the five predefined entities; any other
/// entity is refused.
fn reference(
    r: &quick_xml::events::BytesRef<'_>,
    start: u64,
    lines: &Lines<'_>,
    path: &Path,
    xml_err: &dyn Fn(u64, String) -> Error,
) -> Result<String> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) => Ok(c.to_string()),
            _ => Err(xml_err(
                start,
                format!(
                    "invalid character reference &{};",
                    r.xml_content(XmlVersion::Implicit1_0)
                ),
            )),
        };
    }
    let name = r.xml_content(XmlVersion::Implicit1_0).into_owned();
    match quick_xml::escape::resolve_predefined_entity(&name) {
        Some(v) => Ok(v.to_string()),
        None => {
            let (line, column) = lines.at(start);
            Err(Error::Entity {
                path: path.into(),
                line,
                column,
                name,
            })
        }
    }
}

/// Turns an attribute value error into [`Error::Entity`] when it names an unknown entity.
fn attr_error(raw: &str, pos: u64, lines: &Lines<'_>, path: &Path, message: String) -> Error {
    let (line, column) = lines.at(pos);
    // Find the first reference that is neither predefined nor a character reference.
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        let after = rest.get(i + 1..).unwrap_or("");
        let name: String = after.chars().take_while(|c| *c != ';').collect();
        if !name.starts_with('#') && quick_xml::escape::resolve_predefined_entity(&name).is_none() {
            return Error::Entity {
                path: path.into(),
                line,
                column,
                name,
            };
        }
        rest = after;
    }
    Error::Xml {
        path: path.into(),
        line,
        column,
        message,
    }
}

fn close(el: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(el)),
        None => *root = Some(el),
    }
}

fn push_text(
    stack: &mut [Element],
    s: &str,
    pos: u64,
    xml_err: &dyn Fn(u64, String) -> Error,
) -> Result<()> {
    match stack.last_mut() {
        Some(el) => {
            if let Some(Node::Text(prev)) = el.children.last_mut() {
                prev.push_str(s);
            } else {
                el.children.push(Node::Text(s.to_string()));
            }
            Ok(())
        }
        None if s.trim().is_empty() => Ok(()),
        None => Err(xml_err(pos, "text outside the root element".into())),
    }
}

/// Escapes text content (`&`, `<`, `>`; carriage returns as `&#13;` so they survive).
pub fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Escapes an attribute value (quotes and whitespace that normalization would otherwise eat).
pub fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Writes `el` in ConfigMgr's compact form. Whitespace-only text between child elements is
/// dropped (it is formatting); text of leaf elements is kept exactly.
pub fn write(el: &Element, out: &mut String) {
    out.push('<');
    out.push_str(&el.name);
    for (k, v) in &el.attrs {
        out.push(' ');
        out.push_str(k);
        out.push_str("=\"");
        escape_attr(v, out);
        out.push('"');
    }
    let mixed = el.has_elements();
    let keep: Vec<&Node> = el
        .children
        .iter()
        .filter(|n| match n {
            Node::Text(t) => !(mixed && t.trim().is_empty()),
            Node::Element(_) => true,
        })
        .collect();
    if keep.is_empty() {
        out.push_str(" />");
        return;
    }
    out.push('>');
    for n in keep {
        match n {
            Node::Element(e) => write(e, out),
            Node::Text(t) => escape_text(t, out),
        }
    }
    out.push_str("</");
    out.push_str(&el.name);
    out.push('>');
}

/// Serializes `el` to a string in compact form.
pub fn to_string(el: &Element) -> String {
    let mut s = String::new();
    write(el, &mut s);
    s
}

/// The first character XML 1.0 cannot carry (control characters other than tab, LF, CR),
/// with the element it sits in; such a sequence could not be read back by ConfigMgr.
pub fn invalid_char(el: &Element) -> Option<(String, char)> {
    let bad = |s: &str| {
        s.chars().find(|c| {
            (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
                || matches!(c, '\u{FFFE}' | '\u{FFFF}')
        })
    };
    let found = el
        .attrs
        .iter()
        .find_map(|(k, v)| bad(k).or_else(|| bad(v)))
        .or_else(|| bad(&el.name));
    if let Some(c) = found {
        return Some((el.name.clone(), c));
    }
    el.children.iter().find_map(|n| match n {
        Node::Text(t) => bad(t).map(|c| (el.name.clone(), c)),
        Node::Element(e) => invalid_char(e),
    })
}

/// Whether two trees mean the same: same names, same attributes in any order, same children in
/// order; whitespace-only text between child elements and source line numbers are ignored.
pub fn equivalent(a: &Element, b: &Element) -> bool {
    fn kids(e: &Element) -> Vec<&Node> {
        let mixed = e.has_elements();
        e.children
            .iter()
            .filter(|n| !matches!(n, Node::Text(t) if mixed && t.trim().is_empty()))
            .collect()
    }
    let mut aa: Vec<&(String, String)> = a.attrs.iter().collect();
    let mut ba: Vec<&(String, String)> = b.attrs.iter().collect();
    aa.sort();
    ba.sort();
    if a.name != b.name || aa != ba {
        return false;
    }
    let (ka, kb) = (kids(a), kids(b));
    ka.len() == kb.len()
        && ka.iter().zip(kb.iter()).all(|(x, y)| match (x, y) {
            (Node::Text(s), Node::Text(t)) => s == t,
            (Node::Element(s), Node::Element(t)) => equivalent(s, t),
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Document> {
        parse(s, Path::new("t.xml"))
    }

    #[test]
    fn refuses_doctype_and_entities() {
        let bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]>\n<sequence>&lol2;</sequence>";
        assert!(matches!(
            p(bomb),
            Err(Error::Dtd {
                line: 2,
                column: 1,
                ..
            })
        ));
        let ext = "<sequence a=\"&xxe;\"/>";
        assert!(matches!(p(ext), Err(Error::Entity { ref name, .. }) if name == "xxe"));
        let txt = "<sequence>\n  &xxe;</sequence>";
        assert!(matches!(
            p(txt),
            Err(Error::Entity {
                line: 2,
                column: 3,
                ..
            })
        ));
    }

    #[test]
    fn malformed_has_line_and_column() {
        match p("<sequence>\n<step>\n</sequence>") {
            Err(Error::Xml { line, .. }) => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
        assert!(matches!(p("<a>"), Err(Error::Xml { .. })));
        assert!(matches!(p(""), Err(Error::Xml { .. })));
    }

    #[test]
    fn round_trip_compact() {
        let d = p("<?xml version=\"1.0\"?>\r\n<s v=\"a&amp;b\">\r\n  <x>1 &lt; 2&#10;z</x>\r\n  <y/><![CDATA[<q>]]></s>").unwrap();
        assert!(d.declaration);
        let s = to_string(&d.root);
        assert_eq!(s, "<s v=\"a&amp;b\"><x>1 &lt; 2\nz</x><y />&lt;q&gt;</s>");
        assert!(equivalent(&p(&s).unwrap().root, &d.root));
        assert!(!equivalent(&p("<s v=\"x\"/>").unwrap().root, &d.root));
    }
}
