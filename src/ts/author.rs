//! The TOML authoring format for task sequences (`shared/specs/task-sequence.md` §2–§5).
//!
//! ```toml
//! [sequence]                 # optional: version (default 3.10), MDT attributes
//! [package]                  # optional: console-export properties (name, package_id, …)
//! [[references]]             # optional: referenceList (friendly steps add theirs)
//! [[variables]]              # optional: globalVarList
//! [[steps]]                  # groups and steps in order; a group has `group = "Name"`
//! group = "Install"
//! condition = { variable = "_SMSTSMediaType", operator = "notEquals", value = "FullMedia" }
//!   [[steps.steps]]
//!   name = "Restart in Windows PE"
//!   kind = "restart"         # a friendly kind with typed options…
//!   target = "winpe"
//!   [[steps.steps]]
//!   name = "Anything"
//!   type = "SMS_TaskSequence_…Action"   # …or the raw form: type, action, variables
//!   action = "…"
//! ```
//!
//! Friendly kinds map their options to the documented step variables (§5–§7). Where a command
//! line is not seen in the real exports, it follows the pattern of the observed ones (inferred):
//! `install_package` and `upgrade_os` actions. `import` always writes the raw form, which
//! reproduces the source exactly; conditions are written in friendly form when that form
//! reproduces them, else generically.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::model::{Attrs, Cond, Condition, Group, Item, Reference, Sequence, Step, Variable};
use super::source::PackageInfo;
use super::xml::{self, Element};
use super::{Error, Result};

/// Prefix of every ConfigMgr step and condition class.
pub const PREFIX: &str = "SMS_TaskSequence_";

/// The whole TOML document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Doc {
    /// `<sequence>` settings.
    #[serde(default, skip_serializing_if = "SeqT::is_default")]
    pub sequence: SeqT,
    /// Console-export properties.
    #[serde(default, skip_serializing_if = "PackageInfo::is_empty")]
    pub package: PackageInfo,
    /// `<referenceList>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<Vec<RefT>>,
    /// `<globalVarList>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<VarT>>,
    /// Groups and steps.
    #[serde(default)]
    pub steps: Vec<ItemT>,
}

/// `[sequence]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeqT {
    /// `version` (default `3.10`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Write `<?xml version="1.0"?>` first (MDT).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub xml_declaration: bool,
    /// Other `<sequence>` attributes (MDT `name`, `description`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

impl SeqT {
    fn is_default(&self) -> bool {
        *self == SeqT::default()
    }
}

/// One `[[references]]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefT {
    /// Package ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// Program (`*` for a task sequence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// Application CI unique ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// Other attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// One variable (global or step).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VarT {
    /// Task sequence variable name.
    pub name: String,
    /// WMI class property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// `hidden="true"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<bool>,
    /// Value (absent = empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// Other attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// A group or a step (`[[steps]]`). A group has `group`; a raw element has only `xml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ItemT {
    /// Group name (makes this a group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Step name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Friendly step kind (see [`KINDS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Raw step type (`SMS_TaskSequence_…Action`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub step_type: Option<String>,
    /// Element name when not `step` (`subtasksequence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub element: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `disable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// `continueOnError`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continue_on_error: Option<bool>,
    /// `timeout` in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// `runIn`: `WinPE`, `FullOS` or `WinPEandFullOS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_in: Option<String>,
    /// `successCodeList`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_codes: Option<Vec<i64>>,
    /// `retryCount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_count: Option<u32>,
    /// `runFromNet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_from_net: Option<bool>,
    /// `startIn` (MDT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_in: Option<String>,
    /// Other attributes, kept verbatim.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<CondT>,
    /// Raw `<action>` text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Raw `<defaultVarList>` (absent: no element).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<VarT>>,
    /// Unknown child elements of a step, verbatim XML.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_xml: Vec<String>,
    /// A whole element kept verbatim (alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xml: Option<String>,
    /// Children of a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<ItemT>>,
    /// Options of a friendly kind.
    #[serde(flatten, default, skip_serializing_if = "toml::Table::is_empty")]
    pub options: toml::Table,
}

/// A condition node. Exactly one of `and`, `or`, `not`, `variable`, `wmi`, `file`, `folder`,
/// `registry`, `software`, `expression`, `xml` is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CondT {
    /// All must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub and: Option<Vec<CondT>>,
    /// Any must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub or: Option<Vec<CondT>>,
    /// None may hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Vec<CondT>>,
    /// Task sequence variable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    /// WMI query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wmi: Option<String>,
    /// WMI namespace (default `root\cimv2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `ignoreQueryFailure="true"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_failure: Option<bool>,
    /// File path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Folder path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// Registry key path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Software operator: `AnyVersion` (upgrade code) or `ThisVersion` (product code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
    /// Operator (variable, registry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Value (variable; registry value name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Registry value type (`REG_SZ`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reg_type: Option<String>,
    /// Registry data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// File or software version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// File version operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_operator: Option<String>,
    /// File/folder timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datetime: Option<String>,
    /// File/folder timestamp operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datetime_operator: Option<String>,
    /// MSI product code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
    /// MSI product name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    /// MSI upgrade code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_code: Option<String>,
    /// Generic expression: its class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Generic expression: `[property, value]` pairs in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Vec<[String; 2]>>,
    /// Generic expression/operator: other attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Verbatim XML (OS condition groups, unknown shapes; `<condition …>` for a whole condition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xml: Option<String>,
}

/// The friendly step kinds, with their WMI class.
pub const KINDS: &[(&str, &str)] = &[
    ("apply_os", "ApplyOperatingSystemAction"),
    ("apply_network_settings", "ApplyNetworkSettingsAction"),
    ("setup_windows_and_configmgr", "SetupWindowsAndSMSAction"),
    ("run_command_line", "RunCommandLineAction"),
    ("run_powershell", "RunPowerShellScriptAction"),
    ("install_application", "InstallApplicationAction"),
    ("install_package", "InstallSoftwareAction"),
    ("apply_driver_package", "ApplyDriverPackageAction"),
    ("format_and_partition_disk", "PartitionDiskAction"),
    ("restart", "RebootAction"),
    ("set_variable", "SetVariableAction"),
    ("download_package_content", "DownloadPackageContentAction"),
    ("upgrade_os", "UpgradeOperatingSystemAction"),
];

// ---------------------------------------------------------------------------------------------
// TOML → model

/// Builds a sequence from TOML text. `path` names the file in errors.
pub fn build(text: &str, path: &Path) -> Result<(Sequence, PackageInfo)> {
    let doc: Doc = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
        Error::Toml {
            path: path.into(),
            line,
            column,
            message: e.message().trim().replace('\n', "; "),
        }
    })?;
    to_model(&doc, path)
}

