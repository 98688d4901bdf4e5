//! The neural renderer: a head driven through the plugin (the face square changes with the face, the rest
//! of the portrait stays), the embedding made once off the render thread, frames of heads that share the
//! renderer batched, and, when `TALKING_HEAD_TRAINED_MODELS` names an export of the training code (CI's
//! `make train-check` does), that export loaded and run.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_talking_head::neural::{FaceCrop, NeuralHead, NeuralModels, NeuralRenderer};
use bevy_talking_head::onnx::SessionOptions;
use bevy_talking_head::prelude::*;
use bevy_talking_head::render::{PortraitImage, RenderRequest, RenderTarget};
use bevy_talking_head::rig::{PortraitRigger, RetargetedFace, RigRequest, RiggedPortraits};
use common::*;

const PORTRAIT: &str = "assets/portraits/astronaut.png";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The demo portrait at `size` x `size`.
fn portrait(size: u32) -> Arc<PortraitImage> {
    let img = image::open(root().join(PORTRAIT))
        .expect("make setup provides the demo portrait")
        .resize_exact(size, size, image::imageops::FilterType::Triangle)
        .to_rgba8();
    Arc::new(PortraitImage {
        width: size,
        height: size,
        rgba: img.into_raw(),
    })
}

/// The portraits rigged by the face tracker, as the rig stage does (no sidecar written; each rigger
/// tracks anew, so no test depends on another's files).
fn rigged(portraits: &[Arc<PortraitImage>]) -> Arc<RiggedPortraits> {
    PortraitRigger::new()
        .with_sidecars(false)
        .rig(&RigRequest::from_images(
            portraits.to_vec(),
            vec![None; portraits.len()],
        ))
        .expect("the demo portrait rigs (make setup provides the face models)")
}

/// Renders `face` with `renderer` on the rigged portraits.
fn render(renderer: &NeuralRenderer, rig: &Arc<RiggedPortraits>, face: &FaceFrame) -> Vec<u8> {
    let target = rig.retarget(face);
    let request = RenderRequest::rigged(face, rig, &target);
    let (w, h) = (rig.portrait().width, rig.portrait().height);
    let mut rgba = vec![0; (w * h * 4) as usize];
    let mut target = RenderTarget {
        width: w,
        height: h,
        rgba: &mut rgba,
    };
    renderer.render(&request, &mut target).unwrap();
    rgba
}

/// The renderer's head for the rigged portraits, made now.
fn prepare(renderer: &NeuralRenderer, rig: &RiggedPortraits) -> Arc<NeuralHead> {
    renderer.prepare(rig).unwrap()
}

/// `face` retargeted onto the rigged portraits.
fn on(rig: &RiggedPortraits, face: &FaceFrame) -> RetargetedFace {
    rig.retarget(face)
}

fn jaw_open() -> FaceFrame {
    let mut face = FaceFrame::default();
    face.expressions.set(Expression::JawOpen, 1.0);
    face
}

/// Pixels of `a` and `b` that differ, inside and outside `crop` (with a 2 px margin either way).
fn changed(a: &[u8], b: &[u8], size: u32, crop: FaceCrop) -> (usize, usize) {
    let half = crop.side / 2.0;
    let (mut inside, mut outside) = (0, 0);
    for (i, (pa, pb)) in a.chunks_exact(4).zip(b.chunks_exact(4)).enumerate() {
        if pa == pb {
            continue;
        }
        let (x, y) = (
            (i as u32 % size) as f32 + 0.5,
            (i as u32 / size) as f32 + 0.5,
        );
        let dx = (x - crop.centre[0]).abs();
        let dy = (y - crop.centre[1]).abs();
        if dx < half - 2.0 && dy < half - 2.0 {
            inside += 1;
        } else if dx > half + 2.0 || dy > half + 2.0 {
            outside += 1;
        }
    }
    (inside, outside)
}

