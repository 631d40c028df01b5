//! Checkpoints: one safetensors file holding G, D, the EMA copy and both optimisers'
//! state, with the step, data position, format version and resolved config in its
//! metadata. Files are written atomically (temporary file, fsync, rename, fsync of the
//! folder), so a crash or a full disk leaves the previous checkpoint intact.

use crate::data::BatcherState;
use crate::util::fs::write_atomic;
use anyhow::{bail, Context, Result};
use safetensors::tensor::{Dtype, SafeTensors, View};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tch::{nn, Device, Kind, Tensor};

/// Bumped whenever the tensor names or metadata change meaning.
pub const FORMAT_VERSION: u32 = 1;
const FORMAT_NAME: &str = "adversarial-checkpoint";

/// Everything in a checkpoint besides the tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    pub format_version: u32,
    /// Completed training iterations.
    pub step: u64,
    /// Position of the real-data stream.
    pub batcher: BatcherState,
    /// Training seconds spent up to this checkpoint, over all sessions.
    pub elapsed_s: f64,
    /// The resolved config, TOML.
    pub config: String,
    /// Learning-rate multiplier left by divergence rollbacks (1 when none happened).
    #[serde(default = "one")]
    pub lr_factor: f64,
}

fn one() -> f64 {
    1.0
}

/// A loaded checkpoint: named tensors on the CPU plus metadata.
pub struct Checkpoint {
    pub tensors: HashMap<String, Tensor>,
    pub meta: CheckpointMeta,
}

struct Raw {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &Raw {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn dtype_of(kind: Kind) -> Result<(Dtype, usize)> {
    Ok(match kind {
        Kind::Float => (Dtype::F32, 4),
        Kind::Double => (Dtype::F64, 8),
        Kind::Half => (Dtype::F16, 2),
        Kind::BFloat16 => (Dtype::BF16, 2),
        Kind::Int64 => (Dtype::I64, 8),
        Kind::Int => (Dtype::I32, 4),
        Kind::Uint8 => (Dtype::U8, 1),
        k => bail!("cannot store tensors of kind {k:?}"),
    })
}

fn kind_of(dtype: Dtype) -> Result<Kind> {
    Ok(match dtype {
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
        Dtype::F16 => Kind::Half,
        Dtype::BF16 => Kind::BFloat16,
        Dtype::I64 => Kind::Int64,
        Dtype::I32 => Kind::Int,
        Dtype::U8 => Kind::Uint8,
        d => bail!("unsupported tensor type {d:?}"),
    })
}

/// Serialises tensors and metadata into safetensors bytes.
pub fn encode(tensors: &[(String, Tensor)], meta: &CheckpointMeta) -> Result<Vec<u8>> {
    let mut raws = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let t = t.detach().to_device(Device::Cpu).contiguous();
        let (dtype, size) = dtype_of(t.kind())?;
        let mut data = vec![0u8; t.numel() * size];
        t.copy_data_u8(&mut data, t.numel());
        raws.push((
            name.clone(),
            Raw {
                dtype,
                shape: t.size().iter().map(|&d| d as usize).collect(),
                data,
            },
        ));
    }
    let mut info = HashMap::new();
    info.insert("format".to_string(), FORMAT_NAME.to_string());
    info.insert("meta".to_string(), serde_json::to_string(meta)?);
    Ok(safetensors::serialize(
        raws.iter().map(|(n, r)| (n.as_str(), r)),
        &Some(info),
    )?)
}

/// Writes a checkpoint atomically.
pub fn save(path: &Path, tensors: &[(String, Tensor)], meta: &CheckpointMeta) -> Result<()> {
    write_atomic(path, &encode(tensors, meta)?)
}

/// Reads a checkpoint; errors name the file and what is wrong with it.
pub fn load(path: &Path) -> Result<Checkpoint> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read checkpoint {}", path.display()))?;
    decode(&bytes).with_context(|| format!("checkpoint {} is not usable", path.display()))
}

/// Parses checkpoint bytes.
pub fn decode(bytes: &[u8]) -> Result<Checkpoint> {
    let (_, header) = SafeTensors::read_metadata(bytes)
        .context("not a safetensors file (corrupt or truncated)")?;
    let info = header.metadata().clone().unwrap_or_default();
    if info.get("format").map(String::as_str) != Some(FORMAT_NAME) {
        bail!("not an adversarial checkpoint (metadata `format` is missing)");
    }
    let meta: CheckpointMeta =
        serde_json::from_str(info.get("meta").context("metadata `meta` is missing")?)
            .context("metadata `meta` is malformed")?;
    if meta.format_version != FORMAT_VERSION {
        bail!(
            "checkpoint format version {} is not supported (this build reads {FORMAT_VERSION})",
            meta.format_version
        );
    }
    if !(meta.lr_factor > 0.0 && meta.lr_factor <= 1.0) {
        bail!(
            "metadata `lr_factor` is {}; expected a learning-rate multiplier in (0, 1]",
            meta.lr_factor
        );
    }
    let st = SafeTensors::deserialize(bytes).context("tensor data is corrupt or truncated")?;
    let mut tensors = HashMap::new();
    for (name, view) in st.tensors() {
        let kind = kind_of(view.dtype()).with_context(|| format!("tensor {name}"))?;
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        tensors.insert(name, Tensor::from_data_size(view.data(), &shape, kind));
    }
    Ok(Checkpoint { tensors, meta })
}

