//! The `bake` example as artists use it: a portrait and a clip in, PNG frames, a sprite sheet and a GIF
//! out; bad arguments give the usage and exit code 2.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bake() -> Command {
    // target/<profile>/deps/<this test> -> target/<profile>/examples/bake (cargo test builds examples).
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/bake");
    assert!(
        bin.exists(),
        "{} is missing: `cargo test` builds it",
        bin.display()
    );
    let mut c = Command::new(bin);
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/tmp/bake")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn bake_writes_frames_a_sheet_and_a_gif() {
    let dir = out_dir("nod");
    let out = bake()
        .args([
            "assets/portraits/astronaut.png",
            "assets/clips/nod.face.ron",
            "--fps",
            "20",
        ])
        .args(["--size", "128", "--columns", "6", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("23/23 frames"), "a progress bar: {log}");
    // nod.face.ron lasts 1.1 s: 22 steps at 20 fps, plus its last instant.
    let frames: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("frame_"))
        .collect();
    assert_eq!(frames.len(), 23);
    let first = image::open(dir.join("frame_0000.png")).unwrap().to_rgba8();
    assert_eq!(first.dimensions(), (128, 128));
    let dip = image::open(dir.join("frame_0005.png")).unwrap().to_rgba8();
    let moved = first
        .pixels()
        .zip(dip.pixels())
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        moved > 500,
        "the nod's dip differs from its start in {moved} pixels"
    );
    let sheet = image::open(dir.join("sheet.png")).unwrap();
    assert_eq!((sheet.width(), sheet.height()), (6 * 128, 4 * 128));
    use image::AnimationDecoder;
    let gif = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(
        std::fs::File::open(dir.join("animation.gif")).unwrap(),
    ))
    .unwrap();
    let decoded = gif.into_frames().collect_frames().unwrap();
    assert_eq!(decoded.len(), 23);
    assert_eq!(decoded[0].buffer().dimensions(), (128, 128));
    let (n, d) = decoded[0].delay().numer_denom_ms();
    assert_eq!(n / d, 50, "20 fps is 50 ms a frame");
}

#[test]
fn bad_arguments_give_the_usage() {
    for (args, says) in [
        (vec![], "expected a PORTRAIT and a CLIP"),
        (
            vec!["a.png", "b.face.ron", "--fps", "0"],
            "--fps must be a whole number from 1 to 120",
        ),
        (
            vec!["a.png", "b.face.ron", "--size"],
            "--size needs a value",
        ),
        (
            vec!["a.png", "b.face.ron", "--loud"],
            "unknown option `--loud`",
        ),
    ] {
        let out = bake().args(&args).output().unwrap();
        let log = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {log}");
        assert!(
            log.contains(says) && log.contains("usage: bake"),
            "{args:?}: {log}"
        );
    }
    // Files that are not there: a clear error naming the file, exit code 1.
    let out = bake()
        .args([
            "assets/portraits/astronaut.png",
            "assets/clips/missing.face.ron",
            "--out",
        ])
        .arg(out_dir("missing"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("missing.face.ron"), "{log}");
}
