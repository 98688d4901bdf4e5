//! Rigs that fit stylised faces (issue 18, item 7): a rig whose lips or eyes miss the drawn ones is found,
//! named and moved onto them; rigs that sit on their faces (the demo, photos, paintings, stylised art) are
//! left alone.

mod common;

use bevy_talking_head::rig::topology::eye_ring;
use bevy_talking_head::rig::{EYE_ELSEWHERE, LIP_LINE_TOLERANCE, check_fit, refine_fit};
use common::warp::{demo, load, rig};

/// The demo's two portraits and the shared faces, paintings and stylised art (JPEG and PNG); `None`
/// without the shared test data.
fn portraits() -> Option<Vec<std::path::PathBuf>> {
    let mut paths = vec![demo(), demo().with_file_name("astronaut_painted.png")];
    for sub in ["faces", "paintings", "stylized"] {
        paths.extend(common::files_with(&common::testdata(sub)?, &["jpg", "png"]));
    }
    Some(paths)
}

#[test]
fn rigs_on_their_faces_pass_the_check() {
    let tracker = common::tracker();
    let Some(paths) = portraits() else {
        return;
    };
    let mut bad = Vec::new();
    let mut rims_moved = Vec::new();
    for path in &paths {
        let p = load(path);
        let r = rig(&tracker, &p);
        let report = check_fit(&p, &r);
        // The refinement pushes an eye ring out only over a drawn white bounded by a drawn line.
        let refined = refine_fit(&p, &mut r.clone());
        if refined.rim_moves.iter().any(|&m| m > 0.0) {
            eprintln!(
                "{}: eye rings pushed out to the drawn rim by up to {:.1?} px",
                path.display(),
                refined.rim_moves
            );
            rims_moved.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
        eprintln!(
            "{}: mouth {:.0} px, lip line {:?}, lips at {:.2} nose-to-chin, eyes {:?} ({:.2?} as eye-like \
             as the rig's): {:?}",
            path.file_name().unwrap().to_string_lossy(),
            report.mouth_width,
            report.lip_line_offset,
            report.lip_height,
            report.eye_offsets,
            report.eye_ratios,
            report.problems
        );
        // The eye check ran: a portrait facing the camera has both eyes checked.
        if path == &demo() {
            assert!(
                report.eye_offsets.iter().all(Option::is_some),
                "the demo's eyes were not checked: {report:?}"
            );
        }
        if !report.is_good() {
            bad.push(path.clone());
        }
    }
    assert!(bad.is_empty(), "{bad:?}");
    // Of the shared portraits only the cartoon's eyes are drawn with a line round a white the tracker
    // leaves partly outside its ring; the photographs and paintings keep the tracker's rings.
    if common::testdata("stylized").is_some() {
        assert_eq!(rims_moved, ["cartoon_boy.jpg"], "eye rings pushed out");
    }
}

/// The checks read lines a pixel or so wide, so a portrait shown larger or smaller than its file must
/// fit as well: rigged at 384 to 1024 px, no portrait that sits on its face has its mouth or an eye moved
/// (only the cartoon's eye rings, out to their drawn rims). Before 2026-12-07 the mouth moved onto Van
/// Gogh's beard at 384, 640 and 852 px (the beard's strokes are darker than his lips), and on three
/// photographs at one size each: the lip line is now looked for only where lips can be between nose and
/// chin, and the rig's own lips count as on a line when any row between their top and bottom is.
#[test]
fn rigs_at_any_size_stay_on_their_faces() {
    let tracker = common::tracker();
    let Some(paths) = portraits() else {
        return;
    };
    let mut moved = Vec::new();
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for side in [384u32, 640, 852, 1024] {
            let p = common::warp::scaled(path, side);
            let mut r = rig(&tracker, &p);
            let report = refine_fit(&p, &mut r);
            let rims = report.rim_moves.iter().any(|&m| m > 0.0);
            if report.snapped_mouth
                || report.snapped_eyes.contains(&true)
                || (rims != (name == "cartoon_boy.jpg"))
            {
                moved.push(format!("{name} at {side} px: {report:?}"));
            }
        }
    }
    assert!(moved.is_empty(), "{}", moved.join("\n"));
}

