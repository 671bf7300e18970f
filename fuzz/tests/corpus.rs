//! Every committed corpus file passes its target: the fuzz corpus doubles as a regression
//! suite (findings are kept in it), and it runs with `cargo test --workspace`.

use std::path::Path;

use qrpayd_fuzz::engine::{corpus, run_one};
use qrpayd_fuzz::targets::ALL;

#[test]
fn every_corpus_file_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut failures = Vec::new();
    for target in ALL {
        let files = corpus(&root.join(target.name));
        if files.is_empty() {
            failures.push(format!("{}: no corpus", target.name));
        }
        for (file, bytes) in files {
            if let Err(complaint) = run_one(target, &bytes) {
                failures.push(format!("{}: {complaint}", file.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_corpus_folder_belongs_to_a_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let strays: Vec<String> = std::fs::read_dir(&root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| ALL.iter().all(|t| t.name != name))
        .collect();
    assert!(
        strays.is_empty(),
        "corpus folders without a target: {strays:?}"
    );
}