fn line_col(text: &str, offset: usize) -> (u64, u64) {
    let before = text.get(..offset.min(text.len())).unwrap_or("");
    let line = before.matches('\n').count() as u64 + 1;
    let start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before.get(start..).map(|s| s.chars().count()).unwrap_or(0) as u64 + 1;
    (line, col)
}

struct Ctx<'a> {
    path: &'a Path,
    refs: Vec<Reference>,
}

impl Ctx<'_> {
    fn err(&self, loc: &str, msg: impl Into<String>, fix: Option<&str>) -> Error {
        Error::invalid(self.path, loc, msg, fix)
    }
    fn add_package(&mut self, id: &str, program: Option<&str>) {
        if id.is_empty() || self.refs.iter().any(|r| r.id() == Some(id)) {
            return;
        }
        let mut attrs: Attrs = vec![("package".into(), id.into())];
        if let Some(p) = program {
            attrs.push(("program".into(), p.into()));
        }
        self.refs.push(Reference { attrs });
    }
    fn add_application(&mut self, id: &str) {
        if id.is_empty() || self.refs.iter().any(|r| r.id() == Some(id)) {
            return;
        }
        self.refs.push(Reference {
            attrs: vec![("application".into(), id.into())],
        });
    }
}

/// Converts a parsed TOML document into the model.
pub fn to_model(doc: &Doc, path: &Path) -> Result<(Sequence, PackageInfo)> {
    let mut ctx = Ctx {
        path,
        refs: Vec::new(),
    };
    let mut attrs: Attrs = Vec::new();
    // An empty version means "no version attribute" (kept from an import).
    let version = doc
        .sequence
        .version
        .clone()
        .unwrap_or_else(|| "3.10".into());
    if !version.is_empty() {
        attrs.push(("version".into(), version));
    }
    for (k, v) in &doc.sequence.attributes {
        attrs.push((k.clone(), v.clone()));
    }
    let mut items = Vec::new();
    for (i, it) in doc.steps.iter().enumerate() {
        items.push(item(it, &format!("steps[{i}]"), &mut ctx)?);
    }
    let mut references = doc.references.as_ref().map(|rs| {
        rs.iter()
            .map(|r| {
                let mut a: Attrs = Vec::new();
                for (k, v) in [
                    ("package", &r.package),
                    ("program", &r.program),
                    ("application", &r.application),
                ] {
                    if let Some(v) = v {
                        a.push((k.into(), v.clone()));
                    }
                }
                a.extend(r.attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
                Reference { attrs: a }
            })
            .collect::<Vec<_>>()
    });
    if !ctx.refs.is_empty() {
        let list = references.get_or_insert_with(Vec::new);
        for r in ctx.refs {
            if !list.iter().any(|x| x.id() == r.id()) {
                list.push(r);
            }
        }
    }
    let globals = doc
        .variables
        .as_ref()
        .map(|vs| vs.iter().map(var).collect());
    let seq = Sequence {
        attrs,
        declaration: doc.sequence.xml_declaration,
        references,
        globals,
        items,
    };
    if let Some((name, c)) = xml::invalid_char(&seq.to_element()) {
        return Err(Error::invalid(
            path,
            format!("<{name}>"),
            format!(
                "character U+{:04X} cannot be written to XML 1.0",
                u32::from(c)
            ),
            Some("remove control characters from names and values"),
        ));
    }
    Ok((seq, doc.package.clone()))
}

fn var(v: &VarT) -> Variable {
    let mut attrs: Attrs = vec![("name".into(), v.name.clone())];
    if let Some(p) = &v.property {
        attrs.push(("property".into(), p.clone()));
    }
    if let Some(h) = v.hidden {
        attrs.push(("hidden".into(), h.to_string()));
    }
    attrs.extend(v.attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
    Variable {
        attrs,
        value: v.value.clone(),
    }
}

fn parse_fragment(xml_text: &str, loc: &str, ctx: &Ctx<'_>) -> Result<Element> {
    let p = ctx.path.join(loc);
    Ok(xml::parse(xml_text, &p)?.root)
}

fn label(it: &ItemT, loc: &str) -> String {
    match (&it.group, &it.name) {
        (Some(g), _) => format!("{loc} (group {g:?})"),
        (_, Some(n)) => format!("{loc} (step {n:?})"),
        _ => loc.to_string(),
    }
}

fn item(it: &ItemT, loc: &str, ctx: &mut Ctx<'_>) -> Result<Item> {
    let here = label(it, loc);
    if let Some(x) = &it.xml {
        return Ok(Item::Raw(parse_fragment(x, &here, ctx)?));
    }
    let condition = match &it.condition {
        Some(c) => Some(condition(c, &here, ctx)?),
        None => None,
    };
    if let Some(g) = &it.group {
        if it.name.is_some()
            || it.kind.is_some()
            || it.step_type.is_some()
            || it.action.is_some()
            || it.variables.is_some()
        {
            return Err(ctx.err(
                &here,
                "a group has `group` and `steps`, not step fields",
                Some("move step fields into a [[steps.steps]] entry"),
            ));
        }
        if let Some(k) = it.options.keys().next() {
            return Err(ctx.err(&here, format!("unknown field `{k}` in a group"), None));
        }
        let mut attrs: Attrs = vec![("name".into(), g.clone())];
        common_attrs(it, &mut attrs);
        let mut items = Vec::new();
        for (i, c) in it.steps.iter().flatten().enumerate() {
            items.push(item(c, &format!("{here}/steps[{i}]"), ctx)?);
        }
        return Ok(Item::Group(Group {
            attrs,
            condition,
            items,
        }));
    }
    let name = it.name.as_deref().ok_or_else(|| {
        ctx.err(
            &here,
            "a step needs `name` (or `group` for a group)",
            Some("add name = \"…\""),
        )
    })?;
    if it.steps.is_some() {
        return Err(ctx.err(
            &here,
            "a step cannot hold `steps`",
            Some("use `group = \"…\"` for a group"),
        ));
    }
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ctx.err(&here, "step names are 1–100 characters", None));
    }
    let mut step = Step {
        element: it.element.clone().unwrap_or_else(|| "step".into()),
        condition,
        ..Default::default()
    };
    let mut attrs: Attrs = Vec::new();
    if let Some(kind) = &it.kind {
        if it.step_type.is_some() || it.action.is_some() || it.variables.is_some() {
            return Err(ctx.err(
                &here,
                "give either `kind` (friendly) or `type`/`action`/`variables` (raw), not both",
                None,
            ));
        }
        let f = friendly(kind, &it.options, &here, ctx)?;
        attrs.push(("type".into(), format!("{PREFIX}{}", f.class)));
        attrs.push(("name".into(), name.into()));
        attrs.push((
            "description".into(),
            it.description.clone().unwrap_or_default(),
        ));
        let mut tmp = it.clone();
        tmp.description = None;
        tmp.run_in = Some(it.run_in.clone().unwrap_or_else(|| f.run_in.into()));
        tmp.success_codes = Some(
            it.success_codes
                .clone()
                .unwrap_or_else(|| f.success.to_vec()),
        );
        tmp.retry_count = Some(it.retry_count.or(f.retry).unwrap_or(0));
        tmp.run_from_net = Some(it.run_from_net.unwrap_or(false));
        common_attrs(&tmp, &mut attrs);
        step.action = Some(f.action);
        step.vars = Some(f.vars);
    } else {
        if let Some(k) = it.options.keys().next() {
            return Err(ctx.err(
                &here,
                format!("unknown field `{k}`"),
                Some("friendly options need `kind = \"…\"`; raw steps take type, action, variables, attributes"),
            ));
        }
        if let Some(t) = &it.step_type {
            attrs.push(("type".into(), t.clone()));
        }
        attrs.push(("name".into(), name.into()));
        common_attrs(it, &mut attrs);
        step.action = it.action.clone();
        step.vars = it.variables.as_ref().map(|v| v.iter().map(var).collect());
    }
    for (i, x) in it.extra_xml.iter().enumerate() {
        step.extra
            .push(parse_fragment(x, &format!("{here}/extra_xml[{i}]"), ctx)?);
    }
    step.attrs = attrs;
    Ok(Item::Step(step))
}

