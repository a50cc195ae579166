//! `cargo xtask fuzz`: runs the cargo-fuzz targets (placeholder until the targets land).

use std::path::Path;

pub fn run(_root: &Path, _args: &[String]) -> Result<(), String> {
    Err("fuzz: not implemented yet".into())
}
