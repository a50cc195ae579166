//! `cargo xtask cycles`: fails when two modules of one crate import each other, directly or
//! through others. A module is a source file (`a.rs` or `a/mod.rs` is `a`, `a/b.rs` is
//! `a::b`); an import is a `use` of a path (`crate::…`, `super::…`, `self::…`) that starts
//! with another module's path. `mod` declarations are not imports, so a parent may declare a
//! child the child imports from: what is forbidden is the child importing the parent (or
//! a sibling) while the parent, or something it imports, imports the child back.
//!
//! Vocabulary in the wrong file is what makes such circles (a type both sides speak lives in
//! one of them); the fix is to move it to a module of its own, not to silence the check.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Checks every crate of the workspace.
pub fn run(root: &Path, _args: &[String]) -> Result<(), String> {
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .map_err(|e| format!("cannot list crates/: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path().join("src")))
        .filter(|p| p.is_dir())
        .collect();
    crates.push(root.join("xtask/src"));
    crates.sort();
    let mut found = Vec::new();
    for src in &crates {
        let graph = module_graph(src)?;
        for cycle in cycles(&graph) {
            found.push(format!("{}: {}", src.display(), cycle.join(" → ")));
        }
    }
    if found.is_empty() {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("xtask: no module import cycles in {} crates", crates.len());
        }
        Ok(())
    } else {
        Err(format!("module import cycles:\n  {}", found.join("\n  ")))
    }
}

/// Module path (`""` for the crate root) → the modules it imports.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// Reads the modules under `src` and what each refers to, counted against the module that
/// defines it: a name re-exported by a facade (`pub use error::ConsumeError` in `lib.rs`) is
/// followed to where it is defined, so reaching for `crate::ConsumeError` depends on `error`,
/// not on the crate root.
fn module_graph(src: &Path) -> Result<Graph, String> {
    let mut files = Vec::new();
    collect_rs(src, &mut files)?;
    let modules: BTreeMap<String, PathBuf> = files
        .iter()
        .filter_map(|f| Some((module_of(src, f)?, f.clone())))
        .collect();
    let known: BTreeSet<&str> = modules.keys().map(String::as_str).collect();
    let mut references: Vec<(String, String, Reference)> = Vec::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        for reference in use_paths(&strip_comments(&text)) {
            let here = if reference.within.is_empty() {
                module.clone()
            } else {
                let mut parts: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
                parts.extend(reference.within.iter().map(|n| n.trim_start_matches('#')));
                parts.join("::")
            };
            references.push((module.clone(), here, reference));
        }
    }
    // Test code is a leaf nobody imports: where a test sits is not coupling, so test modules
    // (inline `#[cfg(test)] mod tests { … }` and `#[cfg(test)] mod tests;` files) do not count.
    let test_files: BTreeSet<String> = references
        .iter()
        .filter(|(_, _, r)| r.test_child)
        .filter_map(|(_, here, r)| absolute(here, &r.path).map(|p| p.join("::")))
        .collect();
    references.retain(|(module, _, r)| {
        !r.test_child
            && !r.in_test()
            && !test_files
                .iter()
                .any(|t| module == t || module.starts_with(&format!("{t}::")))
    });
    // (module, name) → the absolute path it re-exports.
    let mut aliases: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (_, here, reference) in &references {
        if let (Some(name), Some(target)) = (&reference.reexport, absolute(here, &reference.path)) {
            aliases.insert((here.clone(), name.clone()), target);
        }
    }
    let mut graph: Graph = modules
        .keys()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for (module, here, reference) in &references {
        let Some(path) = absolute(here, &reference.path) else {
            continue;
        };
        if let Some(target) = defining_module(&path, &known, &aliases, 0)
            && target != *module
            && let Some(edges) = graph.get_mut(module)
        {
            edges.insert(target);
        }
    }
    Ok(graph)
}