fn common_attrs(it: &ItemT, attrs: &mut Attrs) {
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            attrs.push((k.into(), v));
        }
    };
    push("description", it.description.clone());
    push("disable", it.disabled.map(|b| b.to_string()));
    push(
        "continueOnError",
        it.continue_on_error.map(|b| b.to_string()),
    );
    push("timeout", it.timeout.map(|t| t.to_string()));
    push("runIn", it.run_in.clone());
    push(
        "successCodeList",
        it.success_codes.as_ref().map(|c| {
            c.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        }),
    );
    push("retryCount", it.retry_count.map(|t| t.to_string()));
    push("runFromNet", it.run_from_net.map(|b| b.to_string()));
    push("startIn", it.start_in.clone());
    for (k, v) in &it.attributes {
        attrs.push((k.clone(), v.clone()));
    }
}

fn condition(c: &CondT, loc: &str, ctx: &Ctx<'_>) -> Result<Condition> {
    if let Some(x) = c
        .xml
        .as_deref()
        .filter(|x| x.trim_start().starts_with("<condition"))
    {
        let e = parse_fragment(x, loc, ctx)?;
        return Condition::from_element(&e).ok_or_else(|| {
            ctx.err(
                loc,
                "condition XML is not a <condition> element without text",
                None,
            )
        });
    }
    Ok(Condition {
        attrs: Vec::new(),
        nodes: vec![cond(c, loc, ctx)?],
    })
}

fn props(pairs: &[(&str, Option<&String>)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter_map(|(k, v)| v.map(|v| ((*k).to_string(), v.clone())))
        .collect()
}

fn cond(c: &CondT, loc: &str, ctx: &Ctx<'_>) -> Result<Cond> {
    let set = [
        c.and.is_some(),
        c.or.is_some(),
        c.not.is_some(),
        c.variable.is_some(),
        c.wmi.is_some(),
        c.file.is_some(),
        c.folder.is_some(),
        c.registry.is_some(),
        c.software.is_some(),
        c.expression.is_some(),
        c.xml.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if set != 1 {
        return Err(ctx.err(
            loc,
            format!("a condition needs exactly one of and/or/not/variable/wmi/file/folder/registry/software/expression/xml (found {set})"),
            Some("e.g. condition = { variable = \"_SMSTSInWinPE\", operator = \"equals\", value = \"true\" }"),
        ));
    }
    let expr = |class: &str, p: Vec<(String, String)>, extra: &[(&str, String)]| {
        let mut attrs: Attrs = vec![("type".into(), format!("{PREFIX}{class}"))];
        attrs.extend(extra.iter().map(|(k, v)| ((*k).to_string(), v.clone())));
        Cond::Expression { attrs, props: p }
    };
    for (kind, list) in [("and", &c.and), ("or", &c.or), ("not", &c.not)] {
        if let Some(list) = list {
            let mut children = Vec::new();
            for (i, x) in list.iter().enumerate() {
                children.push(cond(x, &format!("{loc}/{kind}[{i}]"), ctx)?);
            }
            let mut attrs: Attrs = vec![("type".into(), kind.into())];
            attrs.extend(c.attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
            return Ok(Cond::Operator { attrs, children });
        }
    }
    if let Some(v) = &c.variable {
        let op = c.operator.clone().unwrap_or_else(|| "equals".into());
        return Ok(expr(
            "VariableConditionExpression",
            props(&[
                ("Operator", Some(&op)),
                ("Value", c.value.as_ref()),
                ("Variable", Some(v)),
            ]),
            &[],
        ));
    }
    if let Some(q) = &c.wmi {
        let ns = c.namespace.clone().unwrap_or_else(|| "root\\cimv2".into());
        let extra: Vec<(&str, String)> = if c.ignore_failure == Some(true) {
            vec![("ignoreQueryFailure", "true".into())]
        } else {
            vec![]
        };
        return Ok(expr(
            "WMIConditionExpression",
            props(&[("Namespace", Some(&ns)), ("Query", Some(q))]),
            &extra,
        ));
    }
    if let Some(p) = &c.file {
        return Ok(expr(
            "FileConditionExpression",
            props(&[
                ("DateTime", c.datetime.as_ref()),
                ("DateTimeOperator", c.datetime_operator.as_ref()),
                ("Path", Some(p)),
                ("Version", c.version.as_ref()),
                ("VersionOperator", c.version_operator.as_ref()),
            ]),
            &[],
        ));
    }
    if let Some(p) = &c.folder {
        return Ok(expr(
            "FolderConditionExpression",
            props(&[
                ("DateTime", c.datetime.as_ref()),
                ("DateTimeOperator", c.datetime_operator.as_ref()),
                ("Path", Some(p)),
            ]),
            &[],
        ));
    }
    if let Some(k) = &c.registry {
        let op = c.operator.clone().unwrap_or_else(|| "exists".into());
        let ty = c.reg_type.clone().unwrap_or_else(|| "REG_SZ".into());
        return Ok(expr(
            "RegistryConditionExpression",
            props(&[
                ("Data", c.data.as_ref()),
                ("KeyPath", Some(k)),
                ("Operator", Some(&op)),
                ("Type", Some(&ty)),
                ("Value", c.value.as_ref()),
            ]),
            &[],
        ));
    }
    if let Some(op) = &c.software {
        return Ok(expr(
            "SoftwareConditionExpression",
            props(&[
                ("Operator", Some(op)),
                ("ProductCode", c.product_code.as_ref()),
                ("ProductName", c.product_name.as_ref()),
                ("UpgradeCode", c.upgrade_code.as_ref()),
                ("Version", c.version.as_ref()),
            ]),
            &[],
        ));
    }
    if let Some(class) = &c.expression {
        let mut attrs: Attrs = vec![("type".into(), class.clone())];
        attrs.extend(c.attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
        let p = c
            .properties
            .iter()
            .flatten()
            .map(|[k, v]| (k.clone(), v.clone()))
            .collect();
        return Ok(Cond::Expression { attrs, props: p });
    }
    let x = c.xml.as_deref().unwrap_or("");
    Ok(Cond::Raw(parse_fragment(x, loc, ctx)?))
}

// ---------------------------------------------------------------------------------------------
// Friendly kinds

struct Friendly {
    class: &'static str,
    run_in: &'static str,
    success: &'static [i64],
    retry: Option<u32>,
    action: String,
    vars: Vec<Variable>,
}

/// Typed access to a kind's options, remembering which were used.
struct Opts<'a> {
    t: &'a toml::Table,
    used: Vec<&'static str>,
    loc: &'a str,
    path: &'a Path,
}

impl Opts<'_> {
    fn err(&self, msg: String, fix: Option<&str>) -> Error {
        Error::invalid(self.path, self.loc, msg, fix)
    }
    fn str(&mut self, k: &'static str) -> Result<Option<String>> {
        self.used.push(k);
        match self.t.get(k) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(toml::Value::Integer(i)) => Ok(Some(i.to_string())),
            Some(other) => Err(self.err(
                format!("option `{k}` must be a string, not {}", other.type_str()),
                None,
            )),
        }
    }
    fn req(&mut self, k: &'static str) -> Result<String> {
        self.str(k)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| self.err(format!("option `{k}` is required"), None))
    }
    fn bool(&mut self, k: &'static str, default: bool) -> Result<bool> {
        self.used.push(k);
        match self.t.get(k) {
            None => Ok(default),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(other) => Err(self.err(
                format!(
                    "option `{k}` must be true or false, not {}",
                    other.type_str()
                ),
                None,
            )),
        }
    }
    fn int(&mut self, k: &'static str, default: i64) -> Result<i64> {
        self.used.push(k);
        match self.t.get(k) {
            None => Ok(default),
            Some(toml::Value::Integer(i)) => Ok(*i),
            Some(other) => Err(self.err(
                format!("option `{k}` must be a number, not {}", other.type_str()),
                None,
            )),
        }
    }
    fn list(&mut self, k: &'static str) -> Result<Vec<String>> {
        self.used.push(k);
        match self.t.get(k) {
            None => Ok(Vec::new()),
            Some(toml::Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s.clone()),
                    other => Err(self.err(
                        format!("option `{k}` must list strings, found {}", other.type_str()),
                        None,
                    )),
                })
                .collect(),
            Some(toml::Value::String(s)) => Ok(vec![s.clone()]),
            Some(other) => Err(self.err(
                format!(
                    "option `{k}` must be a list of strings, not {}",
                    other.type_str()
                ),
                None,
            )),
        }
    }
    fn finish(&self, kind: &str) -> Result<()> {
        for k in self.t.keys() {
            if !self.used.contains(&k.as_str()) {
                let mut allowed = self.used.clone();
                allowed.sort();
                allowed.dedup();
                return Err(self.err(
                    format!("unknown option `{k}` for kind {kind}"),
                    Some(&format!("options of {kind}: {}", allowed.join(", "))),
                ));
            }
        }
        Ok(())
    }
}

