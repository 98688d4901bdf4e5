//! The crate's shape, checked on its source: no two modules import each other, directly or in a loop
//! (neither top-level modules such as `render` and `neural`, nor files such as `render/pool.rs` and
//! `rig/stage.rs`), and modules import items from where they are defined, not through the crate root's
//! re-exports.
//!
//! A file's imports are the `crate::...` and `super::...` paths in its code (comments left out), each
//! resolved to the deepest module file it names. A parent module declaring and re-exporting its children
//! (`mod x; pub use x::Y;`), and a child using what its parent defines, are structure, not imports
//! between peers: those edges are left out of the file graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Every module of `src/` by its path (`""` for the crate root, `"render::pool"`), with its file.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, src: &Path, out: &mut BTreeMap<String, PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, src, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).unwrap().with_extension("");
                let mut parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if parts.last().is_some_and(|p| p == "mod") {
                    parts.pop();
                }
                if parts == ["lib"] {
                    parts.clear();
                }
                out.insert(parts.join("::"), path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, src, &mut out);
    out
}

/// The code of a file without its comments (line comments and doc comments).
fn code(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => l[..i].to_owned(),
            None => l.to_owned(),
        })
        .collect()
}

/// The `crate::a::b` / `super::c` paths in `line`, as module path segments from the crate root.
fn paths(line: &str, module: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = line[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            // A whole path: not `my_crate::`, nor the second `super::` of `super::super::`.
            if at > 0
                && (bytes[at - 1].is_ascii_alphanumeric() || matches!(bytes[at - 1], b'_' | b':'))
            {
                continue;
            }
            let rest: String = line[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut segments: Vec<String> = rest
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            let mut base: Vec<String> = if module.is_empty() {
                Vec::new()
            } else {
                module.split("::").map(str::to_owned).collect()
            };
            if segments[0] == "crate" {
                base.clear();
                segments.remove(0);
            } else {
                while segments.first().is_some_and(|s| s == "super") {
                    base.pop();
                    segments.remove(0);
                }
            }
            base.extend(segments);
            out.push(base);
        }
    }
    out
}

fn graphs() -> (Graph, Graph, Vec<String>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = modules(&src);
    let (mut top, mut files) = (Graph::new(), Graph::new());
    let mut through_root = Vec::new();
    for (module, path) in &modules {
        for (n, line) in code(path).iter().enumerate() {
            for full in paths(line, module) {
                if !module.is_empty()
                    && full.len() == 1
                    && full[0].starts_with(|c: char| c.is_ascii_uppercase())
                {
                    through_root.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
                // The deepest module the path names.
                let target = (0..=full.len())
                    .rev()
                    .map(|k| full[..k].join("::"))
                    .find(|m| modules.contains_key(m))
                    .unwrap_or_default();
                let (a, b) = (module.as_str(), target.as_str());
                let top_of = |m: &str| m.split("::").next().unwrap_or_default().to_owned();
                if !a.is_empty() && !b.is_empty() && top_of(a) != top_of(b) {
                    top.entry(top_of(a)).or_default().insert(top_of(b));
                }
                let ancestor = |x: &str, y: &str| x.is_empty() || y.starts_with(&format!("{x}::"));
                if a != b && !ancestor(a, b) && !ancestor(b, a) {
                    files.entry(a.to_owned()).or_default().insert(b.to_owned());
                }
            }
        }
    }
    (top, files, through_root)
}

/// Every cycle reachable in `g`, as the modules around it.
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    fn visit(
        u: &str,
        g: &Graph,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        state.insert(u.to_owned(), 1);
        stack.push(u.to_owned());
        for v in g.get(u).into_iter().flatten() {
            match state.get(v) {
                Some(1) => {
                    let i = stack.iter().position(|s| s == v).unwrap();
                    let mut cycle = stack[i..].to_vec();
                    cycle.push(v.clone());
                    found.push(cycle);
                }
                Some(_) => {}
                None => visit(v, g, state, stack, found),
            }
        }
        stack.pop();
        state.insert(u.to_owned(), 2);
    }
    let (mut state, mut found) = (BTreeMap::new(), Vec::new());
    for u in g.keys() {
        if !state.contains_key(u) {
            visit(u, g, &mut state, &mut Vec::new(), &mut found);
        }
    }
    found
}

#[test]
fn no_two_top_level_modules_import_each_other() {
    let (top, _, _) = graphs();
    assert!(
        top.contains_key("render") && top["render"].contains("rig"),
        "{top:?}"
    );
    let found = cycles(&top);
    assert!(found.is_empty(), "import cycles between modules: {found:?}");
}

#[test]
fn no_two_files_import_each_other() {
    let (_, files, _) = graphs();
    assert!(files.contains_key("render::pool"), "{files:?}");
    let found = cycles(&files);
    assert!(found.is_empty(), "import cycles between files: {found:?}");
}

#[test]
fn modules_import_from_where_things_are_defined() {
    let (_, _, through_root) = graphs();
    assert!(
        through_root.is_empty(),
        "imports through the crate root's re-exports:\n{}",
        through_root.join("\n")
    );
}

#[test]
fn the_checker_finds_a_cycle() {
    let mut g = Graph::new();
    g.entry("drive".into()).or_default().insert("net".into());
    g.entry("net".into()).or_default().insert("drive".into());
    g.entry("net".into()).or_default().insert("face".into());
    assert_eq!(cycles(&g), vec![vec!["drive", "net", "drive"]]);
    assert_eq!(
        paths("use super::super::rig::{A, B};", "render::warp::mesh"),
        vec![vec!["render", "rig"]]
    );
    assert_eq!(
        paths("crate::TalkingHead", "head"),
        vec![vec!["TalkingHead"]]
    );
}
