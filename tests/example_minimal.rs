//! The `minimal` example runs in a real window (Xvfb + lavapipe), saves two screenshots, and the head in
//! them is neither blank nor frozen.
//!
//! Needs `xvfb-run` and Mesa's lavapipe (`.ci/run` installs them). Without them the test says so and
//! passes, unless `CI` is set, where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

fn example_binary() -> PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>/examples/minimal (cargo test builds examples).
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("minimal")
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Mean and standard deviation of the luma in a region, and the region's pixels.
fn region(img: &image::RgbImage, x0: u32, y0: u32, w: u32, h: u32) -> (f64, f64, Vec<[u8; 3]>) {
    let px: Vec<[u8; 3]> = (y0..y0 + h)
        .flat_map(|y| (x0..x0 + w).map(move |x| (x, y)))
        .map(|(x, y)| img.get_pixel(x, y).0)
        .collect();
    let luma: Vec<f64> = px
        .iter()
        .map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64)
        .collect();
    let mean = luma.iter().sum::<f64>() / luma.len() as f64;
    let var = luma.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / luma.len() as f64;
    (mean, var.sqrt(), px)
}

#[test]
fn minimal_example_shows_a_head_that_changes() {
    let lavapipe = Path::new("/usr/share/vulkan/icd.d/lvp_icd.x86_64.json");
    if !have("xvfb-run") || !lavapipe.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have xvfb-run and mesa-vulkan-drivers (lavapipe)"
        );
        eprintln!("skipped: needs xvfb-run and mesa-vulkan-drivers");
        return;
    }
    let binary = example_binary();
    assert!(
        binary.exists(),
        "{} is missing: `cargo test` builds it",
        binary.display()
    );
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("minimal_screenshots");
    let _ = std::fs::remove_dir_all(&out_dir);
    let runtime_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("xdg");
    std::fs::create_dir_all(&runtime_dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let output = Command::new("timeout")
        .arg("180")
        .args(["xvfb-run", "-a", "-s", "-screen 0 1024x768x24"])
        .arg(&binary)
        .env("BEVY_ASSET_ROOT", env!("CARGO_MANIFEST_DIR"))
        .env("TALKING_HEAD_SCREENSHOTS", &out_dir)
        .env("WGPU_BACKEND", "vulkan")
        .env("VK_ICD_FILENAMES", lavapipe)
        .env("XDG_RUNTIME_DIR", &runtime_dir)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr).to_string()
        + &String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the example failed ({}):\n{log}",
        output.status
    );
    assert!(!log.contains("ERROR"), "the example logged errors:\n{log}");

    let a = image::open(out_dir.join("minimal_1.png"))
        .expect("first screenshot")
        .to_rgb8();
    let b = image::open(out_dir.join("minimal_2.png"))
        .expect("second screenshot")
        .to_rgb8();
    assert_eq!(a.dimensions(), (800, 600));
    // The head's sprite is 440 px wide, centred 30 px above the middle: sample its middle.
    let (x0, y0, w, h) = (260, 130, 280, 240);
    let (mean_a, std_a, px_a) = region(&a, x0, y0, w, h);
    let (mean_b, std_b, px_b) = region(&b, x0, y0, w, h);
    let background = a.get_pixel(20, 20).0;
    for (name, mean, std, px) in [
        ("first", mean_a, std_a, &px_a),
        ("second", mean_b, std_b, &px_b),
    ] {
        assert!(
            std > 15.0,
            "{name} screenshot: the head region is flat (std {std:.1}): blank?"
        );
        let not_background = px
            .iter()
            .filter(|p| p.iter().zip(background).any(|(a, b)| a.abs_diff(b) > 8))
            .count();
        assert!(
            not_background > px.len() * 9 / 10,
            "{name}: the head region is mostly background"
        );
        assert!(
            mean > 10.0,
            "{name}: the head region is black (mean {mean:.1})"
        );
    }
    // At script time 1 s the jaw is open (the filter darkens by 60 %), at 2 s it is closed.
    assert!(
        mean_b > mean_a * 1.4,
        "the head did not change between screenshots: luma {mean_a:.1} -> {mean_b:.1}"
    );
}
