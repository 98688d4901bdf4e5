//! Portrait rigs: built by the tracker for paintings and concept art, cached in an editable sidecar and
//! reused, and bad sidecars refused with the file and the problem.

mod common;

use std::path::{Path, PathBuf};

use bevy_talking_head::rig::{PortraitRig, RigSource, sidecar_path};
use bevy_talking_head::tracking::ImageView;

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rigs");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Copies a portrait into the temporary folder (the sidecar goes beside it, never into ../shared).
fn portrait_copy(src: &Path) -> (PathBuf, image::RgbImage) {
    let dst = tmp(src.file_name().unwrap().to_str().unwrap());
    std::fs::copy(src, &dst).unwrap();
    let _ = std::fs::remove_file(sidecar_path(&dst));
    (dst, image::open(src).unwrap().to_rgb8())
}

#[test]
fn paintings_and_concept_art_get_a_rig_that_is_cached_and_reused() {
    let Some(data) = common::testdata("") else {
        return;
    };
    let tracker = common::tracker();
    for name in [
        "paintings/mona_lisa.jpg",
        "paintings/girl_with_a_pearl_earring.jpg",
        "paintings/van_gogh_self_portrait.jpg",
        "stylized/cartoon_boy.jpg",
        "stylized/concept_art_scifi.png",
    ] {
        let (path, img) = portrait_copy(&data.join(name));
        let view = ImageView::new(img.width(), img.height(), 3, img.as_raw(), name).unwrap();
        let rig = PortraitRig::load_or_build(&path, &view, &tracker).unwrap();
        assert_eq!(rig.source, RigSource::Tracked);
        assert_eq!(rig.image_size, [img.width(), img.height()]);
        assert!(rig.iris.is_some(), "{name}: no iris");
        let sidecar = sidecar_path(&path);
        assert!(sidecar.exists(), "{name}: sidecar not written");
        // Hand edit: move the nose tip and mark the rig edited; the next load keeps the edit.
        let mut edited = rig.clone();
        edited.landmarks[1][0] += 3.0;
        edited.source = RigSource::Edited;
        edited.save(&sidecar).unwrap();
        let again = PortraitRig::load_or_build(&path, &view, &tracker).unwrap();
        assert_eq!(again, edited, "{name}: the sidecar was not reused");
        // The eye openings lie inside the face oval, the mouth below the eyes.
        let mouth_y = rig.mouth_opening().iter().map(|p| p[1]).sum::<f32>() / 20.0;
        let eye_y = rig.right_eye_opening().iter().map(|p| p[1]).sum::<f32>() / 16.0;
        assert!(mouth_y > eye_y, "{name}: mouth above the eyes?");
    }
}

#[test]
fn bad_sidecars_and_faceless_images_are_clear_errors() {
    let tracker = common::tracker();
    // A flat grey image has no face: the error says so and points to the sidecar.
    let grey = vec![128u8; 64 * 64 * 3];
    let view = ImageView::new(64, 64, 3, &grey, "grey.png").unwrap();
    let path = tmp("grey.png");
    let _ = std::fs::remove_file(sidecar_path(&path));
    let e = PortraitRig::load_or_build(&path, &view, &tracker)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no face found") && e.contains("grey.png.rig.json"),
        "{e}"
    );

    // A template written by hand (the fix for faceless art) is then used.
    PortraitRig::template([64, 64])
        .save(&sidecar_path(&path))
        .unwrap();
    let rig = PortraitRig::load_or_build(&path, &view, &tracker).unwrap();
    assert_eq!(rig.source, RigSource::Template);

    // The same sidecar for an image of another size.
    let bigger = vec![128u8; 80 * 64 * 3];
    let view = ImageView::new(80, 64, 3, &bigger, "grey.png").unwrap();
    let e = PortraitRig::load_or_build(&path, &view, &tracker)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("grey.png.rig.json") && e.contains("64x64") && e.contains("80x64"),
        "{e}"
    );

    // NaN, and a truncated file.
    let nan = tmp("nan.png.rig.json");
    let text = serde_json::to_string(&PortraitRig::template([64, 64])).unwrap();
    let with_nan = text.replacen(r#""landmarks":[["#, r#""landmarks":[[NaN,"#, 1);
    assert_ne!(with_nan, text);
    std::fs::write(&nan, with_nan).unwrap();
    let e = PortraitRig::load(&nan).unwrap_err().to_string();
    assert!(
        e.contains("nan.png.rig.json") && e.contains("line 1"),
        "{e}"
    );
    let mut rig = PortraitRig::template([64, 64]);
    rig.landmarks[7][1] = f32::NAN;
    let e = rig.save(&nan).unwrap_err().to_string();
    assert!(e.contains("landmark 7 is not a finite number"), "{e}");
    std::fs::write(&nan, &text[..text.len() / 2]).unwrap();
    let e = PortraitRig::load(&nan).unwrap_err().to_string();
    assert!(e.contains("nan.png.rig.json") && e.contains("EOF"), "{e}");
}

/// Brows a picture does not draw (Mona Lisa's) are told from drawn ones, however faint, light or
/// stylised (every other portrait of the shared test data and the demo ones): only they raise further.
#[test]
fn only_brows_the_picture_does_not_draw_are_raised_further() {
    use bevy_talking_head::render::PortraitImage;
    use bevy_talking_head::rig::{
        DRAWN_BROWS, ExpressionRig, FAINT_BROW_GAIN, FAINT_BROWS, brow_gain, brow_visibility,
    };
    if common::testdata("paintings").is_none() {
        return;
    }
    let paths = common::every_portrait();
    let tracker = common::tracker();
    let full = ExpressionRig::default().faint_brow_gain;
    assert_eq!(full, FAINT_BROW_GAIN);
    let mut faint = Vec::new();
    let mut wrong = Vec::new();
    for path in &paths {
        let rgb = common::open_rgb(path);
        let rgba = image::DynamicImage::ImageRgb8(rgb).to_rgba8();
        let image = PortraitImage::new(rgba.width(), rgba.height(), rgba.into_raw()).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        // As given and at half its size: the measure scales with the face.
        for image in [image.resized(image.width / 2, image.height / 2), image] {
            let view =
                ImageView::new(image.width, image.height, 4, &image.rgba, "portrait").unwrap();
            let rig = PortraitRig::build(&tracker, &view, "portrait").unwrap();
            let v = brow_visibility(&image, &rig)
                .unwrap_or_else(|| panic!("{name}: brows not measured"));
            let gain = brow_gain(&image, &rig, full);
            let size = format!("{}x{}", image.width, image.height);
            println!("{name:28} {size:>9}: brow visibility {v:.2}, gain {gain:.2}");
            if name == "mona_lisa" {
                if v > FAINT_BROWS || gain != FAINT_BROW_GAIN {
                    wrong.push(format!("{name} {size}: no brows drawn, read {v:.2}"));
                }
            } else if v < DRAWN_BROWS || gain != 1.0 {
                wrong.push(format!("{name} {size}: its brows are drawn, read {v:.2}"));
            }
            // Turned off by the expression rig.
            assert_eq!(brow_gain(&image, &rig, 1.0), 1.0);
        }
        if name == "mona_lisa" {
            faint.push(name);
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(faint, ["mona_lisa"], "{} portraits", paths.len());
}
