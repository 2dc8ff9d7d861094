//! Node scripts in `tests/js` (JavaScript clients and tools the server must satisfy), run
//! against a test server. Needs `npm ci` in `tests/js`; without it a test is skipped,
//! unless `REQUIRE_JS_CLIENT=1` (as in CI) makes that a failure.

use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// Whether the npm `package` is installed in `tests/js`; panics when it is not but
/// `REQUIRE_JS_CLIENT=1`.
pub fn installed(package: &str) -> bool {
    if dir().join("node_modules").join(package).exists() {
        return true;
    }
    assert!(
        std::env::var("REQUIRE_JS_CLIENT").as_deref() != Ok("1"),
        "REQUIRE_JS_CLIENT=1 but tests/js has no {package}: run `npm ci --prefix tests/js`"
    );
    eprintln!("skipped: {package} is not installed (npm ci --prefix tests/js)");
    false
}

/// Runs `tests/js/<script>` with `API_URL` set to `url`; panics unless it exits 0, and
/// returns its standard output.
pub async fn run(script: &str, url: String) -> String {
    let path = dir().join(script);
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(path)
            .env("API_URL", url)
            .output()
    })
    .await
    .expect("the node task")
    .expect("node runs (Node 20 or later on PATH)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed:\n{stdout}\n{stderr}"
    );
    stdout
}
