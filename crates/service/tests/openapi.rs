//! The golden test of the OpenAPI document: the committed `src/api/openapi.json` (served at
//! `/openapi.json`) must equal the document derived from the code (`api::derived_openapi_json`:
//! the handlers' `#[utoipa::path]` descriptions and the wire types' schemas).
//!
//! After changing the API, rewrite the file and commit it:
//! `QRPAYD_BLESS=1 cargo test -p qrpayd-service --test openapi`.

#![expect(clippy::expect_used, reason = "tests fail loudly")]

use std::collections::BTreeSet;

use qrpayd_service::api::{ErrorCode, OPENAPI, derived_openapi_json};
use serde_json::Value;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/api/openapi.json");

#[test]
fn the_committed_document_is_the_derived_one() {
    let derived = derived_openapi_json();
    if std::env::var_os("QRPAYD_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(COMMITTED, &derived).expect("write openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(COMMITTED).expect("read openapi.json");
    if committed != derived {
        let first = committed
            .lines()
            .zip(derived.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(derived.lines().count()));
        panic!(
            "src/api/openapi.json is not the document derived from the code (first difference at line {}).\n\
             If the API change is intended: QRPAYD_BLESS=1 cargo test -p qrpayd-service --test openapi, then commit the file.",
            first + 1
        );
    }
    assert_eq!(
        OPENAPI, committed,
        "the served document is the committed one"
    );
}

fn document() -> Value {
    serde_json::from_str(&derived_openapi_json()).expect("the derived document is JSON")
}

#[test]
fn it_is_openapi_3_1_and_every_ref_resolves() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut refs = BTreeSet::new();
    fn walk(v: &Value, refs: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    refs.insert(r.clone());
                }
                map.values().for_each(|v| walk(v, refs));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, refs)),
            _ => {}
        }
    }
    walk(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let pointer = r.strip_prefix('#').expect("local refs only");
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
}

#[test]
fn every_error_code_is_in_the_error_code_schema_with_its_status() {
    let doc = document();
    let schema = &doc["components"]["schemas"]["ErrorCode"];
    let listed: BTreeSet<&str> = schema["enum"]
        .as_array()
        .expect("enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let table = schema["description"].as_str().expect("description");
    for code in ErrorCode::ALL {
        assert!(
            listed.contains(code.as_str()),
            "{code} missing from the enum"
        );
        let row = format!("| `{}` | {}", code.as_str(), code.status().as_u16());
        assert!(table.contains(&row), "{code} missing from the table");
        assert!(!code.description().is_empty(), "{code} has no description");
    }
    assert_eq!(listed.len(), ErrorCode::ALL.len(), "codes are unique");
}

#[test]
fn every_operation_is_described_and_secured_as_intended() {
    let doc = document();
    let paths = doc["paths"].as_object().expect("paths");
    let mut ids = BTreeSet::new();
    for (path, item) in paths {
        assert!(
            !path.starts_with("/sandbox-bank"),
            "{path}: the sandbox bank is not qrpayd's API"
        );
        for (method, op) in item.as_object().expect("path item") {
            let id = op["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_owned()), "{id} twice");
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path}: summary"
            );
            assert!(
                op["description"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path}: description"
            );
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}: responses"
            );
            // Every /v1 operation except the bank callbacks needs a key.
            let security = op.get("security").and_then(Value::as_array);
            if path.starts_with("/v1/") && !path.starts_with("/v1/callbacks/") {
                let schemes: BTreeSet<&str> = security
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_object)
                    .flat_map(|o| o.keys().map(String::as_str))
                    .collect();
                assert!(!schemes.is_empty(), "{method} {path} needs a key");
                if path.starts_with("/v1/admin/") {
                    assert_eq!(schemes, BTreeSet::from(["adminKey"]), "{method} {path}");
                }
            }
        }
    }
    assert!(ids.len() >= 28, "{} operations", ids.len());
}
