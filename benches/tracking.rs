//! Face tracking speed (`cargo bench --features replicon --bench tracking`), one ONNX Runtime intra-op
//! thread unless named otherwise:
//!
//! - `tracking_mode/mesh_v2_blendshapes`: video mode ([`FaceTracker::track`]) on every frame of the shared
//!   test data's `driving/webcam_talking.mp4` scaled to 640x480 (`ffmpeg -vf scale=640:480`, as
//!   `models/reference/mediapipe_reference.py --time` times Google's MediaPipe): Face Mesh V2 (478 points)
//!   from the last frame's landmarks, then the blendshape model (52 weights). One iteration is one frame;
//!   the frames cycle, so the mean is over the whole clip.
//! - `tracking_mode/mesh_v1_iris`: the same frames with the older path ([`TrackerModels::MeshV1`]: the
//!   468-point mesh and the iris model on both eyes).
//! - `detect_landmarks/*`: the same two paths from scratch (detector first) on the clip's first frame.
//! - `parts/*`: the live path's parts on the first frame: `crop_256` (the crop sampled into the mesh's
//!   input tensor), `mesh_v2` (sampling + Face Mesh V2 + points to the image), `blendshapes`.
//!
//! Without the test data (`../shared/testdata`) it benches the demo portrait letterboxed into 640x480. The
//! Python reference of the V1 path (numpy + onnxruntime, models/reference/tracker.py) is timed on the first
//! frame in the same run and printed beside, when models/.venv has it. Last, Google's MediaPipe
//! (`models/reference/mediapipe_reference.py --time`, when models/.venv-reference has it) is timed on the same
//! clip between two timings of the live path by MediaPipe's rule (clip mean after 10 warm-up frames), and
//! the ratio printed.

use std::path::Path;
use std::process::Command;

use bevy_talking_head::onnx::{OnnxModel, SessionOptions};
use bevy_talking_head::tracking::{
    BlendshapeModel, FaceLandmarker, FaceTracker, ImageView, TrackerModels,
};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;

/// The demo portrait letterboxed into 640x480 (face about 150 px, as on a webcam).
fn portrait_frame() -> image::RgbImage {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let portrait = image::open(root.join("assets/portraits/astronaut.png"))
        .expect("run `make setup`")
        .to_rgb8();
    let small = image::imageops::resize(&portrait, 480, 480, image::imageops::FilterType::Triangle);
    let mut frame = image::RgbImage::from_pixel(WIDTH, HEIGHT, image::Rgb([30, 30, 30]));
    image::imageops::overlay(&mut frame, &small, 80, 0);
    frame
}

