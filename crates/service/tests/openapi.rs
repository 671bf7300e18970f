//! The OpenAPI document (`src/api/openapi.json`, served at `/openapi.json`) checked against the
//! code it describes: every route of `api::router`, every error code the API can answer, every
//! `$ref`, the payment object's fields, and the housekeeping each operation needs.

#![expect(clippy::expect_used, reason = "tests fail loudly")]

use std::collections::BTreeSet;

use serde_json::Value;

/// The source of `api::router` (the routes).
const ROUTER_SOURCE: &str = include_str!("../src/api/mod.rs");
/// The source of the payment JSON (`payment_json`).
const VIEW_SOURCE: &str = include_str!("../src/api/view.rs");
/// The embedded sandbox bank's routes, mounted under [`SANDBOX_PREFIX`].
const SANDBOX_ROUTES_SOURCE: &str = include_str!("../../sandbox/src/routes.rs");
/// Where `api::router` nests the sandbox bank.
const SANDBOX_PREFIX: &str = "/sandbox-bank";
/// HTTP methods an OpenAPI path item may hold.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn document() -> Value {
    serde_json::from_str(qrpayd_service::api::OPENAPI).expect("openapi.json is not valid JSON")
}

/// The text right after every occurrence of `pattern`.
fn after<'a>(text: &'a str, pattern: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    text.match_indices(pattern)
        .filter_map(move |(at, _)| text.get(at + pattern.len()..))
}

/// The string literal `text` starts with (after whitespace), if any.
fn leading_literal(text: &str) -> Option<&str> {
    let rest = text.trim_start().strip_prefix('"')?;
    rest.split_once('"').map(|(literal, _)| literal)
}

/// A literal that looks like an error code (`snake_case`).
fn code_literal(text: &str) -> Option<&str> {
    leading_literal(text).filter(|code| {
        !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    })
}

/// Every error code string literal in `source`: the second argument of `ApiError::new(..)` /
/// `Self::new(..)`, the first of `bad_request(..)` / `unprocessable(..)`, and `"code": "…"` in
/// hand-built JSON (the health check's answer).
fn error_codes_in(source: &str) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for constructor in ["ApiError::new(", "Self::new("] {
        for rest in after(source, constructor) {
            let second = rest
                .split_once(',')
                .and_then(|(_, second)| code_literal(second));
            codes.extend(second.map(str::to_owned));
        }
    }
    for helper in ["bad_request(", "unprocessable(", "\"code\":"] {
        codes.extend(
            after(source, helper)
                .filter_map(code_literal)
                .map(str::to_owned),
        );
    }
    codes
}

/// `(path, methods)` of every `.route("…", method(handler)…)` in `source`.
fn routes_in(source: &str) -> Vec<(String, BTreeSet<String>)> {
    let mut routes = Vec::new();
    for rest in after(source, ".route(") {
        let Some(path) = leading_literal(rest) else {
            continue;
        };
        // The method routers of this route: up to the next `.route(` or the end of the chain.
        let call = rest.split(".route(").next().unwrap_or_default();
        let call = call.split(';').next().unwrap_or_default();
        let methods = METHODS
            .iter()
            .filter(|m| {
                [format!(" {m}("), format!("({m}("), format!(".{m}(")]
                    .iter()
                    .any(|p| call.contains(p.as_str()))
            })
            .map(|m| (*m).to_owned())
            .collect();
        routes.push((path.to_owned(), methods));
    }
    routes
}

/// The operations of the document: `(path, method, operation)`.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let paths = doc["paths"].as_object().expect("`paths` is an object");
    let mut all = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                all.push((path.clone(), method.to_owned(), operation));
            }
        }
    }
    all
}

fn string_set(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

#[test]
fn is_openapi_3_1_with_the_agreed_info() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "qrpayd POS API");
    assert_eq!(doc["info"]["version"], "1");
    let description = doc["info"]["description"]
        .as_str()
        .expect("info.description");
    for topic in [
        "kopecks",
        "Bearer",
        "Idempotency-Key",
        "Idempotent-Replayed",
        "idempotency_key_reused",
        "max_wait_seconds",
        "register_timeout_seconds",
        "late",
    ] {
        assert!(
            description.contains(topic),
            "info.description does not explain {topic}"
        );
    }
    let scheme = &doc["components"]["securitySchemes"]["registerKey"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
}