#[test]
fn the_embedding_is_made_once_off_the_render_thread_and_the_face_square_follows_the_face() {
    let dir = contract_pair("valid", vec![]);
    let renderer = NeuralRenderer::from_dir(&dir, &SessionOptions::default()).unwrap();
    let size = 256;
    let portraits = vec![portrait(size)];
    let still = portraits[0].rgba.clone();
    let rig = rigged(&portraits);

    // The first call starts the embedding and shows the still portrait meanwhile.
    let first = render(&renderer, &rig, &FaceFrame::default());
    assert_eq!(
        first, still,
        "the still portrait while the embedding is made"
    );
    let start = Instant::now();
    let neutral = loop {
        let frame = render(&renderer, &rig, &FaceFrame::default());
        if frame != still {
            break frame;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no neural frame");
        std::thread::sleep(Duration::from_millis(5));
    };
    let open = render(&renderer, &rig, &jaw_open());
    let stats = renderer.stats();
    assert_eq!(stats.embeddings, 1, "one embedding for the portrait set");
    assert!(stats.frames >= 2);

    let head = prepare(&renderer, &rig);
    assert_eq!(head.shots(), 1);
    assert_eq!(
        head.embedding().len(),
        renderer.info().embedding_size as usize
    );
    let crop = head.crop();
    // The square of the face is drawn by the model; the rest of the portrait is untouched.
    let (inside, outside) = changed(&still, &neutral, size, crop);
    assert_eq!(outside, 0, "pixels outside the face square changed");
    let area = (crop.side * crop.side).min((size * size) as f32);
    assert!(
        inside as f32 > area * 0.5,
        "{inside} of about {area} pixels of the face square were drawn"
    );
    // An open jaw changes the sketch, so the drawn square.
    let (inside, outside) = changed(&neutral, &open, size, crop);
    assert_eq!(outside, 0);
    assert!(inside > 50, "an open jaw changed {inside} pixels");
}

#[test]
fn frames_of_heads_that_share_the_renderer_are_batched_and_equal_unbatched_ones() {
    // A larger pair, so a generator run lasts long enough for frames to queue behind it.
    let dir = contract_pair("batch_512", vec!["--resolution", "512"]);
    let renderer = NeuralRenderer::from_dir(&dir, &SessionOptions::default()).unwrap();
    let portraits = vec![portrait(512)];
    let rig = rigged(&portraits);
    let head = prepare(&renderer, &rig);
    let faces = [FaceFrame::default(), jaw_open()].map(|f| on(&rig, &f));
    let alone: Vec<Vec<f32>> = faces
        .iter()
        .map(|f| renderer.generate(&head, f).unwrap())
        .collect();
    assert_eq!(renderer.stats().largest_batch, 1);
    assert_ne!(alone[0], alone[1]);

    let threads = 6;
    let rounds = 10;
    let barrier = Arc::new(Barrier::new(threads));
    std::thread::scope(|s| {
        for t in 0..threads {
            let (renderer, head, barrier, alone) = (&renderer, &head, barrier.clone(), &alone);
            let faces = &faces;
            s.spawn(move || {
                for _ in 0..rounds {
                    barrier.wait();
                    let image = renderer.generate(head, &faces[t % 2]).unwrap();
                    let worst = image
                        .iter()
                        .zip(&alone[t % 2])
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0f32, f32::max);
                    assert!(worst < 1e-5, "a batched frame differs by {worst}");
                }
            });
        }
    });
    let stats = renderer.stats();
    assert_eq!(stats.frames, 2 + (threads * rounds) as u64);
    assert!(
        stats.largest_batch > 1 && stats.batches < 2 + (threads * rounds) as u64,
        "no frames were batched: {stats:?}"
    );
}

