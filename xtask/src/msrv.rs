//! `cargo xtask msrv`: checks that what users compile builds with the workspace's declared
//! `rust-version`. The toolchain is installed with rustup (minimal profile) when missing; the
//! check uses a target directory of its own (`target/msrv`), since another compiler's
//! artifacts share nothing with the default one's. xtask and the benchmarks are left out:
//! users never build them.

use std::path::Path;

use crate::command::run_command;

/// The `rust-version` of the root Cargo.toml's `[workspace.package]`.
fn declared_rust_version(root: &Path) -> Result<String, String> {
    let manifest = root.join("Cargo.toml");
    let text =
        std::fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("rust-version"))
        .filter_map(|rest| rest.trim_start().strip_prefix('='))
        .map(|value| value.trim().trim_matches('"').to_owned())
        .find(|value| !value.is_empty())
        .ok_or_else(|| format!("{}: no rust-version", manifest.display()))
}

/// Makes sure rustup has `toolchain`, installing its minimal profile when it is missing.
pub fn ensure_toolchain(root: &Path, toolchain: &str) -> Result<(), String> {
    let present = std::process::Command::new("rustup")
        .args(["run", toolchain, "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    run_command(
        root,
        "rustup",
        &["toolchain", "install", toolchain, "--profile", "minimal"],
    )
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!("msrv: unknown argument '{extra}'"));
    }
    let version = declared_rust_version(root)?;
    ensure_toolchain(root, &version)?;
    let toolchain = format!("+{version}");
    let target_dir = root.join("target").join("msrv");
    let target_dir = target_dir.to_string_lossy();
    run_command(
        root,
        "cargo",
        &[
            &toolchain,
            "check",
            "--workspace",
            "--exclude",
            "xtask",
            "--exclude",
            "krafka-benches",
            "--target-dir",
            &target_dir,
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_workspace_rust_version() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let version = declared_rust_version(&root).unwrap_or_default();
        let parts: Vec<&str> = version.split('.').collect();
        assert!(
            parts.len() >= 2 && parts.iter().all(|p| p.parse::<u32>().is_ok()),
            "{version}"
        );
    }
}
