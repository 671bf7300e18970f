//! Repository hygiene checks that are cheaper as tests than as reviews.
//!
//! * every Rust module starts with a `//!` doc saying what it is for;
//! * no floating-point type appears in non-test code (money never passes through floats);
//! * only `SystemClock` reads the wall clock, and tests hold no hard-coded date that can expire
//!   (every part of a test reads the test's one clock, so the suite passes on any date).

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        rust_files(&krate.unwrap().path().join("src"), &mut files);
    }
    // The benchmark and soak harnesses are held to the same rules.
    for harness in std::fs::read_dir(root.join("bench")).unwrap() {
        let src = harness.unwrap().path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    // The fuzz targets and their driver (fuzz/, outside crates/ like cargo-fuzz's layout).
    rust_files(&root.join("fuzz/src"), &mut files);
    rust_files(&root.join("bench/src"), &mut files);
    files
}

#[test]
fn every_module_starts_with_a_module_doc() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(missing.is_empty(), "modules without a //! doc: {missing:?}");
}

#[test]
fn no_floats_outside_tests() {
    let offenders: Vec<String> = sources()
        .into_iter()
        .filter(|f| !f.ends_with("tests.rs"))
        // Not money: Prometheus histograms take bucket bounds and observed latencies in seconds
        // as f64 (prometheus-client's API); this one module holds them, amounts never enter it.
        .filter(|f| !f.ends_with("crates/service/src/metrics.rs"))
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            // Only the part before a `#[cfg(test)]` module counts.
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            code.split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|word| word == "f32" || word == "f64")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(offenders.is_empty(), "floating point in: {offenders:?}");
}

/// Every test file, and the test part (after the first `#[cfg(test)]`) of every source file.
fn test_code() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut test_files = Vec::new();
    rust_files(&root.join("tests"), &mut test_files);
    rust_files(&root.join("fuzz/tests"), &mut test_files);
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        let tests = krate.unwrap().path().join("tests");
        if tests.is_dir() {
            rust_files(&tests, &mut test_files);
        }
    }
    for f in test_files {
        let text = std::fs::read_to_string(&f).unwrap();
        out.push((f, text));
    }
    for f in sources() {
        let text = std::fs::read_to_string(&f).unwrap();
        if f.ends_with("tests.rs") {
            out.push((f, text));
        } else if let Some(at) = text.find("#[cfg(test)]") {
            out.push((f, text[at..].to_owned()));
        }
    }
    out
}

/// Whether `line` holds a calendar date: `2026-11-28` in text, or a chrono constructor with a
/// literal year (`with_ymd_and_hms(2026, …`, `from_ymd_opt(2026, …`).
fn has_date_literal(line: &str) -> bool {
    let bytes = line.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let text_date = bytes.windows(10).any(|w| {
        digits(&w[..4])
            && (w[0] == b'1' || w[0] == b'2')
            && w[4] == b'-'
            && digits(&w[5..7])
            && w[7] == b'-'
            && digits(&w[8..10])
    });
    let constructor = ["ymd_and_hms(", "from_ymd_opt(", "from_ymd("]
        .iter()
        .any(|c| {
            line.split(c).skip(1).any(|rest| {
                rest.trim_start()
                    .bytes()
                    .take(4)
                    .all(|b| b.is_ascii_digit())
            })
        });
    text_date || constructor
}

