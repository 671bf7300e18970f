//! T-Bank's request and notification signature, `Token` (BANKS.md §3.3,
//! <https://developer.tbank.ru/eacq/intro/developer/token>):
//!
//! 1. take the root-level parameters whose values are scalars (strings, numbers, booleans;
//!    nested objects such as `DATA` or `Receipt`, arrays and nulls are left out), except
//!    `Token` itself;
//! 2. add `Password` with the terminal's password;
//! 3. sort by key and concatenate the *values* (strings as they are, numbers as written,
//!    booleans as `true`/`false`);
//! 4. SHA-256 of the UTF-8 bytes, as lowercase hex.

use std::collections::BTreeMap;

use qrpayd_domain::secret::Secret;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

/// The parameter that carries the signature (never part of it).
pub(super) const TOKEN: &str = "Token";

/// SHA-256 hex of the values of `pairs` sorted by key, with `Password` added.
fn digest<'a>(pairs: impl Iterator<Item = (&'a str, String)>, password: &Secret) -> String {
    let mut sorted: BTreeMap<&str, String> = pairs.filter(|(key, _)| *key != TOKEN).collect();
    sorted.insert("Password", password.expose().to_owned());
    let mut hasher = Sha256::new();
    for value in sorted.values() {
        hasher.update(value.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// The text a scalar JSON value contributes, or `None` for what the rule leaves out.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// The `Token` of a request whose parameters are `params`.
pub fn request_token(params: &serde_json::Map<String, Value>, password: &Secret) -> String {
    digest(
        params
            .iter()
            .filter_map(|(key, value)| Some((key.as_str(), scalar_text(value)?))),
        password,
    )
}

/// The same rule over a notification as received: numbers and booleans are taken as their
/// raw JSON text, strings decoded. `None` when a string value cannot be decoded.
pub fn raw_token(fields: &BTreeMap<String, Box<RawValue>>, password: &Secret) -> Option<String> {
    let mut pairs = Vec::with_capacity(fields.len());
    for (key, raw) in fields {
        let text = raw.get();
        match text.bytes().next() {
            Some(b'"') => pairs.push((key.as_str(), serde_json::from_str::<String>(text).ok()?)),
            Some(b'{' | b'[' | b'n') | None => {}
            Some(_) => pairs.push((key.as_str(), text.to_owned())),
        }
    }
    Some(digest(pairs.into_iter(), password))
}

/// Compares two hex tokens without stopping at the first difference; case does not matter.
pub fn same_token(given: &str, expected: &str) -> bool {
    let given = given.trim().to_ascii_lowercase();
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_by_hand_from_the_documented_rule() {
        let params = serde_json::json!({
            "TerminalKey": "TinkoffBankTest",
            "Amount": 19200,
            "OrderId": "21090",
            "Description": "Подарочная карта на 1000 рублей",
            "DATA": {"QR": "true"},
            "Receipt": {"Items": []},
        });
        let password = Secret::new("usaf8fw8fsw21g");
        // Sorted keys: Amount, Description, OrderId, Password, TerminalKey (DATA and Receipt
        // are objects, left out).
        let concatenated = "19200Подарочная карта на 1000 рублей21090usaf8fw8fsw21gTinkoffBankTest";
        let by_hand = hex::encode(Sha256::digest(concatenated.as_bytes()));
        assert_eq!(
            by_hand,
            "44a2c8230d1154e7e67c36eceb381690a6c5ee4e969353d79e319fceca64285f"
        );
        let Value::Object(map) = params else {
            unreachable!()
        };
        assert_eq!(request_token(&map, &password), by_hand);
    }

    #[test]
    fn booleans_are_true_false_and_token_is_left_out() {
        let password = Secret::new("pw");
        let params = serde_json::json!({
            "PaymentId": "13660",
            "IsRejected": true,
            "IsDeadlineExpired": false,
            "TerminalKey": "T",
            "Token": "ignored",
        });
        let Value::Object(map) = params else {
            unreachable!()
        };
        // IsDeadlineExpired, IsRejected, Password, PaymentId, TerminalKey.
        let by_hand = hex::encode(Sha256::digest("falsetruepw13660T".as_bytes()));
        assert_eq!(request_token(&map, &password), by_hand);
    }

    #[test]
    fn notification_fixture_of_a_public_client() {
        // The notification of nikita-vanyasin/tinkoff's notification_test.go (password
        // `xxxxxxxxxxxxxxxx`), checked with the raw-text rule.
        let body = r#"{"TerminalKey":"1726675329428DEMO","OrderId":"9863471b-8d42-4617-9073-11339159aba9","Success":true,"Status":"AUTHORIZED","PaymentId":5974256058,"ErrorCode":"0","Amount":19900,"CardId":475738102,"Pan":"430000******0777","ExpDate":"1230","RebillId":1741204285536,"Token":"16cfc8cd6e8f8fc1d404e3f9984c8058ecdf6eab622a9cc73c2e3824e47124ac"}"#;
        let fields: BTreeMap<String, Box<RawValue>> = serde_json::from_str(body).unwrap();
        let token = raw_token(&fields, &Secret::new("xxxxxxxxxxxxxxxx")).unwrap();
        assert_eq!(
            token,
            "16cfc8cd6e8f8fc1d404e3f9984c8058ecdf6eab622a9cc73c2e3824e47124ac"
        );
        assert!(same_token(&token.to_uppercase(), &token));
        assert!(!same_token("16cf", &token));
    }
}
