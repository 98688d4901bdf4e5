//! What the drivers cost the main thread, and capture-to-texture latency of live tracking
//! (`cargo bench --bench drivers`; figures go to BENCHMARKS.md).
//!
//! - `drivers/main_thread/<driver>/100 heads`: one `app.update()` (MinimalPlugins + the plugin) with 100
//!   entities driven by `<driver>` and no renderer, so the figure is the driver + blending + rig stage;
//!   `none` is the same app with 100 undriven faces, the baseline to subtract (`none/1 head` for the
//!   live driver).
//! - `drivers/main_thread/live_video/1 head`: one update with a `LiveFace` on a looping video (capture and
//!   tracking run on their own threads; this is only the main thread's share).
//! - Before criterion runs, a 60 Hz game loop plays a driving video through `LiveFace` into the mesh-warp
//!   renderer and prints capture-to-texture latency: from the capture thread taking the frame to the
//!   texture showing it.

use std::path::Path;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_talking_head::drive::{LiveSource, VisemeTrack};
use bevy_talking_head::prelude::*;
use bevy_talking_head::testing::{head_stats, headless_app};
use criterion::{BenchmarkId, Criterion};

fn repo(p: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// A headless app (the crate's test kit: MinimalPlugins, assets at the repository, images, the plugin).
fn app() -> App {
    headless_app(
        env!("CARGO_MANIFEST_DIR"),
        TalkingHeadPlugin {
            workers: 1,
            ..default()
        },
    )
}

fn main_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("drivers/main_thread");
    let talk = FaceClip::load(repo("assets/clips/talk.face.ron")).expect("talk clip");
    let line = VisemeTrack::from_text(
        "I have walked these roads for forty years, and never once seen the like of you.",
        0.0,
        3600.0,
    );
    type Spawn<'a> = Box<dyn Fn(&mut App, usize) + 'a>;
    let drivers: Vec<(&str, Spawn)> = vec![
        (
            "none",
            Box::new(|app: &mut App, _| {
                app.world_mut().spawn(FaceFrame::default());
            }),
        ),
        (
            "idle",
            Box::new(|app: &mut App, i| {
                app.world_mut().spawn((
                    FaceFrame::default(),
                    IdleLife::default().with_seed(i as u64),
                ));
            }),
        ),
        (
            "clip",
            Box::new(|app: &mut App, _| {
                let h = app
                    .world_mut()
                    .resource_mut::<Assets<FaceClip>>()
                    .add(talk.clone());
                app.world_mut()
                    .spawn((FaceFrame::default(), FaceClipPlayer::playing(h)));
            }),
        ),
        (
            "lip_sync_visemes",
            Box::new(|app: &mut App, _| {
                app.world_mut()
                    .spawn((FaceFrame::default(), LipSync::visemes(line.clone())));
            }),
        ),
        (
            "idle+clip+lip_sync",
            Box::new(|app: &mut App, i| {
                let h = app
                    .world_mut()
                    .resource_mut::<Assets<FaceClip>>()
                    .add(talk.clone());
                let mut player = FaceClipPlayer::default();
                player
                    .layer(0)
                    .set_mask(FaceMask::HEAD | FaceMask::BROWS)
                    .play(h);
                app.world_mut().spawn((
                    FaceFrame::default(),
                    IdleLife::default().with_seed(i as u64),
                    player,
                    LipSync::visemes(line.clone()),
                ));
            }),
        ),
    ];
    for (name, spawn) in &drivers {
        let mut app = app();
        for i in 0..100 {
            spawn(&mut app, i);
        }
        app.update();
        group.bench_function(BenchmarkId::new(*name, "100 heads"), |b| {
            b.iter(|| app.update())
        });
    }
    // The one-head baseline for the live driver.
    let mut one = app();
    one.world_mut().spawn(FaceFrame::default());
    one.update();
    group.bench_function(BenchmarkId::new("none", "1 head"), |b| {
        b.iter(|| one.update())
    });
    let video = repo("../shared/testdata/driving/expressions_head_turns.mp4");
    if video.exists() {
        let mut app = app();
        app.world_mut().spawn((
            FaceFrame::default(),
            LiveFace::new(LiveSource::Video {
                path: video,
                looping: true,
            }),
        ));
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(2) {
            app.update();
        }
        group.bench_function(BenchmarkId::new("live_video", "1 head"), |b| {
            b.iter(|| app.update())
        });
    }
    group.finish();
}

