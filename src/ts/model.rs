//! The task sequence model (`shared/specs/task-sequence.md` §2–§5).
//!
//! The model is shaped like the XML ConfigMgr writes, and loses nothing: every element whose
//! shape peforge does not know (an unknown child, a variable with children, an MDT editor
//! element) is kept as a raw [`Element`] and written back verbatim; unknown attributes stay in
//! each node's attribute list. Known attributes are written in the order the real exports use
//! (§2), unknown ones after them in their original order.

use std::path::Path;

use super::xml::{Element, Node};
use super::{Error, Result};

/// Attribute order of `<step>` and `<subtasksequence>` in ConfigMgr 3.10 exports (§2).
pub const STEP_ATTR_ORDER: &[&str] = &[
    "type",
    "name",
    "description",
    "disable",
    "continueOnError",
    "timeout",
    "runIn",
    "successCodeList",
    "retryCount",
    "runFromNet",
    "startIn",
];
/// Attribute order of `<group>`.
pub const GROUP_ATTR_ORDER: &[&str] = &["name", "description", "disable", "continueOnError"];
/// Attribute order of `<variable>`.
pub const VAR_ATTR_ORDER: &[&str] = &["name", "property", "hidden"];
/// Attribute order of `<reference>`.
pub const REF_ATTR_ORDER: &[&str] = &["package", "program", "application"];
/// Attribute order of `<sequence>`.
pub const SEQ_ATTR_ORDER: &[&str] = &["version", "name", "description"];

/// Ordered attributes of one element.
pub type Attrs = Vec<(String, String)>;

fn attr<'a>(attrs: &'a Attrs, name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Sorts attributes into `order`, keeping the rest in their original order after them.
pub fn ordered(attrs: &Attrs, order: &[&str]) -> Attrs {
    let mut out: Attrs = Vec::with_capacity(attrs.len());
    for k in order {
        if let Some(v) = attr(attrs, k) {
            out.push(((*k).to_string(), v.to_string()));
        }
    }
    for (k, v) in attrs {
        if !order.contains(&k.as_str()) {
            out.push((k.clone(), v.clone()));
        }
    }
    out
}

/// A whole task sequence.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sequence {
    /// `<sequence>` attributes (`version`, and `name`/`description` in MDT files).
    pub attrs: Attrs,
    /// Whether to write an `<?xml version="1.0"?>` declaration (MDT files have one).
    pub declaration: bool,
    /// `<referenceList>` entries; `None` when the element is absent.
    pub references: Option<Vec<Reference>>,
    /// `<globalVarList>` entries; `None` when the element is absent.
    pub globals: Option<Vec<Variable>>,
    /// Top-level groups and steps in order.
    pub items: Vec<Item>,
}

/// One `<reference>`: a package (`package`, `program`) or an application (`application`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reference {
    /// Attributes as written.
    pub attrs: Attrs,
}

impl Reference {
    /// The referenced package ID or application CI unique ID.
    pub fn id(&self) -> Option<&str> {
        attr(&self.attrs, "package").or_else(|| attr(&self.attrs, "application"))
    }
    /// Whether this is an application reference.
    pub fn is_application(&self) -> bool {
        attr(&self.attrs, "application").is_some()
    }
    /// The `program` attribute (`*` for a referenced task sequence).
    pub fn program(&self) -> Option<&str> {
        attr(&self.attrs, "program")
    }
}

/// A `<variable>`: a step's default variable or a global variable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Variable {
    /// Attributes (`name`, `property`, `hidden`, …).
    pub attrs: Attrs,
    /// The text value (entities resolved).
    pub value: String,
}