/// Named variables of a var store under `prefix.` (weights and BatchNorm statistics).
pub fn named_vars(prefix: &str, vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(n, t)| (format!("{prefix}.{n}"), t))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Copies the tensors under `prefix.` into `vs`, requiring an exact match of names and shapes.
pub fn load_vars(ckpt: &Checkpoint, prefix: &str, vs: &nn::VarStore) -> Result<()> {
    let vars = vs.variables();
    for (name, var) in &vars {
        let key = format!("{prefix}.{name}");
        let src = ckpt.tensors.get(&key).with_context(|| {
            format!("checkpoint lacks tensor {key}: it was written for a different model")
        })?;
        if src.size() != var.size() {
            bail!(
                "checkpoint tensor {key} has shape {:?} but the model expects {:?}: it was written for a different model config",
                src.size(),
                var.size()
            );
        }
        let mut var = var.shallow_clone();
        tch::no_grad(|| var.copy_(src));
    }
    let dot = format!("{prefix}.");
    if let Some(extra) = ckpt
        .tensors
        .keys()
        .find(|k| k.starts_with(&dot) && !vars.contains_key(&k[dot.len()..]))
    {
        bail!("checkpoint has tensor {extra} that the model does not: it was written for a different model config");
    }
    Ok(())
}

/// The latest checkpoint of a run directory, or the file itself.
pub fn resolve_path(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(LATEST)
    } else {
        path.to_path_buf()
    }
}

/// File name of the latest checkpoint inside a run directory.
pub const LATEST: &str = "checkpoint.safetensors";

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> CheckpointMeta {
        CheckpointMeta {
            format_version: FORMAT_VERSION,
            step: 7,
            batcher: BatcherState {
                epoch: 1,
                position: 64,
            },
            elapsed_s: 1.5,
            config: "seed = 1\n".into(),
            lr_factor: 1.0,
        }
    }

    #[test]
    fn round_trips_tensors_and_meta() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.safetensors");
        let a = Tensor::randn([3, 4], (Kind::Float, Device::Cpu));
        let b = Tensor::from_slice(&[1i64, 2, 3]);
        save(
            &p,
            &[
                ("a".into(), a.shallow_clone()),
                ("b".into(), b.shallow_clone()),
            ],
            &meta(),
        )
        .unwrap();
        let c = load(&p).unwrap();
        assert_eq!(c.meta, meta());
        assert!(c.tensors["a"].equal(&a));
        assert!(c.tensors["b"].equal(&b));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left behind"
        );
    }

    #[test]
    fn corrupt_or_foreign_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.safetensors");
        let bytes = encode(
            &[("a".into(), Tensor::ones([64], (Kind::Float, Device::Cpu)))],
            &meta(),
        )
        .unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 10]).unwrap();
        let err = format!("{:#}", load(&p).err().unwrap());
        assert!(
            err.contains("c.safetensors") && err.contains("truncated"),
            "{err}"
        );
        std::fs::write(&p, b"hello").unwrap();
        assert!(format!("{:#}", load(&p).err().unwrap()).contains("not a safetensors"));
        let plain = safetensors::serialize(Vec::<(&str, &Raw)>::new(), &None).unwrap();
        std::fs::write(&p, plain).unwrap();
        assert!(format!("{:#}", load(&p).err().unwrap()).contains("not an adversarial checkpoint"));
        let mut m = meta();
        m.format_version = 99;
        std::fs::write(&p, encode(&[], &m).unwrap()).unwrap();
        assert!(format!("{:#}", load(&p).err().unwrap()).contains("version 99"));
    }

    #[test]
    fn loading_into_a_different_model_names_the_tensor() {
        let vs = nn::VarStore::new(Device::Cpu);
        let _ = vs.root().zeros("w", &[2, 3]);
        let other = nn::VarStore::new(Device::Cpu);
        let _ = other.root().zeros("w", &[4, 3]);
        let ckpt = Checkpoint {
            tensors: named_vars("g", &other).into_iter().collect(),
            meta: meta(),
        };
        let err = format!("{:#}", load_vars(&ckpt, "g", &vs).unwrap_err());
        assert!(err.contains("g.w") && err.contains("[4, 3]"), "{err}");
    }
}
