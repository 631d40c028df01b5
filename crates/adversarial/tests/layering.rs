//! The library's modules form layers in the order data flows (docs/architecture.md): a
//! module may import the modules of its own layer or below, never above, so there is no
//! import cycle and a newcomer can read the crate bottom up. This reads every source file
//! and names each import that breaks the order. Unit tests inline after `#[cfg(test)]` may
//! import anything; a test module in a file of its own (`mod tests;`) is read as code, as the
//! workplace's cycle check (`modcycles.py`) reads it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bottom to top; modules on one line are one layer and may use each other.
const LAYERS: &[&[&str]] = &[
    &["util"],
    &["rng", "native", "distributed"],
    &["device", "optim", "profile"],
    &["config"],
    &["data"],
    &["models"],
    &["losses", "regularizers"],
    &["checkpoint"],
    &["sampling", "pretrained"],
    &["metrics"],
    &["train"],
    &["report"],
    &["lab"],
    &["evaluate"],
    &["run"],
    &["bench", "translate", "reproduce"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules that `text` names as `crate::NAME`, outside comments.
fn imports(text: &str) -> Vec<String> {
    // comments removed, lines joined, so grouped imports over several lines read as one
    let code: Vec<&str> = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect();
    let code = code.join(" ");
    let mut found = Vec::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(brace) = rest.strip_prefix('{') {
            // use crate::{a::b, c::{d, e}, f}: the first name of each top-level item
            let (mut depth, mut item) = (0, String::new());
            for c in brace.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item.push('\n'),
                    _ if depth == 0 => item.push(c),
                    _ => {}
                }
            }
            for part in item.split('\n') {
                let name = part.trim().split("::").next().unwrap_or_default();
                if !name.is_empty() && name != "self" {
                    found.push(name.to_string());
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
        }
    }
    found
}

#[test]
fn no_module_imports_one_above_its_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut unknown = BTreeMap::new();
    let mut violations = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" {
            continue;
        }
        let Some(own) = layer_of(&top) else {
            unknown.insert(top.clone(), rel.display().to_string());
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for m in imports(code) {
            match layer_of(&m) {
                Some(l) if l > own => violations.push(format!(
                    "{} imports crate::{m} (a higher layer)",
                    rel.display()
                )),
                Some(_) => {}
                None => {
                    unknown.insert(m, rel.display().to_string());
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules missing from LAYERS (add them where they belong): {unknown:?}"
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_import_reader_sees_plain_and_grouped_imports() {
    let text = "use crate::config::Config;\nuse crate::{\n    run::{dir, text},\n    util::fs,\n};\n// crate::lab in a comment\nlet x = crate::rng::torch_rng();";
    assert_eq!(imports(text), ["config", "run", "util", "rng"]);
}