impl Variable {
    /// A variable `name` (task sequence variable) for class property `property`.
    pub fn new(name: &str, property: Option<&str>, hidden: bool, value: &str) -> Variable {
        let mut attrs = vec![("name".to_string(), name.to_string())];
        if let Some(p) = property {
            attrs.push(("property".into(), p.into()));
        }
        if hidden {
            attrs.push(("hidden".into(), "true".into()));
        }
        Variable {
            attrs,
            value: value.into(),
        }
    }
    /// The task sequence variable name.
    pub fn name(&self) -> &str {
        attr(&self.attrs, "name").unwrap_or("")
    }
    /// The WMI class property it maps to.
    pub fn property(&self) -> Option<&str> {
        attr(&self.attrs, "property")
    }
}

/// A group, a step, or an element peforge keeps verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `<group>`.
    Group(Group),
    /// `<step>` or `<subtasksequence>`.
    Step(Step),
    /// Anything else (e.g. MDT's empty `<action/>` in a group), written back as is.
    Raw(Element),
}

/// A `<group>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    /// Attributes (`name`, `description`, `disable`, `continueOnError`, MDT `expand`, …).
    pub attrs: Attrs,
    /// The group's condition.
    pub condition: Option<Condition>,
    /// Children in order.
    pub items: Vec<Item>,
}

impl Group {
    /// The group name.
    pub fn name(&self) -> &str {
        attr(&self.attrs, "name").unwrap_or("")
    }
    /// Whether the group is disabled (its steps then never run).
    pub fn disabled(&self) -> bool {
        attr(&self.attrs, "disable").is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// A `<step>` or `<subtasksequence>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Step {
    /// Element name: `step` or `subtasksequence` (Run Task Sequence).
    pub element: String,
    /// Attributes (`type`, `name`, `description`, `runIn`, …).
    pub attrs: Attrs,
    /// The step's condition.
    pub condition: Option<Condition>,
    /// `<action>` text: the engine command line.
    pub action: Option<String>,
    /// `<defaultVarList>`; `None` when absent.
    pub vars: Option<Vec<Variable>>,
    /// Unknown child elements, kept verbatim and written after the known ones.
    pub extra: Vec<Element>,
}

impl Step {
    /// The attribute `name`'s value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        attr(&self.attrs, name)
    }
    /// The step's WMI class (`SMS_TaskSequence_…Action`), if any.
    pub fn step_type(&self) -> Option<&str> {
        self.attr("type")
    }
    /// The type without the `SMS_TaskSequence_` prefix.
    pub fn short_type(&self) -> &str {
        let t = self.step_type().unwrap_or("");
        t.strip_prefix("SMS_TaskSequence_").unwrap_or(t)
    }
    /// The step name.
    pub fn name(&self) -> &str {
        self.attr("name").unwrap_or("")
    }
    /// Whether the step is disabled.
    pub fn disabled(&self) -> bool {
        self.attr("disable")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
    /// The value of default variable `name` (case-insensitive).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .as_ref()?
            .iter()
            .find(|v| v.name().eq_ignore_ascii_case(name))
            .map(|v| v.value.as_str())
    }
}

/// A `<condition>`: usually one expression or operator.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Condition {
    /// Attributes of `<condition>` (normally none).
    pub attrs: Attrs,
    /// Top-level condition nodes (implicitly all must hold).
    pub nodes: Vec<Cond>,
}

/// One node of a condition tree (§3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// `<operator type="and|or|not">`.
    Operator {
        /// Attributes (`type` first).
        attrs: Attrs,
        /// Operands.
        children: Vec<Cond>,
    },
    /// `<expression type="SMS_TaskSequence_…ConditionExpression">` with its property variables.
    Expression {
        /// Attributes (`type`, `ignoreQueryFailure`, …).
        attrs: Attrs,
        /// `(property, value)` pairs in order.
        props: Vec<(String, String)>,
    },
    /// Anything else (OS condition groups, unknown shapes), kept verbatim.
    Raw(Element),
}

impl Cond {
    /// The `type` attribute of an operator or expression.
    pub fn kind(&self) -> Option<&str> {
        match self {
            Cond::Operator { attrs, .. } | Cond::Expression { attrs, .. } => attr(attrs, "type"),
            Cond::Raw(_) => None,
        }
    }
}

