//! Running the tools xtask drives.

/// Runs a command from the workspace root, failing with its name if it fails.
pub fn run_command(root: &std::path::Path, program: &str, args: &[&str]) -> Result<(), String> {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("xtask: running {program} {}", args.join(" "));
    }
    let status = std::process::Command::new(program)
        .args(args)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} {} failed: {status}", args.join(" ")))
    }
}