fn v(name: &str, prop: &str, hidden: bool, value: impl Into<String>) -> Variable {
    Variable::new(name, Some(prop), hidden, &value.into())
}

fn tf(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

fn title(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// Base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = ((n >> (18 - 6 * i)) & 63) as usize;
                out.push(char::from(A.get(idx).copied().unwrap_or(b'=')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes base64 (RFC 4648, padding optional, whitespace ignored); `None` if invalid.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            c if c.is_ascii_whitespace() => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xFF).ok()?);
        }
    }
    Some(out)
}

/// Decodes an inline PowerShell script as ConfigMgr stores it (base64 of UTF-16LE, BOM optional).
pub fn decode_script(s: &str) -> Option<String> {
    let b = base64_decode(s)?;
    let b = b.strip_prefix(&[0xFF, 0xFE]).unwrap_or(&b);
    if b.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| {
            u16::from_le_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
        .collect();
    String::from_utf16(&units).ok()
}

/// Encodes an inline PowerShell script as ConfigMgr stores it: base64 of UTF-16LE with BOM (§4).
pub fn encode_script(script: &str) -> String {
    let mut b = vec![0xFF, 0xFE];
    for u in script.encode_utf16() {
        b.extend_from_slice(&u.to_le_bytes());
    }
    base64(&b)
}

fn friendly(kind: &str, t: &toml::Table, loc: &str, ctx: &mut Ctx<'_>) -> Result<Friendly> {
    let mut o = Opts {
        t,
        used: Vec::new(),
        loc,
        path: ctx.path,
    };
    let class = KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            let names: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
            ctx.err(
                loc,
                format!("unknown step kind {kind:?}"),
                Some(&format!(
                    "kinds: {}; or give `type` for a raw step",
                    names.join(", ")
                )),
            )
        })?;
    let mut f = Friendly {
        class,
        run_in: "WinPEandFullOS",
        success: &[0],
        retry: None,
        action: String::new(),
        vars: Vec::new(),
    };
    match kind {
        "apply_os" => {
            let pkg = o.req("image_package")?;
            let idx = o.int("image_index", 1)?;
            let upkg = o.str("unattend_package")?;
            let ufile = o.str("unattend_file")?;
            f.run_in = "WinPE";
            f.action = format!("OSDApplyOS.exe /image:{pkg},%OSDImageIndex%");
            if let (Some(up), Some(uf)) = (&upkg, &ufile) {
                f.action
                    .push_str(&format!(" \"/config:{up},%OSDConfigFileName%\""));
                f.vars
                    .push(v("OSDConfigFileName", "ConfigFileName", false, uf.clone()));
                f.vars.push(v(
                    "ConfigFilePackage",
                    "ConfigFilePackage",
                    true,
                    up.clone(),
                ));
                ctx.add_package(up, None);
            } else if upkg.is_some() != ufile.is_some() {
                return Err(o.err(
                    "give unattend_package and unattend_file together".into(),
                    None,
                ));
            }
            f.action.push_str(" /runfromnet:False");
            f.vars
                .push(v("OSDImageIndex", "ImageIndex", false, idx.to_string()));
            f.vars
                .push(v("ImagePackageID", "ImagePackageID", true, pkg.clone()));
            f.vars.push(v("RunFromNet", "RunFromNet", true, "false"));
            ctx.add_package(&pkg, None);
        }
        "apply_network_settings" => {
            let wg = o.str("workgroup")?;
            let dom = o.str("domain")?;
            let ou = o.str("domain_ou")?;
            let acct = o.str("domain_account")?;
            f.run_in = "WinPE";
            f.action = "osdnetsettings.exe configure".into();
            f.vars.push(v(
                "OSDEnableTCPIPFiltering",
                "EnableTCPIPFiltering",
                true,
                "false",
            ));
            match (wg, dom) {
                (Some(w), None) => {
                    if w.is_empty() || w.chars().count() > 32 {
                        return Err(o.err("workgroup names are 1–32 characters".into(), None));
                    }
                    f.vars
                        .push(v("OSDNetworkJoinType", "NetworkJoinType", false, "1"));
                    f.vars.push(v("OSDAdapterCount", "NumAdapters", true, "0"));
                    f.vars
                        .push(v("OSDWorkgroupName", "WorkgroupName", false, w));
                }
                (None, Some(d)) => {
                    f.vars
                        .push(v("OSDNetworkJoinType", "NetworkJoinType", false, "0"));
                    f.vars.push(v("OSDAdapterCount", "NumAdapters", true, "0"));
                    f.vars.push(v("OSDDomainName", "DomainName", false, d));
                    f.vars.push(v(
                        "OSDDomainOUName",
                        "DomainOUName",
                        false,
                        ou.unwrap_or_default(),
                    ));
                    f.vars.push(v(
                        "OSDJoinAccount",
                        "DomainUsername",
                        false,
                        acct.unwrap_or_default(),
                    ));
                    // The password is never stored in files (exports omit it too).
                    f.vars
                        .push(v("OSDJoinPassword", "DomainPassword", false, ""));
                }
                _ => {
                    return Err(o.err(
                        "give either `workgroup` or `domain`".into(),
                        Some("over a CMG join a workgroup: workgroup = \"WORKGROUP\""),
                    ));
                }
            }
        }
        "setup_windows_and_configmgr" => {
            let pkg = o.req("client_package")?;
            let host = o.str("ccmhostname")?;
            let site = o.str("site_code")?;
            let extra = o.str("install_properties")?;
            let mut props: Vec<String> = Vec::new();
            if let Some(h) = host {
                props.push(format!("CCMHOSTNAME={h}"));
            }
            if let Some(s) = site {
                props.push(format!("SMSSITECODE={s}"));
            }
            if let Some(e) = extra.filter(|e| !e.is_empty()) {
                props.push(e);
            }
            f.action = "OSDSetupWindows.exe".into();
            f.vars.push(v(
                "SMSClientInstallProperties",
                "ClientInstallProperties",
                false,
                props.join(" "),
            ));
            f.vars.push(v(
                "_SMSClientPackageID",
                "ClientPackageID",
                false,
                pkg.clone(),
            ));
            ctx.add_package(&pkg, None);
        }
        "run_command_line" => {
            let cmd = o.req("command")?;
            let pkg = o.str("package")?;
            let wd = o.str("working_directory")?;
            let wow = o.bool("disable_wow64_redirection", false)?;
            let outv = o.str("output_variable")?;
            f.success = &[0, 3010];
            f.action = format!("smsswd.exe /run:{} {cmd}", pkg.clone().unwrap_or_default());
            f.vars.push(v("CommandLine", "CommandLine", true, cmd));
            if let Some(p) = &pkg {
                f.vars.push(v("PackageID", "PackageID", true, p.clone()));
                ctx.add_package(p, None);
            }
            if let Some(w) = wd {
                f.vars
                    .push(v("WorkingDirectory", "WorkingDirectory", false, w));
            }
            f.vars.push(v(
                "SMSTSDisableWow64Redirection",
                "DisableWow64Redirection",
                false,
                tf(wow),
            ));
            if let Some(ov) = outv {
                f.vars.push(v(
                    "SMSTSRunCommandLineOutputVariableName",
                    "OutputVariableName",
                    false,
                    ov,
                ));
            }
            f.vars
                .push(v("_SMSTSRunCommandLineAsUser", "RunAsUser", false, "false"));
        }
        "run_powershell" => {
            let pkg = o.str("package")?;
            let name = o.str("script_name")?;
            let script = o.str("script")?;
            let params = o.str("parameters")?;
            let policy = o
                .str("execution_policy")?
                .unwrap_or_else(|| "Bypass".into());
            let outv = o.str("output_variable")?;
            if !["Bypass", "AllSigned", "Undefined"].contains(&policy.as_str()) {
                return Err(o.err(
                    format!("execution_policy {policy:?} is not Bypass, AllSigned or Undefined"),
                    None,
                ));
            }
            f.success = &[0, 3010];
            f.action = "OSDRunPowerShellScript.exe".into();
            f.vars.push(v(
                "OSDRunPowerShellScriptExecutionPolicy",
                "ExecutionPolicy",
                false,
                policy,
            ));
            match (pkg, name, script) {
                (Some(p), Some(n), None) => {
                    f.vars.push(v(
                        "OSDRunPowerShellScriptPackageID",
                        "PackageID",
                        false,
                        p.clone(),
                    ));
                    f.vars.push(v(
                        "OSDRunPowerShellScriptScriptName",
                        "ScriptName",
                        false,
                        n,
                    ));
                    ctx.add_package(&p, None);
                }
                (None, None, Some(s)) => {
                    f.vars.push(v(
                        "OSDRunPowerShellScriptSourceScript",
                        "SourceScript",
                        false,
                        encode_script(&s),
                    ));
                }
                _ => {
                    return Err(o.err(
                        "give `package` and `script_name`, or an inline `script`".into(),
                        None,
                    ));
                }
            }
            f.vars.push(v(
                "OSDRunPowerShellScriptParameters",
                "Parameters",
                false,
                params.unwrap_or_default(),
            ));
            f.vars.push(v(
                "OSDRunPowerShellScriptOutputVariableName",
                "OutputVariableName",
                false,
                outv.unwrap_or_default(),
            ));
            f.vars
                .push(v("_SMSTSRunPowerShellAsUser", "RunAsUser", false, "false"));
            f.vars.push(v(
                "OSDRunPowerShellScriptSuccessCodes",
                "SuccessCodes",
                true,
                "0 3010",
            ));
        }
        "install_application" => {
            let apps = o.list("applications")?;
            let coe = o.bool("continue_on_install_error", false)?;
            if apps.is_empty() {
                return Err(o.err(
                    "option `applications` needs at least one application CI unique ID".into(),
                    Some("applications = [\"ScopeId_…/Application_…\"]"),
                ));
            }
            f.run_in = "FullOS";
            f.retry = Some(2);
            let joined = apps.join(":");
            f.action = format!(
                "smsappinstall.exe /app:{joined} /basevar: /continueOnError:{}",
                title(coe)
            );
            f.vars
                .push(v("ApplicationName", "ApplicationName", true, joined));
            f.vars.push(v(
                "ContinueOnInstallError",
                "ContinueOnInstallError",
                true,
                tf(coe),
            ));
            f.vars
                .push(v("OSDAppCount", "NumApps", false, apps.len().to_string()));
            f.vars.push(v("RetryCount", "RetryCount", true, "2"));
            for a in &apps {
                ctx.add_application(a);
            }
        }
        "install_package" => {
            let pkg = o.req("package")?;
            let prog = o.req("program")?;
            f.run_in = "FullOS";
            f.action = format!("smsswd.exe /pkg:{pkg} /install /program:\"{prog}\"");
            f.vars.push(v("PackageID", "PackageID", true, pkg.clone()));
            f.vars
                .push(v("_SMSSWDProgramName", "ProgramName", true, prog.clone()));
            ctx.add_package(&pkg, Some(&prog));
        }
        "apply_driver_package" => {
            let pkg = o.req("package")?;
            let unsigned = o.bool("unsigned", false)?;
            let recurse = o.bool("recurse", false)?;
            f.run_in = "WinPE";
            f.action = format!(
                "osddriverclient.exe /install:{pkg} /unsigned:%OSDAllowUnsignedDriver% /recurse:%OSDRecurse%"
            );
            f.vars.push(v(
                "OSDApplyDriverDriverPackageID",
                "DriverPackageID",
                true,
                pkg.clone(),
            ));
            f.vars.push(v("OSDRecurse", "Recurse", false, tf(recurse)));
            f.vars.push(v(
                "OSDAllowUnsignedDriver",
                "UnsignedDriver",
                false,
                tf(unsigned),
            ));
            ctx.add_package(&pkg, None);
        }
        "format_and_partition_disk" => {
            let disk = o.int("disk_index", 0)?;
            let layout = o.str("layout")?.unwrap_or_else(|| "uefi".into());
            f.run_in = "WinPE";
            f.action = "osddiskpart.exe".into();
            // (type, file system, bootable, volume name, size, units, letter variable)
            let parts: &[(&str, &str, bool, &str, &str, &str, &str)] = match layout.as_str() {
                "uefi" => &[
                    ("EFI", "FAT32", false, "EFI", "500", "MB", ""),
                    ("MSR", "", false, "", "16", "MB", ""),
                    (
                        "PRIMARY", "NTFS", false, "Windows", "100", "Percent", "OSDisk",
                    ),
                ],
                "bios" => &[
                    ("PRIMARY", "NTFS", true, "System Reserved", "500", "MB", ""),
                    (
                        "PRIMARY", "NTFS", false, "Windows", "100", "Percent", "OSDisk",
                    ),
                ],
                other => return Err(o.err(format!("layout {other:?} is not uefi or bios"), None)),
            };
            let gpt = layout == "uefi";
            f.vars
                .push(v("OSDDiskIndex", "DiskIndex", false, disk.to_string()));
            f.vars.push(v("OSDDiskType", "DiskType", false, "Basic"));
            f.vars
                .push(v("OSDGPTBootDisk", "GPTBootDisk", false, tf(gpt)));
            f.vars.push(v(
                "OSDPartitionStyle",
                "PartitionStyle",
                false,
                if gpt { "GPT" } else { "MBR" },
            ));
            f.vars.push(v(
                "OSDPartitions",
                "Partitions",
                true,
                parts.len().to_string(),
            ));
            for (i, (ty, fs, boot, vol, size, units, letter)) in parts.iter().enumerate() {
                let n = |f: &str| (format!("OSDPartitions{i}{f}"), format!("Partitions{i}{f}"));
                let mut put = |field: &str, val: &str| {
                    let (a, b) = n(field);
                    f.vars.push(v(&a, &b, false, val));
                };
                put("Type", ty);
                put("FileSystem", fs);
                put("Bootable", tf(*boot));
                put("QuickFormat", "true");
                put("VolumeName", vol);
                put("Size", size);
                put("SizeUnits", units);
                if !letter.is_empty() {
                    put("AssignVolumeLetter", "true");
                    put("VolumeLetterVariable", letter);
                }
            }
        }
        "restart" => {
            let target = o.str("target")?.unwrap_or_else(|| "os".into());
            let msg = o.str("message")?.unwrap_or_default();
            let timeout = o.int("message_timeout", 60)?;
            let t = match target.as_str() {
                "winpe" => "WinPE",
                "os" => "HD",
                other => return Err(o.err(format!("target {other:?} is not winpe or os"), None)),
            };
            f.action = format!("smsboot.exe /target:{t}");
            f.vars.push(v("SMSRebootMessage", "Message", false, msg));
            f.vars.push(v(
                "SMSRebootTimeout",
                "MessageTimeout",
                false,
                timeout.to_string(),
            ));
            f.vars.push(v("SMSRebootTarget", "Target", true, t));
        }
        "set_variable" => {
            let name = o.req("variable")?;
            let value = o.str("value")?.unwrap_or_default();
            let hide = o.bool("hide_value", false)?;
            f.action = format!("tsenv.exe \"{name}={value}\" /hiddenflag:{}", title(hide));
            f.vars.push(v(
                "DoNotShowVariableValue",
                "DoNotShowVariableValue",
                true,
                tf(hide),
            ));
            f.vars.push(v("VariableName", "VariableName", true, name));
            f.vars
                .push(v("VariableValue", "VariableValue", true, value));
        }
        "download_package_content" => {
            let pkgs = o.list("packages")?;
            let dest = o.str("destination")?.unwrap_or_else(|| "ccmcache".into());
            let custom = o.str("custom_path")?;
            let var = o.str("destination_variable")?;
            let coe = o.bool("continue_on_download_error", false)?;
            if pkgs.is_empty() {
                return Err(o.err(
                    "option `packages` needs at least one package ID".into(),
                    None,
                ));
            }
            let loc_type = match dest.as_str() {
                "ccmcache" => "CCMCache",
                "working_directory" => "TSCache",
                "custom" => "Custom",
                other => {
                    return Err(o.err(
                        format!(
                            "destination {other:?} is not ccmcache, working_directory or custom"
                        ),
                        None,
                    ));
                }
            };
            f.action = "OsdDownloadContent.exe".into();
            f.vars.push(v(
                "OSDDownloadContinueDownloadOnError",
                "ContinueDownloadOnError",
                false,
                tf(coe),
            ));
            f.vars.push(v(
                "OSDDownloadDestinationLocationType",
                "DestinationLocationType",
                false,
                loc_type,
            ));
            if loc_type == "Custom" {
                let p = custom
                    .ok_or_else(|| o.err("destination custom needs `custom_path`".into(), None))?;
                f.vars
                    .push(v("OSDDownloadDestinationPath", "DestinationPath", false, p));
            }
            f.vars.push(v(
                "OSDDownloadDestinationVariable",
                "DestinationVariable",
                false,
                var.unwrap_or_default(),
            ));
            f.vars.push(v(
                "OSDDownloadDownloadPackages",
                "DownloadPackages",
                false,
                pkgs.join(","),
            ));
            for p in &pkgs {
                ctx.add_package(p, None);
            }
        }
        "upgrade_os" => {
            let pkg = o.req("package")?;
            let idx = o.int("edition_index", 1)?;
            let dyn_update = o.str("dynamic_update")?.unwrap_or_else(|| "Disable".into());
            let ignore = o.bool("ignore_messages", false)?;
            f.run_in = "FullOS";
            f.action = format!("OSDUpgradeOS.exe /install:{pkg},%OSDUpgradeInstallEditionIndex%");
            f.vars.push(v(
                "OSDUpgradeDynamicUpdateSettings",
                "DynamicUpdateSettings",
                false,
                dyn_update,
            ));
            f.vars.push(v(
                "OSDUpgradeIgnoreMessages",
                "IgnoreMessages",
                false,
                tf(ignore),
            ));
            f.vars.push(v(
                "OSDUpgradeInstallEditionIndex",
                "InstallEditionIndex",
                false,
                idx.to_string(),
            ));
            f.vars.push(v(
                "OSDUpgradeInstallPackageID",
                "InstallPackageID",
                true,
                pkg.clone(),
            ));
            f.vars.push(v(
                "OSDUpgradePreserveSettings",
                "PreserveSettings",
                false,
                "Upgrade",
            ));
            f.vars
                .push(v("OSDUpgradeScanOnly", "ScanOnly", false, "false"));
            ctx.add_package(&pkg, None);
        }
        _ => {}
    }
    o.finish(kind)?;
    Ok(f)
}