/// Sclera-coloured pixels (nearly grey, chroma under 0.15, and not dark: luma over 120) of `rgba` in
/// `boxes` (`[x0, y0, x1, y1]`).
fn whites(rgba: &[u8], width: u32, boxes: &[[u32; 4]]) -> usize {
    boxes
        .iter()
        .flat_map(|b| (b[1]..b[3]).flat_map(move |y| (b[0]..b[2]).map(move |x| (x, y))))
        .filter(|&(x, y)| {
            let p = &rgba[((y * width + x) * 4) as usize..][..3];
            let (hi, lo) = (*p.iter().max().unwrap(), *p.iter().min().unwrap());
            let luma = 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]);
            f32::from(hi - lo) / (f32::from(hi) + 1.0) < 0.15 && luma > 120.0
        })
        .count()
}

/// A cartoon's large drawn eye, bounded by a drawn rim, around a tracked eye ring that sits well inside
/// it: the white between ring and rim was outside the eye, so a closed lid left white wedges at the
/// outer corners (issue 18's stylised rigs). `refine_fit` pushes the ring out to the rim. Measured on the
/// cartoon boy, eyes closed, sclera-coloured pixels around the eyes (2026-12-07): at 512 px 30 with the
/// tracker's rig, 5 refined; at 852 px 92 and 5 (the open picture has 476 and 1287). Writes
/// `target/tmp/rig_fit/cartoon_closed_eyes.png`: eyes closed with the tracker's rig, then refined.
#[test]
fn a_closed_cartoon_eye_leaves_none_of_its_drawn_white_showing() {
    use bevy_talking_head::prelude::{Expression, FaceFrame};
    let Some(dir) = common::testdata("stylized") else {
        return;
    };
    let tracker = common::tracker();
    let closed = FaceFrame::neutral()
        .with_expression(Expression::EyeBlinkLeft, 1.0)
        .with_expression(Expression::EyeBlinkRight, 1.0);
    let mut crops = Vec::new();
    for side in [512u32, 852] {
        let p = std::sync::Arc::new(common::warp::scaled(&dir.join("cartoon_boy.jpg"), side));
        let tracked = rig(&tracker, &p);
        let mut refined = tracked.clone();
        let report = refine_fit(&p, &mut refined);
        // Around each eye: its ring's box and 0.3 of its width on every side.
        let boxes: Vec<[u32; 4]> = (0..2)
            .map(|s| {
                let (c, w) = eye(&tracked, s);
                let m = 0.8 * w;
                [c[0] - m, c[1] - 0.6 * w, c[0] + m, c[1] + 0.6 * w].map(|v| v.max(0.0) as u32)
            })
            .collect();
        let mut count = |rig: &bevy_talking_head::rig::PortraitRig| {
            let head = common::warp::head_of(&p, rig);
            let mut out = vec![0u8; p.rgba.len()];
            head.render(&closed, &mut out);
            let img = image::RgbaImage::from_raw(p.width, p.height, out.clone()).unwrap();
            for b in &boxes {
                let crop = image::imageops::crop_imm(&img, b[0], b[1], b[2] - b[0], b[3] - b[1]);
                let crop = image::imageops::resize(
                    &crop.to_image(),
                    256,
                    160,
                    image::imageops::FilterType::Lanczos3,
                );
                crops.push(crop.into_raw());
            }
            whites(&out, p.width, &boxes)
        };
        let (before, after) = (count(&tracked), count(&refined));
        eprintln!(
            "{side} px: white showing beside the closed eyes {before} px with the tracker's rig, \
             {after} refined (rings moved up to {:.1?} px; {} white px in the open picture)",
            report.rim_moves,
            whites(&p.rgba, p.width, &boxes)
        );
        // The tracker's rig leaves white showing, or this portrait no longer tests anything.
        assert!(
            before >= 15,
            "{side} px: only {before} white px with the tracker's rig"
        );
        assert!(
            after * 4 <= before,
            "{side} px: {after} white px still showing beside the closed eyes ({before} before)"
        );
    }
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp/rig_fit");
    common::warp::contact_sheet_cols(&crops, 256, 160, 4, &out.join("cartoon_closed_eyes.png"));
}

