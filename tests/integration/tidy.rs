//! The tidy test: ARCHITECTURE.md's rules, enforced on the source tree. Every Rust file opens
//! with a `//!` line; no file is longer than 800 lines; functions stay within 80 lines unless
//! ARCHITECTURE.md lists them as measured hot loops; estimators do no I/O; the core library and
//! the CLI never depend on tch; the top-level modules of the library import each other without
//! cycles; `unsafe` is allowed only in the files ARCHITECTURE.md names; the library root makes
//! public only the modules ARCHITECTURE.md lists as API (and the hidden `util`); estimators
//! have no free `*_estimate` functions beside the trait.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Every `.rs` file of the project (build output and the venv excluded).
fn rust_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = [
        "src", "analysis", "recorder", "tests", "benches", "examples", "fixtures",
    ]
    .iter()
    .map(|d| root().join(d))
    .collect();
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() && !name.starts_with('.') && name != "target" {
                stack.push(p);
            } else if name.ends_with(".rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The code of a file without its comment lines (doc comments name modules freely).
fn code(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

#[test]
fn every_file_opens_with_a_doc_line_and_stays_under_800_lines() {
    let mut bad = Vec::new();
    for f in rust_files() {
        let text = std::fs::read_to_string(&f).unwrap();
        if !text.starts_with("//!") {
            bad.push(format!("{}: does not start with a //! line", rel(&f)));
        }
        let n = text.lines().count();
        if n > 800 {
            bad.push(format!("{}: {n} lines (at most 800)", rel(&f)));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The Python package's modules and tests open with a docstring saying what they are for (the
/// Python counterpart of the `//!` line).
#[test]
fn every_python_file_of_the_package_opens_with_a_docstring() {
    let mut bad = Vec::new();
    for dir in [
        "analysis/python/python/infoplane",
        "analysis/python/tests",
        "examples/pytorch",
    ] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let f = e.unwrap().path();
            if f.extension().is_some_and(|x| x == "py") {
                let text = std::fs::read_to_string(&f).unwrap();
                let body = text
                    .strip_prefix("#!/usr/bin/env python3\n")
                    .unwrap_or(&text);
                if !body.starts_with("\"\"\"") {
                    bad.push(rel(&f));
                }
            }
        }
    }
    assert!(bad.is_empty(), "no opening docstring: {}", bad.join(", "));
}

/// Functions longer than `limit` lines: (file, name, lines). A function starts at a line whose
/// first token is `fn` (after `pub`, `pub(crate)`, `async`, `const`, `unsafe`) and ends at the
/// line that closes its first `{`; string and char literals are skipped roughly.
fn long_functions(limit: usize) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    for f in rust_files()
        .into_iter()
        .filter(|f| !rel(f).contains("/tests/") && !rel(f).starts_with("tests/"))
    {
        let text = std::fs::read_to_string(&f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut in_test = false;
        for (i, line) in lines.iter().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                in_test = true;
            }
            let t = line.trim_start();
            let words: Vec<&str> = t.split_whitespace().take(4).collect();
            let fn_at = words.iter().position(|w| *w == "fn");
            let head_ok = fn_at.is_some_and(|k| {
                words[..k].iter().all(|w| {
                    [
                        "pub",
                        "pub(crate)",
                        "pub(super)",
                        "async",
                        "const",
                        "unsafe",
                    ]
                    .contains(w)
                })
            });
            if in_test || !head_ok {
                continue;
            }
            let name = words[fn_at.unwrap_or(0) + 1]
                .split(['(', '<'])
                .next()
                .unwrap_or_default()
                .to_string();
            let (mut depth, mut opened, mut end) = (0i64, false, i);
            'scan: for (k, l) in lines.iter().enumerate().skip(i) {
                let mut chars = l.chars().peekable();
                let mut in_str = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' if in_str => {
                            chars.next();
                        }
                        '"' => in_str = !in_str,
                        '/' if !in_str && chars.peek() == Some(&'/') => break,
                        '{' if !in_str => {
                            depth += 1;
                            opened = true;
                        }
                        '}' if !in_str => {
                            depth -= 1;
                            if opened && depth == 0 {
                                end = k;
                                break 'scan;
                            }
                        }
                        ';' if !in_str && !opened => break 'scan,
                        _ => {}
                    }
                }
            }
            let len = end + 1 - i;
            if opened && len > limit {
                out.push((rel(&f), name, len));
            }
        }
    }
    out
}

/// The functions ARCHITECTURE.md allows to be long: the `file::function` names listed in its
/// section "Long functions".
fn allowed_long() -> BTreeSet<String> {
    architecture_section("Long functions")
        .lines()
        .filter_map(|l| {
            let a = l.find('`')?;
            let b = l[a + 1..].find('`')?;
            Some(l[a + 1..a + 1 + b].to_string())
        })
        .collect()
}