impl Sequence {
    /// The `version` attribute (`3.10` for ConfigMgr, `3.00` for MDT).
    pub fn version(&self) -> Option<&str> {
        attr(&self.attrs, "version")
    }

    /// Every step in document order with its group path (outermost first).
    pub fn walk(&self) -> Vec<(Vec<&Group>, &Step)> {
        fn go<'a>(
            items: &'a [Item],
            path: &mut Vec<&'a Group>,
            out: &mut Vec<(Vec<&'a Group>, &'a Step)>,
        ) {
            for it in items {
                match it {
                    Item::Step(s) => out.push((path.clone(), s)),
                    Item::Group(g) => {
                        path.push(g);
                        go(&g.items, path, out);
                        path.pop();
                    }
                    Item::Raw(_) => {}
                }
            }
        }
        let mut out = Vec::new();
        go(&self.items, &mut Vec::new(), &mut out);
        out
    }

    /// How many elements the model keeps verbatim (unknown items, unknown step children,
    /// unknown condition nodes): what `import` could not type, yet writes back unchanged.
    pub fn verbatim_count(&self) -> usize {
        fn conds(c: &[Cond]) -> usize {
            c.iter()
                .map(|n| match n {
                    Cond::Raw(_) => 1,
                    Cond::Operator { children, .. } => conds(children),
                    Cond::Expression { .. } => 0,
                })
                .sum()
        }
        fn cond_of(c: &Option<Condition>) -> usize {
            c.as_ref().map(|c| conds(&c.nodes)).unwrap_or(0)
        }
        fn go(items: &[Item]) -> usize {
            items
                .iter()
                .map(|i| match i {
                    Item::Raw(_) => 1,
                    Item::Group(g) => cond_of(&g.condition) + go(&g.items),
                    Item::Step(s) => cond_of(&s.condition) + s.extra.len(),
                })
                .sum()
        }
        go(&self.items)
    }

    /// Every step in document order.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.walk().into_iter().map(|(_, s)| s)
    }

    /// Builds the model from a parsed `<sequence>` element.
    pub fn from_element(root: &Element, declaration: bool, path: &Path) -> Result<Sequence> {
        if root.name != "sequence" {
            return Err(Error::Form {
                path: path.into(),
                message: format!("root element is <{}>, not <sequence>", root.name),
            });
        }
        let mut seq = Sequence {
            attrs: root.attrs.clone(),
            declaration,
            ..Default::default()
        };
        for n in &root.children {
            match n {
                Node::Text(t) if t.trim().is_empty() => {}
                Node::Text(t) => {
                    return Err(Error::invalid(
                        path,
                        format!("line {}", root.line),
                        format!("unexpected text {:?} in <sequence>", t.trim()),
                        None,
                    ));
                }
                Node::Element(e) => match e.name.as_str() {
                    "referenceList" if seq.references.is_none() && ref_list_shape(e) => {
                        seq.references = Some(
                            e.elements()
                                .map(|r| Reference {
                                    attrs: r.attrs.clone(),
                                })
                                .collect(),
                        );
                    }
                    "globalVarList" if seq.globals.is_none() && var_list_shape(e) => {
                        seq.globals = Some(e.elements().map(variable).collect());
                    }
                    _ => seq.items.push(item(e)),
                },
            }
        }
        Ok(seq)
    }

    /// Writes the model back as a `<sequence>` element in ConfigMgr's order: references,
    /// global variables, then the items.
    pub fn to_element(&self) -> Element {
        let mut root = Element::new("sequence");
        root.attrs = ordered(&self.attrs, SEQ_ATTR_ORDER);
        if let Some(refs) = &self.references {
            let mut l = Element::new("referenceList");
            for r in refs {
                let mut e = Element::new("reference");
                e.attrs = ordered(&r.attrs, REF_ATTR_ORDER);
                l.children.push(Node::Element(e));
            }
            root.children.push(Node::Element(l));
        }
        if let Some(g) = &self.globals {
            root.children
                .push(Node::Element(var_list("globalVarList", g)));
        }
        for it in &self.items {
            root.children.push(Node::Element(item_element(it)));
        }
        root
    }

    /// The XML text, compact as ConfigMgr stores it, with a declaration if the model asks.
    pub fn to_xml(&self) -> String {
        let mut s = String::new();
        if self.declaration {
            s.push_str("<?xml version=\"1.0\"?>\n");
        }
        super::xml::write(&self.to_element(), &mut s);
        s
    }
}

