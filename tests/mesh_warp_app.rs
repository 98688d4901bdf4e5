//! The mesh-warp renderer as the default renderer of a headless app: the portrait is rigged once on a
//! worker (and the rig saved as a sidecar), faces move the texture, and without face models or a face the
//! head keeps its still portrait with an error that says what to do.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bevy::prelude::*;
use bevy_talking_head::prelude::*;
use common::*;

const WAIT: Duration = Duration::from_secs(60);

/// An app whose asset folder is a fresh temporary folder holding `files`.
fn app_in(name: &str, files: &[(&Path, &str)], plugin: TalkingHeadPlugin) -> (App, PathBuf) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/tmp/mesh_warp_app")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (src, dst) in files {
        std::fs::copy(src, dir.join(dst)).unwrap();
    }
    let app = app_with(&dir.display().to_string(), plugin);
    (app, dir)
}

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/portraits/astronaut.png")
}

#[test]
fn default_renderer_rigs_the_portrait_once_and_follows_faces() {
    let (mut app, dir) = app_in(
        "follows",
        &[(&demo(), "face.png")],
        TalkingHeadPlugin {
            workers: 1,
            ..default()
        },
    );
    let portrait = app.world().resource::<AssetServer>().load("face.png");
    let head = app
        .world_mut()
        .spawn(TalkingHead::new(portrait).with_output_size(UVec2::new(256, 256)))
        .id();
    update_until(&mut app, WAIT, "the first warped frame", |a| {
        stats(a, head).frames_rendered >= 1
    });
    assert_eq!(stats(&app, head).renderer, "mesh_warp");
    let neutral = pixels(&app, head);
    assert_eq!(neutral.len(), 256 * 256 * 4);
    let sidecar = dir.join("face.png.rig.json");
    assert!(sidecar.exists(), "the rig is cached beside the portrait");
    let rig = bevy_talking_head::rig::PortraitRig::load(&sidecar).unwrap();
    assert_eq!(
        rig.image_size,
        [512, 512],
        "the sidecar is in the portrait file's pixels"
    );

    set_face(&mut app, head, |f| {
        f.expressions.set(Expression::JawOpen, 1.0)
    });
    update_until(&mut app, WAIT, "the jaw-open frame", |a| {
        stats(a, head).frames_rendered >= 2
    });
    let open = pixels(&app, head);
    let changed = neutral
        .chunks_exact(4)
        .zip(open.chunks_exact(4))
        .filter(|(a, b)| a != b)
        .count();
    // The mouth, chin and jaw move: a few hundred pixels of the 256 x 256 frame, not the whole frame.
    assert!((200..20_000).contains(&changed), "{changed} pixels changed");
    assert!(
        app.world().resource::<SeenErrors>().texts().is_empty(),
        "{:?}",
        app.world().resource::<SeenErrors>().texts()
    );
}

#[test]
fn without_face_models_the_head_stays_still_and_says_what_to_do() {
    let empty = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp/mesh_warp_app/no_models");
    std::fs::create_dir_all(&empty).unwrap();
    let (mut app, _) = app_in(
        "no_models_assets",
        &[(&demo(), "face.png")],
        TalkingHeadPlugin {
            workers: 1,
            models_dir: Some(empty),
            write_rig_sidecars: false,
            ..default()
        },
    );
    let portrait = app.world().resource::<AssetServer>().load("face.png");
    let head = app.world_mut().spawn(TalkingHead::new(portrait)).id();
    update_until(&mut app, WAIT, "an error", |a| {
        !a.world().resource::<SeenErrors>().texts().is_empty()
    });
    let errors = app.world().resource::<SeenErrors>().texts();
    assert!(errors[0].contains("cannot rig the portrait"), "{errors:?}");
    assert!(
        errors[0].contains("face_landmarks.onnx") || errors[0].contains("make setup"),
        "{errors:?}"
    );
    // The still portrait shows.
    let img = image::open(demo()).unwrap().to_rgba8();
    assert_eq!(pixels(&app, head), img.into_raw());
}

#[test]
fn a_portrait_without_a_face_is_an_error_pointing_at_the_sidecar() {
    let (mut app, _) = app_in(
        "no_face",
        &[],
        TalkingHeadPlugin {
            workers: 1,
            ..default()
        },
    );
    let portrait = flat_portrait(&mut app, 128, [90, 120, 150, 255]);
    let head = app.world_mut().spawn(TalkingHead::new(portrait)).id();
    update_until(&mut app, WAIT, "an error", |a| {
        !a.world().resource::<SeenErrors>().texts().is_empty()
    });
    let errors = app.world().resource::<SeenErrors>().texts();
    assert!(errors[0].contains("no face found"), "{errors:?}");
    assert!(errors[0].contains(".rig.json"), "{errors:?}");
    assert_eq!(first_pixel(&app, head), [90, 120, 150, 255]);
}

#[test]
fn a_rig_given_with_the_head_is_used_without_tracking() {
    // No face models, but the head brings its rig: it animates.
    let empty = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp/mesh_warp_app/no_models_2");
    std::fs::create_dir_all(&empty).unwrap();
    let (mut app, _) = app_in(
        "given_rig",
        &[(&demo(), "face.png")],
        TalkingHeadPlugin {
            workers: 1,
            models_dir: Some(empty),
            ..default()
        },
    );
    let rig = bevy_talking_head::rig::PortraitRig::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/astronaut_256.rig.json"),
    )
    .unwrap();
    let portrait = app.world().resource::<AssetServer>().load("face.png");
    let head = app
        .world_mut()
        .spawn(TalkingHead::new(portrait).with_rigs(vec![rig]))
        .id();
    set_face(&mut app, head, |f| {
        f.expressions.set(Expression::EyeBlinkLeft, 1.0)
    });
    update_until(&mut app, WAIT, "a warped frame", |a| {
        stats(a, head).frames_rendered >= 1
    });
    let img = image::open(demo()).unwrap().to_rgba8().into_raw();
    assert_ne!(pixels(&app, head), img, "the blink changed the picture");
    assert!(app.world().resource::<SeenErrors>().texts().is_empty());
}

#[test]
fn a_sidecar_for_another_image_size_is_an_error_naming_it() {
    let (mut app, dir) = app_in(
        "stale_sidecar",
        &[(&demo(), "face.png")],
        TalkingHeadPlugin {
            workers: 1,
            ..default()
        },
    );
    // The committed golden rig belongs to a 256 x 256 copy of the portrait, not the 512 x 512 file.
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/astronaut_256.rig.json"),
        dir.join("face.png.rig.json"),
    )
    .unwrap();
    let portrait = app.world().resource::<AssetServer>().load("face.png");
    let head = app.world_mut().spawn(TalkingHead::new(portrait)).id();
    update_until(&mut app, WAIT, "an error", |a| {
        !a.world().resource::<SeenErrors>().texts().is_empty()
    });
    let errors = app.world().resource::<SeenErrors>().texts();
    assert!(errors[0].contains("face.png.rig.json"), "{errors:?}");
    assert!(
        errors[0].contains("256x256") && errors[0].contains("512x512"),
        "{errors:?}"
    );
    let img = image::open(demo()).unwrap().to_rgba8();
    assert_eq!(
        pixels(&app, head),
        img.into_raw(),
        "the still portrait shows"
    );
}
