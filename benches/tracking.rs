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
//!
//! Without the test data (`../shared/testdata`) it benches the demo portrait letterboxed into 640x480. The
//! Python reference of the V1 path (numpy + onnxruntime, models/reference/tracker.py) is timed on the first
//! frame in the same run and printed beside, when models/.venv has it.

use std::path::Path;
use std::process::Command;

use bevy_talking_head::onnx::SessionOptions;
use bevy_talking_head::tracking::{FaceTracker, ImageView, TrackerModels};
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
    println!(
        "Google's MediaPipe on the same frames: models/.venv-reference/bin/python \
         models/reference/mediapipe_reference.py --time --repeats 3"
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(6));
    targets = tracking
}
criterion_main!(benches);
