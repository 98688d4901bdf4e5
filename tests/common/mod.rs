//! Shared helpers for the headless integration tests.
#![allow(dead_code)]

pub mod examples;
pub mod sched;
pub mod warp;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bevy::prelude::*;
use bevy_talking_head::prelude::*;
use bevy_talking_head::render::{RenderRequest, RenderTarget};
// The crate's public test kit (feature `test-utils`, on for tests through the self dev-dependency).
// Not every test binary uses every helper.
#[allow(unused_imports)]
pub use bevy_talking_head::testing::{
    SeenErrors, flat_portrait, head_stats as stats, output_pixels as pixels, update_until,
};

/// A headless app: MinimalPlugins, assets rooted at the repository, images, and the plugin.
pub fn app(workers: usize) -> App {
    app_with(
        ".",
        TalkingHeadPlugin {
            workers,
            ..default()
        },
    )
}

/// A headless app reading assets from `asset_folder`, with this plugin, collecting errors in
/// [`SeenErrors`].
pub fn app_with(asset_folder: &str, plugin: TalkingHeadPlugin) -> App {
    bevy_talking_head::testing::headless_app(asset_folder, plugin)
}

/// The first pixel of the head's output.
pub fn first_pixel(app: &App, head: Entity) -> [u8; 4] {
    let p = pixels(app, head);
    assert!(p.len() >= 4, "the head has no pixels yet");
    [p[0], p[1], p[2], p[3]]
}

pub fn set_face(app: &mut App, head: Entity, f: impl FnOnce(&mut FaceFrame)) {
    let mut face = app.world_mut().get_mut::<FaceFrame>(head).unwrap();
    f(&mut face);
}

/// A renderer made of a closure, for tests.
pub struct FnRenderer<F>(pub &'static str, pub F);

impl<F> HeadRenderer for FnRenderer<F>
where
    F: Fn(&RenderRequest<'_>, &mut RenderTarget<'_>) -> bevy_talking_head::Result<()>
        + Send
        + Sync
        + 'static,
{
    fn name(&self) -> &str {
        self.0
    }
    fn render(
        &self,
        request: &RenderRequest<'_>,
        target: &mut RenderTarget<'_>,
    ) -> bevy_talking_head::Result<()> {
        (self.1)(request, target)
    }
}

/// A renderer that fills the frame with `face.time` (as a byte) in red after sleeping `sleep(time)`.
pub fn time_painter(sleep: impl Fn(f64) -> Duration + Send + Sync + 'static) -> HeadRendererKind {
    HeadRendererKind::Custom(Arc::new(FnRenderer(
        "time_painter",
        move |req: &RenderRequest<'_>, t: &mut RenderTarget<'_>| {
            std::thread::sleep(sleep(req.face.time));
            let v = req.face.time as u8;
            for px in t.rgba.chunks_exact_mut(4) {
                px.copy_from_slice(&[v, 0, 0, 255]);
            }
            Ok(())
        },
    )))
}

/// Spawns a head on a flat portrait, rendered by the expression-filter model at `model_path`.
pub fn spawn_filter_head(
    app: &mut App,
    size: u32,
    rgba: [u8; 4],
    model_path: &'static str,
) -> Entity {
    let portrait = flat_portrait(app, size, rgba);
    let model = app.world().resource::<AssetServer>().load(model_path);
    app.world_mut()
        .spawn(TalkingHead::new(portrait).with_renderer(HeadRendererKind::ExpressionFilter(model)))
        .id()
}

/// Every portrait the tests try: the two demo ones, then the shared test data's faces, paintings and
/// stylized images (JPEG, PNG, binary PPM: open with [`open_rgb`]), each folder sorted by name.
pub fn every_portrait() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v = vec![
        root.join("assets/portraits/astronaut.png"),
        root.join("assets/portraits/astronaut_painted.png"),
    ];
    for sub in ["faces", "paintings", "stylized"] {
        if let Some(dir) = testdata(sub) {
            v.extend(files_with(&dir, &["jpg", "png", "ppm"]));
        }
    }
    v
}

/// The files of `dir` whose extension is one of `extensions`, sorted by name.
pub fn files_with(dir: &std::path::Path, extensions: &[&str]) -> Vec<std::path::PathBuf> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e))
        })
        .collect();
    files.sort();
    files
}