#[test]
fn lips_tracked_below_the_drawn_mouth_are_found_and_moved_onto_it() {
    let tracker = common::tracker();
    let p = load(&demo());
    let good = rig(&tracker, &p);
    let width = check_fit(&p, &good).mouth_width;
    // The tracker's miss on stylised art: the lips half a mouth width below the drawn ones (on the chin).
    for shift in [0.45f32, 0.6] {
        let mut miss = good.clone();
        // Each lip point once (the corners are on two lines).
        let lips: Vec<usize> = bevy_talking_head::rig::topology::UPPER_OUTER_LIP
            .iter()
            .chain(&bevy_talking_head::rig::topology::LOWER_OUTER_LIP)
            .chain(&bevy_talking_head::rig::topology::UPPER_INNER_LIP)
            .chain(&bevy_talking_head::rig::topology::LOWER_INNER_LIP)
            .copied()
            .collect::<std::collections::BTreeSet<usize>>()
            .into_iter()
            .collect();
        for &i in &lips {
            miss.landmarks[i][1] += shift * width;
        }
        let report = check_fit(&p, &miss);
        eprintln!("shifted {shift}: {report:?}");
        assert!(!report.is_good(), "a mouth {shift} widths off passed");
        let offset = report.lip_line_offset.unwrap();
        assert!(
            (offset + shift * width).abs() < LIP_LINE_TOLERANCE * width,
            "found the drawn line {offset} px away, it is {} px",
            -shift * width
        );
        let mut fixed = miss.clone();
        let refined = refine_fit(&p, &mut fixed);
        assert!(refined.snapped_mouth);
        for &i in &lips {
            let err = (fixed.landmarks[i][1] - good.landmarks[i][1]).abs();
            assert!(
                err < 0.2 * width,
                "lip point {i} {err:.1} px from where the tracker had it on the photo"
            );
        }
        // The nose and the eyes stay.
        for i in [1, 4, 33, 263, 159] {
            assert_eq!(fixed.landmarks[i], miss.landmarks[i], "point {i}");
        }
        assert!(check_fit(&p, &fixed).is_good());
    }
    // Lips tracked up at the nose: named (the line under the nose is no lip line to snap to).
    let mut high = good.clone();
    let lips: std::collections::BTreeSet<usize> = bevy_talking_head::rig::topology::UPPER_OUTER_LIP
        .iter()
        .chain(&bevy_talking_head::rig::topology::LOWER_OUTER_LIP)
        .chain(&bevy_talking_head::rig::topology::INNER_LIPS)
        .copied()
        .collect();
    for &i in &lips {
        high.landmarks[i][1] -= 0.3 * width;
    }
    let report = check_fit(&p, &high);
    assert!(
        report.problems.iter().any(|p| p.contains("at the nose")),
        "{report:?}"
    );
}

/// The eye of `rig` on `side`: its centre and width (corner to corner).
fn eye(rig: &bevy_talking_head::rig::PortraitRig, side: usize) -> ([f32; 2], f32) {
    let ring = eye_ring(side);
    let p = &rig.landmarks;
    let c = ring.iter().fold([0.0f32; 2], |a, &i| {
        [a[0] + p[i][0] / 16.0, a[1] + p[i][1] / 16.0]
    });
    let w = (p[ring[8]][0] - p[ring[0]][0]).hypot(p[ring[8]][1] - p[ring[0]][1]);
    (c, w)
}

