//! The `krafka` command.
//!
//! Placeholder: the `produce`, `consume`, `topics`, `broker` and `perf` subcommands arrive with
//! later work. Until then it says so and exits with a non-zero status.

use std::process::ExitCode;

fn main() -> ExitCode {
    // The CLI is the one place that talks to a terminal.
    #[allow(clippy::print_stderr)]
    {
        eprintln!("krafka: no subcommands are implemented yet (see README.md)");
    }
    ExitCode::from(2)
}
