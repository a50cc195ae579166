//! `cargo xtask fuzz [--seconds N] [TARGET…]`: runs each cargo-fuzz target under `fuzz/` for N
//! seconds (default 60), installing the nightly toolchain (which libFuzzer's instrumentation
//! requires) and cargo-fuzz first if they are missing. `.ci/run` runs every target for a few
//! seconds as a smoke check.

use std::path::Path;
use std::process::Command;

use crate::command::run_command;

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut seconds: u64 = 60;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                let n = it.next().ok_or("--seconds needs a number")?;
                seconds = n.parse().map_err(|e| format!("--seconds {n}: {e}"))?;
            }
            t => targets.push(t.to_string()),
        }
    }
    let fuzz_dir = root.join("fuzz");
    if targets.is_empty() {
        let dir = fuzz_dir.join("fuzz_targets");
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".rs") {
                targets.push(stem.to_string());
            }
        }
        targets.sort();
    }
    crate::msrv::ensure_toolchain(root, "nightly")?;
    let has_cargo_fuzz = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_cargo_fuzz {
        run_command(root, "cargo", &["install", "cargo-fuzz", "--locked"])?;
    }
    let max_time = format!("-max_total_time={seconds}");
    for target in &targets {
        run_command(
            &fuzz_dir,
            "cargo",
            &["+nightly", "fuzz", "run", target, "--", &max_time],
        )?;
    }
    Ok(())
}
