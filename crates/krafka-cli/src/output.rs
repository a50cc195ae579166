//! How a command prints its report.

/// Prints a line of a command's report. A closed stdout (`krafka perf | head`) is not an
/// error worth a panic: the rest of the report is dropped.
pub(crate) fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}
