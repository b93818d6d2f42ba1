//! ADE profiles (`ade::profile::Profile::parse` TOML, `ade::parse_json` + `build::detect` +
//! `from_graph`/`from_apple` JSON) and lint: no panic; a TOML profile's Graph body imports back
//! to a profile that rebuilds the same body, and its TOML rendering reads back the same.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use peforge::ade::{self, apple, build, lint, profile};

// A macro, not a function: the fuzz crate does not depend on serde_json, so the Graph map's
// type is never named here.
macro_rules! lint_it {
    ($text:expr, $form:expr, $p:expr, $graph:expr) => {{
        let certs = build::inline_certs($p);
        let input = lint::Input {
            source: "fuzz",
            text: $text,
            form: $form,
            profile: $p,
            certs: &certs,
            graph: $graph,
        };
        let _ = lint::lint(&input, &lint::Context::default());
    }};
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz");
    if let Ok(p) = profile::Profile::parse(text, path) {
        lint_it!(text, lint::Form::Toml, &p, None);
        let certs = build::inline_certs(&p);
        if let Ok(body) = build::to_graph(&p, &certs) {
            let back = build::from_graph(&body, path).expect("peforge's own body must import");
            assert_eq!(
                build::to_graph(&back, &build::inline_certs(&back)).unwrap(),
                body
            );
        }
        let _ = apple::to_apple(&p, &certs);
        let t = profile::to_toml(&p);
        let again = profile::Profile::parse(&t, path).expect("rendered TOML must read back");
        assert_eq!(profile::to_toml(&again), t);
    }
    if let Ok(v) = ade::parse_json(text, path)
        && let Ok(form) = build::detect(&v, path)
        && let Some(m) = v.as_object()
    {
        match form {
            build::JsonForm::Apple => {
                if let Ok(p) = apple::from_apple(m, path) {
                    lint_it!(text, lint::Form::Apple, &p, None);
                }
            }
            build::JsonForm::Graph | build::JsonForm::GraphOld => {
                if let Ok(p) = build::from_graph(m, path) {
                    lint_it!(text, lint::Form::Graph, &p, Some(m));
                    let t = profile::to_toml(&p);
                    let _ =
                        profile::Profile::parse(&t, path).expect("imported TOML must read back");
                }
            }
            build::JsonForm::GraphList => {}
        }
    }
});
