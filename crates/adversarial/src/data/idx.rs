//! The IDX format of MNIST and Fashion-MNIST (raw or gzip-compressed).
//!
//! Layout: two zero bytes, an element-type byte (0x08 = unsigned byte, the only type these
//! datasets use), the number of dimensions, each dimension as a big-endian u32, then the data.

use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;

/// An n-dimensional array of bytes read from an IDX file.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Reads an IDX file; gzip is detected from the content, not the file name.
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read IDX file {}", path.display()))?;
    parse_idx(&bytes).with_context(|| format!("IDX file {} is not valid", path.display()))
}

/// Parses IDX bytes (raw or gzip). The caller adds the file name to errors.
pub fn parse_idx(bytes: &[u8]) -> Result<IdxArray> {
    let raw;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .context("gzip stream is corrupt or truncated")?;
        raw = out;
        &raw[..]
    } else {
        bytes
    };
    if bytes.len() < 4 {
        bail!(
            "file is {} bytes long, shorter than the 4-byte IDX header",
            bytes.len()
        );
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        bail!(
            "bad magic number {:02x}{:02x}: an IDX file starts with two zero bytes",
            bytes[0],
            bytes[1]
        );
    }
    if bytes[2] != 0x08 {
        bail!(
            "element type 0x{:02x} is not supported (expected 0x08, unsigned bytes)",
            bytes[2]
        );
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 || ndim > 4 {
        bail!("{ndim} dimensions; expected 1 to 4");
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        bail!(
            "header promises {ndim} dimensions but the file ends after {} bytes",
            bytes.len()
        );
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .context("dimensions overflow")?;
    let body = bytes.len() - header;
    if body != count {
        bail!("dimensions {dims:?} need {count} data bytes but the file has {body}");
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Serialises an array as raw IDX (used by tests and tools that write datasets).
pub fn encode_idx(arr: &IdxArray) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, arr.dims.len() as u8];
    for &d in &arr.dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(&arr.data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn sample() -> IdxArray {
        IdxArray {
            dims: vec![2, 3, 2],
            data: (0..12).collect(),
        }
    }

    #[test]
    fn round_trips_raw_and_gzip() {
        let raw = encode_idx(&sample());
        assert_eq!(parse_idx(&raw).unwrap(), sample());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).unwrap();
        assert_eq!(parse_idx(&gz.finish().unwrap()).unwrap(), sample());
    }

    #[test]
    fn rejects_corrupt_input_with_reasons() {
        let raw = encode_idx(&sample());
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (raw[..raw.len() - 1].to_vec(), "need 12 data bytes"),
            ([&raw[..], &[0]].concat(), "need 12 data bytes"),
            (vec![1, 0, 8, 1, 0, 0, 0, 0], "magic"),
            (vec![0, 0, 0x0d, 1, 0, 0, 0, 0], "element type"),
            (vec![0, 0, 8, 9], "dimensions"),
            (vec![0, 0, 8], "shorter"),
            (vec![0x1f, 0x8b, 8, 0, 1, 2], "gzip"),
            (
                vec![
                    0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                    0xff,
                ],
                "overflow",
            ),
        ];
        for (bytes, want) in cases {
            let err = format!("{:#}", parse_idx(&bytes).unwrap_err());
            assert!(err.contains(want), "{err} should mention {want}");
        }
    }

    #[test]
    fn missing_file_names_the_file() {
        let err = format!(
            "{:#}",
            read_idx(Path::new("/nonexistent/x-idx3-ubyte")).unwrap_err()
        );
        assert!(err.contains("/nonexistent/x-idx3-ubyte"), "{err}");
    }
}
