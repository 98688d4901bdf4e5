//! Speed of the mesh-warp renderer (`cargo bench --bench warp`; figures go to BENCHMARKS.md).
//!
//! - `warp/render/N`: one N x N frame of the demo portrait (jaw half open, a half blink, a smile, the head
//!   turned 10 degrees, eyes looking aside), on one core.
//! - `warp/two_cores/N`: two such frames of two heads rendered at once on two threads (heads per second on
//!   2 cores = 2 / time).
//! - `warp/retarget`: the FaceFrame -> target landmarks step alone.
//! - `warp/prepare/512`: the one-off set-up of a head from its portrait and rig (mesh, anchors, layers).
//! - `warp/still_background/512`: `render/512` over a still background (the warped person drawn over
//!   the background with the person taken out, `RiggedPortraits::with_still_background`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bevy_talking_head::prelude::*;
use bevy_talking_head::render::{PortraitImage, PreparedHead};
use bevy_talking_head::rig::{ExpressionRig, PortraitRig, RiggedPortraits, Segmenter};
use bevy_talking_head::tracking::{FaceModels, FaceTracker, ImageView};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn portrait(size: u32) -> (Arc<PortraitImage>, PortraitRig) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let img = image::open(root.join("assets/portraits/astronaut.png"))
        .expect("run `make setup` first")
        .to_rgba8();
    let p = PortraitImage::new(img.width(), img.height(), img.into_raw()).unwrap();
    let p = Arc::new(p.resized(size, size));
    let tracker = FaceTracker::from_dir(root.join("assets/models"), &Default::default())
        .expect("run `make setup` first");
    let view = ImageView::new(p.width, p.height, 4, &p.rgba, "demo").unwrap();
    let rig = PortraitRig::build(&tracker, &view, "demo").unwrap();
    (p, rig)
}

fn face() -> FaceFrame {
    let mut f = FaceFrame::neutral()
        .with_expression(Expression::JawOpen, 0.5)
        .with_expression(Expression::EyeBlinkLeft, 0.5)
        .with_expression(Expression::EyeBlinkRight, 0.5)
        .with_expression(Expression::MouthSmileLeft, 0.6)
        .with_expression(Expression::MouthSmileRight, 0.6);
    f.head.yaw = 0.17;
    f.gaze.left = [0.3, 0.0];
    f.gaze.right = [0.3, 0.0];
    f
}

fn warp(c: &mut Criterion) {
    let mut group = c.benchmark_group("warp");
    let face = face();
    for size in [256u32, 512] {
        let (p, rig) = portrait(size);
        let head = PreparedHead::new(
            std::slice::from_ref(&p),
            std::slice::from_ref(&rig),
            &ExpressionRig::default(),
        )
        .unwrap();
        let mut out = vec![0u8; p.rgba.len()];
        group.bench_with_input(BenchmarkId::new("render", size), &size, |b, _| {
            b.iter(|| head.render(&face, &mut out))
        });
        let heads = [
            head,
            PreparedHead::new(
                std::slice::from_ref(&p),
                std::slice::from_ref(&rig),
                &ExpressionRig::default(),
            )
            .unwrap(),
        ];
        let mut outs = [vec![0u8; p.rgba.len()], vec![0u8; p.rgba.len()]];
        group.bench_with_input(BenchmarkId::new("two_cores", size), &size, |b, _| {
            b.iter(|| {
                std::thread::scope(|s| {
                    for (h, o) in heads.iter().zip(outs.iter_mut()) {
                        s.spawn(|| h.render(&face, o));
                    }
                })
            })
        });
        if size == 512 {
            group.bench_function("retarget", |b| b.iter(|| heads[0].retarget(&face)));
            let models =
                FaceModels::Dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models"));
            let segmenter = Segmenter::load(&models, &Default::default()).unwrap();
            let (matte, _) = segmenter.matte(&p, rig.face_box()).unwrap();
            let still = PreparedHead::from_rigged(
                RiggedPortraits::new(
                    std::slice::from_ref(&p),
                    std::slice::from_ref(&rig),
                    &ExpressionRig::default(),
                )
                .unwrap()
                .with_still_background(&matte),
            );
            group.bench_with_input(BenchmarkId::new("still_background", size), &size, |b, _| {
                b.iter(|| still.render(&face, &mut outs[0]))
            });
            group.bench_function(BenchmarkId::new("prepare", size), |b| {
                b.iter(|| {
                    PreparedHead::new(
                        std::slice::from_ref(&p),
                        std::slice::from_ref(&rig),
                        &ExpressionRig::default(),
                    )
                    .unwrap()
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = warp
}
criterion_main!(benches);
