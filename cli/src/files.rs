//! Reading and writing the CLI's files, with the path in every error.

use std::path::Path;

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Reads and parses a JSON file; errors name the file and serde's field and position.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{}: invalid", path.display()))
}

/// Writes `bytes` atomically (see [`zkroll_prover::fs::write_atomic`]), naming the file on error.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    zkroll_prover::fs::write_atomic(path, bytes)
        .with_context(|| format!("{}: cannot write", path.display()))
}

/// Writes pretty JSON atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).context("encoding JSON")?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}