#[test]
fn eyes_tracked_off_the_drawn_ones_are_named_and_moved_onto_them() {
    let tracker = common::tracker();
    let mut paths = vec![demo(), demo().with_file_name("astronaut_painted.png")];
    for (sub, file) in [
        ("paintings", "girl_with_a_pearl_earring.jpg"),
        ("paintings", "mona_lisa.jpg"),
        ("stylized", "cartoon_boy.jpg"),
        ("stylized", "concept_art_scifi.png"),
    ] {
        if let Some(dir) = common::testdata(sub) {
            paths.push(dir.join(file));
        }
    }
    let mut failures = Vec::new();
    let mut tested = Vec::new();
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let p = load(path);
        let good = rig(&tracker, &p);
        let own = check_fit(&p, &good);
        for (side, eye_name) in [(0, "right eye"), (1, "left eye")] {
            // Eyes the check leaves alone on their own rig (the painted demo's soft, low-contrast eyes;
            // Girl with a Pearl Earring's far eye, turned away) are not checked when moved either.
            if own.eye_offsets[side].is_none() {
                eprintln!("{name} {eye_name}: not checked on its own rig, left out");
                continue;
            }
            tested.push(format!("{name} {eye_name}"));
            let (c, w) = eye(&good, side);
            // The tracker's miss: the eye, its lids and iris most of an eye width up (on the brow) or down
            // (on the cheek).
            for shift in [-0.9f32, 0.9] {
                let mut miss = good.clone();
                for q in &mut miss.landmarks {
                    if (q[0] - c[0]).hypot(q[1] - c[1]) < 0.75 * w {
                        q[1] += shift * w;
                    }
                }
                let report = check_fit(&p, &miss);
                eprintln!(
                    "{name} {eye_name} {shift:+}: offsets {:?}, ratios {:.2?}, {:?}",
                    report.eye_offsets, report.eye_ratios, report.problems
                );
                let Some(found) = report.eye_offsets[side] else {
                    failures.push(format!("{name} {eye_name} {shift:+}: not checked"));
                    continue;
                };
                if !report.problems.iter().any(|m| m.contains(eye_name)) {
                    failures.push(format!(
                        "{name} {eye_name} {shift:+}: not named ({:.2} as eye-like, needs {EYE_ELSEWHERE})",
                        report.eye_ratios[side]
                    ));
                    continue;
                }
                if (found + shift * w).abs() > 0.25 * w {
                    failures.push(format!(
                        "{name} {eye_name} {shift:+}: found the drawn eye {found:.1} px away, it is {:.1}",
                        -shift * w
                    ));
                    continue;
                }
                let mut fixed = miss.clone();
                let refined = refine_fit(&p, &mut fixed);
                let (back, _) = eye(&fixed, side);
                let err = (back[1] - c[1]).abs();
                if !refined.snapped_eyes[side] || err > 0.25 * w {
                    failures.push(format!(
                        "{name} {eye_name} {shift:+}: snapped {}, {err:.1} px from the tracked eye",
                        refined.snapped_eyes[side]
                    ));
                }
                // The other eye and the mouth stay (the other eye's ring only as far as it was pushed
                // out to its drawn rim).
                let (other_before, _) = eye(&miss, 1 - side);
                let (other_after, _) = eye(&fixed, 1 - side);
                let moved =
                    (other_after[0] - other_before[0]).hypot(other_after[1] - other_before[1]);
                assert!(
                    moved <= refined.rim_moves[1 - side],
                    "{name}: the other eye moved {moved} px (its rim {:.1} px)",
                    refined.rim_moves[1 - side]
                );
                assert_eq!(
                    fixed.landmarks[13], miss.landmarks[13],
                    "{name}: the mouth moved"
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The demo's eyes, Mona Lisa's, both stylised portraits' and Girl's near eye: 9 eyes.
    assert!(
        tested.len() >= 9 || common::testdata("paintings").is_none(),
        "only {} eyes checked: {tested:?}",
        tested.len()
    );
    assert!(
        tested
            .iter()
            .filter(|t| t.starts_with("astronaut.png"))
            .count()
            == 2,
        "the demo's eyes are not checked: {tested:?}"
    );
}