/// `../shared/testdata/<sub>`, or `None` (saying so) when it is absent; with `TALKING_HEAD_REQUIRE_TESTDATA`
/// set (CI), absence is a failure.
pub fn testdata(sub: &str) -> Option<std::path::PathBuf> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata")
        .join(sub);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("TALKING_HEAD_REQUIRE_TESTDATA").is_none(),
        "TALKING_HEAD_REQUIRE_TESTDATA is set but {} is missing",
        path.display()
    );
    eprintln!("skipped: {} is missing", path.display());
    None
}

/// The face tracker on the models `make setup` converts (Face Mesh V2 and the blendshape model, as `FaceTracker::from_dir`).
pub fn tracker() -> bevy_talking_head::tracking::FaceTracker {
    tracker_with(bevy_talking_head::tracking::TrackerModels::MeshV2)
}

/// The face tracker on `models` (`TrackerModels::MeshV1`: the older mesh and the iris model).
pub fn tracker_with(
    models: bevy_talking_head::tracking::TrackerModels,
) -> bevy_talking_head::tracking::FaceTracker {
    bevy_talking_head::tracking::FaceTracker::from_dir_with(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models"),
        &bevy_talking_head::onnx::SessionOptions::default(),
        models,
    )
    .expect("the face models are missing: run `make setup`")
}

/// The 468 landmarks of a demo portrait (`assets/portraits/<portrait>`, rigged here by the face tracker:
/// no sidecar is read, so no test depends on another's files), in the
/// [`FaceCrop`](bevy_talking_head::neural::FaceCrop) around the face (as the neural models see faces),
/// scaled to `size` x `size` pixels.
pub fn face_crop_landmarks(portrait: &str, size: u32) -> Vec<[f32; 2]> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("assets/portraits/{portrait}"));
    let img = image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `make setup`)", path.display()))
        .to_rgba8();
    let view = bevy_talking_head::tracking::ImageView::new(
        img.width(),
        img.height(),
        4,
        img.as_raw(),
        portrait,
    )
    .unwrap();
    let rig = bevy_talking_head::rig::PortraitRig::build(&tracker(), &view, portrait).unwrap();
    let points: Vec<[f32; 2]> = rig.landmarks.iter().map(|p| [p[0], p[1]]).collect();
    let crop = bevy_talking_head::neural::FaceCrop::around(&points).expect("a face-sized rig");
    points.iter().map(|p| crop.to_crop(*p, size)).collect()
}

/// A pair of tiny neural models of the contract, made by `models/training/contract_models.py` with
/// `args` into `target/tmp/neural_contract/<name>` (needs `make setup`'s Python tools).
#[allow(dead_code)]
pub fn contract_pair(name: &str, args: Vec<&str>) -> std::path::PathBuf {
    // Once per name and process: tests run in parallel and must not read a pair while it is rewritten.
    static MADE: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/tmp/neural_contract").join(name);
    if made.iter().any(|m| m == name) {
        return dir;
    }
    let python = root.join("models/.venv/bin/python");
    let status = std::process::Command::new(&python)
        .arg(root.join("models/training/contract_models.py"))
        .arg(&dir)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{}: {e} (run `make setup`)", python.display()));
    assert!(status.success(), "contract_models.py failed");
    made.push(name.to_owned());
    dir
}

/// Opens JPEG, PNG, or binary PPM (P6, 8 bit), which the image crate reads only with a feature we leave off.
pub fn open_rgb(path: &std::path::Path) -> image::RgbImage {
    if path.extension().is_some_and(|e| e == "ppm") {
        let bytes = std::fs::read(path).unwrap();
        let mut fields = Vec::new();
        let mut i = 0;
        while fields.len() < 4 {
            while bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            let start = i;
            while !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            fields.push(String::from_utf8_lossy(&bytes[start..i]).to_string());
        }
        assert_eq!(
            (fields[0].as_str(), fields[3].as_str()),
            ("P6", "255"),
            "{}",
            path.display()
        );
        let (w, h): (u32, u32) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        let data = bytes[i + 1..i + 1 + (w * h * 3) as usize].to_vec();
        return image::RgbImage::from_raw(w, h, data).unwrap();
    }
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
}