// ---------------------------------------------------------------------------------------------
// model → TOML (import)

/// Converts a model to the TOML document `import` writes (raw step form: lossless).
pub fn from_model(seq: &Sequence, package: &PackageInfo) -> Doc {
    let mut st = SeqT::default();
    for (k, v) in &seq.attrs {
        if k == "version" {
            if v != "3.10" {
                st.version = Some(v.clone());
            }
        } else {
            st.attributes.insert(k.clone(), v.clone());
        }
    }
    if seq.version().is_none() {
        // An absent version must stay absent: mark it with an empty attribute map entry.
        st.version = Some(String::new());
    }
    st.xml_declaration = seq.declaration;
    Doc {
        sequence: st,
        package: package.clone(),
        references: seq.references.as_ref().map(|rs| {
            rs.iter()
                .map(|r| {
                    let mut t = RefT::default();
                    for (k, v) in &r.attrs {
                        match k.as_str() {
                            "package" if t.package.is_none() => t.package = Some(v.clone()),
                            "program" if t.program.is_none() => t.program = Some(v.clone()),
                            "application" if t.application.is_none() => {
                                t.application = Some(v.clone())
                            }
                            _ => {
                                t.attributes.insert(k.clone(), v.clone());
                            }
                        }
                    }
                    t
                })
                .collect()
        }),
        variables: seq.globals.as_ref().map(|g| g.iter().map(var_t).collect()),
        steps: seq.items.iter().map(item_t).collect(),
    }
}