/// Every frame of webcam_talking.mp4 at 640x480, decoded as the MediaPipe timing decodes it; the portrait
/// frame alone when the test data or ffmpeg is missing.
fn frames() -> (Vec<Vec<u8>>, &'static str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let video = root.join("../shared/testdata/driving/webcam_talking.mp4");
    let decoded = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&video)
        .args([
            "-vf",
            "scale=640:480",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output();
    let size = (WIDTH * HEIGHT * 3) as usize;
    match decoded {
        Ok(out)
            if out.status.success() && !out.stdout.is_empty() && out.stdout.len() % size == 0 =>
        {
            (
                out.stdout.chunks(size).map(<[u8]>::to_vec).collect(),
                "webcam_talking.mp4 at 640x480",
            )
        }
        _ => {
            println!(
                "note: {} or ffmpeg missing: benching the demo portrait letterboxed into 640x480",
                video.display()
            );
            (vec![portrait_frame().into_raw()], "demo portrait 640x480")
        }
    }
}

fn tracking(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (frames, what) = frames();
    println!("tracking bench frames: {} x {what}", frames.len());
    let views: Vec<ImageView<'_>> = frames
        .iter()
        .map(|f| ImageView::new(WIDTH, HEIGHT, 3, f, "bench").unwrap())
        .collect();
    let options = SessionOptions {
        intra_threads: 1,
        ..Default::default()
    };
    let mut group = c.benchmark_group("tracking_640x480");
    for (name, models) in [
        ("mesh_v2_blendshapes", TrackerModels::MeshV2),
        ("mesh_v1_iris", TrackerModels::MeshV1),
    ] {
        let mut tracker = FaceTracker::from_dir_with(root.join("assets/models"), &options, models)
            .expect("run `make setup`");
        group.bench_function(BenchmarkId::new("detect_landmarks", name), |b| {
            b.iter(|| {
                tracker.reset();
                tracker.track(&views[0]).unwrap()
            })
        });
        // Video mode over the clip: a face lost on some frame costs a detection there, as it would live.
        tracker.reset();
        let mut found = 0usize;
        for view in &views {
            found += tracker.track(view).unwrap().is_some() as usize;
        }
        println!("{name}: face on {found}/{} frames", views.len());
        let mut i = 0usize;
        group.bench_function(BenchmarkId::new("tracking_mode", name), |b| {
            b.iter(|| {
                let face = tracker.track(&views[i % views.len()]).unwrap();
                i += 1;
                face
            })
        });
    }
    group.finish();
    parts(c, &views);

    let ppm = std::env::temp_dir().join("talking_head_bench_frame.ppm");
    let mut bytes = format!("P6\n{WIDTH} {HEIGHT}\n255\n").into_bytes();
    bytes.extend_from_slice(&frames[0]);
    std::fs::write(&ppm, bytes).unwrap();
    let python = Command::new(root.join("models/.venv/bin/python"))
        .arg(root.join("models/reference/tracker.py"))
        .args(["--bench", "200"])
        .arg(&ppm)
        .arg("1")
        .output();
    match python {
        Ok(out) if out.status.success() => println!(
            "python reference (V1 path, numpy + onnxruntime, 1 thread), first frame: {}",
            String::from_utf8_lossy(&out.stdout).trim()
        ),
        _ => println!("python reference not run (run `make setup`)"),
    }
    mediapipe_side_by_side(&views);
}

/// The live path's parts on the clip's first frame (`parts/*`): the 256 px crop sampled into the tensor,
/// Face Mesh V2 on it (sampling, model, points back to the image), and the blendshape model on the points.
fn parts(c: &mut Criterion, views: &[ImageView<'_>]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models");
    let options = SessionOptions {
        intra_threads: 1,
        ..Default::default()
    };
    let load = |name: &str| {
        std::sync::Arc::new(
            OnnxModel::from_file(root.join(name), None, &options).expect("run `make setup`"),
        )
    };
    let mut tracker = FaceTracker::from_dir_with(&root, &options, TrackerModels::MeshV2)
        .expect("run `make setup`");
    let Some(face) = tracker.track(&views[0]).unwrap() else {
        println!("parts: no face on the first frame, not benched");
        return;
    };
    let mesh = FaceLandmarker::new(load("face_mesh_v2.onnx")).unwrap();
    let blendshapes = BlendshapeModel::new(load("face_blendshapes.onnx")).unwrap();
    let crop = mesh.kind().follow(&face.landmarks.points);
    let sampling = mesh.kind().sampling();
    let mut group = c.benchmark_group("parts");
    group.bench_function("crop_256", |b| {
        b.iter(|| crop.sample_chw_with(&views[0], 1.0 / 255.0, 0.0, false, sampling))
    });
    group.bench_function("mesh_v2", |b| b.iter(|| mesh.run(&views[0], crop).unwrap()));
    group.bench_function("blendshapes", |b| {
        b.iter(|| blendshapes.run(&face.landmarks.points).unwrap())
    });
    group.finish();
}

/// Mean ms a frame of [`FaceTracker::track`] (Face Mesh V2 + blendshapes, one thread) over the clip, timed as
/// `mediapipe_reference.py --time` times MediaPipe: the frames in order from a fresh tracker, the first
/// [`WARMUP`] not counted.
fn clip_mean_ms(views: &[ImageView<'_>]) -> f64 {
    const WARMUP: usize = 10;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let options = SessionOptions {
        intra_threads: 1,
        ..Default::default()
    };
    let mut tracker =
        FaceTracker::from_dir_with(root.join("assets/models"), &options, TrackerModels::MeshV2)
            .expect("run `make setup`");
    let mut total = 0.0;
    let mut timed = 0usize;
    // Short clips (the portrait fallback) go round until enough frames are timed.
    for (i, view) in views
        .iter()
        .cycle()
        .take((WARMUP + 100).max(views.len()))
        .enumerate()
    {
        let t = std::time::Instant::now();
        std::hint::black_box(tracker.track(view).unwrap());
        if i >= WARMUP {
            total += t.elapsed().as_secs_f64();
            timed += 1;
        }
    }
    1000.0 * total / timed as f64
}

/// Google's MediaPipe timed in this run on the same clip (`models/reference/mediapipe_reference.py --time`,
/// when `python3 models/setup.py --reference` has made its venv), between two timings of the crate's live
/// path by the same rule, and the ratio.
fn mediapipe_side_by_side(views: &[ImageView<'_>]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("models/.venv-reference/bin/python");
    let before = clip_mean_ms(views);
    println!(
        "crate, mesh_v2_blendshapes, one thread, clip mean after 10 warm-up frames: {before:.2} ms/frame"
    );
    if !python.exists() {
        println!(
            "Google's MediaPipe not timed: run `python3 models/setup.py --reference`, then this bench again"
        );
        return;
    }
    let out = Command::new(&python)
        .arg(root.join("models/reference/mediapipe_reference.py"))
        .args(["--time", "--repeats", "3"])
        .output();
    let text = match out {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => {
            println!(
                "Google's MediaPipe timing failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return;
        }
        Err(e) => {
            println!("Google's MediaPipe timing not run: {e}");
            return;
        }
    };
    print!("{text}");
    let after = clip_mean_ms(views);
    println!("crate, mesh_v2_blendshapes, again after MediaPipe: {after:.2} ms/frame");
    // The one-core lines: "one core: 9.80 ms/frame mean, ...".
    let one_core: Vec<f64> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("one core:"))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    if !one_core.is_empty() {
        let mp = one_core.iter().sum::<f64>() / one_core.len() as f64;
        let ours = (before + after) / 2.0;
        println!(
            "ratio crate / MediaPipe on one core (clip means): {ours:.2} / {mp:.2} ms = {:.2}",
            ours / mp
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(6));
    targets = tracking
}
criterion_main!(benches);