#[test]
fn every_route_of_the_router_is_documented_with_its_methods() {
    let doc = document();
    let routes = routes_in(ROUTER_SOURCE);
    assert!(
        routes.len() >= 6,
        "found only {routes:?} in api/mod.rs: has `router` changed shape?"
    );
    for (path, methods) in &routes {
        let item = &doc["paths"][path];
        assert!(
            item.is_object(),
            "route {path} is not in openapi.json `paths`"
        );
        assert!(!methods.is_empty(), "no method found for route {path}");
        for method in methods {
            assert!(
                item[method].is_object(),
                "{} {path} is not in openapi.json",
                method.to_uppercase()
            );
        }
    }
    // And nothing invented: every documented path outside the sandbox is a route.
    let known: BTreeSet<&str> = routes.iter().map(|(p, _)| p.as_str()).collect();
    for path in doc["paths"].as_object().expect("paths").keys() {
        if !path.starts_with(SANDBOX_PREFIX) {
            assert!(
                known.contains(path.as_str()),
                "openapi.json documents {path}, which `router` does not serve"
            );
        }
    }
}

#[test]
fn sandbox_paths_are_real_sandbox_routes_and_all_are_listed_in_the_tag() {
    let doc = document();
    let routes = routes_in(SANDBOX_ROUTES_SOURCE);
    assert!(
        routes.len() >= 10,
        "found only {routes:?} in sandbox/src/routes.rs"
    );
    let init = format!("{SANDBOX_PREFIX}/api/nspc-mock/v01/rfuture/payment/init");
    assert!(
        doc["paths"][&init]["post"].is_object(),
        "{init} is not documented"
    );
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let Some(inner) = path.strip_prefix(SANDBOX_PREFIX) else {
            continue;
        };
        let route = routes.iter().find(|(p, _)| p == inner);
        assert!(route.is_some(), "{path}: the sandbox has no route {inner}");
        let (_, methods) = route.expect("checked above");
        for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            assert!(
                methods.contains(*method),
                "{} {path} is not a sandbox route",
                method.to_uppercase()
            );
        }
    }
    let tag = doc["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .find(|t| t["name"] == "sandbox")
        .expect("a `sandbox` tag");
    let description = tag["description"]
        .as_str()
        .expect("sandbox tag description");
    assert!(
        description.contains("[sandbox]"),
        "the sandbox tag must say it needs a [sandbox] section"
    );
    for (path, _) in &routes {
        assert!(
            description.contains(path.as_str()),
            "the sandbox tag does not mention {path}"
        );
    }
}

#[test]
fn error_code_enum_matches_the_codes_in_the_code() {
    let doc = document();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/api");
    let mut in_code = BTreeSet::new();
    let mut files = 0;
    for entry in std::fs::read_dir(dir).expect("read src/api") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).expect("read a source file");
            in_code.extend(error_codes_in(&source));
            files += 1;
        }
    }
    assert!(files >= 5, "expected the api/*.rs files, found {files}");
    assert!(
        in_code.len() >= 25,
        "the scan found only {in_code:?}: has the error constructor changed?"
    );

    let schema = &doc["components"]["schemas"]["ErrorCode"];
    let documented = string_set(&schema["enum"]);
    assert_eq!(
        schema["enum"].as_array().expect("enum").len(),
        documented.len(),
        "ErrorCode lists a code twice"
    );
    let undocumented: Vec<_> = in_code.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&in_code).collect();
    assert!(
        undocumented.is_empty(),
        "codes the API answers but ErrorCode does not list: {undocumented:?}"
    );
    assert!(
        stale.is_empty(),
        "codes in ErrorCode that the code never answers: {stale:?}"
    );

    let descriptions = schema["x-enum-descriptions"]
        .as_array()
        .expect("x-enum-descriptions");
    assert_eq!(
        descriptions.len(),
        documented.len(),
        "one description per code, in enum order"
    );
    let table = schema["description"]
        .as_str()
        .expect("ErrorCode description");
    for code in &documented {
        assert!(
            table.contains(&format!("`{code}`")),
            "ErrorCode's description does not explain {code}"
        );
    }
    assert_eq!(
        doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["$ref"],
        "#/components/schemas/ErrorCode"
    );
}

