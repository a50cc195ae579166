//! `cargo xtask codegen`: generates `crates/krafka-protocol/src/generated/` from Kafka's JSON
//! message schemas.
//!
//! One module per schema, plus `api_keys.rs` (the `ApiKey` constants and version tables) and
//! `bodies.rs` (enums over every request and response, for decoding by API key). Output goes
//! through rustfmt; `--check` regenerates in memory and fails if the committed files differ.

mod emit;
mod expr;
mod schema;
mod tables;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where the generated code goes, relative to the workspace root.
pub const OUTPUT_DIR: &str = "crates/krafka-protocol/src/generated";
/// Where the schemas are read from by default, relative to the workspace root.
pub const DEFAULT_SCHEMAS: &str = "../shared/kafka-message-schemas";

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut check = false;
    let mut schemas_dir = root.join(DEFAULT_SCHEMAS);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--check" => check = true,
            "--schemas" => {
                schemas_dir = PathBuf::from(it.next().ok_or("--schemas needs a directory")?);
            }
            other => return Err(format!("codegen: unknown argument '{other}'")),
        }
    }
    let files = generate(&schemas_dir, root)?;
    let out_dir = root.join(OUTPUT_DIR);
    if check {
        let mut stale = Vec::new();
        for (name, text) in &files {
            match std::fs::read_to_string(out_dir.join(name)) {
                Ok(existing) if existing == *text => {}
                _ => stale.push(name.clone()),
            }
        }
        for entry in std::fs::read_dir(&out_dir).map_err(|e| e.to_string())? {
            let name = entry
                .map_err(|e| e.to_string())?
                .file_name()
                .to_string_lossy()
                .into_owned();
            if name.ends_with(".rs") && !files.contains_key(&name) {
                stale.push(name);
            }
        }
        if !stale.is_empty() {
            return Err(format!(
                "generated code is out of date ({} files differ, e.g. {}): run `cargo xtask codegen`",
                stale.len(),
                stale[0]
            ));
        }
        say(&format!(
            "codegen: {} generated files are up to date",
            files.len()
        ));
        return Ok(());
    }
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    for entry in std::fs::read_dir(&out_dir).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".rs") && !files.contains_key(&name) {
            std::fs::remove_file(&path).map_err(|e| e.to_string())?;
        }
    }
    for (name, text) in &files {
        let path = out_dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    say(&format!(
        "codegen: wrote {} files to {OUTPUT_DIR}",
        files.len()
    ));
    Ok(())
}

#[allow(clippy::print_stdout)]
fn say(text: &str) {
    println!("{text}");
}

/// Generates every file, formatted, keyed by file name.
fn generate(schemas_dir: &Path, root: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut schemas = Vec::new();
    let entries = std::fs::read_dir(schemas_dir)
        .map_err(|e| format!("cannot read schemas from {}: {e}", schemas_dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for path in &paths {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let schema = schema::parse_schema(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        schemas.push(schema);
    }
    if schemas.is_empty() {
        return Err(format!("no schemas found in {}", schemas_dir.display()));
    }
    let mut files = BTreeMap::new();
    for s in &schemas {
        let module = emit::Ctx { schema: s }
            .emit_module()
            .map_err(|e| format!("{}: {e}", s.name))?;
        files.insert(format!("{}.rs", schema::snake_case(&s.name)), module);
    }
    files.insert("api_keys.rs".into(), tables::api_keys(&schemas)?);
    files.insert("bodies.rs".into(), tables::bodies(&schemas)?);
    files.insert("mod.rs".into(), tables::module_index(&schemas));
    let config = root.join("rustfmt.toml");
    for text in files.values_mut() {
        *text = rustfmt(text, &config)?;
    }
    Ok(files)
}

fn rustfmt(text: &str, config: &Path) -> Result<String, String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--config-path"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run rustfmt: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("rustfmt stdin")?;
    let input = text.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    writer
        .join()
        .map_err(|_| "rustfmt writer panicked")?
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        let snippet: String = text.chars().take(400).collect();
        return Err(format!(
            "rustfmt failed: {err}\n--- start of input ---\n{snippet}"
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| e.to_string())
}
