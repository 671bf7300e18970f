//! The RBS callback checksum (BANKS.md §3.6; BPC's "Callback notifications" page,
//! dev.bpcbt.com/en/integration/api/rest.html, and Alfa-Bank's "Callback-уведомления" of
//! 2024-11-11):
//!
//! 1. take every parameter of the notification except `checksum` and `sign_alias`;
//! 2. sort them by name and write `name;value;` for each, one after another (the string ends
//!    with `;`);
//! 3. symmetric mode: HMAC-SHA256 of that string with the merchant's callback key, as
//!    upper-case hex; asymmetric mode: an RSA PKCS#1 v1.5 signature with SHA-512 by the
//!    gateway's private key, as hex, checked with its public key. (The examples of both
//!    documents sign with SHA-512 although their `sign_alias` says "SHA-256 with RSA".)
//!
//! Also the form encoding the gateway speaks both ways (requests and POST notifications are
//! `application/x-www-form-urlencoded`), shared with qrpayd's sandbox.

use base64::Engine;
use hmac::{Hmac, Mac};
use qrpayd_domain::secret::Secret;
use sha2::Sha256;

/// The parameter that carries the checksum.
pub const CHECKSUM: &str = "checksum";

/// The parameter naming the gateway's key (asymmetric mode); never signed.
pub const SIGN_ALIAS: &str = "sign_alias";

/// The string the checksum covers: every parameter but `checksum` and `sign_alias`, sorted by
/// name, as `name;value;` each.
pub fn signed_string(params: &[(String, String)]) -> String {
    let mut signed: Vec<&(String, String)> = params
        .iter()
        .filter(|(name, _)| name != CHECKSUM && name != SIGN_ALIAS)
        .collect();
    signed.sort_by(|a, b| a.0.cmp(&b.0));
    signed
        .iter()
        .map(|(name, value)| format!("{name};{value};"))
        .collect()
}

/// The symmetric checksum of `params` with `key`: upper-case hex HMAC-SHA256.
pub fn symmetric_checksum(params: &[(String, String)], key: &Secret) -> String {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(signed_string(params).as_bytes());
    hex::encode_upper(mac.finalize().into_bytes())
}

/// Compares two hex strings without stopping at the first difference; case does not matter.
fn same_hex(given: &str, expected: &str) -> bool {
    let given = given.trim().to_ascii_uppercase();
    let expected = expected.to_ascii_uppercase();
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Does `given` match the symmetric checksum of `params`?
pub fn symmetric_matches(params: &[(String, String)], given: &str, key: &Secret) -> bool {
    !key.expose().is_empty() && same_hex(given, &symmetric_checksum(params, key))
}

/// The DER of a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY` (PKCS#1) block, or
/// why it is not one.
pub fn public_key_der(pem: &str) -> Result<Vec<u8>, String> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("-----"))
        .collect();
    let kind_ok = pem.contains("BEGIN PUBLIC KEY") || pem.contains("BEGIN RSA PUBLIC KEY");
    if !kind_ok {
        return Err(
            "callback_public_key must be a PEM \"PUBLIC KEY\" block (openssl x509 -pubkey -noout extracts it from the bank's certificate)".into(),
        );
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|e| format!("callback_public_key is not valid base64: {e}"))?;
    aws_lc_rs::rsa::PublicKey::from_der(&der)
        .map_err(|e| format!("callback_public_key is not an RSA public key: {e}"))?;
    Ok(der)
}

/// Does `given` (hex) verify as the gateway's RSA/SHA-512 signature of `params` under the
/// public key `der`?
pub fn asymmetric_matches(params: &[(String, String)], given: &str, der: &[u8]) -> bool {
    let Ok(signature) = hex::decode(given.trim().to_ascii_lowercase()) else {
        return false;
    };
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA512,
        der,
    )
    .verify(signed_string(params).as_bytes(), &signature)
    .is_ok()
}

/// `application/x-www-form-urlencoded` text of `pairs`, in their order.
pub fn encode_form<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The pairs of an `application/x-www-form-urlencoded` body, in their order. `None` when a
/// name appears twice (which value was signed?) or the body is not UTF-8.
pub fn parse_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    std::str::from_utf8(body).ok()?;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let mut names: Vec<&str> = pairs.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    (names.len() == before).then_some(pairs)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_documented_string_from_the_documented_url() {
        // BPC's and Alfa's worked example: the notification
        // `?amount=123456&orderNumber=10747&checksum=DBBE…&mdOrder=3ff6962a-…&operation=deposited&status=1`
        // signs this string (parameters in any order, `checksum` left out).
        let url_query = "amount=123456&orderNumber=10747&checksum=DBBE9E54D42072D8CAF32C7F660DEB82086A25C14FD813888E231A99E1220AB3&mdOrder=3ff6962a-7dcc-4283-ab50-a6d7dd3386fe&operation=deposited&status=1";
        let params = parse_form(url_query.as_bytes()).unwrap();
        assert_eq!(
            signed_string(&params),
            "amount;123456;mdOrder;3ff6962a-7dcc-4283-ab50-a6d7dd3386fe;operation;deposited;orderNumber;10747;status;1;"
        );
    }

    #[test]
    fn symmetric_vector_of_the_bpc_documentation() {
        // dev.bpcbt.com "Callback notifications", Java example `SymmetricCryptographyExample`:
        // key and parameters as published, checksum as published.
        let key = Secret::new("ooc7slpvc61k7sf7ma7p4hrefr");
        let params = pairs(&[
            (
                "checksum",
                "EAF2FB72CAB99FD5067F4BA493DD84F4D79C1589FDE8ED29622F0F07215AA972",
            ),
            ("mdOrder", "06cf5599-3f17-7c86-bdbc-bd7d00a8b38b"),
            ("operation", "approved"),
            ("orderNumber", "2003"),
            ("status", "1"),
        ]);
        assert_eq!(
            symmetric_checksum(&params, &key),
            "EAF2FB72CAB99FD5067F4BA493DD84F4D79C1589FDE8ED29622F0F07215AA972"
        );
        assert!(symmetric_matches(
            &params,
            "eaf2fb72cab99fd5067f4ba493dd84f4d79c1589fde8ed29622f0f07215aa972",
            &key
        ));
        let mut tampered = params.clone();
        tampered.push(("amount".into(), "1".into()));
        assert!(!symmetric_matches(
            &tampered,
            "EAF2FB72CAB99FD5067F4BA493DD84F4D79C1589FDE8ED29622F0F07215AA972",
            &key
        ));
        assert!(!symmetric_matches(
            &params,
            "EAF2FB72CAB99FD5067F4BA493DD84F4D79C1589FDE8ED29622F0F07215AA972",
            &Secret::new("")
        ));
    }

    // fixed-date: a document's date in a citation, never compared with any clock.
    /// Alfa-Bank's "Callback-уведомления" (2024-11-11), §5.4: the gateway's public key.
    pub(crate) const ALFA_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwtuGKbQ4WmfdV1gjWWys
