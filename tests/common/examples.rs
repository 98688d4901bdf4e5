//! Runs an example in a real window (Xvfb + lavapipe) and collects its screenshots.

use std::path::{Path, PathBuf};
use std::process::Command;

fn example_binary(name: &str) -> PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>/examples/<name> (cargo test builds examples).
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Mean and standard deviation of the luma in a region, and the region's pixels.
pub fn region(img: &image::RgbImage, x0: u32, y0: u32, w: u32, h: u32) -> (f64, f64, Vec<[u8; 3]>) {
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

/// Runs example `name` with `TALKING_HEAD_SCREENSHOTS` set and returns its `shots` screenshots, or `None`
/// (saying so) without xvfb-run and lavapipe, unless `CI` is set, where that is a failure. Fails if the
/// example fails or logs an error.
pub fn run_example(name: &str, shots: usize) -> Option<Vec<image::RgbImage>> {
    run_example_with_log(name, shots).map(|(shots, _)| shots)
}

/// [`run_example`], also returning what the example printed.
pub fn run_example_with_log(name: &str, shots: usize) -> Option<(Vec<image::RgbImage>, String)> {
    run_example_with_args(name, &[], shots)
}

/// [`run_example_with_log`] with command-line arguments for the example.
pub fn run_example_with_args(
    name: &str,
    args: &[&str],
    shots: usize,
) -> Option<(Vec<image::RgbImage>, String)> {
    let lavapipe = Path::new("/usr/share/vulkan/icd.d/lvp_icd.x86_64.json");
    if !have("xvfb-run") || !lavapipe.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have xvfb-run and mesa-vulkan-drivers (lavapipe)"
        );
        eprintln!("skipped: needs xvfb-run and mesa-vulkan-drivers");
        return None;
    }
    let binary = example_binary(name);
    assert!(
        binary.exists(),
        "{} is missing: `cargo test` builds it",
        binary.display()
    );
    let tmp = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp");
    // Runs of one example with other arguments (tests in one binary run at once) keep apart.
    let variant: String = args
        .iter()
        .filter(|a| a.starts_with("--"))
        .flat_map(|a| a.chars())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let out_dir = tmp.join(format!("{name}{variant}_screenshots"));
    let _ = std::fs::remove_dir_all(&out_dir);
    let runtime_dir = tmp.join(format!("xdg_{name}{variant}"));
    std::fs::create_dir_all(&runtime_dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let output = Command::new("timeout")
        .arg("240")
        .args(["xvfb-run", "-a", "-s", "-screen 0 1024x768x24"])
        .arg(&binary)
        .args(args)
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
    let shots = (1..=shots)
        .map(|k| {
            image::open(out_dir.join(format!("{name}_{k}.png")))
                .unwrap_or_else(|e| panic!("screenshot {k}: {e}"))
                .to_rgb8()
        })
        .collect();
    Some((shots, log))
}

/// Each head's frames rendered at each screenshot, as the examples' `HeadlessCapturePlugin` logs them
/// (`screenshot at script time ... (frames rendered [12, 40])`), screenshot by screenshot.
pub fn frames_rendered_at_screenshots(log: &str) -> Vec<Vec<u64>> {
    log.lines()
        .filter(|l| l.contains("screenshot at script time"))
        .filter_map(|l| {
            let list = l.split("(frames rendered [").nth(1)?.split(']').next()?;
            Some(
                list.split(", ")
                    .filter(|n| !n.is_empty())
                    .map(|n| n.parse().unwrap_or_else(|e| panic!("`{n}` in `{l}`: {e}")))
                    .collect(),
            )
        })
        .collect()
}

/// How many pixels of a head's region changed between two screenshots ([`changed_pixels`]), after
/// asserting that the region shows something in the first (not flat: no blank or missing head).
pub fn moving_head(
    a: &image::RgbImage,
    b: &image::RgbImage,
    (x0, y0, w, h): (u32, u32, u32, u32),
    what: &str,
) -> usize {
    let (_, std, _) = region(a, x0, y0, w, h);
    assert!(
        std > 12.0,
        "{what}: the region is flat (std {std:.1}): blank?"
    );
    let changed = changed_pixels(a, b, x0, y0, w, h);
    eprintln!("{what}: {changed} pixels changed between the screenshots");
    changed
}

/// How many pixels of a region differ (by more than 24 in some channel) between two screenshots.
pub fn changed_pixels(
    a: &image::RgbImage,
    b: &image::RgbImage,
    x0: u32,
    y0: u32,
    w: u32,
    h: u32,
) -> usize {
    let (_, _, pa) = region(a, x0, y0, w, h);
    let (_, _, pb) = region(b, x0, y0, w, h);
    pa.iter()
        .zip(&pb)
        .filter(|(p, q)| p.iter().zip(q.iter()).any(|(x, y)| x.abs_diff(*y) > 24))
        .count()
}
