//! Model → TOML, as `peforge ts import` writes it: raw step form (lossless), conditions in
//! friendly form when that form rebuilds them exactly.

use std::path::Path;

use super::{CondT, Ctx, Doc, ItemT, PREFIX, RefT, SeqT, VarT, cond};
use crate::ts::model::PackageInfo;
use crate::ts::model::{Attrs, Cond, Condition, Item, Sequence, Variable};
use crate::ts::xml::{self, Element};

/// Deepest group nesting `import` writes. Each level adds one `steps` to a `[[steps.steps…]]`
/// header and the TOML reader stops at its recursion limit (about 80 keys), so deeper XML
/// (the XML reader allows [`xml::MAX_DEPTH`] elements) could be written but not read back.
pub const MAX_GROUP_DEPTH: usize = 64;

/// Refuses, naming the XML file, a sequence whose groups nest deeper than
/// [`MAX_GROUP_DEPTH`] (lint and build still read it as XML).
pub fn check_depth(seq: &Sequence, path: &Path) -> crate::ts::Result<()> {
    fn depth(items: &[Item]) -> usize {
        items
            .iter()
            .map(|i| match i {
                Item::Group(g) => depth(&g.items).saturating_add(1),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }
    if depth(&seq.items) > MAX_GROUP_DEPTH {
        return Err(crate::ts::Error::Limit {
            path: path.into(),
            what: "group nesting depth for the TOML authoring format",
            limit: MAX_GROUP_DEPTH as u64,
        });
    }
    Ok(())
}

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
                    xml: Some(xml::to_string(&crate::ts::model::item_element(it))),
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
                    xml: Some(xml::to_string(&crate::ts::model::item_element(it))),
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
        xml: Some(xml::to_string(&crate::ts::model::condition_element(c))),
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
            at: Vec::new(),
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
    let e = crate::ts::model::condition_element(&cd);
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
    // Variables read best one per line; fall back to the plain form if anything is unexpected.
    let body = inline_variables(&body).unwrap_or(body);
    Ok(format!(
        "# Task sequence in peforge's TOML authoring format (peforge ts build turns it back into XML).\n{body}"
    ))
}

/// Rewrites every `[[…variables]]` and `[[references]]` array of tables as an array of inline
/// tables, one per line.
fn inline_variables(text: &str) -> Option<String> {
    use toml_edit::{Array, DocumentMut, Item, Table, Value};
    fn walk(t: &mut Table) {
        let keys: Vec<String> = t.iter().map(|(k, _)| k.to_string()).collect();
        for k in keys {
            let Some(item) = t.get_mut(&k) else { continue };
            match item {
                Item::ArrayOfTables(aot) if k == "variables" || k == "references" => {
                    let mut arr = Array::new();
                    for tbl in aot.iter() {
                        let mut inline = tbl.clone().into_inline_table();
                        inline.fmt();
                        arr.push_formatted(Value::InlineTable(inline).decorated("\n    ", ""));
                    }
                    arr.set_trailing("\n");
                    arr.set_trailing_comma(true);
                    // Re-insert so the key gets default formatting (`variables = [`).
                    t.remove(&k);
                    t.insert(&k, Item::Value(Value::Array(arr)));
                }
                Item::ArrayOfTables(aot) => {
                    for tbl in aot.iter_mut() {
                        walk(tbl);
                    }
                }
                Item::Table(tb) => walk(tb),
                _ => {}
            }
        }
    }
    let mut d: DocumentMut = text.parse().ok()?;
    walk(d.as_table_mut());
    let mut out = d.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Some(out)
}