/// `path` as seen from `module`, made absolute (from the crate root). A bare head counts as
/// relative (a child module, or an outside crate, which then names no module of this one).
fn absolute(module: &str, path: &[String]) -> Option<Vec<String>> {
    let mut base: Vec<String> = module
        .split("::")
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        // `self::c` in module `a::b` (whether `a/b.rs` or `a/b/mod.rs`) is `a::b::c`.
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        _ => {}
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The module that defines what the absolute `path` names, following re-exports.
fn defining_module(
    path: &[String],
    known: &BTreeSet<&str>,
    aliases: &BTreeMap<(String, String), Vec<String>>,
    depth: usize,
) -> Option<String> {
    let n = (0..=path.len())
        .rev()
        .find(|n| known.contains(path[..*n].join("::").as_str()))?;
    let module = path[..n].join("::");
    if depth < 8
        && let Some(item) = path.get(n)
        && let Some(target) = aliases.get(&(module.clone(), item.clone()))
    {
        let mut followed = target.clone();
        followed.extend(path[n + 1..].iter().cloned());
        if followed != path {
            return defining_module(&followed, known, aliases, depth + 1);
        }
    }
    Some(module)
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            // Binaries are crates of their own.
            if path.file_name().is_some_and(|n| n == "bin") {
                continue;
            }
            collect_rs(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// `a/b.rs` → `a::b`; `a/mod.rs` → `a`; `lib.rs`/`main.rs` → the root.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    let stem = last.strip_suffix(".rs")?;
    if !(parts.is_empty() && (stem == "lib" || stem == "main")) && stem != "mod" {
        parts.push(stem.to_owned());
    }
    Some(parts.join("::"))
}

/// Removes `//` and `/* */` comments and string literals, so that a `use` in a doc example or
/// a message does not count.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            // A char literal ('{', '\\n'); a lifetime ('a) stays.
            '\'' => {
                let mut ahead = chars.clone();
                match (ahead.next(), ahead.next()) {
                    (Some('\\'), _) => {
                        // The backslash and the escaped character, then up to the quote.
                        chars.next();
                        chars.next();
                        for c in chars.by_ref() {
                            if c == '\'' {
                                break;
                            }
                        }
                        out.push_str("' '");
                    }
                    (Some(_), Some('\'')) => {
                        chars.next();
                        chars.next();
                        out.push_str("' '");
                    }
                    _ => out.push(c),
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// A path a file names.
#[derive(Debug)]
struct Reference {
    /// The inline modules (`mod tests { … }`) it sits in: their `super` is the file's module.
    within: Vec<String>,
    path: Vec<String>,
    /// For a `pub use` (of any visibility): the name it is re-exported under.
    reexport: Option<String>,
    /// Not a reference: `#[cfg(test)] mod name;` declares a test-only child file.
    test_child: bool,
}

impl Reference {
    /// Inside a `#[cfg(test)]` inline module.
    fn in_test(&self) -> bool {
        self.within.iter().any(|n| n.starts_with('#'))
    }
}

/// Every path named by a `use` declaration (with `{…}` groups expanded) or written in code.
fn use_paths(text: &str) -> Vec<Reference> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    // (inline module name, brace depth inside it)
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !is_ident(bytes[i - 1]);
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            b'm' if boundary && text[i..].starts_with("mod ") => {
                let rest = &text[i + 4..];
                let name: String = rest
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let after = rest.trim_start()[name.len()..].trim_start();
                let test_only = text[..i].trim_end().ends_with("#[cfg(test)]")
                    || inline.iter().any(|(n, _)| n.starts_with('#'));
                if !name.is_empty() && after.starts_with('{') {
                    // A test module's name is marked: its references are not counted.
                    let name = if test_only { format!("#{name}") } else { name };
                    inline.push((name, depth + 1));
                } else if !name.is_empty() && after.starts_with(';') && test_only {
                    out.push(Reference {
                        within: Vec::new(),
                        path: vec!["self".to_owned(), name],
                        reexport: None,
                        test_child: true,
                    });
                }
            }
            b'u' if boundary && text[i..].starts_with("use ") => {
                let Some(end) = text[i..].find(';') else {
                    break;
                };
                // `x as y` renames: only `x` is the path.
                let tree: String = text[i + 4..i + end]
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .replace(" as ", "@")
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                let mut paths = Vec::new();
                expand(&tree, &mut Vec::new(), &mut paths);
                let within: Vec<String> = inline.iter().map(|(n, _)| n.clone()).collect();
                let public =
                    text[..i].trim_end().ends_with(')') || text[..i].trim_end().ends_with("pub");
                for (path, name) in paths {
                    out.push(Reference {
                        within: within.clone(),
                        path,
                        reexport: public.then_some(name),
                        test_child: false,
                    });
                }
                i += end;
            }
            c if boundary && (c.is_ascii_alphabetic() || c == b'_') && !after_colons(bytes, i) => {
                // A path in code (`crate::a::f()`, `super::b::X`, `child::g()`): as much as
                // names modules; a bare head is looked up among this module's children.
                let (path, len) = code_path(&text[i..]);
                if path.len() >= 2 {
                    let within: Vec<String> = inline.iter().map(|(n, _)| n.clone()).collect();
                    let path = if matches!(path[0].as_str(), "crate" | "super" | "self") {
                        path
                    } else {
                        std::iter::once("self".to_owned()).chain(path).collect()
                    };
                    out.push(Reference {
                        within,
                        path,
                        reexport: None,
                        test_child: false,
                    });
                }
                i += len.max(1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Whether `bytes[i]` follows `::` (the middle of a path, not its head).
fn after_colons(bytes: &[u8], i: usize) -> bool {
    i >= 2 && bytes[i - 1] == b':' && bytes[i - 2] == b':'
}

/// The `a::b::c` path at the start of `text` (segments and the length of the first one).
fn code_path(text: &str) -> (Vec<String>, usize) {
    let ident = |t: &str| -> usize {
        t.char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(t.len(), |(n, _)| n)
    };
    let first = ident(text);
    let mut segments = vec![text[..first].to_owned()];
    let mut at = first;
    while text[at..].starts_with("::") {
        let n = ident(&text[at + 2..]);
        if n == 0 {
            break;
        }
        segments.push(text[at + 2..at + 2 + n].to_owned());
        at += 2 + n;
    }
    (segments, first)
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Expands a use tree (`a::{b,c::{d,e}}`) under `prefix` into paths.
/// Each path comes with the name it is bound to (its last segment, or the `as` name).
fn expand(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
    let Some(open) = tree.find('{') else {
        let mut path = prefix.clone();
        let (tree, rename) = match tree.split_once('@') {
            Some((path, name)) => (path, Some(name)),
            None => (tree, None),
        };
        path.extend(
            tree.split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
        // `use a::b::{self}` binds `b`.
        if path.last().is_some_and(|l| l == "self") {
            path.pop();
        }
        let name = rename
            .map(str::to_owned)
            .or_else(|| path.last().cloned())
            .unwrap_or_default();
        out.push((path, name));
        return;
    };
    let head: Vec<String> = tree[..open]
        .split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let inner = tree[open + 1..]
        .strip_suffix('}')
        .unwrap_or(&tree[open + 1..]);
    let depth = prefix.len();
    prefix.extend(head);
    for part in split_top(inner) {
        expand(part, prefix, out);
    }
    prefix.truncate(depth);
}

/// Splits `a,b::{c,d},e` at the commas outside braces.
fn split_top(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// The import cycles of `graph` (strongly connected components of more than one module, or a
/// module importing itself through others), each as a path that closes on its start.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for component in strongly_connected(graph) {
        if component.len() < 2 {
            continue;
        }
        let members: BTreeSet<&String> = component.iter().collect();
        let Some(start) = component.iter().min() else {
            continue;
        };
        let mut cycle = shortest_cycle(graph, start, &members);
        if std::env::var_os("KRAFKA_CYCLES_VERBOSE").is_some() {
            let mut all: Vec<String> = component.iter().map(|m| name(m)).collect();
            all.sort();
            cycle.push(format!("(component: {})", all.join(", ")));
        }
        out.push(cycle);
    }
    out
}

/// Tarjan's algorithm.
fn strongly_connected(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, v: &'a str) {
        w.index.insert(v, w.next);
        w.low.insert(v, w.next);
        w.next += 1;
        w.stack.push(v);
        w.on_stack.insert(v);
        let targets: Vec<&'a str> = w
            .graph
            .get(v)
            .map(|t| t.iter().map(String::as_str).collect())
            .unwrap_or_default();
        for t in targets {
            if !w.graph.contains_key(t) {
                continue;
            }
            if !w.index.contains_key(t) {
                visit(w, t);
                let low = w.low[v].min(w.low[t]);
                w.low.insert(v, low);
            } else if w.on_stack.contains(t) {
                let low = w.low[v].min(w.index[t]);
                w.low.insert(v, low);
            }
        }
        if w.low[v] == w.index[v] {
            let mut component = Vec::new();
            while let Some(top) = w.stack.pop() {
                w.on_stack.remove(top);
                component.push(top.to_owned());
                if top == v {
                    break;
                }
            }
            w.out.push(component);
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            visit(&mut walk, v);
        }
    }
    walk.out
}

/// A shortest path from `start` back to itself inside `members` (breadth first).
fn shortest_cycle(graph: &Graph, start: &String, members: &BTreeSet<&String>) -> Vec<String> {
    let mut parent: BTreeMap<&String, &String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for t in graph.get(v).into_iter().flatten() {
            if !members.contains(t) {
                continue;
            }
            if t == start {
                let mut path = vec![name(start)];
                let mut at = v;
                let mut back = vec![name(v)];
                while at != start {
                    at = parent[at];
                    back.push(name(at));
                }
                back.pop();
                back.reverse();
                path.extend(back);
                path.push(name(start));
                return path;
            }
            if !parent.contains_key(t) && t != start {
                parent.insert(t, v);
                queue.push_back(t);
            }
        }
    }
    vec![name(start)]
}

fn name(module: &str) -> String {
    if module.is_empty() {
        "(crate root)".to_owned()
    } else {
        module.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(from: &str, path: &[String], known: &BTreeSet<&str>) -> Option<String> {
        defining_module(&absolute(from, path)?, known, &BTreeMap::new(), 0)
    }

    #[test]
    fn a_name_reexported_by_a_facade_counts_against_where_it_is_defined() {
        let known: BTreeSet<&str> = ["", "error", "user"].into();
        let aliases: BTreeMap<(String, String), Vec<String>> = [(
            (String::new(), "Failure".to_owned()),
            vec!["error".to_owned(), "Failure".to_owned()],
        )]
        .into();
        let path = absolute("user", &["crate".to_owned(), "Failure".to_owned()]).unwrap();
        assert_eq!(
            defining_module(&path, &known, &aliases, 0).as_deref(),
            Some("error")
        );
        let refs = use_paths(
            "pub use error::Failure;\npub(crate) use self::x::{y as z, self};\nuse a::b;",
        );
        let bound: Vec<Option<&str>> = refs.iter().map(|r| r.reexport.as_deref()).collect();
        assert_eq!(bound, [Some("Failure"), Some("z"), Some("x"), None]);
    }

    #[test]
    fn use_trees_expand_into_paths() {
        let paths = use_paths("use crate::a::{b, c::{d, e as f}};\npub(crate) use super::g;");
        let flat: Vec<String> = paths.iter().map(|r| r.path.join("::")).collect();
        assert_eq!(
            flat,
            [
                "crate::a::b",
                "crate::a::c::d",
                "crate::a::c::e",
                "super::g"
            ]
        );
    }

    #[test]
    fn an_inline_module_is_where_its_uses_start_from() {
        let paths = use_paths("mod tests {\n    use super::*;\n}\nuse super::x;");
        assert_eq!(paths[0].within, ["tests"]);
        assert!(paths[1].within.is_empty());
        let known: BTreeSet<&str> = ["", "a"].into();
        // `super` from `a`'s inline tests is `a` itself: no edge out of the file.
        assert_eq!(
            resolve("a::tests", &paths[0].path, &known).as_deref(),
            Some("a")
        );
    }

    #[test]
    fn test_modules_are_marked() {
        let refs = use_paths(
            "#[cfg(test)]\nmod tests {\n    use super::x;\n}\n#[cfg(test)]\nmod more;\nuse super::y;",
        );
        assert!(refs[0].in_test());
        assert!(refs[1].test_child);
        assert!(!refs[2].in_test() && !refs[2].test_child);
    }

    #[test]
    fn comments_and_strings_are_not_imports() {
        let text =
            strip_comments("// use crate::a;\n/* use crate::b; */ let s = \"use crate::c;\";");
        assert!(use_paths(&text).is_empty(), "{text}");
    }

    #[test]
    fn a_cycle_through_a_third_module_is_found_and_a_chain_is_not() {
        let known: BTreeSet<&str> = ["", "a", "b", "c"].into();
        let edge = |from: &str, path: &str| {
            let path: Vec<String> = path.split("::").map(str::to_owned).collect();
            (from.to_owned(), resolve(from, &path, &known))
        };
        let mut graph = Graph::new();
        for (from, to) in [
            edge("a", "crate::b::X"),
            edge("b", "super::c::Y"),
            edge("c", "crate::a::Z"),
        ] {
            graph.entry(from).or_default().extend(to);
        }
        let found = cycles(&graph);
        assert_eq!(found, [vec!["a", "b", "c", "a"]]);
        graph.entry("c".into()).or_default().clear();
        assert!(cycles(&graph).is_empty());
    }
}
