//! Loading a [`Config`]: typed defaults, then a file (or built-in text), then `key=value`
//! overrides, then validation; and writing one back as TOML.

use super::layers::{self, apply_override, complete, layered, merge, typed};
use super::Config;
use anyhow::{Context, Result};
use std::path::Path;

/// The main job's config file (`configs/default.toml`): the typed defaults of [`Config`] are
/// the classic DCGAN every other config starts from; this file is what `./gan train` runs.
pub const MAIN_JOB: &str = include_str!("../../../../configs/default.toml");

impl Config {
    /// Defaults, then the TOML file (if any), then `key=value` overrides, then validation.
    ///
    /// A file may start from another with a top-level `extends = "other.toml"` (a path
    /// relative to the file): the base is applied first, then the file's own keys, so an
    /// experiment file holds only what it changes.
    pub fn resolve(file: Option<&Path>, overrides: &[String]) -> Result<Config> {
        Config::from_value(layered::<Config>(file, overrides)?)
    }

    /// The main job (`configs/default.toml`, built in): what `gan train` trains when it is
    /// given no config file, with `overrides` applied.
    pub fn main_job(overrides: &[String]) -> Result<Config> {
        Config::resolve_text(MAIN_JOB, "the built-in configs/default.toml", overrides)
    }

    /// Like [`Config::resolve`] for one of a set of built-in files (`files`: name → text,
    /// e.g. a reproduction protocol's presets), whose `extends` names another of the set.
    pub fn resolve_builtin(
        files: &[(&str, &str)],
        name: &str,
        overrides: &[String],
    ) -> Result<Config> {
        Config::from_value(layers::layered_builtin::<Config>(files, name, overrides)?)
    }

    /// The dotted keys (`train.lr_g`) whose values differ between two configs, but those in
    /// `except` (keys a comparison allows to differ).
    pub fn differing_keys(&self, other: &Config, except: &[&str]) -> Result<Vec<String>> {
        let (a, b) = (leaves(self)?, leaves(other)?);
        Ok(a.keys()
            .chain(b.keys().filter(|k| !a.contains_key(*k)))
            .filter(|k| a.get(*k) != b.get(*k) && !except.contains(&k.as_str()))
            .cloned()
            .collect())
    }

    /// Like [`Config::resolve`] with the file's text given; `origin` names it in errors.
    pub fn resolve_text(text: &str, origin: &str, overrides: &[String]) -> Result<Config> {
        let mut value = toml::Value::try_from(Config::default())?;
        let table: toml::Table =
            toml::from_str(text).with_context(|| format!("{origin} is not valid TOML"))?;
        merge(&mut value, toml::Value::Table(table), "").with_context(|| format!("in {origin}"))?;
        for ov in overrides {
            apply_override(&mut value, ov)?;
        }
        Config::from_value(value)
    }

    /// Parses a complete configuration (as written into a run directory).
    pub fn from_toml_str(text: &str) -> Result<Config> {
        Config::from_value(complete::<Config>(text)?)
    }

    fn from_value(value: toml::Value) -> Result<Config> {
        let cfg: Config = typed(value)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The resolved configuration as TOML text.
    pub fn to_toml_string(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises")
    }
}

/// Every leaf of a config by dotted key.
fn leaves(cfg: &Config) -> Result<std::collections::BTreeMap<String, toml::Value>> {
    fn walk(
        prefix: &str,
        v: toml::Value,
        out: &mut std::collections::BTreeMap<String, toml::Value>,
    ) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let key = if prefix.is_empty() {
                        k
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            leaf => {
                out.insert(prefix.to_string(), leaf);
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk("", toml::Value::try_from(cfg)?, &mut out);
    Ok(out)
}