/// Plays a driving video through `LiveFace` into the mesh warp in a 60 Hz loop and prints the latency
/// from capture to texture for each newly shown sample.
fn latency() {
    let video = repo("../shared/testdata/driving/webcam_talking.mp4");
    if !video.exists() {
        eprintln!("latency: {} is missing, skipped", video.display());
        return;
    }
    let mut app = app();
    let portrait: Handle<Image> = app
        .world()
        .resource::<AssetServer>()
        .load("assets/portraits/astronaut.png");
    let head = app
        .world_mut()
        .spawn((
            TalkingHead::new(portrait).with_output_size(UVec2::new(256, 256)),
            LiveFace::new(LiveSource::Video {
                path: video,
                looping: false,
            }),
        ))
        .id();
    let mut latencies = Vec::new();
    let mut tracking = Vec::new();
    let (mut shown_time, mut last_sample) = (-1.0f64, None);
    let frame = Duration::from_secs_f64(1.0 / 60.0);
    let start = Instant::now();
    let mut next = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        app.update();
        let live = app.world().get::<LiveFace>(head).unwrap();
        let status = live.status().clone();
        if let Some(s) = &status.last
            && last_sample != Some(s.index)
        {
            last_sample = Some(s.index);
            tracking.push((s.tracked_at - s.captured_at).as_secs_f64() * 1e3);
        }
        let stats = head_stats(&app, head);
        if live.presence() >= 1.0
            && stats.last_face_time > shown_time
            && let Some(epoch) = status.epoch
        {
            shown_time = stats.last_face_time;
            let captured = epoch + Duration::from_secs_f64(stats.last_face_time);
            latencies.push(captured.elapsed().as_secs_f64() * 1e3);
        }
        if status.state == bevy_talking_head::drive::LiveFaceState::Ended {
            break;
        }
        next += frame;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        v.get(((v.len().max(1) - 1) as f64 * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let dropped = app.world().get::<LiveFace>(head).unwrap().status().dropped;
    eprintln!(
        "latency (60 Hz loop, webcam_talking.mp4 -> tracking -> mesh warp 256): {} frames shown, {} tracked, {dropped} dropped; \
         capture-to-texture median {:.1} ms, p95 {:.1} ms, max {:.1} ms; capture-to-tracked median {:.1} ms",
        latencies.len(),
        tracking.len(),
        pct(&mut latencies, 0.5),
        pct(&mut latencies, 0.95),
        pct(&mut latencies, 1.0),
        pct(&mut tracking, 0.5),
    );
}

/// The lip-sync analysis of one 10 ms hop (a 25 ms window: level, background gate, MFCCs, vowel
/// match), at 16 kHz and at 48 kHz, on one core; issue 20 bounds it at 0.5 ms.
fn lip_sync_analysis(c: &mut Criterion) {
    use bevy_talking_head::drive::{AudioLipSync, LipSyncSettings};
    let mut group = c.benchmark_group("lip_sync_analysis");
    for rate in [16_000u32, 48_000] {
        // A voice-like signal: two formant-ish partials and a little noise.
        let hop = rate as usize / 100;
        let samples: Vec<f32> = (0..rate as usize)
            .map(|i| {
                let t = i as f32 / rate as f32;
                0.3 * (t * 700.0 * std::f32::consts::TAU).sin()
                    + 0.2 * (t * 1200.0 * std::f32::consts::TAU).sin()
                    + 0.01 * ((i * 7919 % 1000) as f32 / 500.0 - 1.0)
            })
            .collect();
        let mut a = AudioLipSync::new(rate, LipSyncSettings::default());
        let mut at = 0;
        group.bench_function(
            BenchmarkId::new("per 10 ms hop", format!("{} kHz", rate / 1000)),
            |b| {
                b.iter(|| {
                    if at + hop > samples.len() {
                        at = 0;
                    }
                    let n = a.push(&samples[at..at + hop]);
                    at += hop;
                    std::hint::black_box(n)
                })
            },
        );
    }
    group.finish();
}

/// Streamer interop: reading one Live Link Face packet into a face, one VMC bundle (52 blendshapes, three
/// bones) into a face, writing a VMC bundle (what `VmcSender` does per send); and the cut-out: the matte
/// of the 512 px demo portrait (segmentation model + guided filter) and its application (colours carried
/// under the soft pixels), once per portrait at rig time.
fn streamer(c: &mut Criterion) {
    use bevy_talking_head::drive::VmcFaceReader;
    use bevy_talking_head::interop::{livelink, vmc};
    let mut group = c.benchmark_group("streamer");
    let mut face = FaceFrame::default().with_expression(Expression::JawOpen, 0.6);
    face.head.yaw = 0.2;
    let packet = livelink::encode(&livelink::LiveLinkPacket {
        device_id: "00000000-0000-4000-8000-000000000001",
        subject: "iPhone",
        frame: 1,
        sub_frame: 0.0,
        rate: (60, 1),
        values: Some(livelink::values_of(&face)),
    });
    group.bench_function("live_link packet to face", |b| {
        b.iter(|| {
            livelink::decode(std::hint::black_box(&packet))
                .ok()?
                .face(false, false)
        })
    });
    let bundle = vmc::encode_face(&face, 1.0);
    let mut reader = VmcFaceReader::default();
    group.bench_function("vmc bundle to face", |b| {
        b.iter(|| reader.feed(std::hint::black_box(&bundle)))
    });
    group.bench_function("vmc bundle from face", |b| {
        b.iter(|| vmc::encode_face(std::hint::black_box(&face), 1.0))
    });
    let models = bevy_talking_head::tracking::default_face_models();
    match bevy_talking_head::rig::Segmenter::load(&models, &Default::default()) {
        Ok(segmenter) => {
            let img = image::open(repo("assets/portraits/astronaut.png"))
                .expect("the demo portrait (make setup)")
                .to_rgba8();
            let p = bevy_talking_head::render::PortraitImage::new(
                img.width(),
                img.height(),
                img.into_raw(),
            )
            .unwrap();
            let face_box = [180.0, 60.0, 320.0, 240.0];
            group.sample_size(10);
            group.bench_function("matte 512 px portrait", |b| {
                b.iter(|| segmenter.matte(&p, face_box).unwrap())
            });
            let (matte, _) = segmenter.matte(&p, face_box).unwrap();
            group.bench_function("apply matte 512 px", |b| b.iter(|| matte.apply(&p)));
        }
        Err(e) => eprintln!("streamer/matte: skipped ({e})"),
    }
    group.finish();
}

fn main() {
    latency();
    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    main_thread(&mut c);
    lip_sync_analysis(&mut c);
    streamer(&mut c);
    c.final_summary();
}