#[test]
fn a_neural_head_in_the_plugin_animates_and_a_broken_model_keeps_the_still_portrait() {
    let dir = contract_pair("valid", vec![]);
    let rel = |f: &str| {
        dir.join(f)
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let mut app = app(2);
    let server = app.world().resource::<AssetServer>().clone();
    let models = NeuralModels {
        embedder: server.load(rel("embedder.onnx")),
        generator: server.load(rel("generator.onnx")),
    };
    let spawn = |app: &mut App, models: NeuralModels| {
        app.world_mut()
            .spawn(
                TalkingHead::new(server.load(PORTRAIT))
                    .with_renderer(HeadRendererKind::Neural(models))
                    .with_output_size(UVec2::splat(128)),
            )
            .id()
    };
    let a = spawn(&mut app, models.clone());
    let b = spawn(&mut app, models.clone());
    // A head whose face never changes still gets its neural frame once the embedding is ready.
    let quiet = spawn(&mut app, models);
    let broken = spawn(
        &mut app,
        NeuralModels {
            embedder: server.load(rel("embedder.onnx")),
            generator: server.load("assets/models/no_such_generator.onnx"),
        },
    );
    // The still portrait first, then model frames.
    update_until(
        &mut app,
        Duration::from_secs(30),
        "the still portraits",
        |app| {
            [a, b, broken]
                .iter()
                .all(|h| pixels(app, *h).len() == 128 * 128 * 4)
        },
    );
    let still = pixels(&app, broken);
    let mut t = 0.0;
    update_until(&mut app, Duration::from_secs(30), "neural frames", |app| {
        t += 0.04;
        for h in [a, b] {
            set_face(app, h, |f| {
                f.time = t;
                f.expressions
                    .set(Expression::JawOpen, (t * 5.0).sin().abs() as f32);
            });
        }
        [a, b, quiet].iter().all(|h| pixels(app, *h) != still)
    });
    // Both heads went through one shared renderer.
    assert_eq!(stats(&app, a).renderer, stats(&app, b).renderer);
    assert!(
        stats(&app, a).renderer.starts_with("neural("),
        "{:?}",
        stats(&app, a).renderer
    );
    let errors = app.world().resource::<SeenErrors>().texts();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("no_such_generator.onnx"), "{errors:?}");
    assert_eq!(
        pixels(&app, broken),
        still,
        "the broken head keeps its still portrait"
    );
}

/// The export of the training code (CI: `make train-check` trains a few steps and sets the variable).
fn trained_models() -> Option<PathBuf> {
    match std::env::var_os("TALKING_HEAD_TRAINED_MODELS") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!(
                "skipped: TALKING_HEAD_TRAINED_MODELS is not set (`make train-check` trains and sets it)"
            );
            None
        }
    }
}

#[test]
fn the_training_codes_export_loads_and_draws_different_faces_for_different_sketches() {
    let Some(dir) = trained_models() else {
        return;
    };
    let renderer = NeuralRenderer::from_dir(&dir, &SessionOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let info = renderer.info();
    let r = info.resolution as usize;
    let portraits = vec![portrait(256)];
    let rig = rigged(&portraits);
    let head = prepare(&renderer, &rig);
    let mut turned = jaw_open();
    turned.head.yaw = 0.3;
    let images: Vec<Vec<f32>> = [FaceFrame::default(), turned]
        .iter()
        .map(|f| renderer.generate(&head, &on(&rig, f)).unwrap())
        .collect();
    for image in &images {
        assert_eq!(image.len(), 3 * r * r);
        assert!(
            image.iter().all(|v| (-1.0..=1.0).contains(v)),
            "values outside -1..1"
        );
        let mean = image.iter().sum::<f32>() / image.len() as f32;
        let spread = image.iter().map(|v| (v - mean).abs()).sum::<f32>() / image.len() as f32;
        assert!(spread > 0.01, "a flat image (mean deviation {spread})");
    }
    let diff = images[0]
        .iter()
        .zip(&images[1])
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        / images[0].len() as f32;
    assert!(
        diff > 0.005,
        "two sketches gave nearly the same image ({diff})"
    );
    // Through the renderer: the drawn square lands in the portrait.
    let frame = render(&renderer, &rig, &FaceFrame::default());
    let start = Instant::now();
    let mut frame = frame;
    while frame == portraits[0].rgba {
        assert!(start.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(5));
        frame = render(&renderer, &rig, &FaceFrame::default());
    }
    println!(
        "trained export {}: {} px, embedding {}, {:?}",
        dir.display(),
        r,
        info.embedding_size,
        renderer.stats()
    );
}