fn is_blank(n: &Node) -> bool {
    matches!(n, Node::Text(t) if t.trim().is_empty())
}

/// A leaf element: attributes and text only.
fn is_leaf(e: &Element) -> bool {
    !e.has_elements()
}

fn ref_list_shape(e: &Element) -> bool {
    e.children
        .iter()
        .all(|n| is_blank(n) || matches!(n, Node::Element(r) if r.name == "reference" && r.children.iter().all(is_blank)))
}

fn var_list_shape(e: &Element) -> bool {
    e.children.iter().all(|n| {
        is_blank(n)
            || matches!(n, Node::Element(v) if v.name == "variable" && is_leaf(v) && v.attr("name").is_some())
    })
}

fn variable(e: &Element) -> Variable {
    Variable {
        attrs: e.attrs.clone(),
        value: e.text(),
    }
}

fn var_list(name: &str, vars: &[Variable]) -> Element {
    let mut l = Element::new(name);
    for v in vars {
        let mut e = Element::new("variable");
        e.attrs = ordered(&v.attrs, VAR_ATTR_ORDER);
        if !v.value.is_empty() {
            e.children.push(Node::Text(v.value.clone()));
        }
        l.children.push(Node::Element(e));
    }
    l
}

fn item(e: &Element) -> Item {
    match e.name.as_str() {
        "group" => group(e)
            .map(Item::Group)
            .unwrap_or_else(|| Item::Raw(e.clone())),
        "step" | "subtasksequence" => step(e)
            .map(Item::Step)
            .unwrap_or_else(|| Item::Raw(e.clone())),
        _ => Item::Raw(e.clone()),
    }
}

fn group(e: &Element) -> Option<Group> {
    let mut g = Group {
        attrs: e.attrs.clone(),
        ..Default::default()
    };
    for n in &e.children {
        match n {
            Node::Text(t) if t.trim().is_empty() => {}
            Node::Text(_) => return None,
            Node::Element(c)
                if c.name == "condition" && g.condition.is_none() && g.items.is_empty() =>
            {
                g.condition = Some(condition(c)?);
            }
            Node::Element(c) => g.items.push(item(c)),
        }
    }
    Some(g)
}

fn step(e: &Element) -> Option<Step> {
    let mut s = Step {
        element: e.name.clone(),
        attrs: e.attrs.clone(),
        ..Default::default()
    };
    for n in &e.children {
        match n {
            Node::Text(t) if t.trim().is_empty() => {}
            Node::Text(_) => return None,
            Node::Element(c) => match c.name.as_str() {
                "condition" if s.condition.is_none() => s.condition = Some(condition(c)?),
                "action" if s.action.is_none() && is_leaf(c) && c.attrs.is_empty() => {
                    s.action = Some(c.text());
                }
                "defaultVarList" if s.vars.is_none() && var_list_shape(c) && c.attrs.is_empty() => {
                    s.vars = Some(c.elements().map(variable).collect());
                }
                _ => s.extra.push(c.clone()),
            },
        }
    }
    Some(s)
}

impl Condition {
    /// Reads a `<condition>` element; `None` when it is not one or holds text.
    pub fn from_element(e: &Element) -> Option<Condition> {
        if e.name != "condition" {
            return None;
        }
        condition(e)
    }
}

