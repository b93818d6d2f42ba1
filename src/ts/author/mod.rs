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

use super::model::PackageInfo;
use super::model::{Attrs, Cond, Condition, Group, Item, Reference, Sequence, Step, Variable};
use super::xml::{self, Element};
use super::{Error, Result};

mod import;
mod kinds;

pub use import::{MAX_GROUP_DEPTH, check_depth, from_model, to_toml};
use kinds::friendly;
pub use kinds::{base64, base64_decode, decode_script, encode_script};

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
        let (line, column) = e
            .span()
            .map(|s| super::line_col(text, s.start))
            .unwrap_or((0, 0));
        Error::Toml {
            path: path.into(),
            line,
            column,
            message: e.message().trim().replace('\n', "; "),
        }
    })?;
    let mut ctx = Ctx {
        path,
        refs: Vec::new(),
        at: Vec::new(),
    };
    let built = to_model_in(&doc, &mut ctx);
    built.map_err(|e| match e {
        Error::Invalid {
            path,
            location,
            message,
            fix,
            ..
        } => {
            let (line, column) = entry_offset(text, &ctx.at)
                .map(|o| super::line_col(text, o))
                .unwrap_or((0, 0));
            Error::Invalid {
                path,
                line,
                column,
                location,
                message,
                fix,
            }
        }
        e => e,
    })
}

/// Byte offset of the `[[steps]]` entry at index path `at` (`steps[a].steps[b]…`), read with
/// toml_edit, which keeps spans: so content errors found after parsing name a line too.
fn entry_offset(text: &str, at: &[usize]) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    let mut span = None;
    for &i in at {
        let item = table.get("steps")?;
        if let Some(t) = item.as_array_of_tables().and_then(|a| a.get(i)) {
            span = t.span();
            table = t;
        } else {
            let t = item.as_array()?.get(i)?.as_inline_table()?;
            span = t.span();
            table = t;
        }
    }
    span.map(|s| s.start)
}

struct Ctx<'a> {
    path: &'a Path,
    refs: Vec<Reference>,
    /// Index path of the `[[steps]]` entry being converted (left in place on error).
    at: Vec<usize>,
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
        at: Vec::new(),
    };
    to_model_in(doc, &mut ctx)
}

fn to_model_in(doc: &Doc, ctx: &mut Ctx<'_>) -> Result<(Sequence, PackageInfo)> {
    let path = ctx.path;
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
        ctx.at.push(i);
        items.push(item(it, &format!("steps[{i}]"), ctx)?);
        ctx.at.pop();
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
        for r in std::mem::take(&mut ctx.refs) {
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
    match &it.group {
        Some(g) => group_item(it, g, &here, condition, ctx),
        None => step_item(it, &here, condition, ctx),
    }
}

/// Builds group `g` and its steps; step fields in a group are refused.
fn group_item(
    it: &ItemT,
    g: &str,
    here: &str,
    condition: Option<Condition>,
    ctx: &mut Ctx<'_>,
) -> Result<Item> {
    if it.name.is_some()
        || it.kind.is_some()
        || it.step_type.is_some()
        || it.action.is_some()
        || it.variables.is_some()
    {
        return Err(ctx.err(
            here,
            "a group has `group` and `steps`, not step fields",
            Some("move step fields into a [[steps.steps]] entry"),
        ));
    }
    if let Some(k) = it.options.keys().next() {
        return Err(ctx.err(here, format!("unknown field `{k}` in a group"), None));
    }
    let mut attrs: Attrs = vec![("name".into(), g.into())];
    common_attrs(it, &mut attrs);
    let mut items = Vec::new();
    for (i, c) in it.steps.iter().flatten().enumerate() {
        ctx.at.push(i);
        items.push(item(c, &format!("{here}/steps[{i}]"), ctx)?);
        ctx.at.pop();
    }
    Ok(Item::Group(Group {
        attrs,
        condition,
        items,
    }))
}

/// Builds a step, friendly (`kind`) or raw (`type`/`action`/`variables`), with its extra XML.
fn step_item(
    it: &ItemT,
    here: &str,
    condition: Option<Condition>,
    ctx: &mut Ctx<'_>,
) -> Result<Item> {
    let name = it.name.as_deref().ok_or_else(|| {
        ctx.err(
            here,
            "a step needs `name` (or `group` for a group)",
            Some("add name = \"…\""),
        )
    })?;
    if it.steps.is_some() {
        return Err(ctx.err(
            here,
            "a step cannot hold `steps`",
            Some("use `group = \"…\"` for a group"),
        ));
    }
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ctx.err(here, "step names are 1–100 characters", None));
    }
    let mut step = Step {
        element: it.element.clone().unwrap_or_else(|| "step".into()),
        condition,
        ..Default::default()
    };
    let mut attrs: Attrs = Vec::new();
    match &it.kind {
        Some(kind) => friendly_step(it, kind, name, here, &mut step, &mut attrs, ctx)?,
        None => raw_step(it, name, here, &mut step, &mut attrs, ctx)?,
    }
    for (i, x) in it.extra_xml.iter().enumerate() {
        step.extra
            .push(parse_fragment(x, &format!("{here}/extra_xml[{i}]"), ctx)?);
    }
    step.attrs = attrs;
    Ok(Item::Step(step))
}

/// Fills a friendly step of `kind`: its class, action and variables, and the defaults the
/// kind gives for the common attributes the item leaves unset.
fn friendly_step(
    it: &ItemT,
    kind: &str,
    name: &str,
    here: &str,
    step: &mut Step,
    attrs: &mut Attrs,
    ctx: &mut Ctx<'_>,
) -> Result<()> {
    if it.step_type.is_some() || it.action.is_some() || it.variables.is_some() {
        return Err(ctx.err(
            here,
            "give either `kind` (friendly) or `type`/`action`/`variables` (raw), not both",
            None,
        ));
    }
    let f = friendly(kind, &it.options, here, ctx)?;
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
    common_attrs(&tmp, attrs);
    step.action = Some(f.action);
    step.vars = Some(f.vars);
    Ok(())
}

/// Fills a raw step from its `type`, `action` and `variables` as given.
fn raw_step(
    it: &ItemT,
    name: &str,
    here: &str,
    step: &mut Step,
    attrs: &mut Attrs,
    ctx: &Ctx<'_>,
) -> Result<()> {
    if let Some(k) = it.options.keys().next() {
        return Err(ctx.err(
            here,
            format!("unknown field `{k}`"),
            Some("friendly options need `kind = \"…\"`; raw steps take type, action, variables, attributes"),
        ));
    }
    if let Some(t) = &it.step_type {
        attrs.push(("type".into(), t.clone()));
    }
    attrs.push(("name".into(), name.into()));
    common_attrs(it, attrs);
    step.action = it.action.clone();
    step.vars = it.variables.as_ref().map(|v| v.iter().map(var).collect());
    Ok(())
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
    leaf(c, loc, ctx)
}

/// A condition expression (`<expression type="SMS_TaskSequence_...ConditionExpression">`).
fn expr(class: &str, p: Vec<(String, String)>, extra: &[(&str, String)]) -> Cond {
    let mut attrs: Attrs = vec![("type".into(), format!("{PREFIX}{class}"))];
    attrs.extend(extra.iter().map(|(k, v)| ((*k).to_string(), v.clone())));
    Cond::Expression { attrs, props: p }
}

/// A leaf condition: variable, WMI, file, folder, registry, software, expression or XML.
fn leaf(c: &CondT, loc: &str, ctx: &Ctx<'_>) -> Result<Cond> {
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

#[cfg(test)]
mod tests {
    use super::kinds::*;
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
