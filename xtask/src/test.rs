//! `cargo xtask test`: every test the project has, in one command.
//!
//! Today that is the whole workspace's unit, integration and doc tests. Later work adds the
//! real-broker harness and interop checks here, installing what they need themselves.

use std::path::Path;

use crate::run_command;

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("test: unknown argument '{a}'"));
    }
    run_command(root, "cargo", &["test", "--workspace", "--all-targets"])?;
    run_command(root, "cargo", &["test", "--workspace", "--doc"])
}
