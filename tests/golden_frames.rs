//! Golden frames: the mesh warp of the demo portrait (256 x 256, with the rig committed beside the frames)
//! for a few expressions, compared with frames made by this project and committed in `tests/golden`.
//!
//! After a deliberate change to the renderer, look at the new frames (written to
//! `target/tmp/golden/`) and then refresh the committed ones with `UPDATE_GOLDEN=1 cargo test --test
//! golden_frames`. The committed rig stays as it is unless `UPDATE_GOLDEN_RIG=1` is set too (then the
//! portrait is rigged again by today's tracker, and every frame moves with it).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bevy::asset::RenderAssetUsages;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
use bevy_talking_head::prelude::*;
use bevy_talking_head::render::PortraitImage;
use bevy_talking_head::rig::PortraitRig;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn golden(name: &str) -> PathBuf {
    root().join("tests/golden").join(name)
}

fn faces() -> Vec<(&'static str, FaceFrame)> {
    use Expression as E;
    let n = FaceFrame::neutral;
    let mut look = n();
    look.gaze.left = [0.45, 0.1];
    look.gaze.right = [0.45, 0.1];
    let mut turn = n();
    turn.head.yaw = -0.3;
    turn.head.pitch = 0.1;
    vec![
        ("neutral", n()),
        (
            "blink",
            n().with_expression(E::EyeBlinkLeft, 1.0)
                .with_expression(E::EyeBlinkRight, 1.0),
        ),
        ("jaw_open", n().with_expression(E::JawOpen, 0.7)),
        (
            "smile",
            n().with_expression(E::MouthSmileLeft, 1.0)
                .with_expression(E::MouthSmileRight, 1.0),
        ),
        (
            "pucker_brows",
            n().with_expression(E::MouthPucker, 1.0)
                .with_expression(E::BrowInnerUp, 1.0),
        ),
        ("look", look),
        ("turn", turn),
    ]
}

#[test]
fn golden_frames_match() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let (p, _) = demo_256();
    let rig_path = golden("astronaut_256.rig.json");
    if update && std::env::var_os("UPDATE_GOLDEN_RIG").is_some() {
        let tracker = bevy_talking_head::tracking::FaceTracker::from_dir(
            root().join("assets/models"),
            &Default::default(),
        )
        .unwrap();
        let view =
            bevy_talking_head::tracking::ImageView::new(256, 256, 4, &p.rgba, "demo").unwrap();
        PortraitRig::build(&tracker, &view, "demo")
            .unwrap()
            .save(&rig_path)
            .unwrap();
    }
    let rig = PortraitRig::load(&rig_path).unwrap();
    let head = common::warp::head_of(&p, &rig);
    // The face, 96 x 96 around the nose.
    let (cx, cy) = (rig.landmarks[1][0] as u32, rig.landmarks[1][1] as u32);
    let (x0, y0) = (
        cx.saturating_sub(48).min(256 - 96),
        cy.saturating_sub(56).min(256 - 96),
    );
    let tmp = root().join("target/tmp/golden");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut failures = Vec::new();
    for (name, face) in faces() {
        let mut out = vec![0u8; p.rgba.len()];
        head.render(&face, &mut out);
        let frame = image::RgbaImage::from_raw(256, 256, out).unwrap();
        let crop = image::imageops::crop_imm(&frame, x0, y0, 96, 96).to_image();
        crop.save(tmp.join(format!("{name}.png"))).unwrap();
        let file = golden(&format!("{name}.png"));
        if update {
            crop.save(&file).unwrap();
            continue;
        }
        let want = image::open(&file)
            .unwrap_or_else(|e| panic!("{}: {e} (make it with UPDATE_GOLDEN=1)", file.display()))
            .to_rgba8();
        let diffs: Vec<u32> = crop
            .as_raw()
            .iter()
            .zip(want.as_raw())
            .map(|(a, b)| (*a as i32 - *b as i32).unsigned_abs())
            .collect();
        let mean = diffs.iter().sum::<u32>() as f32 / diffs.len() as f32;
        let big = diffs.iter().filter(|&&d| d > 12).count();
        eprintln!("{name}: mean difference {mean:.3}, {big} channel values off by more than 12");
        // Tolerance for floating-point differences between machines, not for a changed renderer: a moved
        // feature changes hundreds of values by far more.
        if mean > 0.5 || big > 20 {
            failures.push(format!("{name}: mean {mean:.3}, {big} values off by > 12"));
        }
    }
    assert!(
        failures.is_empty(),
        "frames differ from tests/golden (new ones in {}): {failures:?}",
        tmp.display()
    );
}

/// The demo portrait at 256 x 256 and its committed rig.
fn demo_256() -> (Arc<PortraitImage>, PortraitRig) {
    let img = image::open(root().join("assets/portraits/astronaut.png"))
        .expect("run `make setup` first")
        .to_rgba8();
    let p = PortraitImage::new(img.width(), img.height(), img.into_raw()).unwrap();
    let rig = PortraitRig::load(&golden("astronaut_256.rig.json")).unwrap();
    (Arc::new(p.resized(256, 256)), rig)
}

#[test]
fn the_app_draws_the_golden_frames_bit_for_bit() {
    // Through the whole pipeline (compose, the rig stage on its task, dispatch to a worker, the mesh
    // warp, apply) a face gives exactly the frame the warp draws on its own.
    let (p, rig) = demo_256();
    let direct = common::warp::head_of(&p, &rig);
    let mut app = common::app(1);
    let image = Image::new(
        Extent3d {
            width: 256,
            height: 256,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        p.rgba.clone(),
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::default(),
    );
    let portrait = app.world_mut().resource_mut::<Assets<Image>>().add(image);
    let head = app
        .world_mut()
        .spawn(TalkingHead::new(portrait).with_rigs(vec![rig]))
        .id();
    for (name, face) in faces() {
        let before = common::stats(&app, head).frames_rendered;
        common::set_face(&mut app, head, |f| *f = face);
        common::update_until(
            &mut app,
            Duration::from_secs(60),
            &format!("the {name} frame"),
            |a| {
                common::stats(a, head).frames_rendered > before && !common::stats(a, head).in_flight
            },
        );
        let mut want = vec![0u8; p.rgba.len()];
        direct.render(&face, &mut want);
        let got = common::pixels(&app, head);
        let differ = got.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert_eq!(
            differ, 0,
            "{name}: {differ} channel values differ from the warp's own frame"
        );
    }
    assert!(
        app.world()
            .resource::<common::SeenErrors>()
            .texts()
            .is_empty()
    );
}
