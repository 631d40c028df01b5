//! Tests of config resolution: defaults, files, `extends`, overrides and refusals by key.

use super::*;
use std::path::Path;

#[test]
fn defaults_validate_and_round_trip() {
    let cfg = Config::default();
    cfg.validate().unwrap();
    let back = Config::from_toml_str(&cfg.to_toml_string()).unwrap();
    assert_eq!(back, cfg);
}

/// Every preset of Lucic et al.'s protocol resolves (through its `extends`) to their
/// networks, batch and budget.
#[test]
fn lucic_presets_share_the_protocol() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/lucic");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('_') {
            continue;
        }
        let cfg = Config::resolve(Some(&e.path()), &[]).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        // BEGAN's D is an auto-encoder beside the same G
        let arch = if name.starts_with("began") {
            "began"
        } else {
            "infogan"
        };
        assert_eq!(cfg.model.arch, arch, "{name}");
        assert_eq!(cfg.data.source, "fashion-mnist", "{name}");
        assert_eq!(cfg.train.batch_size, 64, "{name}");
        // the budget is 15,625 D steps whatever the D steps per iteration
        assert_eq!(cfg.train.steps * cfg.train.d_steps as u64, 15_625, "{name}");
        n += 1;
    }
    assert_eq!(n, 8, "the seven rows and our recipe");
}

/// `data.source` resolves to one typed value per name and back, the groups are the ones
/// the rules use, and an unknown name is refused with the key and the accepted names.
#[test]
fn data_sources_resolve_once_into_typed_values() {
    use names::{DataSource, DATA_SOURCES};
    for (name, s) in DATA_SOURCES.iter().zip(DataSource::ALL) {
        assert_eq!(DataSource::parse(name).unwrap(), s);
        assert_eq!(s.name(), *name);
    }
    let group = |f: fn(DataSource) -> bool| -> Vec<&str> {
        DataSource::ALL
            .into_iter()
            .filter(|s| f(*s))
            .map(DataSource::name)
            .collect()
    };
    assert_eq!(group(DataSource::is_toy), ["toy", "points"]);
    assert_eq!(group(DataSource::is_paired), ["emoji", "paired-folder"]);
    assert_eq!(
        group(DataSource::is_captioned),
        ["emoji-captions", "captions"]
    );
    let e = Config::resolve(None, &["data.source=\"cifar\"".into()]).unwrap_err();
    assert!(
        format!("{e:#}")
            .contains("config key `data.source`: unknown value \"cifar\", expected one of mnist5k"),
        "{e:#}"
    );
    assert_eq!(Config::default().data.source(), DataSource::Mnist5k);
}

#[test]
fn file_and_overrides_apply_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.toml");
    std::fs::write(
        &path,
        "seed = 3\n[train]\nsteps = 10\nlr_d = 1\n[model]\narch = \"mlp\"\n",
    )
    .unwrap();
    let cfg = Config::resolve(
        Some(&path),
        &["train.steps=20".into(), "data.source=folder".into()],
    )
    .unwrap();
    assert_eq!(cfg.seed, 3);
    assert_eq!(cfg.train.steps, 20);
    assert_eq!(cfg.train.lr_d, 1.0);
    assert_eq!(cfg.model.arch, "mlp");
    assert_eq!(cfg.data.source, "folder");
    assert_eq!(cfg.train.batch_size, 64);
}

#[test]
fn extends_applies_the_base_first_and_reports_bad_chains() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(
        dir.path().join("base.toml"),
        "seed = 7\n[train]\nsteps = 10\nbatch_size = 32\n",
    )
    .unwrap();
    let exp = dir.path().join("sub/exp.toml");
    std::fs::write(&exp, "extends = \"../base.toml\"\n[train]\nsteps = 20\n").unwrap();
    let cfg = Config::resolve(Some(&exp), &["train.batch_size=16".into()]).unwrap();
    assert_eq!(
        (cfg.seed, cfg.train.steps, cfg.train.batch_size),
        (7, 20, 16)
    );
    // a missing base names the file that could not be read
    std::fs::write(&exp, "extends = \"nope.toml\"\n").unwrap();
    let err = format!("{:#}", Config::resolve(Some(&exp), &[]).unwrap_err());
    assert!(err.contains("nope.toml"), "{err}");
    // a cycle stops with an error instead of looping
    std::fs::write(&exp, "extends = \"exp.toml\"\n").unwrap();
    let err = format!("{:#}", Config::resolve(Some(&exp), &[]).unwrap_err());
    assert!(err.contains("extends"), "{err}");
}

