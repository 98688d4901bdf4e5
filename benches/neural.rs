//! Speed of the neural renderer (`make bench-neural`; figures go to BENCHMARKS.md).
//!
//! Models: the export of the training code at 256 px with its default widths (`--channels 32 --embedding
//! 256`), made by `make neural-bench-models` into `target/neural-bench/export` (untrained weights cost
//! the same as trained ones), or the folder `TALKING_HEAD_BENCH_NEURAL` names. Without them the bench
//! says so and measures nothing.
//!
//! - `neural/generator/B`: B frames asked at once from B threads, batched into one run (ms per frame =
//!   time / B), CPU provider, one intra-op thread (the crate's default).
//! - `neural/generator_2_threads/1`: one frame with ONNX Runtime allowed two threads.
//! - `neural/frame/512`: a whole frame through the renderer: retarget, sketch, generator (batch 1),
//!   composite into a 512 x 512 portrait.
//! - `neural/embedding`: the embedder on one portrait (once per portrait set).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bevy_talking_head::neural::NeuralRenderer;
use bevy_talking_head::onnx::SessionOptions;
use bevy_talking_head::prelude::*;
use bevy_talking_head::render::{PortraitImage, RenderRequest, RenderTarget};
use bevy_talking_head::rig::{PortraitRigger, RigRequest, RiggedPortraits, TrackerSource};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn models() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("TALKING_HEAD_BENCH_NEURAL")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/neural-bench/export"));
    if dir.join("generator.onnx").exists() {
        Some(dir)
    } else {
        eprintln!(
            "no models in {}: run `make neural-bench-models` (or set TALKING_HEAD_BENCH_NEURAL)",
            dir.display()
        );
        None
    }
}

fn bench(c: &mut Criterion) {
    let Some(dir) = models() else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let renderer = NeuralRenderer::from_dir(&dir, &SessionOptions::default()).unwrap();
    let file = root.join("assets/portraits/astronaut.png");
    let img = image::open(&file)
        .expect("run `make setup` first")
        .to_rgba8();
    let p = PortraitImage::new(img.width(), img.height(), img.into_raw()).unwrap();
    let portraits = vec![Arc::new(p.resized(512, 512))];
    // The portrait's rig from its sidecar (`make setup` or a test run tracked it), as the rig stage does.
    let rigger = PortraitRigger::new().with_tracker(TrackerSource::None, SessionOptions::default());
    let mut rig_request = RigRequest::from_images(portraits.clone(), vec![None]);
    rig_request.files = vec![Some(file)];
    let rigged = rigger
        .rig(&rig_request)
        .expect("the demo portrait's rig sidecar: run the demo or the tests once");
    let face = FaceFrame::neutral().with_expression(Expression::JawOpen, 0.5);
    let target = rigged.retarget(&face);
    let request = RenderRequest::rigged(&face, &rigged, &target);
    let head = renderer.prepare(&rigged).unwrap();
    let sketch = renderer.sketch(&head, &target).unwrap();
    let r = renderer.info().resolution;

    let mut group = c.benchmark_group("neural");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for b in [1usize, 4] {
        group.bench_with_input(BenchmarkId::new("generator", b), &b, |bench, &b| {
            bench.iter(|| {
                std::thread::scope(|s| {
                    for _ in 0..b {
                        s.spawn(|| renderer.generate_sketch(&head, sketch.clone()).unwrap());
                    }
                })
            })
        });
    }
    let mut out = vec![0u8; 512 * 512 * 4];
    group.bench_function(BenchmarkId::new("frame", 512), |bench| {
        bench.iter(|| {
            let mut target = RenderTarget {
                width: 512,
                height: 512,
                rgba: &mut out,
            };
            renderer.render(&request, &mut target).unwrap();
        })
    });
    // The same generator with ONNX Runtime allowed both cores inside one run.
    let two = SessionOptions {
        intra_threads: 2,
        ..SessionOptions::default()
    };
    let wide = NeuralRenderer::from_dir(&dir, &two).unwrap();
    group.bench_function(BenchmarkId::new("generator_2_threads", 1), |bench| {
        bench.iter(|| wide.generate_sketch(&head, sketch.clone()).unwrap())
    });
    let embedder_only = NeuralRenderer::from_dir(&dir, &SessionOptions::default()).unwrap();
    group.bench_function("embedding", |bench| {
        bench.iter(|| {
            // Freshly rigged portraits each time have no embedding yet: the embedder runs.
            let fresh = RiggedPortraits::new(
                &portraits,
                std::slice::from_ref(rigged.rig()),
                rigger.expressions(),
            )
            .unwrap();
            embedder_only.prepare(&fresh).unwrap()
        })
    });
    group.finish();
    println!("stats after the bench ({r} px): {:?}", renderer.stats());
}

criterion_group!(benches, bench);
criterion_main!(benches);
