//! Rigs that fit stylised faces (issue 18, item 7): a rig whose lips miss the drawn mouth is found, named
//! and moved onto it; rigs that sit on their faces (the demo, photos, paintings, stylised art) are left
//! alone.

mod common;

use bevy_talking_head::rig::{LIP_LINE_TOLERANCE, check_fit, refine_fit};
use common::warp::{demo, load, rig};

#[test]
fn rigs_on_their_faces_pass_the_check() {
    let tracker = common::tracker();
    let mut paths = vec![demo()];
    for sub in ["faces", "paintings", "stylized"] {
        let Some(dir) = common::testdata(sub) else {
            return;
        };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.extension()
                    .is_some_and(|e| ["jpg", "png"].contains(&e.to_str().unwrap()))
            })
            .collect();
        files.sort();
        paths.extend(files);
    }
    let mut bad = Vec::new();
    for path in &paths {
        let p = load(path);
        let r = rig(&tracker, &p);
        let report = check_fit(&p, &r);
        eprintln!(
            "{}: mouth {:.0} px, lip line {:?}, lips at {:.2} nose-to-chin, eyes {:?}: {:?}",
            path.file_name().unwrap().to_string_lossy(),
            report.mouth_width,
            report.lip_line_offset,
            report.lip_height,
            report.eye_offsets,
            report.problems
        );
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
