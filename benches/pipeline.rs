//! Speed of the async texture pipeline (`cargo bench`; figures go to BENCHMARKS.md).
//!
//! - `render/expression_filter/N`: the ONNX expression-filter renderer on one N x N frame (worker cost).
//! - `render/still/N`: copying the still portrait (the floor of any renderer).
//! - `main_thread/update/H heads`: one `app.update()` with H heads whose faces all changed, renderers
//!   instant: what the pipeline costs the main thread per frame (dispatch + apply, no waiting).
//! - `portrait/resize_512_to_256`: the one-off portrait scaling when a head is set up.

use std::sync::Arc;
use std::time::Duration;

use bevy::asset::RenderAssetUsages;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
use bevy_talking_head::onnx::{OnnxModel, SessionOptions};
use bevy_talking_head::prelude::*;
use bevy_talking_head::render::{
    ExpressionFilterRenderer, PortraitImage, RenderRequest, RenderTarget,
};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn portrait(size: u32) -> Arc<PortraitImage> {
    let rgba = (0..size * size * 4).map(|i| (i % 251) as u8).collect();
    Arc::new(PortraitImage::new(size, size, rgba).unwrap())
}

fn renderers(c: &mut Criterion) {
    let model = OnnxModel::from_file(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/models/expression_tint.onnx"
        ),
        None,
        &SessionOptions::default(),
    )
    .expect("run `make setup` first");
    let filter = ExpressionFilterRenderer::new(Arc::new(model)).unwrap();
    let face = FaceFrame::neutral().with_expression(Expression::JawOpen, 0.5);
    let mut group = c.benchmark_group("render");
    for size in [256u32, 512] {
        let portraits = [portrait(size)];
        let request = RenderRequest::new(&face, &portraits);
        let mut buf = vec![0u8; (size * size * 4) as usize];
        group.bench_with_input(
            BenchmarkId::new("expression_filter", size),
            &size,
            |b, &size| {
                b.iter(|| {
                    let mut t = RenderTarget {
                        width: size,
                        height: size,
                        rgba: &mut buf,
                    };
                    filter.render(&request, &mut t).unwrap();
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("still", size), &size, |b, &size| {
            b.iter(|| {
                let t = RenderTarget {
                    width: size,
                    height: size,
                    rgba: &mut buf,
                };
                t.rgba.copy_from_slice(&request.portraits[0].rgba);
            })
        });
    }
    group.finish();
}

struct Instant;
impl HeadRenderer for Instant {
    fn name(&self) -> &str {
        "instant"
    }
    fn render(
        &self,
        _: &RenderRequest<'_>,
        t: &mut RenderTarget<'_>,
    ) -> bevy_talking_head::Result<()> {
        t.rgba[0] = t.rgba[0].wrapping_add(1);
        Ok(())
    }
}

fn main_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("main_thread");
    // `update`: heads with a renderer that needs no rig (dispatch + apply). `update_mesh_warp`: mesh-warp
    // heads (given template rigs), so the rig stage also retargets every changed face on the main thread.
    for (name, warp) in [("update", false), ("update_mesh_warp", true)] {
        for heads in [1usize, 100] {
            let mut app = App::new();
            app.add_plugins((
                MinimalPlugins,
                AssetPlugin::default(),
                ImagePlugin::default(),
                TalkingHeadPlugin {
                    workers: 1,
                    ..default()
                },
            ));
            let renderer = HeadRendererKind::Custom(Arc::new(Instant));
            let entities: Vec<Entity> = (0..heads)
                .map(|_| {
                    let image = Image::new_fill(
                        Extent3d {
                            width: 64,
                            height: 64,
                            depth_or_array_layers: 1,
                        },
                        TextureDimension::D2,
                        &[100, 100, 100, 255],
                        TextureFormat::Rgba8UnormSrgb,
                        RenderAssetUsages::default(),
                    );
                    let handle = app.world_mut().resource_mut::<Assets<Image>>().add(image);
                    let head = if warp {
                        TalkingHead::new(handle).with_rigs(vec![PortraitRig::template([64, 64])])
                    } else {
                        TalkingHead::new(handle).with_renderer(renderer.clone())
                    };
                    app.world_mut().spawn(head).id()
                })
                .collect();
            // Until every head is rigged (a task) and has drawn once.
            let start = std::time::Instant::now();
            while entities.iter().any(|e| {
                app.world()
                    .resource::<TalkingHeadStats>()
                    .get(*e)
                    .is_none_or(|s| s.frames_rendered == 0)
            }) {
                assert!(
                    start.elapsed() < Duration::from_secs(60),
                    "heads never drew"
                );
                app.update();
                std::thread::sleep(Duration::from_millis(1));
            }
            let mut t = 0.0;
            group.bench_function(BenchmarkId::new(name, format!("{heads} heads")), |b| {
                b.iter(|| {
                    t += 1.0;
                    for &e in &entities {
                        app.world_mut().get_mut::<FaceFrame>(e).unwrap().time = t;
                    }
                    app.update();
                })
            });
        }
    }
    group.finish();
}

fn resize(c: &mut Criterion) {
    let p = portrait(512);
    c.bench_function("portrait/resize_512_to_256", |b| {
        b.iter(|| p.resized(256, 256))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = renderers, main_thread, resize
}
criterion_main!(benches);