fn var_t(v: &Variable) -> VarT {
    let mut t = VarT {
        value: v.value.clone(),
        ..Default::default()
    };
    let mut have_name = false;
    for (k, val) in &v.attrs {
        match k.as_str() {
            "name" if !have_name => {
                t.name = val.clone();
                have_name = true;
            }
            "property" if t.property.is_none() => t.property = Some(val.clone()),
            "hidden" if t.hidden.is_none() && (val == "true" || val == "false") => {
                t.hidden = Some(val == "true");
            }
            _ => {
                t.attributes.insert(k.clone(), val.clone());
            }
        }
    }
    t
}

fn parse_codes(s: &str) -> Option<Vec<i64>> {
    let v: Vec<i64> = s
        .split(' ')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let back = v
        .iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    (back == s && !v.is_empty()).then_some(v)
}

fn parse_u32(s: &str) -> Option<u32> {
    let n: u32 = s.parse().ok()?;
    (n.to_string() == s).then_some(n)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn attrs_t(attrs: &Attrs, t: &mut ItemT, head: &[&str]) {
    for (k, v) in attrs {
        let done = match k.as_str() {
            k2 if head.contains(&k2) => true,
            "description" if t.description.is_none() => {
                t.description = Some(v.clone());
                true
            }
            "disable" if t.disabled.is_none() => {
                parse_bool(v).map(|b| t.disabled = Some(b)).is_some()
            }
            "continueOnError" if t.continue_on_error.is_none() => parse_bool(v)
                .map(|b| t.continue_on_error = Some(b))
                .is_some(),
            "timeout" if t.timeout.is_none() => parse_u32(v).map(|n| t.timeout = Some(n)).is_some(),
            "runIn" if t.run_in.is_none() => {
                t.run_in = Some(v.clone());
                true
            }
            "successCodeList" if t.success_codes.is_none() => {
                parse_codes(v).map(|c| t.success_codes = Some(c)).is_some()
            }
            "retryCount" if t.retry_count.is_none() => {
                parse_u32(v).map(|n| t.retry_count = Some(n)).is_some()
            }
            "runFromNet" if t.run_from_net.is_none() => {
                parse_bool(v).map(|b| t.run_from_net = Some(b)).is_some()
            }
            "startIn" if t.start_in.is_none() => {
                t.start_in = Some(v.clone());
                true
            }
            _ => false,
        };
        if !done {
            t.attributes.insert(k.clone(), v.clone());
        }
    }
}

fn item_t(it: &Item) -> ItemT {
    match it {
        Item::Raw(e) => ItemT {
            xml: Some(xml::to_string(e)),
            ..Default::default()
        },
        Item::Group(g) => {
            let mut t = ItemT {
                group: Some(g.name().to_string()),
                ..Default::default()
            };
            // `name` is taken by `group`; a second or missing name stays verbatim.
            let first_name = g.attrs.iter().position(|(k, _)| k == "name");
            let rest: Attrs = g
                .attrs
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != first_name)
                .map(|(_, a)| a.clone())
                .collect();
            if first_name.is_none() {
                return ItemT {
                    xml: Some(xml::to_string(&super::model::item_element(it))),
                    ..Default::default()
                };
            }
            attrs_t(&rest, &mut t, &[]);
            t.condition = g.condition.as_ref().map(condition_t);
            t.steps = Some(g.items.iter().map(item_t).collect());
            t
        }
        Item::Step(s) => {
            let name_pos = s.attrs.iter().position(|(k, _)| k == "name");
            let type_pos = s.attrs.iter().position(|(k, _)| k == "type");
            if name_pos.is_none() {
                return ItemT {
                    xml: Some(xml::to_string(&super::model::item_element(it))),
                    ..Default::default()
                };
            }
            let mut t = ItemT {
                name: Some(s.name().to_string()),
                step_type: s.step_type().map(str::to_string),
                element: (s.element != "step").then(|| s.element.clone()),
                action: s.action.clone(),
                variables: s.vars.as_ref().map(|v| v.iter().map(var_t).collect()),
                extra_xml: s.extra.iter().map(xml::to_string).collect(),
                ..Default::default()
            };
            let rest: Attrs = s
                .attrs
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != name_pos && Some(*i) != type_pos)
                .map(|(_, a)| a.clone())
                .collect();
            attrs_t(&rest, &mut t, &[]);
            t.condition = s.condition.as_ref().map(condition_t);
            t
        }
    }
}

