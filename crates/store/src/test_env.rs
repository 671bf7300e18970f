//! What a test does when something outside the process is missing: the one "skip or fail"
//! rule every suite uses (databases, RabbitMQ, Chromium, `zbarimg`).
//!
//! `cargo test --workspace` must pass on a machine with only Rust installed, so a test whose
//! server or tool is absent skips, loudly, on stderr, naming what it needs and the variable
//! that would require it. CI must never pass by skipping, so when that variable is set (`.ci/run`
//! sets them all) the same absence fails the test. Lives in the store crate because that is
//! the one test-support crate the store's own tests and the black-box suites share.

/// Something a test needs from outside the process.
#[derive(Debug, Clone, Copy)]
pub struct Need {
    /// What it is, for people: `"RabbitMQ"`, `"Chromium"`.
    pub what: &'static str,
    /// The environment variable that makes its absence a failure, e.g.
    /// `QRPAYD_REQUIRE_RABBITMQ`.
    pub require: &'static str,
    /// How to get it (an install command, the variable with its address).
    pub how: &'static str,
}

/// RabbitMQ for the broker suite (`QRPAYD_TEST_AMQP_URL`).
pub const RABBITMQ: Need = Need {
    what: "RabbitMQ",
    require: "QRPAYD_REQUIRE_RABBITMQ",
    how: "start one at 127.0.0.1:5672 (guest/guest) or point QRPAYD_TEST_AMQP_URL at one",
};

/// Headless Chromium for the customer display pages.
pub const CHROMIUM: Need = Need {
    what: "Chromium",
    require: "QRPAYD_REQUIRE_BROWSER",
    how: "apt-get install --no-install-recommends chromium (found on PATH as `chromium`)",
};

/// Debian's `zbarimg`, the independent QR decoder.
pub const ZBARIMG: Need = Need {
    what: "zbarimg",
    require: "QRPAYD_REQUIRE_ZBAR",
    how: "apt-get install zbar-tools (found on PATH as `zbarimg`)",
};

/// Is `need` required by this run (its variable set to anything but empty or `0`)?
pub fn required(need: &Need) -> bool {
    std::env::var(need.require).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `need` is absent (`detail` says how that showed). Fails the calling test when the run
/// requires it; otherwise prints a loud SKIPPED banner and returns, and the caller returns
/// without testing anything.
#[expect(
    clippy::panic,
    reason = "failing the calling test is the point when the run requires what is missing"
)]
#[track_caller]
pub fn missing(test: &str, need: &Need, detail: &str) {
    if required(need) {
        panic!(
            "{require} is set but {what} is not available: {detail}\n({how})",
            require = need.require,
            what = need.what,
            how = need.how,
        );
    }
    skipped(
        test,
        &format!(
            "{what} is not available ({detail}).\nTo run it: {how}.\nSet {require}=1 to make \
             this a failure instead (.ci/run does).",
            what = need.what,
            how = need.how,
            require = need.require,
        ),
    );
}

/// Prints the SKIPPED banner for `test` with `why`: a test that did not run must be seen in
/// the output, never mistaken for one that passed.
pub fn skipped(test: &str, why: &str) {
    use std::io::Write;
    let bar = "!".repeat(88);
    let lines: String = why.lines().map(|l| format!("!!! {l}\n")).collect();
    // Straight to the stderr handle, not `eprintln!`: the test harness captures `eprintln!`
    // of a passing test and never shows it, which would make the skip silent.
    let _ = write!(
        std::io::stderr().lock(),
        "\n{bar}\n!!! SKIPPED {test}:\n{lines}{bar}\n\n"
    );
}

/// The first executable called `name` on `PATH`, so a test finds a tool where the shell
/// would (and hiding it from `PATH` hides it from the test).
pub fn on_path(name: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}
