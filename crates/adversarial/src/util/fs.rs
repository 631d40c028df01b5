//! File-system helpers every layer uses: atomic writes, JSON-lines logs and the cache folder.
//! Nothing here knows about GANs, so any module may depend on it.

use anyhow::{Context, Result};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` so that readers only ever see the old or the new content.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .context("path has no file name")?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| {
            format!(
                "cannot write {} (previous version left intact)",
                path.display()
            )
        });
    }
    Ok(())
}

/// Writes `path` through `write`, which is handed a temporary path beside it with the same
/// extension (writers such as `VarStore::save` pick the format by it), then renames it into
/// place: readers only ever see the old or the new file, and a failed write leaves the old
/// one and no temporary file.
pub fn write_via_temp(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path
        .file_name()
        .context("path has no file name")?
        .to_string_lossy();
    let (stem, ext) = name.rsplit_once('.').unwrap_or((&name, "tmp"));
    let tmp = path.with_file_name(format!(".{stem}.tmp-{}.{ext}", std::process::id()));
    let result = write(&tmp).and_then(|()| {
        std::fs::rename(&tmp, path).with_context(|| format!("cannot rename {}", tmp.display()))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| {
        format!(
            "cannot write {} (previous version left intact)",
            path.display()
        )
    })
}

/// The text of `path`, or `None` when it does not exist; any other read error names the file
/// (a missing file is an expected state, an unreadable one is the user's to see).
pub fn read_if_exists(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Opens a JSON-lines log for appending, creating it when missing.
pub fn open_append(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// Appends `value` as one JSON line to `path`.
pub fn append_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut f = open_append(path)?;
    writeln!(f, "{}", serde_json::to_string(value)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// Keeps only the well-formed lines of a JSON-lines log whose `step` is at most `step` (a
/// killed run may have logged past its last checkpoint, or died mid-line).
pub fn truncate_jsonl(path: &Path, step: u64) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let kept: String = text
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v.get("step").and_then(|s| s.as_u64()))
                .is_some_and(|s| s <= step)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    if kept != text {
        write_atomic(path, kept.as_bytes())?;
    }
    Ok(())
}

/// The cache folder: `$GAN_CACHE`, else `~/.cache/adversarial`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("GAN_CACHE") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    Path::new(&home).join(".cache/adversarial")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        write_atomic(&p, b"old").unwrap();
        // a directory where the temporary file should go makes the write fail
        std::fs::create_dir(dir.path().join(format!(".x.tmp-{}", std::process::id()))).unwrap();
        assert!(write_atomic(&p, b"new").is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
    }

    #[test]
    fn write_via_temp_keeps_the_extension_and_the_old_file_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.safetensors");
        write_via_temp(&p, |tmp| {
            assert_eq!(tmp.extension().unwrap(), "safetensors");
            assert_eq!(tmp.parent(), p.parent());
            Ok(std::fs::write(tmp, b"old")?)
        })
        .unwrap();
        let e = write_via_temp(&p, |tmp| {
            std::fs::write(tmp, b"half")?;
            anyhow::bail!("disk full")
        })
        .unwrap_err();
        assert!(format!("{e:#}").contains("w.safetensors"), "{e:#}");
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left");
    }

    #[test]
    fn truncation_keeps_whole_lines_up_to_the_step() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        std::fs::write(&p, "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n{\"st").unwrap();
        truncate_jsonl(&p, 2).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "{\"step\":1}\n{\"step\":2}\n"
        );
        append_json(&p, &serde_json::json!({"step": 3})).unwrap();
        assert!(std::fs::read_to_string(&p)
            .unwrap()
            .ends_with("{\"step\":3}\n"));
    }
}
