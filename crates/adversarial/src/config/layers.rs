//! How a config is assembled: a type's defaults, overlaid with a TOML file (and the files
//! it `extends`), then with `key=value` overrides. Unknown keys and values of the wrong TOML
//! type are errors that name the key.

use crate::util::text::closest;
use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;
use std::path::Path;

/// `T`'s defaults as TOML, overlaid with the file (and the files it `extends`), then with
/// `key=value` overrides; unknown keys and wrong types are errors naming the key.
pub(crate) fn layered<T: Serialize + Default>(
    file: Option<&Path>,
    overrides: &[String],
) -> Result<toml::Value> {
    let mut value = toml::Value::try_from(T::default())?;
    if let Some(path) = file {
        for (table, origin) in config_layers(path)? {
            merge(&mut value, toml::Value::Table(table), "")
                .with_context(|| format!("in {origin}"))?;
        }
    }
    for ov in overrides {
        apply_override(&mut value, ov)?;
    }
    Ok(value)
}

/// Like [`layered`] for a config among built-in files (`files`: name → text), whose
/// `extends` names another file of the same set.
pub(crate) fn layered_builtin<T: Serialize + Default>(
    files: &[(&str, &str)],
    name: &str,
    overrides: &[String],
) -> Result<toml::Value> {
    let mut layers = Vec::new();
    let mut next = Some(name.to_string());
    while let Some(name) = next.take() {
        let origin = format!("the built-in {name}");
        if layers.len() >= 8 {
            bail!("{origin}: `extends` chain deeper than 8 files (a cycle?)");
        }
        let Some((_, text)) = files.iter().find(|(n, _)| *n == name) else {
            let known: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
            bail!("no built-in config {name:?} (known: {})", known.join(", "));
        };
        let (table, base) = parse_layer(text, &origin)?;
        next = base;
        layers.push((table, origin));
    }
    let mut value = toml::Value::try_from(T::default())?;
    for (table, origin) in layers.into_iter().rev() {
        merge(&mut value, toml::Value::Table(table), "").with_context(|| format!("in {origin}"))?;
    }
    for ov in overrides {
        apply_override(&mut value, ov)?;
    }
    Ok(value)
}

/// A config file's table without its `extends` key, and the file that key names.
fn parse_layer(text: &str, origin: &str) -> Result<(toml::Table, Option<String>)> {
    let mut table: toml::Table =
        toml::from_str(text).with_context(|| format!("{origin} is not valid TOML"))?;
    match table.remove("extends") {
        None => Ok((table, None)),
        Some(toml::Value::String(base)) => Ok((table, Some(base))),
        Some(other) => {
            bail!("in {origin}: config key `extends`: expected a file path string, got {other}")
        }
    }
}

/// Deserialises a merged TOML value, naming the key of any type error.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(value: toml::Value) -> Result<T> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| anyhow!("config key `{}`: {}", e.path(), e.inner()))
}

/// Merges a complete TOML text (as written into a run directory) over `T`'s defaults.
pub(crate) fn complete<T: Serialize + Default>(text: &str) -> Result<toml::Value> {
    let table: toml::Table = toml::from_str(text).context("config is not valid TOML")?;
    let mut value = toml::Value::try_from(T::default())?;
    merge(&mut value, toml::Value::Table(table), "")?;
    Ok(value)
}

/// The tables of a config file and of the files it `extends`, base first.
fn config_layers(path: &Path) -> Result<Vec<(toml::Table, String)>> {
    let mut layers = Vec::new();
    let mut next = Some(path.to_path_buf());
    while let Some(path) = next.take() {
        let origin = format!("config file {}", path.display());
        if layers.len() >= 8 {
            bail!("{origin}: `extends` chain deeper than 8 files (a cycle?)");
        }
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {origin}"))?;
        let (table, base) = parse_layer(&text, &origin)?;
        if let Some(base) = base {
            next = Some(path.parent().unwrap_or(Path::new(".")).join(base));
        }
        layers.push((table, origin));
    }
    layers.reverse();
    Ok(layers)
}

/// Overlays `new` onto `base`, refusing keys that `base` (the defaults) does not have and
/// values whose TOML type differs from the default's (an integer may stand for a float).
pub(super) fn merge(base: &mut toml::Value, new: toml::Value, prefix: &str) -> Result<()> {
    match (base, new) {
        (toml::Value::Table(b), toml::Value::Table(n)) => {
            for (k, v) in n {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v, &path)?,
                    None => {
                        let known: Vec<&str> = b.keys().map(String::as_str).collect();
                        let hint = closest(&k, &known).map_or(String::new(), |c| {
                            let full = if prefix.is_empty() {
                                c.to_string()
                            } else {
                                format!("{prefix}.{c}")
                            };
                            format!("did you mean `{full}`? ")
                        });
                        bail!(
                            "unknown config key `{path}` ({hint}known here: {})",
                            known.join(", ")
                        )
                    }
                }
            }
            Ok(())
        }
        (slot @ toml::Value::Float(_), toml::Value::Integer(i)) => {
            *slot = toml::Value::Float(i as f64);
            Ok(())
        }
        (slot, v) => {
            if std::mem::discriminant(slot) != std::mem::discriminant(&v) {
                bail!(
                    "config key `{prefix}`: expected {}, got {} ({v})",
                    slot.type_str(),
                    v.type_str()
                );
            }
            *slot = v;
            Ok(())
        }
    }
}

/// Applies one `a.b.c=value` override; the value is parsed as TOML, or taken as a bare
/// string when it is not valid TOML (so `data.source=folder` works without quotes).
pub(super) fn apply_override(value: &mut toml::Value, ov: &str) -> Result<()> {
    let (key, raw) = ov
        .split_once('=')
        .ok_or_else(|| anyhow!("override {ov:?} is not of the form key=value"))?;
    let key = key.trim();
    let parsed: toml::Value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => t.remove("v").expect("key v"),
        Err(_) => toml::Value::String(raw.to_string()),
    };
    let mut nested = parsed;
    for part in key.rsplit('.') {
        let mut t = toml::Table::new();
        t.insert(part.to_string(), nested);
        nested = toml::Value::Table(t);
    }
    merge(value, nested, "").with_context(|| format!("in override {ov:?}"))
}