#[test]
fn functions_stay_short_unless_listed_as_hot_loops() {
    let allowed = allowed_long();
    let long: Vec<String> = long_functions(80)
        .into_iter()
        .filter(|(f, n, _)| !allowed.contains(&format!("{f}::{n}")))
        .map(|(f, n, len)| format!("{f}::{n}: {len} lines"))
        .collect();
    assert!(long.is_empty(), "functions over 80 lines (cut them, or list a measured hot loop under \"Long functions\" in ARCHITECTURE.md):\n{}", long.join("\n"));
}

#[test]
fn estimators_do_no_io() {
    let forbidden = [
        "crate::archive",
        "crate::table",
        "crate::plot",
        "crate::report",
        "std::fs",
        "std::io",
        "crate::run",
    ];
    let mut bad = Vec::new();
    for f in rust_files()
        .into_iter()
        .filter(|f| rel(f).starts_with("src/estimator/"))
    {
        let text = code(&std::fs::read_to_string(&f).unwrap());
        for w in forbidden {
            if text.contains(w) {
                bad.push(format!("{} uses {w}", rel(&f)));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_library_and_the_cli_never_depend_on_tch() {
    for manifest in [
        "Cargo.toml",
        "analysis/Cargo.toml",
        "analysis/python/Cargo.toml",
    ] {
        let text = std::fs::read_to_string(root().join(manifest)).unwrap();
        let deps = text.split("[dependencies]").nth(1).unwrap_or_default();
        let deps = deps.split("\n[").next().unwrap_or_default();
        for line in deps.lines() {
            let name = line.split(['=', ' ', '.']).next().unwrap_or_default();
            assert!(
                !["tch", "torch-sys"].contains(&name),
                "{manifest} depends on {name}"
            );
        }
    }
}

/// Which top-level modules of `src/` each module refers to (`crate::NAME`).
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let top = |p: &Path| -> String {
        let r = rel(p);
        let r = r.trim_start_matches("src/");
        r.split('/')
            .next()
            .unwrap_or_default()
            .trim_end_matches(".rs")
            .to_string()
    };
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in rust_files()
        .into_iter()
        .filter(|f| rel(f).starts_with("src/"))
    {
        let me = top(&f);
        let text = code(&std::fs::read_to_string(&f).unwrap());
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        for part in text.split("crate::").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != me && name != "Result" && name != "Error" {
                g.entry(me.clone()).or_default().insert(name);
            }
        }
        g.entry(me).or_default();
    }
    g
}

#[test]
fn library_modules_import_each_other_without_cycles() {
    let g = module_graph();
    // Depth-first search for a back edge.
    fn visit<'a>(
        n: &'a str,
        g: &'a BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(1) => {
                let at = path.iter().position(|p| *p == n).unwrap_or(0);
                let mut cycle: Vec<String> = path[at..].iter().map(|s| s.to_string()).collect();
                cycle.push(n.to_string());
                return Some(cycle);
            }
            Some(2) => return None,
            _ => {}
        }
        state.insert(n, 1);
        path.push(n);
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(n, 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in g.keys() {
        if let Some(c) = visit(n, &g, &mut state, &mut Vec::new()) {
            panic!("import cycle between library modules: {}", c.join(" -> "));
        }
    }
    // The data flow of ARCHITECTURE.md: estimators import neither the archive nor anything
    // downstream of them.
    let est = &g["estimator"];
    for later in ["archive", "run", "table", "diagnostics", "plot", "report"] {
        assert!(!est.contains(later), "estimator imports {later}");
    }
}

/// The text of ARCHITECTURE.md's section `## HEADING` (empty when there is none).
fn architecture_section(heading: &str) -> String {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap_or_default();
    text.split(&format!("## {heading}"))
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or("")
        .to_string()
}

/// The files ARCHITECTURE.md allows `unsafe` code in (its "Unsafe code" section).
fn allowed_unsafe() -> BTreeSet<String> {
    architecture_section("Unsafe code")
        .lines()
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn unsafe_code_only_where_architecture_allows_it() {
    // The workspace denies `unsafe_code`; a file opts out with `allow(unsafe_code)`.
    let allowed = allowed_unsafe();
    assert!(
        !allowed.is_empty(),
        "ARCHITECTURE.md has no \"## Unsafe code\" list"
    );
    let mut found = BTreeSet::new();
    for p in rust_files() {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        // Split so that this file does not match itself.
        if code(&text).contains(concat!("allow(", "unsafe_code)")) {
            found.insert(rel(&p));
        }
    }
    let unlisted: Vec<_> = found.difference(&allowed).collect();
    assert!(
        unlisted.is_empty(),
        "unsafe code outside ARCHITECTURE.md's list: {unlisted:?}"
    );
    let stale: Vec<_> = allowed.difference(&found).collect();
    assert!(
        stale.is_empty(),
        "ARCHITECTURE.md lists files without unsafe code: {stale:?}"
    );
}

#[test]
fn estimator_names_are_written_only_in_the_estimator_wing() {
    // Everything else asks the registry what a name measures (estimator::kind), so that adding
    // an estimator touches src/estimator/ only. Tests (after `#[cfg(test)]`) may name them.
    let names = infoplane::estimator::names();
    let assets = root().join("src/report/assets");
    let mut files: Vec<PathBuf> = rust_files()
        .into_iter()
        .filter(|f| {
            let r = rel(f);
            (r.starts_with("src/")
                || r.starts_with("analysis/src/")
                || r.starts_with("analysis/python/src/"))
                && !r.starts_with("src/estimator/")
        })
        .collect();
    files.extend(
        std::fs::read_dir(&assets)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "js")),
    );
    assert!(files.len() > 40, "{} files", files.len());
    let mut bad = Vec::new();
    for f in files {
        let text = code(&std::fs::read_to_string(&f).unwrap());
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        for n in &names {
            if text.contains(&format!("\"{n}\"")) {
                bad.push(format!("{} names \"{n}\"", rel(&f)));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn sibling_modules_import_each_other_without_cycles() {
    // Inside every folder module (src/estimator/pairwise/, src/archive/, ...): the files that
    // name a sibling through `super::NAME` must form no circle.
    let mut dirs: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for f in rust_files()
        .into_iter()
        .filter(|f| rel(f).starts_with("src/"))
    {
        dirs.entry(f.parent().unwrap().to_path_buf())
            .or_default()
            .push(f);
    }
    let mut checked = 0;
    for (dir, files) in &dirs {
        let names: BTreeSet<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| {
                e.file_name()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .filter(|n| n != "mod" && n != "lib")
            .collect();
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in files {
            let me = f.file_stem().unwrap().to_string_lossy().to_string();
            if me == "mod" || me == "lib" {
                continue;
            }
            let text = code(&std::fs::read_to_string(f).unwrap());
            let text = text
                .split("#[cfg(test)]")
                .next()
                .unwrap_or_default()
                .to_string();
            for part in text.split("super::").skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if names.contains(&name) && name != me {
                    g.entry(me.clone()).or_default().insert(name);
                }
            }
        }
        // Kahn's algorithm: whatever cannot be ordered lies on a circle.
        let mut left = g.clone();
        loop {
            let leaf = left
                .iter()
                .find(|(_, out)| out.iter().all(|m| !left.contains_key(m)))
                .map(|(n, _)| n.clone());
            match leaf {
                Some(n) => {
                    left.remove(&n);
                }
                None => break,
            }
        }
        assert!(
            left.is_empty(),
            "import circle among {}: {:?}",
            rel(dir),
            left
        );
        checked += 1;
    }
    assert!(checked >= 8, "{checked} folders");
}

/// The backticked names of the first bullet of ARCHITECTURE.md's "API boundaries" section.
fn documented_api_modules() -> BTreeSet<String> {
    let section = architecture_section("API boundaries");
    let first = section.split("\n- ").nth(1).unwrap_or("");
    first
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn the_library_root_exposes_only_the_documented_modules() {
    let api = documented_api_modules();
    assert!(
        api.contains("prelude") && api.contains("estimator"),
        "{api:?}"
    );
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let lines: Vec<&str> = lib.lines().map(str::trim).collect();
    let mut public = BTreeSet::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(name) = l.strip_prefix("pub mod ").map(|n| n.trim_end_matches(';')) else {
            continue;
        };
        let hidden = i > 0 && lines[i - 1] == "#[doc(hidden)]";
        if hidden {
            // Only the front ends' support module may hide; it is not API.
            assert_eq!(name, "util", "src/lib.rs hides `{name}`");
        } else {
            assert!(
                api.contains(name),
                "src/lib.rs makes `{name}` public, but ARCHITECTURE.md's API boundaries do not list it"
            );
            public.insert(name.to_string());
        }
    }
    for name in api
        .iter()
        .filter(|n| n.chars().all(|c| c.is_ascii_lowercase()))
    {
        assert!(
            public.contains(name),
            "ARCHITECTURE.md lists `{name}` as API, src/lib.rs has no public module of that name"
        );
    }
}

#[test]
fn estimators_have_no_free_estimate_functions_beside_the_trait() {
    // A richer result than a table row is a method of the estimator's type (ARCHITECTURE.md,
    // "Adding an estimator"), not `pub fn NAME_estimate` beside it.
    let mut bad = Vec::new();
    for f in rust_files()
        .into_iter()
        .filter(|f| rel(f).starts_with("src/estimator/"))
    {
        let text = code(&std::fs::read_to_string(&f).unwrap());
        // Top-level functions only (methods are indented).
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix("pub fn ") {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if name.ends_with("_estimate") || name.starts_with("estimate_") {
                    bad.push(format!("{}: pub fn {name}", rel(&f)));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