fn condition_t(c: &Condition) -> CondT {
    if let ([], [one]) = (c.attrs.as_slice(), c.nodes.as_slice()) {
        return cond_t(one);
    }
    CondT {
        xml: Some(xml::to_string(&super::model::condition_element(c))),
        ..Default::default()
    }
}

fn cond_t(c: &Cond) -> CondT {
    let generic = || match c {
        Cond::Expression { attrs, props } => {
            let mut t = CondT::default();
            for (k, v) in attrs {
                if k == "type" && t.expression.is_none() {
                    t.expression = Some(v.clone());
                } else {
                    t.attributes.insert(k.clone(), v.clone());
                }
            }
            if t.expression.is_none() {
                return CondT {
                    xml: Some(xml::to_string(&cond_xml(c))),
                    ..Default::default()
                };
            }
            t.properties = Some(props.iter().map(|(k, v)| [k.clone(), v.clone()]).collect());
            t
        }
        _ => CondT {
            xml: Some(xml::to_string(&cond_xml(c))),
            ..Default::default()
        },
    };
    let candidate = match c {
        Cond::Operator { attrs, children } => {
            let kids: Vec<CondT> = children.iter().map(cond_t).collect();
            let mut t = CondT::default();
            match attrs.as_slice() {
                [(k, v)] if k == "type" && v == "and" => t.and = Some(kids),
                [(k, v)] if k == "type" && v == "or" => t.or = Some(kids),
                [(k, v)] if k == "type" && v == "not" => t.not = Some(kids),
                _ => return generic(),
            }
            return t;
        }
        Cond::Expression { attrs, props } => friendly_cond(attrs, props),
        Cond::Raw(_) => None,
    };
    // Use the friendly form only when it rebuilds exactly the same node.
    if let Some(f) = candidate {
        let ctx = Ctx {
            path: Path::new(""),
            refs: Vec::new(),
        };
        if cond(&f, "", &ctx).ok().as_ref() == Some(c) {
            return f;
        }
    }
    generic()
}