#[test]
fn shipped_example_configs_are_valid() {
    let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")];
    let mut n = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            // configs/text/ holds sequence-GAN configs (`gan text train`)
            let checked = if path.components().any(|c| c.as_os_str() == "text") {
                TextConfig::resolve(Some(&path), &[]).map(|_| ())
            } else {
                Config::resolve(Some(&path), &[]).map(|_| ())
            };
            checked.unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            n += 1;
        }
    }
    assert!(n >= 3);
}

#[test]
fn unknown_keys_and_bad_types_name_the_key() {
    let err = Config::resolve(None, &["train.stpes=3".into()]).unwrap_err();
    assert!(format!("{err:#}").contains("train.stpes"), "{err:#}");
    let err = Config::resolve(None, &["train.steps=fast".into()]).unwrap_err();
    assert!(format!("{err:#}").contains("train.steps"), "{err:#}");
    let err = Config::resolve(None, &["model.arch=resnet".into()]).unwrap_err();
    assert!(format!("{err:#}").contains("model.arch"), "{err:#}");
    let err = Config::resolve(None, &["train.steps=-1".into()]).unwrap_err();
    assert!(format!("{err:#}").contains("train.steps"), "{err:#}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[trian]\nsteps = 1\n").unwrap();
    let err = Config::resolve(Some(&path), &[]).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("trian") && msg.contains("bad.toml"), "{msg}");
}

/// BEGAN's loss and its auto-encoder D come together, and its D takes no penalty.
#[test]
fn began_needs_its_auto_encoder_and_no_penalty() {
    let with = |keys: &[&str]| {
        let mut all = vec!["model.resolution=28".to_string()];
        all.extend(keys.iter().map(|k| k.to_string()));
        Config::resolve(None, &all)
    };
    let (arch, loss) = ("model.arch=\"began\"", "loss.name=\"began\"");
    let err = format!("{:#}", with(&[arch]).unwrap_err());
    assert!(
        err.contains("model.arch") && err.contains("loss.name"),
        "{err}"
    );
    let err = format!("{:#}", with(&[loss]).unwrap_err());
    assert!(err.contains("loss.name"), "{err}");
    let err = format!("{:#}", with(&[arch, loss, "regularizer.r1=1"]).unwrap_err());
    assert!(err.contains("regularizer.r1"), "{err}");
    let err = format!(
        "{:#}",
        with(&[arch, loss, "loss.began_lambda_k=0"]).unwrap_err()
    );
    assert!(err.contains("loss.began_lambda_k"), "{err}");
    let err = format!(
        "{:#}",
        with(&[arch, loss, "model.d_norm=\"layer\""]).unwrap_err()
    );
    assert!(err.contains("model.d_norm"), "{err}");
    with(&[arch, loss]).unwrap();
}

/// BatchNorm's ε must be positive and its momentum in (0, 1]; the refusal names the key.
#[test]
fn batch_norm_numbers_are_checked_by_key() {
    for (key, bad) in [
        ("model.bn_epsilon", "0"),
        ("model.bn_epsilon", "-1e-3"),
        ("model.bn_momentum", "0"),
        ("model.bn_momentum", "1.5"),
    ] {
        let err = format!(
            "{:#}",
            Config::resolve(None, &[format!("{key}={bad}")]).unwrap_err()
        );
        assert!(err.contains(key), "{key}={bad}: {err}");
    }
    let cfg = Config::resolve(
        None,
        &["model.bn_epsilon=1e-3".into(), "model.bn_momentum=1".into()],
    )
    .unwrap();
    assert_eq!((cfg.model.bn_epsilon, cfg.model.bn_momentum), (1e-3, 1.0));
}

/// DRAGAN on σ(D) is refused where D's output is no probability, naming the key.
#[test]
fn dragan_on_the_probability_needs_a_probability() {
    let base = [
        "model.d_norm=\"none\"".to_string(),
        "regularizer.dragan=10".into(),
        "regularizer.dragan_output=\"probability\"".into(),
    ];
    Config::resolve(None, &base).unwrap();
    let mut wgan = base.to_vec();
    wgan.push("loss.name=\"wasserstein\"".into());
    let err = format!("{:#}", Config::resolve(None, &wgan).unwrap_err());
    assert!(
        err.contains("regularizer.dragan_output") && err.contains("wasserstein"),
        "{err}"
    );
    let err = Config::resolve(None, &["regularizer.dragan_output=\"sigmoid\"".into()]).unwrap_err();
    assert!(
        format!("{err:#}").contains("regularizer.dragan_output"),
        "{err:#}"
    );
}
