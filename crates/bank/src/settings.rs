//! What checking a bank's settings produces ([`Problem`]), and the checks every bank shares.
//! Each bank's `settings.rs` uses these; `kind` collects them for the configuration.

/// Something wrong with a provider's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The setting (`secret_key`, …).
    pub field: &'static str,
    /// What is wrong, for a person.
    pub message: String,
    /// Is it a secret (which may then come from the environment instead of the file)?
    pub secret: bool,
}

impl Problem {
    /// A problem with `field`.
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Problem {
        Problem {
            field,
            message: message.into(),
            secret: false,
        }
    }

    /// `field` is required.
    pub(crate) fn missing(field: &'static str, secret: bool) -> Problem {
        Problem {
            field,
            message: format!("{field} is required"),
            secret,
        }
    }
}

/// Checks a bank base URL.
pub(crate) fn check_base_url(base_url: &str, problems: &mut Vec<Problem>) {
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        problems.push(Problem::new(
            "base_url",
            format!(
                "base_url {base_url:?} must start with https:// (or http:// for a local sandbox)"
            ),
        ));
    }
}
