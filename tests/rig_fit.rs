//! Rigs that fit stylised faces (issue 18, item 7): a rig whose lips or eyes miss the drawn ones is found,
//! named and moved onto them; rigs that sit on their faces (the demo, photos, paintings, stylised art) are
//! left alone.

mod common;

use bevy_talking_head::rig::topology::eye_ring;
use bevy_talking_head::rig::{EYE_ELSEWHERE, LIP_LINE_TOLERANCE, check_fit, refine_fit};
use common::warp::{demo, load, rig};

#[test]
fn rigs_on_their_faces_pass_the_check() {
    let tracker = common::tracker();
    let mut paths = vec![demo(), demo().with_file_name("astronaut_painted.png")];
    for sub in ["faces", "paintings", "stylized"] {
        let Some(dir) = common::testdata(sub) else {
            return;
        };
        paths.extend(common::files_with(&dir, &["jpg", "png"]));
    }
    let mut bad = Vec::new();
    for path in &paths {
        let p = load(path);
        let r = rig(&tracker, &p);
        let report = check_fit(&p, &r);
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
                // The other eye and the mouth stay.
                let (other_before, _) = eye(&miss, 1 - side);
                let (other_after, _) = eye(&fixed, 1 - side);
                assert_eq!(other_before, other_after, "{name}: the other eye moved");
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