fn cond_xml(c: &Cond) -> Element {
    let cd = Condition {
        attrs: Vec::new(),
        nodes: vec![c.clone()],
    };
    let e = super::model::condition_element(&cd);
    let first = e.elements().next().cloned();
    first.unwrap_or(e)
}

fn friendly_cond(attrs: &Attrs, props: &[(String, String)]) -> Option<CondT> {
    let class = attrs
        .iter()
        .find(|(k, _)| k == "type")?
        .1
        .strip_prefix(PREFIX)?;
    let get = |k: &str| props.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let mut t = CondT::default();
    match class {
        "VariableConditionExpression" => {
            t.variable = get("Variable");
            t.operator = get("Operator");
            t.value = get("Value");
        }
        "WMIConditionExpression" => {
            t.wmi = get("Query");
            t.namespace = get("Namespace").filter(|n| n != "root\\cimv2");
            if attrs
                .iter()
                .any(|(k, v)| k == "ignoreQueryFailure" && v == "true")
            {
                t.ignore_failure = Some(true);
            }
        }
        "FileConditionExpression" | "FolderConditionExpression" => {
            if class.starts_with("File") {
                t.file = get("Path");
                t.version = get("Version");
                t.version_operator = get("VersionOperator");
            } else {
                t.folder = get("Path");
            }
            t.datetime = get("DateTime");
            t.datetime_operator = get("DateTimeOperator");
        }
        "RegistryConditionExpression" => {
            t.registry = get("KeyPath");
            t.operator = get("Operator");
            t.reg_type = get("Type");
            t.value = get("Value");
            t.data = get("Data");
        }
        "SoftwareConditionExpression" => {
            t.software = get("Operator");
            t.product_code = get("ProductCode");
            t.product_name = get("ProductName");
            t.upgrade_code = get("UpgradeCode");
            t.version = get("Version");
        }
        _ => return None,
    }
    Some(t)
}

/// Renders a TOML document (what `peforge ts import` writes).
pub fn to_toml(doc: &Doc) -> std::result::Result<String, toml::ser::Error> {
    let body = toml::to_string(doc)?;
    Ok(format!(
        "# Task sequence in peforge's TOML authoring format (peforge ts build turns it back into XML).\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
        // Inline scripts start with the UTF-16LE BOM, as in the real exports ("//5…").
        assert!(encode_script("[CmdletBinding()]").starts_with("//5bAEMA"));
        for i in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            assert_eq!(base64_decode(&base64(i.as_bytes())).unwrap(), i.as_bytes());
        }
        assert_eq!(
            decode_script(&encode_script("héllo \\\\srv\\x")).unwrap(),
            "héllo \\\\srv\\x"
        );
        assert!(base64_decode("a*b").is_none());
    }

    #[test]
    fn unknown_option_is_refused_with_the_list() {
        let t = "[[steps]]\nname = \"R\"\nkind = \"restart\"\ntargte = \"winpe\"\n";
        let e = build(t, Path::new("x.toml")).unwrap_err();
        assert!(e.to_string().contains("unknown option `targte`"), "{e}");
        assert!(e.hint().unwrap_or_default().contains("target"), "{e:?}");
    }

    #[test]
    fn toml_syntax_error_has_line_and_column() {
        let e = build("[[steps]]\nname = \"a\nkind = 1\n", Path::new("x.toml")).unwrap_err();
        match e {
            Error::Toml { line, column, .. } => assert!(line == 2 && column > 1, "{line}:{column}"),
            other => panic!("{other:?}"),
        }
    }
}
