//! The set-up command is idempotent: run again (as the test command already ran it), it downloads nothing.

use std::process::Command;

#[test]
fn setup_run_again_downloads_nothing() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("python3")
        .args(["models/setup.py", "--offline"])
        .current_dir(root)
        .output()
        .expect("python3 must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "set-up failed offline (something was missing):\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(": 0 downloaded, 0 built, 7 already present"),
        "{stdout}"
    );
    for step in [
        "[1/8]", "[2/8]", "[3/8]", "[4/8]", "[5/8]", "[6/8]", "[7/8]", "[8/8]",
    ] {
        assert!(
            stdout.contains(step),
            "progress line {step} missing:\n{stdout}"
        );
    }
}