/// A test with a hard-coded date passes only while that date relates to "today" as the test
/// assumes, unless nothing in the test compares it with the wall clock. So every date literal in
/// test code must say why it cannot expire: a `fixed-date:` comment on its line or the two lines
/// above, or one `fixed-dates:` comment in the file's test code when all its dates are data
/// (parser vectors, signatures, the shared manual clock's start). Files that run on the wall
/// clock (the real binary, `SystemClock`) may not use the file-wide marker.
#[test]
fn no_hard_coded_dates_that_can_expire_in_tests() {
    let wall_clock_markers = [
        "SystemClock",
        "CARGO_BIN_EXE",
        "Utc::now",
        "SystemTime::now",
    ];
    let mut offenders = Vec::new();
    for (file, text) in test_code() {
        if file.ends_with("tests/tidy.rs") {
            continue; // the detector's own inputs
        }
        let file_wide = text.contains("fixed-dates:");
        let on_wall_clock = wall_clock_markers.iter().any(|m| text.contains(m));
        if file_wide && on_wall_clock {
            offenders.push(format!(
                "{}: `fixed-dates:` in a file that runs on the wall clock; mark each date",
                file.display()
            ));
        }
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !has_date_literal(line) {
                continue;
            }
            let marked = lines[i.saturating_sub(2)..=i]
                .iter()
                .any(|l| l.contains("fixed-date:"));
            if !(marked || file_wide && !on_wall_clock) {
                offenders.push(format!("{}: {}", file.display(), line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "date literals in tests with no `fixed-date:` reason (use the test's clock instead, \
         or say why the date never meets the wall clock):\n{}",
        offenders.join("\n")
    );
}

/// Business time comes from a `Clock`; only `SystemClock` reads the wall clock. Any other read
/// (`Utc::now`, `Local::now`, `SystemTime::now`) in any code, test or not, needs a
/// `wall-clock:` comment on its line or the two above saying why it is not business time.
#[test]
fn the_wall_clock_is_read_only_by_the_system_clock() {
    let mut offenders = Vec::new();
    for file in all_rust_files() {
        if file.ends_with("bank/src/clock.rs") || file.ends_with("tests/tidy.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let reads = ["Utc::now(", "Local::now(", "SystemTime::now("]
                .iter()
                .any(|r| line.contains(r));
            let marked = lines[i.saturating_sub(2)..=i]
                .iter()
                .any(|l| l.contains("wall-clock:"));
            if reads && !marked {
                offenders.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "wall-clock reads outside SystemClock:\n{}",
        offenders.join("\n")
    );
}

/// Every `.rs` file of the workspace: sources and tests of every crate.
fn all_rust_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = sources();
    rust_files(&root.join("tests"), &mut files);
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        let tests = krate.unwrap().path().join("tests");
        if tests.is_dir() {
            rust_files(&tests, &mut files);
        }
    }
    files
}

#[test]
fn moscow_time_is_computed_only_in_the_domain_module() {
    // Offsets and hour arithmetic are how "Moscow time" used to be spelled nine ways.
    let patterns = ["east_opt(", "hours(3)", "3 * 3600"];
    let mut offenders = Vec::new();
    for file in all_rust_files() {
        if file.ends_with("domain/src/moscow.rs") || file.ends_with("tests/tidy.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            if patterns.iter().any(|p| line.contains(p)) {
                offenders.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "Moscow time computed outside qrpayd_domain::moscow:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_date_detector_sees_dates_and_nothing_else() {
    // fixed-date: inputs of the detector itself.
    assert!(has_date_literal(r#"let d = "2026-11-28";"#));
    assert!(has_date_literal(
        "Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0)"
    ));
    assert!(has_date_literal("NaiveDate::from_ymd_opt( 2024, 2, 1)"));
    assert!(!has_date_literal(
        "Utc.with_ymd_and_hms(year, 11, 28, 9, 0, 0)"
    ));
    assert!(!has_date_literal(
        r#"let id = "AS1000408BSPMRDI8IHBGO4DFQAISU9O";"#
    ));
    assert!(!has_date_literal("amount: 1110-11"));
}

// --- no import circles between the files of a crate ------------------------------------------

use std::collections::{BTreeMap, BTreeSet};

/// Every module of the crate at `src` by path (`""` for the root, `a::b`), with its file.
fn modules_of(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files
        .into_iter()
        .map(|f| {
            let rel = f.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            (parts.join("::"), f)
        })
        .collect()
}

/// The non-test code of a file, without comments (doc links are not imports).
fn code_only(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`, `a::b as c`) into full paths, each with the
/// name it is known by.
fn expand_use(tree: &str, prefix: &str, out: &mut Vec<(String, String)>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim_end_matches("::");
        let Some(close) = tree.rfind('}') else {
            return;
        };
        let inner = &tree[open + 1..close];
        let base = if head.is_empty() {
            prefix.to_owned()
        } else if prefix.is_empty() {
            head.to_owned()
        } else {
            format!("{prefix}::{head}")
        };
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand_use(&inner[start..i], &base, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand_use(&inner[start..], &base, out);
    } else if !tree.is_empty() {
        let mut split = tree.split(" as ");
        let path = split.next().unwrap().trim();
        let full = if prefix.is_empty() {
            path.to_owned()
        } else {
            format!("{prefix}::{path}")
        };
        let alias = split
            .next()
            .map(|a| a.trim().to_owned())
            .unwrap_or_else(|| full.rsplit("::").next().unwrap().to_owned());
        out.push((full, alias));
    }
}

/// `path` (relative to module `at`: `crate::…`, `super::…`, `self::…`) as an absolute path, or
/// `None` for an external crate's.
fn absolute(path: &str, at: &str) -> Option<String> {
    let mut base: Vec<&str> = if at.is_empty() {
        vec![]
    } else {
        at.split("::").collect()
    };
    let mut parts = path.split("::").peekable();
    match parts.peek().copied() {
        Some("crate") => {
            parts.next();
            base.clear();
        }
        Some("super") => {
            while parts.peek() == Some(&"super") {
                parts.next();
                base.pop();
            }
        }
        Some("self") => {
            parts.next();
        }
        _ => return None,
    }
    base.extend(parts);
    Some(base.join("::"))
}

/// The module a path lands in: the longest module prefix, following the `pub use`
/// re-exports of module roots (so `crate::Sandbox` lands where `Sandbox` is defined).
fn landing(
    path: &str,
    modules: &BTreeMap<String, PathBuf>,
    reexports: &BTreeMap<String, String>,
) -> Option<String> {
    let parts: Vec<&str> = path.split("::").collect();
    for n in (0..=parts.len()).rev() {
        let module = parts[..n].join("::");
        if modules.contains_key(&module) {
            if let Some(next) = parts.get(n) {
                let key = if module.is_empty() {
                    (*next).to_owned()
                } else {
                    format!("{module}::{next}")
                };
                if let Some(target) = reexports.get(&key)
                    && target != path
                {
                    return landing(target, modules, reexports);
                }
            }
            return Some(module);
        }
    }
    None
}

/// The modules each module of the crate at `src` imports (its non-test code).
fn import_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules_of(src);
    let mut reexports = BTreeMap::new();
    let mut uses: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut bodies: BTreeMap<String, String> = BTreeMap::new();
    for (module, file) in &modules {
        let code = code_only(file);
        let mut paths = Vec::new();
        // `use` statements start a line (after indentation) and end at the next `;`.
        let mut statements = Vec::new();
        let mut current: Option<String> = None;
        for line in code.lines() {
            let trimmed = line.trim_start();
            if current.is_none()
                && (trimmed.starts_with("use ")
                    || trimmed.starts_with("pub use ")
                    || trimmed.starts_with("pub(crate) use "))
            {
                current = Some(String::new());
            }
            if let Some(text) = current.as_mut() {
                text.push_str(trimmed);
                text.push(' ');
                if trimmed.trim_end().ends_with(';') {
                    statements.push(text.trim().trim_end_matches(';').to_owned());
                    current = None;
                }
            }
        }
        for statement in &statements {
            let statement = statement.trim();
            let Some(rest) = statement
                .strip_prefix("pub use ")
                .or_else(|| statement.strip_prefix("pub(crate) use "))
                .map(|r| (true, r))
                .or_else(|| statement.strip_prefix("use ").map(|r| (false, r)))
            else {
                continue;
            };
            let (public, tree) = rest;
            let mut expanded = Vec::new();
            expand_use(tree, "", &mut expanded);
            for (p, alias) in expanded {
                // A path may start with a child module of this one (`use books::X`).
                let first = p.split("::").next().unwrap_or_default();
                let child = if module.is_empty() {
                    first.to_owned()
                } else {
                    format!("{module}::{first}")
                };
                let Some(abs) = absolute(&p, module).or_else(|| {
                    modules.contains_key(&child).then(|| {
                        format!(
                            "{}{p}",
                            if module.is_empty() {
                                String::new()
                            } else {
                                format!("{module}::")
                            }
                        )
                    })
                }) else {
                    continue;
                };
                if public {
                    // A re-export serves other modules; it is not this module's dependency.
                    let name = alias;
                    let key = if module.is_empty() {
                        name
                    } else {
                        format!("{module}::{name}")
                    };
                    reexports.insert(key, abs);
                    continue;
                }
                paths.push(abs);
            }
        }
        uses.insert(module.clone(), paths);
        // The rest of the code, without its `use` lines (those are counted above).
        let mut in_use = false;
        let body: Vec<&str> = code
            .lines()
            .filter(|line| {
                let t = line.trim_start();
                if t.starts_with("use ")
                    || t.starts_with("pub use ")
                    || t.starts_with("pub(crate) use ")
                {
                    in_use = !t.trim_end().ends_with(';');
                    return false;
                }
                if in_use {
                    in_use = !t.trim_end().ends_with(';');
                    return false;
                }
                true
            })
            .collect();
        bodies.insert(module.clone(), body.join("\n"));
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, paths) in &uses {
        let code = &bodies[module];
        let mut targets = BTreeSet::new();
        let mut all = paths.clone();
        // Paths written in the code: `crate::a::b`, and `m::item` through an imported module `m`.
        for word in code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
            let word = word.trim_end_matches(':');
            if (word.starts_with("crate::") || word.starts_with("super::"))
                && !word.ends_with("super")
            {
                all.extend(absolute(word, module));
            }
        }
        let aliases: Vec<(String, String)> = paths
            .iter()
            .filter(|p| modules.contains_key(*p))
            .map(|p| (p.rsplit("::").next().unwrap().to_owned(), p.clone()))
            .collect();
        for word in code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
            for (alias, target) in &aliases {
                if let Some(rest) = word.strip_prefix(&format!("{alias}::")) {
                    all.push(format!("{target}::{rest}"));
                }
            }
        }
        // Children a module declares with `mod x;` and uses as `x::item`.
        for other in modules.keys() {
            let parent = other.rsplit_once("::").map_or("", |(p, _)| p);
            if parent == module.as_str() && !other.is_empty() {
                let name = other.rsplit("::").next().unwrap();
                for word in code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
                    if let Some(rest) = word.strip_prefix(&format!("{name}::")) {
                        all.push(format!("{other}::{rest}"));
                    }
                }
            }
        }
        for path in all {
            // Naming a module (`use crate::{a, b}`) is not yet a use of it: its items are.
            if modules.contains_key(&path) {
                continue;
            }
            if let Some(target) = landing(&path, &modules, &reexports)
                && &target != module
            {
                targets.insert(target);
            }
        }
        graph.insert(module.clone(), targets);
    }
    graph
}

/// A cycle in `graph`, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

/// Files of a crate import in one direction only: a module never reaches itself again
/// through its imports (module roots that only declare and re-export are looked through).
#[test]
fn no_import_circles_inside_crates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut crates = vec![root.join("src")];
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        crates.push(krate.unwrap().path().join("src"));
    }
    let mut circles = Vec::new();
    for src in crates {
        let graph = import_graph(&src);
        if std::env::var_os("QRPAYD_PRINT_IMPORTS").is_some() {
            eprintln!("{}: {graph:#?}", src.display());
        }
        if let Some(cycle) = find_cycle(&graph) {
            circles.push(format!("{}: {}", src.display(), cycle.join(" → ")));
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_circle_finder_finds_circles() {
    let mut graph = BTreeMap::new();
    graph.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    graph.insert("b".to_owned(), BTreeSet::from(["c".to_owned()]));
    graph.insert("c".to_owned(), BTreeSet::new());
    assert_eq!(find_cycle(&graph), None);
    graph.get_mut("c").unwrap().insert("a".to_owned());
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
    let mut out = Vec::new();
    expand_use("crate::{a::{B, c as d}, e}", "", &mut out);
    let paths: Vec<_> = out.iter().map(|(p, a)| format!("{p} as {a}")).collect();
    assert_eq!(
        paths,
        ["crate::a::B as B", "crate::a::c as d", "crate::e as e"]
    );
    assert_eq!(absolute("super::x::Y", "p::q").as_deref(), Some("p::x::Y"));
}

/// The crates depend on each other in one direction only (ARCHITECTURE.md's code map):
/// domain ← bank ← sandbox; domain ← store; domain, bank, store ← service; the binary wires
/// everything, the demo's sandbox bank included.
#[test]
fn crates_depend_in_one_direction() {
    let allowed: [(&str, &[&str]); 5] = [
        ("domain", &[]),
        ("bank", &["qrpayd-domain"]),
        ("sandbox", &["qrpayd-domain", "qrpayd-bank"]),
        ("store", &["qrpayd-domain"]),
        ("service", &["qrpayd-domain", "qrpayd-bank", "qrpayd-store"]),
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut wrong = Vec::new();
    for (krate, may) in allowed {
        let manifest =
            std::fs::read_to_string(root.join("crates").join(krate).join("Cargo.toml")).unwrap();
        // The `[dependencies]` table only (dev-dependencies may reach further, for tests).
        let deps = manifest
            .split("[dependencies]")
            .nth(1)
            .unwrap_or_default()
            .split("\n[")
            .next()
            .unwrap_or_default();
        for line in deps.lines() {
            let name = line.split(['.', '=', ' ']).next().unwrap_or_default();
            if name.starts_with("qrpayd-") && !may.contains(&name) {
                wrong.push(format!("qrpayd-{krate} depends on {name}"));
            }
        }
    }
    let members = std::fs::read_dir(root.join("crates")).unwrap().count();
    assert_eq!(
        members,
        allowed.len(),
        "a new crate needs its place in this list"
    );
    assert!(
        wrong.is_empty(),
        "dependencies against the direction: {wrong:?}"
    );
}