5jyHKTWXnxX3zVa5/Cx5aKwJpOsjrXnHh6l8bOPQ6Sgj3iSeKJ9plZ3i7rPjkfmw
qUOJ1eLU5NvGkVjOgyi11aUKgEKwS5Iq5HZvXmPLzu+U22EUCTQwjBqnE/Wf0hnI
wYABDgc0fJeJJAHYHMBcJXTuxF8DmDf4DpbLrQ2bpGaCPKcX+04POS4zVLVCHF6N
6gYtM7U2QXYcTMTGsAvmIqSj1vddGwvNGeeUVoPbo6enMBbvZgjN5p6j3ItTziMb
Vba3m/u7bU1dOG2/79UpGAGR10qEFHiOqS6WpO7CuIR2tL9EznXRc7D9JZKwGfoY
/QIDAQAB
-----END PUBLIC KEY-----
";

    /// The same document's signature of `amount;35000099;mdOrder;12b59da8-…;operation;deposited;status;1;`.
    pub(crate) const ALFA_SIGNATURE: &str = "9524FD765FB1BABFB1F42E4BC6EF5A4B07BAA3F9C809098ACBB462618A9327539F975FEDB4CF6EC1556FF88BA74774342AF4F5B51BA63903BE9647C670EBD962467282955BD1D57B16935C956864526810870CD32967845EBABE1C6565C03F94FF66907CEDB54669A1C74AC1AD6E39B67FA7EF6D305A007A474F03B80FD6C965656BEAA74E09BB1189F4B32E622C903DC52843C454B7ACF76D6F76324C27767DE2FF6E7217716C19C530CA7551DB58268CC815638C30F3BCA3270E1FD44F63C14974B108E65C20638ECE2F2D752F32742FFC5077415102706FA5235D310D4948A780B08D1B75C8983F22F211DFCBF14435F262ADDA6A97BFEB6D332C3D51010B";

    #[test]
    fn asymmetric_vector_of_the_alfa_documentation() {
        let der = public_key_der(ALFA_PUBLIC_KEY).unwrap();
        let params = pairs(&[
            ("amount", "35000099"),
            ("sign_alias", "SHA-256 with RSA"),
            ("checksum", ALFA_SIGNATURE),
            ("mdOrder", "12b59da8-f68f-7c8d-12b5-9da8000826ea"),
            ("operation", "deposited"),
            ("status", "1"),
        ]);
        assert_eq!(
            signed_string(&params),
            "amount;35000099;mdOrder;12b59da8-f68f-7c8d-12b5-9da8000826ea;operation;deposited;status;1;"
        );
        assert!(asymmetric_matches(&params, ALFA_SIGNATURE, &der));
        // One digit of the amount changed: refused.
        let mut tampered = params.clone();
        tampered[0].1 = "35000098".into();
        assert!(!asymmetric_matches(&tampered, ALFA_SIGNATURE, &der));
        assert!(!asymmetric_matches(&params, "not hex", &der));
    }

    #[test]
    fn keys_that_are_not_rsa_public_keys_are_refused() {
        assert!(public_key_der("hello").is_err());
        assert!(
            public_key_der("-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----").is_err()
        );
        assert!(
            public_key_der("-----BEGIN PUBLIC KEY-----\naGVsbG8=\n-----END PUBLIC KEY-----")
                .is_err()
        );
    }

    #[test]
    fn forms_round_trip_and_repeated_names_are_refused() {
        let text = encode_form([("mdOrder", "a b&c"), ("amount", "100")]);
        assert_eq!(text, "mdOrder=a+b%26c&amount=100");
        assert_eq!(
            parse_form(text.as_bytes()).unwrap(),
            pairs(&[("mdOrder", "a b&c"), ("amount", "100")])
        );
        assert!(parse_form(b"status=1&status=0").is_none());
        assert!(parse_form(&[0xff, 0xfe]).is_none());
    }
}
