//! TensorBoard event files (`train.tensorboard = true`), so that users' existing tools read
//! our runs: scalars and PNG images in TensorFlow's `Event` protocol buffer, framed as
//! TFRecords (length, masked CRC-32C of the length, data, masked CRC-32C of the data).
//!
//! The few messages needed are encoded by hand; field numbers follow TensorFlow's
//! `event.proto` and `summary.proto`.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Appends events to one `events.out.tfevents.*` file.
pub struct EventWriter {
    file: std::io::BufWriter<std::fs::File>,
    path: PathBuf,
}

impl EventWriter {
    /// Starts a new event file in `dir` (created if missing), named as TensorFlow names
    /// them, so each training session of a run adds its own file.
    pub fn create(dir: &Path) -> Result<EventWriter> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        let path = dir.join(format!(
            "events.out.tfevents.{}.{host}.{}",
            now.as_secs(),
            std::process::id()
        ));
        let file = std::fs::File::create(&path)
            .with_context(|| format!("creating TensorBoard event file {}", path.display()))?;
        let mut w = EventWriter {
            file: std::io::BufWriter::new(file),
            path,
        };
        let mut ev = Vec::new();
        field_double(&mut ev, 1, now.as_secs_f64());
        field_bytes(&mut ev, 3, b"brain.Event:2");
        w.record(&ev)?;
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Scalars at one step, one `Summary.Value` each (`tag`, `simple_value`).
    pub fn scalars(&mut self, step: u64, values: &[(&str, f64)]) -> Result<()> {
        let mut summary = Vec::new();
        for (tag, v) in values.iter().filter(|(_, v)| v.is_finite()) {
            let mut value = Vec::new();
            field_bytes(&mut value, 1, tag.as_bytes());
            field_float(&mut value, 2, *v as f32);
            field_bytes(&mut summary, 1, &value);
        }
        self.event(step, &summary)
    }

    /// One PNG image (`Summary.Image`: height, width, colour space, encoded bytes).
    pub fn png(&mut self, step: u64, tag: &str, png: &[u8]) -> Result<()> {
        let img = image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .with_context(|| format!("TensorBoard image {tag}: not a PNG"))?;
        let channels = img.color().channel_count() as u64;
        let mut im = Vec::new();
        field_varint(&mut im, 1, img.height() as u64);
        field_varint(&mut im, 2, img.width() as u64);
        field_varint(&mut im, 3, channels);
        field_bytes(&mut im, 4, png);
        let mut value = Vec::new();
        field_bytes(&mut value, 1, tag.as_bytes());
        field_bytes(&mut value, 4, &im);
        let mut summary = Vec::new();
        field_bytes(&mut summary, 1, &value);
        self.event(step, &summary)
    }

    /// Writes buffered events to the file, so a running TensorBoard sees them.
    pub fn flush(&mut self) -> Result<()> {
        self.file
            .flush()
            .with_context(|| format!("writing {}", self.path.display()))
    }

    fn event(&mut self, step: u64, summary: &[u8]) -> Result<()> {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let mut ev = Vec::new();
        field_double(&mut ev, 1, wall);
        field_varint(&mut ev, 2, step);
        field_bytes(&mut ev, 5, summary);
        self.record(&ev)
    }

    fn record(&mut self, data: &[u8]) -> Result<()> {
        let len = (data.len() as u64).to_le_bytes();
        let mut buf = Vec::with_capacity(data.len() + 16);
        buf.extend_from_slice(&len);
        buf.extend_from_slice(&masked_crc(&len).to_le_bytes());
        buf.extend_from_slice(data);
        buf.extend_from_slice(&masked_crc(data).to_le_bytes());
        self.file
            .write_all(&buf)
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

/// TFRecord's CRC: CRC-32C, rotated right by 15 bits, plus a constant.
fn masked_crc(data: &[u8]) -> u32 {
    let c = crc32c::crc32c(data);
    c.rotate_right(15).wrapping_add(0xa282_ead8)
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field_varint(out: &mut Vec<u8>, field: u64, v: u64) {
    varint(out, field << 3);
    varint(out, v);
}

fn field_double(out: &mut Vec<u8>, field: u64, v: f64) {
    varint(out, (field << 3) | 1);
    out.extend_from_slice(&v.to_le_bytes());
}

fn field_float(out: &mut Vec<u8>, field: u64, v: f32) {
    varint(out, (field << 3) | 5);
    out.extend_from_slice(&v.to_le_bytes());
}

fn field_bytes(out: &mut Vec<u8>, field: u64, v: &[u8]) {
    varint(out, (field << 3) | 2);
    varint(out, v.len() as u64);
    out.extend_from_slice(v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_and_protobuf_encoding_match_known_values() {
        // CRC-32C check value (RFC 3720) and TensorFlow's masking of it
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(
            masked_crc(b"123456789"),
            0xe306_9283u32.rotate_right(15).wrapping_add(0xa282_ead8)
        );
        // protobuf's documented example: field 1 varint 150 = 08 96 01
        let mut b = Vec::new();
        field_varint(&mut b, 1, 150);
        assert_eq!(b, [0x08, 0x96, 0x01]);
        let mut b = Vec::new();
        field_bytes(&mut b, 2, b"testing");
        assert_eq!(b, [0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g']);
    }
}