fn condition(e: &Element) -> Option<Condition> {
    let mut c = Condition {
        attrs: e.attrs.clone(),
        nodes: Vec::new(),
    };
    for n in &e.children {
        match n {
            Node::Text(t) if t.trim().is_empty() => {}
            Node::Text(_) => return None,
            Node::Element(x) => c.nodes.push(cond(x)),
        }
    }
    Some(c)
}

fn cond(e: &Element) -> Cond {
    let raw = || Cond::Raw(e.clone());
    if e.children
        .iter()
        .any(|n| matches!(n, Node::Text(t) if !t.trim().is_empty()))
    {
        return raw();
    }
    match e.name.as_str() {
        "operator" => Cond::Operator {
            attrs: e.attrs.clone(),
            children: e.elements().map(cond).collect(),
        },
        "expression" => {
            let mut props = Vec::new();
            for v in e.elements() {
                let name = v.attr("name");
                match name {
                    Some(n) if v.name == "variable" && is_leaf(v) && v.attrs.len() == 1 => {
                        props.push((n.to_string(), v.text()));
                    }
                    _ => return raw(),
                }
            }
            Cond::Expression {
                attrs: e.attrs.clone(),
                props,
            }
        }
        _ => raw(),
    }
}

fn cond_element(c: &Cond) -> Element {
    match c {
        Cond::Operator { attrs, children } => {
            let mut e = Element::new("operator");
            e.attrs = ordered(attrs, &["type"]);
            e.children = children
                .iter()
                .map(|x| Node::Element(cond_element(x)))
                .collect();
            e
        }
        Cond::Expression { attrs, props } => {
            let mut e = Element::new("expression");
            e.attrs = ordered(attrs, &["type"]);
            for (k, v) in props {
                let mut x = Element::new("variable").with_attr("name", k.clone());
                if !v.is_empty() {
                    x.children.push(Node::Text(v.clone()));
                }
                e.children.push(Node::Element(x));
            }
            e
        }
        Cond::Raw(e) => e.clone(),
    }
}

/// The `<condition>` element of a condition.
pub fn condition_element(c: &Condition) -> Element {
    let mut e = Element::new("condition");
    e.attrs = c.attrs.clone();
    e.children = c
        .nodes
        .iter()
        .map(|n| Node::Element(cond_element(n)))
        .collect();
    e
}

/// The element of one item.
pub fn item_element(it: &Item) -> Element {
    match it {
        Item::Raw(e) => e.clone(),
        Item::Group(g) => {
            let mut e = Element::new("group");
            e.attrs = ordered(&g.attrs, GROUP_ATTR_ORDER);
            if let Some(c) = &g.condition {
                e.children.push(Node::Element(condition_element(c)));
            }
            for i in &g.items {
                e.children.push(Node::Element(item_element(i)));
            }
            e
        }
        Item::Step(s) => {
            let mut e = Element::new(if s.element.is_empty() {
                "step"
            } else {
                s.element.as_str()
            });
            e.attrs = ordered(&s.attrs, STEP_ATTR_ORDER);
            if let Some(c) = &s.condition {
                e.children.push(Node::Element(condition_element(c)));
            }
            if let Some(a) = &s.action {
                let mut x = Element::new("action");
                if !a.is_empty() {
                    x.children.push(Node::Text(a.clone()));
                }
                e.children.push(Node::Element(x));
            }
            if let Some(v) = &s.vars {
                e.children
                    .push(Node::Element(var_list("defaultVarList", v)));
            }
            for x in &s.extra {
                e.children.push(Node::Element(x.clone()));
            }
            e
        }
    }
}

/// The console-export properties of `SMS_TaskSequencePackage` that matter for deployment
/// (§1): kept on import so lint can check them (rule D2) and packaging can reuse them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageInfo {
    /// `Name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `PackageID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_id: Option<String>,
    /// `BootImageID` (empty: no boot image).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_image_id: Option<String>,
    /// `DependentProgram` ("Run another program first": `<PackageID>;;<ProgramName>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependent_program: Option<String>,
}

impl PackageInfo {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == PackageInfo::default()
    }
}