#[test]
fn every_ref_resolves() {
    fn collect<'a>(value: &'a Value, refs: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    refs.push(r);
                }
                map.values().for_each(|v| collect(v, refs));
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, refs)),
            _ => {}
        }
    }
    let doc = document();
    let mut refs = Vec::new();
    collect(&doc, &mut refs);
    assert!(refs.len() > 20, "suspiciously few $refs: {refs:?}");
    for r in refs {
        let target = r.strip_prefix('#').and_then(|pointer| doc.pointer(pointer));
        assert!(
            target.is_some(),
            "{r} does not resolve (or is not a local `#/...` reference)"
        );
    }
}

#[test]
fn every_operation_is_described_tagged_and_secured_as_the_code_does() {
    let doc = document();
    let tags: BTreeSet<String> = doc["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t["name"].as_str().expect("tag name").to_owned())
        .collect();
    let mut ids = BTreeSet::new();
    for (path, method, op) in operations(&doc) {
        let at = format!("{} {path}", method.to_uppercase());
        let id = op["operationId"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "{at}: no operationId");
        assert!(
            ids.insert(id.to_owned()),
            "{at}: operationId {id} is used twice"
        );
        for field in ["summary", "description"] {
            assert!(
                op[field].as_str().is_some_and(|s| !s.is_empty()),
                "{at}: no {field}"
            );
        }
        let op_tags = string_set(&op["tags"]);
        assert!(!op_tags.is_empty(), "{at}: no tags");
        assert!(
            op_tags.is_subset(&tags),
            "{at}: tags {op_tags:?} are not all declared"
        );
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{at}: no responses"
        );

        let needs_key = path.starts_with("/v1/") && !path.starts_with("/v1/callbacks/");
        let expected = if needs_key {
            serde_json::json!([{ "registerKey": [] }])
        } else {
            serde_json::json!([])
        };
        assert_eq!(op["security"], expected, "{at}: security");
        if needs_key {
            assert!(op["responses"]["401"].is_object(), "{at}: no 401 answer");
        }
    }
    let create = &doc["paths"]["/v1/payments"]["post"];
    let key = create["parameters"]
        .as_array()
        .expect("create parameters")
        .iter()
        .filter_map(|p| {
            p["$ref"]
                .as_str()
                .and_then(|r| doc.pointer(r.strip_prefix('#')?))
        })
        .find(|p| p["name"] == "Idempotency-Key")
        .expect("POST /v1/payments documents Idempotency-Key");
    assert_eq!(key["in"], "header");
    assert_eq!(key["required"], true);
    assert!(create["responses"]["201"]["headers"]["Idempotent-Replayed"].is_object());
}

#[test]
fn payment_schema_has_exactly_the_fields_the_view_emits() {
    // `payment_json` writes one top-level field per line: `"name": value,`.
    let emitted: BTreeSet<String> = VIEW_SOURCE
        .lines()
        .filter_map(|line| leading_literal(line).filter(|_| line.trim_start().starts_with('"')))
        .map(str::to_owned)
        .collect();
    assert!(emitted.len() >= 10, "found only {emitted:?} in view.rs");
    let doc = document();
    let payment = &doc["components"]["schemas"]["Payment"];
    let properties: BTreeSet<String> = payment["properties"]
        .as_object()
        .expect("Payment.properties")
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        properties, emitted,
        "Payment.properties differ from view.rs"
    );
    assert_eq!(
        string_set(&payment["required"]),
        emitted,
        "every field is always present"
    );
    for example in payment["examples"].as_array().expect("Payment examples") {
        let keys: BTreeSet<String> = example
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, emitted, "a Payment example with other fields");
    }
    assert_eq!(
        string_set(&doc["components"]["schemas"]["PaymentStatus"]["enum"]),
        BTreeSet::from(["pending", "paid", "failed", "expired", "cancelled"].map(str::to_owned)),
    );
}
