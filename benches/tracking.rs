//! Face tracking speed (`cargo bench --bench tracking`): detector + 468 landmarks + iris on a 640x480
//! frame, and tracking mode (landmarks from the last frame + iris), with 1 and 2 ONNX Runtime threads.
//! The Python reference (numpy + onnxruntime, models/reference/tracker.py) is timed on the same frame in the
//! same run and printed beside.

use std::path::Path;
use std::process::Command;

use bevy_talking_head::onnx::SessionOptions;
use bevy_talking_head::tracking::{FaceTracker, ImageView};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn frame() -> image::RgbImage {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let portrait = image::open(root.join("assets/portraits/astronaut.png"))
        .expect("run `make setup`")
        .to_rgb8();
    // The 512x512 portrait letterboxed into 640x480 (face about 150 px, as on a webcam).
    let small = image::imageops::resize(&portrait, 480, 480, image::imageops::FilterType::Triangle);
    let mut frame = image::RgbImage::from_pixel(640, 480, image::Rgb([30, 30, 30]));
    image::imageops::overlay(&mut frame, &small, 80, 0);
    frame
}

fn tracking(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let frame = frame();
    let ppm = std::env::temp_dir().join("talking_head_bench_frame.ppm");
    let mut bytes = b"P6\n640 480\n255\n".to_vec();
    bytes.extend_from_slice(frame.as_raw());
    std::fs::write(&ppm, bytes).unwrap();
    let view = ImageView::new(640, 480, 3, frame.as_raw(), "bench").unwrap();
    let mut group = c.benchmark_group("tracking_640x480");
    for threads in [1usize, 2] {
        let options = SessionOptions {
            intra_threads: threads,
            ..Default::default()
        };
        let mut tracker =
            FaceTracker::from_dir(root.join("assets/models"), &options).expect("run `make setup`");
        group.bench_function(
            BenchmarkId::new("detect_landmarks_iris", format!("{threads} threads")),
            |b| {
                b.iter(|| {
                    tracker.reset();
                    tracker.track(&view).unwrap().expect("face")
                })
            },
        );
        tracker.track(&view).unwrap().expect("face");
        group.bench_function(
            BenchmarkId::new("tracking_mode", format!("{threads} threads")),
            |b| b.iter(|| tracker.track(&view).unwrap().expect("face")),
        );
        let python = Command::new(root.join("models/.venv/bin/python"))
            .arg(root.join("models/reference/tracker.py"))
            .args(["--bench", "200"])
            .arg(&ppm)
            .arg(threads.to_string())
            .output();
        match python {
            Ok(out) if out.status.success() => {
                println!(
                    "python reference, same frame: {}",
                    String::from_utf8_lossy(&out.stdout).trim()
                )
            }
            _ => println!("python reference not run (run `make setup`)"),
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(4));
    targets = tracking
}
criterion_main!(benches);
