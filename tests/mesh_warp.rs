//! The mesh-warp renderer on real portraits: neutral reproduces the portrait, known motions, no holes,
//! driving videos, golden frames.

mod common;

use std::path::{Path, PathBuf};

use bevy_talking_head::prelude::*;
use bevy_talking_head::render::{PortraitImage, PreparedHead};
use bevy_talking_head::rig::{ExpressionRig, PortraitRig};
use bevy_talking_head::testing::artefacts::regions;
use bevy_talking_head::tracking::{
    ExpressionFeatures, FaceTracker, ImageView, TrackedFace, TrackerModels,
};
use common::warp::{contact_sheet_cols, demo, face_portrait, pearson, prepared, rig};

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp/mesh_warp");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The scripted sequence of the issue: name and face.
fn sequence() -> Vec<(&'static str, FaceFrame)> {
    use Expression as E;
    let n = FaceFrame::neutral;
    let mut look_left = n();
    look_left.gaze.left = [0.5, 0.0];
    look_left.gaze.right = [0.5, 0.0];
    let mut look_right = n();
    look_right.gaze.left = [-0.5, 0.0];
    look_right.gaze.right = [-0.5, 0.0];
    let mut turn_left = n();
    turn_left.head.yaw = 0.35;
    let mut turn_right = n();
    turn_right.head.yaw = -0.35;
    let mut nod = n();
    nod.head.pitch = -0.3;
    vec![
        ("neutral", n()),
        (
            "blink",
            n().with_expression(E::EyeBlinkLeft, 1.0)
                .with_expression(E::EyeBlinkRight, 1.0),
        ),
        (
            "smile",
            n().with_expression(E::MouthSmileLeft, 1.0)
                .with_expression(E::MouthSmileRight, 1.0),
        ),
        ("jaw open", n().with_expression(E::JawOpen, 1.0)),
        ("look left", look_left),
        ("look right", look_right),
        ("turn left", turn_left),
        ("turn right", turn_right),
        ("nod", nod),
    ]
}

/// The face region of frames (the rig's outline, grown by half), for looking at.
fn face_crops(frames: &[Vec<u8>], w: u32, h: u32, rig: &PortraitRig, side: u32) -> Vec<Vec<u8>> {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in &rig.landmarks {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    let size = (x1 - x0).max(y1 - y0) * 1.6;
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let left = (cx - size / 2.0).clamp(0.0, (w as f32 - size).max(0.0)) as u32;
    let top = (cy - size / 2.0).clamp(0.0, (h as f32 - size).max(0.0)) as u32;
    let size = (size as u32).min(w).min(h);
    frames
        .iter()
        .map(|f| {
            let img = image::RgbaImage::from_raw(w, h, f.clone()).unwrap();
            let crop = image::imageops::crop_imm(&img, left, top, size, size).to_image();
            image::imageops::resize(&crop, side, side, image::imageops::FilterType::Triangle)
                .into_raw()
        })
        .collect()
}

fn contact_sheet(frames: &[Vec<u8>], w: u32, h: u32, path: &Path) {
    contact_sheet_cols(frames, w, h, 3, path);
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mut se = 0f64;
    let mut n = 0f64;
    for (pa, pb) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        for c in 0..3 {
            se += (pa[c] as f64 - pb[c] as f64).powi(2);
            n += 1.0;
        }
    }
    let mse = se / n;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64.powi(2) / mse).log10()
    }
}

fn render(head: &PreparedHead, p: &PortraitImage, face: &FaceFrame) -> Vec<u8> {
    let mut out = vec![0u8; p.rgba.len()];
    let stats = head.render(face, &mut out);
    assert_eq!(stats.uncovered, 0, "holes in the mesh for {face:?}");
    out
}

fn all_portraits() -> Vec<PathBuf> {
    let mut v = vec![demo()];
    for sub in ["paintings", "stylized"] {
        if let Some(dir) = common::testdata(sub) {
            v.extend(common::warp::images(&dir));
        }
    }
    v
}

#[test]
fn neutral_face_reproduces_every_portrait() {
    let tracker = common::tracker();
    for path in all_portraits() {
        let (p, head) = prepared(&tracker, &path, 512);
        let out = render(&head, &p, &FaceFrame::neutral());
        let db = psnr(&out, &p.rgba);
        let bad: Vec<(usize, usize)> = out
            .chunks_exact(4)
            .zip(p.rgba.chunks_exact(4))
            .enumerate()
            .filter(|(_, (a, b))| (0..3).any(|c| (a[c] as i32 - b[c] as i32).abs() > 2))
            .map(|(i, _)| (i % p.width as usize, i / p.width as usize))
            .collect();
        let mut bb = [usize::MAX, usize::MAX, 0, 0];
        let mut n1 = 0;
        for (i, (a, b)) in out.chunks_exact(4).zip(p.rgba.chunks_exact(4)).enumerate() {
            if a[..3] != b[..3] {
                n1 += 1;
                let (x, y) = (i % p.width as usize, i / p.width as usize);
                bb = [bb[0].min(x), bb[1].min(y), bb[2].max(x), bb[3].max(y)];
            }
        }
        eprintln!("  {n1} pixels differ, within {bb:?}");
        if !bad.is_empty() {
            eprintln!(
                "  {} pixels off by more than 8, e.g. {:?}",
                bad.len(),
                &bad[..bad.len().min(6)]
            );
        }
        eprintln!("{}: neutral PSNR {db:.1} dB", path.display());
        assert!(db >= 40.0, "{}: neutral PSNR {db:.1} dB", path.display());
    }
}

/// The tracker on a rendered frame: eye openings and lip gap (canonical units).
fn measure(
    tracker: &FaceTracker,
    p: &PortraitImage,
    rgba: &[u8],
) -> (ExpressionFeatures, TrackedFace) {
    let view = ImageView::new(p.width, p.height, 4, rgba, "rendered").unwrap();
    let face = tracker
        .detect_still(&view)
        .unwrap()
        .expect("no face in the rendered frame");
    (ExpressionFeatures::of(&face), face)
}

#[test]
fn jaw_open_moves_lower_lip_and_chin_by_the_rig_amount() {
    let tracker = common::tracker();
    let (p, head) = prepared(&tracker, &demo(), 512);
    let rig = head.rig().clone();
    let face = FaceFrame::neutral().with_expression(Expression::JawOpen, 1.0);
    let moved = head.retarget(&face);
    // The rig's amount: the shape's canonical offset, in this portrait's pixels (its pose's scale and
    // rotation, and the lower face's proportion, which retargeting reports).
    let shape = &ExpressionRig::default().shapes["jawOpen"].offsets;
    let pose = *head.rigged().retargeter().portrait_pose();
    let vertical = head.rigged().retargeter().vertical_proportion();
    // The portrait takes the shape at most up to a plausible opening (`MAX_JAW_OPENING`).
    let scale = head.rigged().retargeter().jaw_scale();
    assert!((0.3..=1.0).contains(&scale), "jaw scale {scale}");
    for i in [14usize, 17, 152, 87, 317] {
        let d = shape[&(i as u16)].map(|v| v * scale);
        let d = [d[0], d[1] * vertical, d[2]];
        let expected: Vec<f32> = (0..2)
            .map(|k| pose.scale * (0..3).map(|j| pose.rotation[k][j] * d[j]).sum::<f32>())
            .collect();
        let got = [
            moved.points[i][0] - rig.landmarks[i][0],
            moved.points[i][1] - rig.landmarks[i][1],
        ];
        eprintln!("point {i}: moved {got:?}, rig says {expected:?}");
        assert!(
            (got[0] - expected[0]).abs() <= 1.0 && (got[1] - expected[1]).abs() <= 1.0,
            "point {i} moved {got:?}, the rig says {expected:?}"
        );
        assert!(
            got[1] > 0.3 * pose.scale * scale,
            "point {i} moved only {got:?}"
        );
    }
    // The upper lip stays.
    let up = moved.points[13][1] - rig.landmarks[13][1];
    assert!(up.abs() < 1.0, "upper lip moved {up}");
    // The opening shows the mouth interior over about the area the lips leave (half the gap times the
    // mouth width, at least: the opening is round).
    let mut out = vec![0u8; p.rgba.len()];
    let neutral = head.render(&FaceFrame::neutral(), &mut out);
    let open = head.render(&face, &mut out);
    let width = rig.landmarks[308][0] - rig.landmarks[78][0];
    let gap = moved.points[14][1] - rig.landmarks[14][1];
    eprintln!(
        "mouth interior: {} px neutral, {} px open (gap {gap:.1} px, width {width:.1} px)",
        neutral.mouth_pixels, open.mouth_pixels
    );
    assert!(
        open.mouth_pixels as f32 >= neutral.mouth_pixels as f32 + 0.5 * gap * width,
        "the open mouth shows {} interior pixels",
        open.mouth_pixels
    );
}

#[test]
fn blink_closes_the_eyes_in_the_rendered_frame() {
    // Measured on the face cropped and scaled to 512 px: at the demo portrait's own size an eye is 25 px
    // wide, where the iris model's lids are only good to a pixel or two. Measured with the older mesh and
    // the iris model, whose lids read a closed eye as closed (Face Mesh V2's lids still read the demo's
    // closed eyes as 21 % open): the one place the old path measures better.
    let tracker = measuring_tracker();
    for path in all_portraits() {
        let (p, head) = face_portrait(&tracker, &path, 512);
        let (open, _) = measure(&tracker, &p, &p.rgba);
        let face = eyes_closed();
        let out = render(&head, &p, &face);
        // Only the demo's figure is asserted; on the others the older tracker may not find a face
        // with both eyes closed at all (Van Gogh's, seen whole: printed).
        let view = ImageView::new(p.width, p.height, 4, &out, "rendered").unwrap();
        let closed = match tracker.detect_still(&view).unwrap() {
            Some(face) => ExpressionFeatures::of(&face),
            None if path != demo() => {
                eprintln!("{}: no face found with both eyes closed", path.display());
                continue;
            }
            None => panic!("no face in the demo's rendered frame with both eyes closed"),
        };
        for side in 0..2 {
            let ratio = closed.eye_open[side] / open.eye_open[side];
            eprintln!(
                "{}: eye {side} open {:.3} -> {:.3} ({:.0} %)",
                path.display(),
                open.eye_open[side],
                closed.eye_open[side],
                ratio * 100.0
            );
            // The iris model reads the closed lids of the photo (the demo portrait) as closed; on the
            // paintings and the cartoon it still reports 30-90 % of the opening on closed lids (it was
            // trained on photos): those are printed, and looked at in the contact sheets. On the demo
            // it puts both lids on the upper edge of the closed eye's lash line, a pixel or two apart:
            // 0 % and 5 % with a smooth closed lid with hard edges, 0 % and 16 % since the lid fades in
            // from its corners with the grain of the skin above its fold (2026-12-03; looked at: the
            // same lash line, no gap). Half closed reads far more: eyeBlink 0.7 gives 35 % and 23 %,
            // 0.9 gives 7 % and 18 %.
            if path == demo() {
                assert!(
                    ratio <= 0.2,
                    "{}: eye {side} still {:.0} % open",
                    path.display(),
                    ratio * 100.0
                );
            }
        }
    }
}

#[test]
fn a_closed_eye_reads_as_a_blink_to_face_mesh_v2() {
    // What the round trip measures, on one eye: the demo portrait with its left eye fully closed, read by
    // Face Mesh V2 and the blendshape model as a still. The closed eye is the stretched lid skin with one
    // dark lash line where the lids meet; without the line the pale lid read as a blink of 0.36 (and
    // Face Mesh V2 left the lids 41 % open), with it 0.47 (31 %).
    let tracker = common::tracker();
    let (p, head) = face_portrait(&tracker, &demo(), 512);
    let face = FaceFrame::neutral().with_expression(Expression::EyeBlinkLeft, 1.0);
    let out = render(&head, &p, &face);
    let view = ImageView::new(p.width, p.height, 4, &out, "closed eye").unwrap();
    let seen = tracker.detect_still(&view).unwrap().expect("a face");
    let weights = seen.blendshapes.expect("Face Mesh V2 gives blendshapes");
    let (closed, open) = (
        weights.get(Expression::EyeBlinkLeft),
        weights.get(Expression::EyeBlinkRight),
    );
    eprintln!("eyeBlinkLeft {closed:.3} (closed), eyeBlinkRight {open:.3} (open)");
    assert!(
        closed >= 0.42,
        "the closed eye reads as a blink of {closed:.3}"
    );
    assert!(open <= 0.15, "the open eye reads as a blink of {open:.3}");
}

/// A small deterministic random generator (no dependency).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32) / (1u64 << 24) as f32
    }
}

#[test]
fn random_faces_write_every_pixel_with_no_holes() {
    let tracker = common::tracker();
    let (p, head) = prepared(&tracker, &demo(), 256);
    let mut rng = Lcg(7);
    for n in 0..150 {
        let mut face = FaceFrame::neutral();
        for e in Expression::ALL {
            if rng.next() < 0.3 {
                face.expressions.set(e, rng.next());
            }
        }
        let angle = |r: &mut Lcg| (r.next() * 2.0 - 1.0) * 0.45;
        face.head.yaw = angle(&mut rng);
        face.head.pitch = angle(&mut rng);
        face.head.roll = angle(&mut rng);
        face.gaze.left = [angle(&mut rng) * 2.0, angle(&mut rng) * 2.0];
        face.gaze.right = face.gaze.left;
        let moved = head.retarget(&face);
        assert!(
            moved.points.iter().flatten().all(|v| v.is_finite()),
            "frame {n}: {face:?}"
        );
        // Two renders into buffers that start black and white agree: every byte was written.
        let mut black = vec![0u8; p.rgba.len()];
        let mut white = vec![255u8; p.rgba.len()];
        let s1 = head.render(&face, &mut black);
        head.render(&face, &mut white);
        assert!(black == white, "frame {n}: some pixels were not written");
        assert!(
            s1.uncovered <= p.rgba.len() / 4 / 2000,
            "frame {n}: {} pixels not covered by the mesh for {face:?}",
            s1.uncovered
        );
    }
}

#[test]
fn scripted_sequence_contact_sheets() {
    let tracker = common::tracker();
    for path in all_portraits() {
        let (p, head) = prepared(&tracker, &path, 512);
        let frames: Vec<Vec<u8>> = sequence()
            .iter()
            .map(|(_, f)| render(&head, &p, f))
            .collect();
        let crops = face_crops(&frames, p.width, p.height, head.rig(), 256);
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        contact_sheet(&crops, 256, 256, &out_dir().join(format!("{name}.png")));
    }
}

#[test]
fn few_shots_lend_the_most_open_mouth() {
    let Some(paintings) = common::testdata("paintings") else {
        return;
    };
    let tracker = common::tracker();
    let (mona, mona_head) = prepared(&tracker, &paintings.join("mona_lisa.jpg"), 512);
    let (astro, _) = prepared(&tracker, &demo(), 512);
    let rig = |p: &PortraitImage| rig(&tracker, p);
    let (mona_rig, astro_rig) = (rig(&mona), rig(&astro));
    let expressions = ExpressionRig::default();
    let two = PreparedHead::new(
        &[mona.clone(), astro.clone()],
        &[mona_rig.clone(), astro_rig.clone()],
        &expressions,
    )
    .unwrap();
    let swapped = PreparedHead::new(
        &[astro.clone(), mona.clone()],
        &[astro_rig, mona_rig],
        &expressions,
    )
    .unwrap();
    // The astronaut smiles with her teeth showing: her mouth is the most open whichever comes first.
    assert_eq!(two.mouth_reference(), Some(1));
    assert_eq!(swapped.mouth_reference(), Some(0));
    // Mona Lisa alone paints her open mouth; with the second shot it shows real teeth: brighter, and
    // with the reference's texture rather than flat paint.
    let face = FaceFrame::neutral().with_expression(Expression::JawOpen, 0.6);
    let interior = |head: &PreparedHead| {
        let mut out = vec![0u8; mona.rgba.len()];
        let moved = head.retarget(&face);
        head.render(&face, &mut out);
        let poly: Vec<[f32; 2]> = bevy_talking_head::rig::topology::INNER_LIPS
            .iter()
            .map(|&i| [moved.points[i][0], moved.points[i][1]])
            .collect();
        let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
        for p in &poly {
            lo = [lo[0].min(p[0]), lo[1].min(p[1])];
            hi = [hi[0].max(p[0]), hi[1].max(p[1])];
        }
        // The upper third of the opening, where the upper teeth are.
        let mut values = Vec::new();
        for y in lo[1] as usize..(lo[1] + (hi[1] - lo[1]) / 3.0) as usize {
            for x in lo[0] as usize..hi[0] as usize {
                values.push(luma_at(&out, mona.width as usize, x, y));
            }
        }
        values.iter().sum::<f32>() / values.len().max(1) as f32
    };
    let (alone, with_shot) = (interior(&mona_head), interior(&two));
    eprintln!(
        "upper third of the open mouth: luma {alone:.0} painted, {with_shot:.0} from the second shot"
    );
    assert!(
        with_shot > alone + 10.0,
        "the second shot did not bring its teeth: {alone:.0} -> {with_shot:.0}"
    );
}

/// The older mesh and iris model (`TrackerModels::MeshV1`), for measuring eyes and mouth geometrically.
fn measuring_tracker() -> FaceTracker {
    common::tracker_with(TrackerModels::MeshV1)
}

/// The driving videos drive the demo portrait through the live pipeline (Face Mesh V2 and its blendshapes,
/// the analyzer); what a viewer sees of eyes and mouth is then measured, on the driver and on the render
/// alike, by ONE other tracker: the older mesh + iris model, whose iris-model lids read closed eyes well.
/// The same instrument on both sides compares openings rather than two models' habits (this test used to
/// measure the driver's lids with Face Mesh V2's mesh while the blink came from the blendshape model), and
/// an instrument other than the model that drives keeps the figure geometric: tests/round_trip.rs reads
/// the blendshape model back on both sides, channel by channel.
#[test]
fn driving_videos_drive_the_demo_portrait() {
    use bevy_talking_head::capture::{FrameSource, VideoFileSource};
    use bevy_talking_head::tracking::FaceAnalyzer;
    let Some(data) = common::testdata("driving") else {
        return;
    };
    let tracker = common::tracker();
    let (p, head) = face_portrait(&tracker, &demo(), 384);
    let (mut mouth_in, mut mouth_out, mut eyes_in, mut eyes_out) = (vec![], vec![], vec![], vec![]);
    let mut sheet = Vec::new();
    for name in [
        "expressions_greenscreen.mp4",
        "expressions_head_turns.mp4",
        "webcam_talking.mp4",
    ] {
        let mut driver = common::tracker();
        // Video mode for both measurements, as for the driver.
        let mut measure_driver = measuring_tracker();
        let mut measure_render = measuring_tracker();
        let mut analyzer = FaceAnalyzer::default();
        let mut source = VideoFileSource::open(data.join(name)).unwrap();
        let mut out = vec![0u8; p.rgba.len()];
        let start = mouth_in.len();
        let mut frames = Vec::new();
        while let Some(frame) = source.next_frame().unwrap() {
            let view = ImageView::new(frame.width, frame.height, 3, &frame.rgb, name).unwrap();
            if let Some(tracked) = driver.track(&view).unwrap() {
                let measured = measure_driver.track(&view).unwrap().unwrap_or_else(|| {
                    panic!(
                        "{name} frame {}: the mesh + iris model lost the driver",
                        frame.index
                    )
                });
                frames.push((frame, tracked, ExpressionFeatures::of(&measured)));
            }
        }
        // The user's neutral, as a calibration step would capture it: the frame whose 52 weights sum least
        // (not the frame with the mouth most closed: in expressions_head_turns.mp4 that one frowns with
        // lids lowered to about half their open height, and the blink channels calibrated against it lose
        // what it already has).
        let sum = |t: &TrackedFace| t.blendshapes.unwrap().as_slice().iter().sum::<f32>();
        let neutral = frames
            .iter()
            .min_by(|a, b| sum(&a.1).total_cmp(&sum(&b.1)))
            .unwrap();
        analyzer.calibrate(&neutral.1);
        let neutral_index = neutral.0.index;
        let mut at_neutral = 0;
        for (frame, tracked, fi) in frames {
            if frame.index == neutral_index {
                at_neutral = mouth_in.len();
            }
            let face = analyzer.analyze(&tracked, frame.timestamp.as_secs_f64());
            let stats = head.render(&face, &mut out);
            assert_eq!(stats.uncovered, 0, "{name} frame {}: holes", frame.index);
            let rendered = ImageView::new(p.width, p.height, 4, &out, "rendered").unwrap();
            let seen = measure_render.track(&rendered).unwrap().unwrap_or_else(|| {
                panic!(
                    "{name} frame {}: no face in the rendered frame",
                    frame.index
                )
            });
            let fo = ExpressionFeatures::of(&seen);
            mouth_in.push(fi.lip_gap);
            mouth_out.push(fo.lip_gap);
            eyes_in.push((fi.eye_open[0] + fi.eye_open[1]) / 2.0);
            eyes_out.push((fo.eye_open[0] + fo.eye_open[1]) / 2.0);
            if frame.index % 12 == 0 && sheet.len() < 24 {
                let small = |rgba: Vec<u8>, w: u32, h: u32| {
                    let img = image::RgbaImage::from_raw(w, h, rgba).unwrap();
                    image::imageops::resize(&img, 192, 192, image::imageops::FilterType::Triangle)
                        .into_raw()
                };
                let rgba: Vec<u8> = frame
                    .rgb
                    .chunks_exact(3)
                    .flat_map(|c| [c[0], c[1], c[2], 255])
                    .collect();
                sheet.push(small(rgba, frame.width, frame.height));
                sheet.push(small(out.clone(), p.width, p.height));
            }
        }
        // Openings relative to the neutral frame's, on each side: the driver's eyes and lips are not the
        // portrait's, and calibration removes that difference on purpose. Eyes as a fraction of the neutral
        // opening, the lip gap as its change from neutral (canonical units, about 0 at neutral).
        for series in [&mut eyes_in, &mut eyes_out] {
            let n = series[at_neutral].max(1e-3);
            series[start..].iter_mut().for_each(|v| *v /= n);
        }
        for series in [&mut mouth_in, &mut mouth_out] {
            let n = series[at_neutral];
            series[start..].iter_mut().for_each(|v| *v -= n);
        }
        let r = |a: &[f32], b: &[f32]| pearson(&a[start..], &b[start..]);
        eprintln!(
            "{name}: {} frames, mouth correlation {:.2}, eyes {:.2}",
            mouth_in.len() - start,
            r(&mouth_in, &mouth_out),
            r(&eyes_in, &eyes_out)
        );
    }
    contact_sheet_cols(&sheet, 192, 192, 6, &out_dir().join("driving.png"));
    let (m, e) = (pearson(&mouth_in, &mouth_out), pearson(&eyes_in, &eyes_out));
    eprintln!(
        "all videos, {} frames: mouth openness correlation {m:.2}, eye openness {e:.2}",
        mouth_in.len()
    );
    assert!(m >= 0.8, "mouth openness correlation {m:.2}");
    assert!(e >= 0.8, "eye openness correlation {e:.2}");
}

/// Redness of a pixel: red over the larger of green and blue.
fn redness(p: &[u8]) -> f32 {
    p[0] as f32 - p[1].max(p[2]) as f32
}

#[test]
fn tongue_out_draws_a_tongue_over_the_lower_lip() {
    use Expression as E;
    let tracker = common::tracker();
    let (p, head) = prepared(&tracker, &demo(), 512);
    let open = FaceFrame::neutral().with_expression(E::JawOpen, 0.5);
    let tongue = open.with_expression(E::TongueOut, 1.0);
    let (a, b) = (render(&head, &p, &open), render(&head, &p, &tongue));
    let at = head.retarget(&tongue).points;
    // The middle of the mouth, from between the lips down over the lower lip: a column 5 px wide from
    // the inner lower lip (14) to the outer (17), in the frame with the tongue.
    let w = p.width as usize;
    let (top, bottom) = (at[14], at[17]);
    let mut column = Vec::new();
    for k in 0..=20 {
        let f = 0.1 + 0.8 * k as f32 / 20.0;
        let (x, y) = (
            top[0] + f * (bottom[0] - top[0]),
            top[1] + f * (bottom[1] - top[1]),
        );
        for dx in -2..=2 {
            column.push((y as usize) * w + (x as i32 + dx) as usize);
        }
    }
    // The lips around, without the tongue: the lower lip away from the middle (between 84 and 181, 314
    // and 405) and the upper lip (0).
    let base = head.retarget(&open).points;
    let lips: Vec<usize> = [(84, 181), (314, 405), (0, 0), (37, 37), (267, 267)]
        .iter()
        .map(|&(i, j)| {
            let (x, y) = (
                (base[i][0] + base[j][0]) / 2.0,
                (base[i][1] + base[j][1]) / 2.0,
            );
            (y as usize) * w + x as usize
        })
        .collect();
    let lip_red = lips.iter().map(|&i| redness(&a[i * 4..])).sum::<f32>() / lips.len() as f32;
    let tongue_like = |img: &[u8]| {
        column
            .iter()
            .filter(|&&i| {
                let px = &img[i * 4..i * 4 + 4];
                px[0] > 110 && redness(px) > lip_red + 15.0
            })
            .count() as f32
            / column.len() as f32
    };
    let (without, with) = (tongue_like(&a), tongue_like(&b));
    eprintln!(
        "lips' redness {lip_red:.0}; tongue-coloured in the mouth's middle: {:.0} % without, {:.0} % with",
        100.0 * without,
        100.0 * with
    );
    assert!(with > 0.6, "the tongue covers only {:.0} %", 100.0 * with);
    assert!(
        without < 0.1,
        "tongue-coloured without a tongue: {:.0} %",
        100.0 * without
    );
    let stats = head.render(&tongue, &mut vec![0u8; p.rgba.len()]);
    assert!(stats.tongue_pixels > 100, "{stats:?}");
    assert_eq!(
        head.render(&open, &mut vec![0u8; p.rgba.len()])
            .tongue_pixels,
        0
    );
    contact_sheet(
        &face_crops(&[a, b], p.width, p.height, &rig(&tracker, &p), 256),
        256,
        256,
        &out_dir().join("tongue.png"),
    );
}

/// Every expression at weight 1 on the demo portrait, in `Expression::ALL` order without the eyeLook*
/// ones (8 a row), neutral first: `target/tmp/mesh_warp/every_expression.png`, for looking at.
#[test]
fn every_expression_contact_sheet() {
    let tracker = common::tracker();
    let (p, head) = prepared(&tracker, &demo(), 512);
    let mut faces = vec![("neutral", FaceFrame::neutral())];
    for e in Expression::ALL {
        if !e.name().starts_with("eyeLook") {
            let mut f = FaceFrame::neutral().with_expression(e, 1.0);
            if e == Expression::MouthClose {
                f = f.with_expression(Expression::JawOpen, 0.4);
            }
            faces.push((e.name(), f));
        }
    }
    let frames: Vec<Vec<u8>> = faces.iter().map(|(_, f)| render(&head, &p, f)).collect();
    let r = rig(&tracker, &p);
    let crops = face_crops(&frames, p.width, p.height, &r, 200);
    for (k, (name, _)) in faces.iter().enumerate() {
        eprintln!("cell {k} (row {}, column {}): {name}", k / 8, k % 8);
    }
    contact_sheet_cols(&crops, 200, 200, 8, &out_dir().join("every_expression.png"));
}

/// A player who leans far moves the whole person, not just the head off its neck: beyond
/// `rig::MAX_SHIFT` face widths the picture's body moves with the head (`HeadMotion::body_shift`), the
/// picture's edge continuing. The demo portrait with random blocks painted over its shoulders (texture to
/// follow), the head moved 0.8 face widths right and 0.5 down: the shoulders are found moved by the
/// body's shift (within 2 px; before this they stayed put while the neck stretched), the face by the
/// whole shift, no pixel left unwritten, and the strip the body leaves continues the picture's edge.
#[test]
fn a_large_lean_moves_the_shoulders_with_the_head() {
    let tracker = common::tracker();
    let p = common::warp::scaled(&demo(), 384);
    let (w, h) = (p.width as usize, p.height as usize);
    let r0 = rig(&tracker, &p);
    {
        // The portrait as it is, leaning, for looking at (`lean.png`).
        let p = std::sync::Arc::new(p.clone());
        let head = common::warp::head_of(&p, &r0);
        let mut frames = Vec::new();
        for t in [[0.0, 0.0], [0.35, 0.0], [0.8, -0.5], [-0.8, 0.3]] {
            let mut face = FaceFrame::neutral();
            face.head.translation = [t[0], t[1], 0.0];
            frames.push(render(&head, &p, &face));
        }
        contact_sheet_cols(&frames, p.width, p.height, 4, &out_dir().join("lean.png"));
    }
    let chin = r0.landmarks[152][1];
    let face_h = chin - r0.landmarks[10][1];
    // Texture from a third of a face below the chin down.
    let mut rgba = p.rgba.clone();
    let top = (chin + 0.35 * face_h) as usize;
    for y in top.min(h)..h {
        for x in 0..w {
            // Random 3 px blocks: texture that matches in one place only.
            let hsh = ((x / 3) as u32).wrapping_mul(73_856_093)
                ^ ((y / 3) as u32).wrapping_mul(19_349_663);
            let v = (hsh.wrapping_mul(2_654_435_761) >> 24) as u8;
            rgba[(y * w + x) * 4..(y * w + x) * 4 + 3].copy_from_slice(&[v, v, 255 - v]);
        }
    }
    let p = std::sync::Arc::new(PortraitImage::new(p.width, p.height, rgba).unwrap());
    let r = rig(&tracker, &p);
    let head = common::warp::head_of(&p, &r);
    let mut face = FaceFrame::neutral();
    face.head.translation = [0.8, -0.5, 0.0];
    let target = head.retarget(&face);
    let body = target.motion.body_shift();
    let nose = [
        target.points[1][0] - r.landmarks[1][0],
        target.points[1][1] - r.landmarks[1][1],
    ];
    eprintln!("body shift {body:?} px, the nose moved {nose:?} px");
    assert!(body[0] > 20.0 && body[1] > 10.0, "body shift {body:?}");
    assert!(
        nose[0] > body[0] + 10.0,
        "the head moves further than the body"
    );
    let out = render(&head, &p, &face);
    image::RgbaImage::from_raw(w as u32, h as u32, out.clone())
        .unwrap()
        .save(out_dir().join("lean_body.png"))
        .unwrap();
    // Where a 32 px patch of the shoulders went: the shift that matches it best.
    let found = |cx: usize, cy: usize| -> [i32; 2] {
        let mut best = (f64::MAX, [0, 0]);
        for dy in -10..=40i32 {
            for dx in -10..=70i32 {
                let mut e = 0.0f64;
                for y in cy - 16..cy + 16 {
                    for x in cx - 16..cx + 16 {
                        let (tx, ty) = (x as i32 + dx, y as i32 + dy);
                        let i = (y * w + x) * 4;
                        let j = (ty as usize * w + tx as usize) * 4;
                        for c in 0..3 {
                            e += (p.rgba[i + c] as f64 - out[j + c] as f64).powi(2);
                        }
                    }
                }
                if e < best.0 {
                    best = (e, [dx, dy]);
                }
            }
        }
        best.1
    };
    // Low on the shoulders, more than a face from the face (where the neck's share of the shift has
    // faded out) and clear of the border's strip.
    let cy = ((chin + 1.2 * face_h) as usize).min(h - 80);
    for cx in [w / 2 - 40, w / 2, w / 2 + 40] {
        let d = found(cx, cy);
        eprintln!("shoulder patch at ({cx}, {cy}) moved {d:?}");
        assert!(
            (d[0] as f32 - body[0]).abs() <= 2.0 && (d[1] as f32 - body[1]).abs() <= 2.0,
            "the shoulders at ({cx}, {cy}) moved {d:?}, the body {body:?}"
        );
    }
    // The strip the body leaves on the left continues the picture's left edge (the sampler repeats
    // the edge there): each of its pixels within a few levels of an edge pixel near its row (the
    // margin takes the body's shift down only in part).
    let mut diff = 0.0f64;
    let mut n = 0;
    for y in h / 4..h * 3 / 4 {
        for x in 0..(body[0] / 2.0) as usize {
            let i = (y * w + x) * 4;
            let lo = (y as f32 - body[1] - 2.0).max(0.0) as usize;
            diff += (lo..=(y + 2).min(h - 1))
                .map(|sy| {
                    (0..3)
                        .map(|c| (p.rgba[sy * w * 4 + c] as f64 - out[i + c] as f64).abs())
                        .sum::<f64>()
                        / 3.0
                })
                .fold(f64::MAX, f64::min);
            n += 1;
        }
    }
    let diff = diff / n as f64;
    eprintln!(
        "the strip left of the body: mean difference {diff:.2} levels from the picture's edge"
    );
    assert!(
        diff < 8.0,
        "the strip left of the body: mean difference {diff:.1} from the edge"
    );
}

/// A turning head's hair lags behind its face, as hair and ears behind the face do (they lie at about
/// the depth of the head's middle, the face in front of it): the hair beside the face moves less than
/// the face's own outline the way the nose goes, and the hair on the side the face turns towards is
/// squeezed against the cheek, never drawn over it. Before, the hair moved with the face's outline, as
/// if the head were a flat card; in self-reenactment the real hair beside the face lagged the rendered
/// hair by up to 24 px of a 256 px face crop at the driver's larger turns. Writes `turn_hair.png` (the
/// demo turned -0.35, 0, 0.35 radians).
#[test]
fn a_turning_heads_hair_lags_behind_its_face() {
    let tracker = common::tracker();
    // The demo's head and what is around it, at 384 px (its face is a sixth of the whole picture).
    let p = {
        let whole = common::warp::load(&demo());
        let at = rig(&tracker, &whole).landmarks;
        let side = 2.6 * (at[454][0] - at[234][0]);
        let x0 = (at[168][0] - side / 2.0).max(0.0) as u32;
        let y0 = (at[168][1] - side / 2.0).max(0.0) as u32;
        let side = (side as u32).min(whole.width - x0).min(whole.height - y0);
        let img =
            image::RgbaImage::from_raw(whole.width, whole.height, whole.rgba.clone()).unwrap();
        let crop = image::imageops::crop_imm(&img, x0, y0, side, side).to_image();
        let crop = image::imageops::resize(&crop, 384, 384, image::imageops::FilterType::Triangle);
        std::sync::Arc::new(PortraitImage::new(384, 384, crop.into_raw()).unwrap())
    };
    let w = p.width as usize;
    let r = rig(&tracker, &p);
    let head = common::warp::head_of(&p, &r);
    let rest = &r.landmarks;
    let face = rest[454][0] - rest[234][0];
    let mut frames = Vec::new();
    for yaw in [-0.35f32, 0.0, 0.35] {
        let mut f = FaceFrame::neutral();
        f.head.yaw = yaw;
        frames.push(render(&head, &p, &f));
    }
    contact_sheet_cols(
        &frames,
        p.width,
        p.height,
        3,
        &out_dir().join("turn_hair.png"),
    );
    // Where a 24 px patch went: the horizontal shift (and a little vertical) that matches it best.
    let found = |out: &[u8], cx: usize, cy: usize| -> i32 {
        let mut best = (f64::MAX, 0);
        for dy in -6..=6i32 {
            for dx in -40..=40i32 {
                let mut e = 0.0f64;
                for y in cy - 12..cy + 12 {
                    for x in cx - 12..cx + 12 {
                        let (tx, ty) = ((x as i32 + dx) as usize, (y as i32 + dy) as usize);
                        for c in 0..3 {
                            e += (p.rgba[(y * w + x) * 4 + c] as f64
                                - out[(ty * w + tx) * 4 + c] as f64)
                                .powi(2);
                        }
                    }
                }
                if e < best.0 {
                    best = (e, dx);
                }
            }
        }
        best.1
    };
    for (k, yaw) in [(0usize, -0.35f32), (2, 0.35)] {
        let mut f = FaceFrame::neutral();
        f.head.yaw = yaw;
        let moved = head.retarget(&f).points;
        let nose = moved[1][0] - rest[1][0];
        for (outline, side) in [(234usize, -1.0f32), (454, 1.0)] {
            let edge = moved[outline][0] - rest[outline][0];
            // Hair beside the face, at the temples' height, a tenth of a face out from its outline.
            let cx = (rest[outline][0] + side * 0.12 * face) as usize;
            let cy = (rest[outline][1] - 0.25 * face) as usize;
            let hair = found(&frames[k], cx, cy) as f32;
            eprintln!(
                "yaw {yaw}: nose {nose:.1} px, outline {outline} {edge:.1} px, the hair beside it {hair} px"
            );
            // The nose goes one way from the outline, the hair the other, by a few pixels at least.
            assert!(
                (hair - edge) * (nose - edge) < 0.0 && (hair - edge).abs() >= 4.0,
                "yaw {yaw}: the hair beside {outline} moved {hair} px, the outline {edge:.1}, the nose {nose:.1}"
            );
        }
    }
}

/// The luma of pixel (`x`, `y`) of an RGBA frame `w` pixels wide.
fn luma_at(rgba: &[u8], w: usize, x: usize, y: usize) -> f32 {
    let i = (y * w + x) * 4;
    0.299 * rgba[i] as f32 + 0.587 * rgba[i + 1] as f32 + 0.114 * rgba[i + 2] as f32
}

/// The upper lid edge of eye `side` of `points` (corners included), sorted by x.
fn upper_lid(points: &[[f32; 3]], side: usize) -> Vec<[f32; 2]> {
    let ring = bevy_talking_head::rig::topology::eye_ring(side);
    let mut line: Vec<[f32; 2]> = [ring[0], ring[8]]
        .iter()
        .chain(&ring[9..])
        .map(|&i| [points[i][0], points[i][1]])
        .collect();
    line.sort_by(|p, q| p[0].total_cmp(&q[0]));
    line
}

/// The y of `line` (sorted by x) at `x`, linearly between its points.
fn lid_at(line: &[[f32; 2]], x: f32) -> f32 {
    let k = line
        .iter()
        .position(|p| p[0] > x)
        .unwrap_or(line.len() - 1)
        .max(1);
    let (p, q) = (line[k - 1], line[k]);
    p[1] + (q[1] - p[1]) * ((x - p[0]) / (q[0] - p[0]).max(1e-3)).clamp(0.0, 1.0)
}

/// A square crop of `rgba` (a frame of `p`'s size) around the eye whose corners are `corners`, `size`
/// times the corners' horizontal distance across, enlarged to 192 x 192 for a contact sheet.
fn eye_crop(rgba: &[u8], p: &PortraitImage, corners: [[f32; 3]; 2], size: f32) -> Vec<u8> {
    let [a, b] = corners;
    let c = size * (a[0] - b[0]).abs();
    let (cx, cy) = ((a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0);
    let (l, tp) = (
        (cx - c / 2.0).max(0.0) as u32,
        (cy - c / 2.0).max(0.0) as u32,
    );
    let img = image::RgbaImage::from_raw(p.width, p.height, rgba.to_vec()).unwrap();
    let crop = image::imageops::crop_imm(&img, l, tp, c as u32, c as u32).to_image();
    image::imageops::resize(&crop, 192, 192, image::imageops::FilterType::Nearest).into_raw()
}

/// How textured a closed eye's lid is in a rendered frame `out` (width `w`, the target's points `t`):
/// each part's summed |difference| between horizontal neighbours, between vertical ones, and its pixel
/// count, over the middle of the eye (0.3 to 0.7 of the way between its corners).
struct ClosedLid {
    /// Inside the lid: from just under the fold to a fifth of the eye's width above the lid edge.
    lid: [f32; 3],
    /// The skin above the fold (a quarter to half of the eye's width above it).
    above: [f32; 3],
    /// The cheek under the eye (0.15 to 0.35 of the eye's width under the lower lid).
    cheek: [f32; 3],
}

impl ClosedLid {
    /// A part's mean |dx| + |dy|.
    fn grain(part: [f32; 3]) -> f32 {
        (part[0] + part[1]) / part[2].max(1.0)
    }
}

/// Both eyes closed (eyeBlinkLeft and eyeBlinkRight at 1).
fn eyes_closed() -> FaceFrame {
    FaceFrame::neutral()
        .with_expression(Expression::EyeBlinkLeft, 1.0)
        .with_expression(Expression::EyeBlinkRight, 1.0)
}

fn closed_lid_texture(out: &[u8], w: usize, t: &[[f32; 3]], side: usize) -> ClosedLid {
    use bevy_talking_head::rig::topology::{eye_fold, eye_ring};
    let luma = |x: usize, y: usize| luma_at(out, w, x, y);
    let ring = eye_ring(side);
    let (a, b) = (t[ring[0]], t[ring[8]]);
    let (x0, x1) = (a[0].min(b[0]), a[0].max(b[0]));
    let mut m = ClosedLid {
        lid: [0.0; 3],
        above: [0.0; 3],
        cheek: [0.0; 3],
    };
    let add = |part: &mut [f32; 3], x: usize, y: usize| {
        part[0] += (luma(x + 1, y) - luma(x, y)).abs();
        part[1] += (luma(x, y + 1) - luma(x, y)).abs();
        part[2] += 1.0;
    };
    for x in (x0 + 0.3 * (x1 - x0)) as usize..(x0 + 0.7 * (x1 - x0)) as usize {
        // The fold and the lid edges at this column (nearest landmarks).
        let near = |idx: &[usize]| {
            idx.iter()
                .map(|&i| t[i])
                .min_by(|p, q| (p[0] - x as f32).abs().total_cmp(&(q[0] - x as f32).abs()))
                .unwrap()[1]
        };
        let (fold, lid, low) = (near(eye_fold(side)), near(&ring[9..]), near(&ring[1..8]));
        let (top, bottom) = ((fold + 2.0) as usize, (lid - 0.2 * (x1 - x0)) as usize);
        for y in top..bottom.max(top) {
            add(&mut m.lid, x, y);
        }
        let s = (0.25 * (x1 - x0)) as usize;
        for y in (fold as usize).saturating_sub(2 * s)..(fold as usize).saturating_sub(s) {
            add(&mut m.above, x, y);
        }
        for y in (low + 0.15 * (x1 - x0)) as usize..(low + 0.35 * (x1 - x0)) as usize {
            add(&mut m.cheek, x, y);
        }
    }
    m
}

/// A closing lid whose portrait has only a thin band of skin above the lashes (Mona Lisa: her lid fold
/// lies on her lashes) is drawn as skin from the fold's colour to the lid's with the grain of the skin
/// above the fold, not as that band stretched several times over (vertical streaks and an edge at the
/// fold: a pale sticker over the eye) nor as smooth paint (a patch on her cracked varnish). Measured on
/// her closed eyes, inside the lid (between the fold and the lash line, the middle of the eye): the
/// mean difference between horizontal and between vertical neighbours, against the same on the skin
/// above the fold. Smooth skin (2026-12-02): |dx| 1.78 and 1.08, |dy| 1.57 and 0.52, a quarter of the
/// skin's 10.3 and 7.1; with the grain (2026-12-03): |dx| 3.40 and 2.12, |dy| 3.55 and 3.24, 0.67 and
/// 0.76 of it. Also writes `closed_lids.png` (each of her eyes open in the portrait and closed) for
/// looking at.
#[test]
fn a_thin_lid_closes_as_skin_with_its_grain_without_streaks() {
    use bevy_talking_head::rig::topology::eye_ring;
    let tracker = common::tracker();
    let Some(dir) = common::testdata("paintings") else {
        eprintln!("no shared test data: skipped");
        return;
    };
    let (p, head) = face_portrait(&tracker, &dir.join("mona_lisa.jpg"), 512);
    let w = p.width as usize;
    let face = eyes_closed();
    let out = render(&head, &p, &face);
    let t = head.retarget(&face).points;
    let mut crops = Vec::new();
    for side in 0..2 {
        let ring = eye_ring(side);
        let (a, b) = (t[ring[0]], t[ring[8]]);
        let m = closed_lid_texture(&out, w, &t, side);
        let ([dx, dy, n], [sx, sy, sn]) = (m.lid, m.above);
        let (sdx, sdy) = (sx / sn.max(1.0), sy / sn.max(1.0));
        eprintln!("  skin above the fold: {sn} pixels, mean |dx| {sdx:.2}, |dy| {sdy:.2}");
        assert!(n > 30.0, "eye {side}: {n} lid pixels measured");
        let (mdx, mdy) = (dx / n, dy / n);
        eprintln!("Mona Lisa eye {side} closed: {n} lid pixels, mean |dx| {mdx:.2}, |dy| {mdy:.2}");
        assert!(
            mdx < 1.4 * mdy + 0.3,
            "eye {side}: the closed lid is streaked (mean difference between horizontal neighbours \
             {mdx:.2} levels, vertical {mdy:.2})"
        );
        let (lid, skin) = (mdx + mdy, sdx + sdy);
        assert!(
            lid > 0.45 * skin && lid < 1.5 * skin,
            "eye {side}: the closed lid's grain ({lid:.2}) is not the skin's around it ({skin:.2}): \
             a smooth patch on a textured face, or noise"
        );
        // The portrait's open eye beside the closed one.
        for rgba in [&p.rgba, &out] {
            crops.push(eye_crop(rgba, &p, [a, b], 2.2));
        }
    }
    contact_sheet_cols(&crops, 192, 192, 4, &out_dir().join("closed_lids.png"));
}

/// A closing lid drawn as smooth skin takes the fine grain of the skin above the fold, but not its edges:
/// on the cartoon boy (smooth rendered skin, a hairy brow a few pixels above the fold) the brow's
/// strands became wood-grain streaks over the closed lid, and the row just above his thick lashes made
/// it a brown patch (`EyeLayer::grain_edge`, `EyeLayer::lid_skin`). Measured at 512 px, eyes closed: the
/// lid's mean |dx| + |dy| against the cheek's under the eye. With the brow's grain (2026-12-05): 3.7
/// and 2.3 times the cheek's; without: 1.8 and 1.2. A photograph (aflw2000_00050) keeps its own grain
/// (1.1 and 0.9 of its cheek's before, 0.9 and 0.7 now; Mona Lisa's lids keep her varnish:
/// [`a_thin_lid_closes_as_skin_with_its_grain_without_streaks`]). Writes `cartoon_closed_lids.png`.
#[test]
fn a_closing_lid_takes_no_streaks_from_the_brow_above_it() {
    use bevy_talking_head::rig::topology::eye_ring;
    let tracker = common::tracker();
    let Some(dir) = common::testdata("") else {
        eprintln!("no shared test data: skipped");
        return;
    };
    let face = eyes_closed();
    let mut crops = Vec::new();
    let mut failures = Vec::new();
    for name in ["stylized/cartoon_boy.jpg", "faces/aflw2000_00050.jpg"] {
        let (p, head) = face_portrait(&tracker, &dir.join(name), 512);
        let out = render(&head, &p, &face);
        let t = head.retarget(&face).points;
        for side in 0..2 {
            let m = closed_lid_texture(&out, p.width as usize, &t, side);
            let (lid, cheek) = (ClosedLid::grain(m.lid), ClosedLid::grain(m.cheek));
            eprintln!(
                "{name} eye {side} closed: lid grain {lid:.2} ({} px), cheek {cheek:.2} ({} px): {:.1}x",
                m.lid[2],
                m.cheek[2],
                lid / cheek
            );
            assert!(
                m.lid[2] > 100.0 && m.cheek[2] > 100.0,
                "{name} eye {side}: too few pixels"
            );
            if lid > 2.1 * cheek {
                failures.push(format!("{name} eye {side}: {:.1}x", lid / cheek));
            }
            let ring = eye_ring(side);
            for rgba in [&p.rgba, &out] {
                crops.push(eye_crop(rgba, &p, [t[ring[0]], t[ring[8]]], 2.2));
            }
        }
    }
    contact_sheet_cols(
        &crops,
        192,
        192,
        4,
        &out_dir().join("cartoon_closed_lids.png"),
    );
    assert!(
        failures.is_empty(),
        "closed lids streaked well beyond the skin's own grain: {failures:?}"
    );
}

/// The strongest vertical mark in a closed eye's lid towards its ends: over the columns within 0.3 of
/// the eye's width of either corner (and 0.02 past it), the largest |mean over the rows of the lid's
/// upper half (fold to half-way down to the lid edge) of the luma step to the next column|. A light
/// or dark vertical edge where the redrawn lid meets the skin beside it steps the same way on every
/// row; the skin's grain averages out.
fn lid_end_mark(out: &[u8], w: usize, t: &[[f32; 3]], side: usize) -> f32 {
    use bevy_talking_head::rig::topology::{eye_fold, eye_ring};
    let ring = eye_ring(side);
    let (a, b) = (t[ring[0]], t[ring[8]]);
    let (x0, x1) = (a[0].min(b[0]), a[0].max(b[0]));
    let ew = x1 - x0;
    let near = |idx: &[usize], x: f32| {
        idx.iter()
            .map(|&i| t[i])
            .min_by(|p, q| (p[0] - x).abs().total_cmp(&(q[0] - x).abs()))
            .unwrap()[1]
    };
    let mut mark = 0f32;
    for x in (x0 - 0.02 * ew) as usize..(x1 + 0.02 * ew) as usize {
        let s = (x as f32 - x0) / ew;
        if (0.3..0.7).contains(&s) {
            continue;
        }
        let (fold, lid) = (near(eye_fold(side), x as f32), near(&ring[9..], x as f32));
        let (top, bottom) = ((fold + 1.0) as usize, (fold + 0.5 * (lid - fold)) as usize);
        if bottom >= top + 3 {
            let step: f32 = (top..bottom)
                .map(|y| luma_at(out, w, x + 1, y) - luma_at(out, w, x, y))
                .sum::<f32>()
                / (bottom - top) as f32;
            mark = mark.max(step.abs());
        }
    }
    mark
}

/// A closing lid is drawn in the lit lid's colour; the skin it fades into at its ends, in the socket's
/// shadow, is darker, and each end showed as a light vertical mark, the redrawn lid a patch pasted over
/// the eye. Its ends now take the colour of the face under them (one offset per end, the median over
/// its rows) and its middle keeps its own. Measured on the demo portrait (512 px, eyes closed):
/// [`lid_end_mark`] 7.95 and 9.77 levels before, 5.56 and 5.49 after (bound 7). On photos at 384-512 px
/// (aflw2000_00050, 00514, 01038), Mona Lisa and the cartoon boy the same measure moved by -2.3 to
/// +0.7 levels (the largest step there is mostly the picture's own). Also writes `closed_lid_ends.png`
/// (the demo's eyes open and closed) for looking at.
#[test]
fn a_closed_lid_takes_the_skin_colour_at_its_ends() {
    use bevy_talking_head::rig::topology::eye_ring;
    let tracker = common::tracker();
    let (p, head) = face_portrait(&tracker, &demo(), 512);
    let face = eyes_closed();
    let out = render(&head, &p, &face);
    let t = head.retarget(&face).points;
    let mut crops = Vec::new();
    let mut marks = Vec::new();
    for side in 0..2 {
        let mark = lid_end_mark(&out, p.width as usize, &t, side);
        eprintln!("demo eye {side} closed: lid end mark {mark:.2} levels");
        marks.push(mark);
        let ring = eye_ring(side);
        for rgba in [&p.rgba, &out] {
            crops.push(eye_crop(rgba, &p, [t[ring[0]], t[ring[8]]], 2.2));
        }
    }
    contact_sheet_cols(&crops, 192, 192, 4, &out_dir().join("closed_lid_ends.png"));
    assert!(
        marks.iter().all(|&m| m < 7.0),
        "a closed lid's ends show a vertical mark: {marks:?} levels (bound 7)"
    );
}

/// Looking up raises the upper lid (`rig::LOOK_UP_LID`, half the eye's opening); the eyeball it uncovers
/// is the portrait's white from just below where the lash band was, in the lid's shadow near the lashes.
/// Unshaded it read as a bright box under the lashes. Measured on the demo's eyes beside the iris: the
/// luma of the first two rows under the moved lash band (the target's lid line, interpolated between its
/// landmarks, plus the band) against the portrait's white that was copied there (below its own lash
/// band). Unshaded: 1.02 on eye 0; shaded: 0.87 and 0.82. Also writes `raised_lids.png` (each eye in the
/// portrait and looking up) for looking at.
#[test]
fn a_raised_lid_uncovers_eyeball_in_its_shadow() {
    use bevy_talking_head::rig::topology::eye_ring;
    let tracker = common::tracker();
    let (p, head) = face_portrait(&tracker, &demo(), 512);
    let w = p.width as usize;
    let up = FaceFrame::neutral()
        .with_expression(Expression::EyeLookUpLeft, 1.0)
        .with_expression(Expression::EyeLookUpRight, 1.0);
    let out = render(&head, &p, &up);
    let (t, t0) = (
        head.retarget(&up).points,
        head.retarget(&FaceFrame::neutral()).points,
    );
    let rig = head.rig().clone();
    let (iris, radius) = (rig.iris.unwrap(), rig.iris_radius.unwrap());
    let mut crops = Vec::new();
    for side in 0..2 {
        let ring = eye_ring(side);
        let (a, b) = (t0[ring[0]], t0[ring[8]]);
        let (x0, x1) = (a[0].min(b[0]), a[0].max(b[0]));
        let width = x1 - x0;
        let (risen_line, lid_line) = (upper_lid(&t, side), upper_lid(&t0, side));
        let band = 0.1 * width;
        let (mut under, mut white, mut columns) = (0.0f32, 0.0f32, 0);
        for x in (x0 + 0.1 * width) as usize..(x0 + 0.9 * width) as usize {
            let cx = x as f32 + 0.5;
            if (cx - iris[side][0]).abs() < 1.2 * radius[side] {
                continue;
            }
            let (risen, lid) = (lid_at(&risen_line, cx), lid_at(&lid_line, cx));
            if lid - risen < 4.0 {
                continue;
            }
            let top = (risen + band).ceil() as usize;
            under += (luma_at(&out, w, x, top) + luma_at(&out, w, x, top + 1)) / 2.0;
            white += luma_at(&p.rgba, w, x, (lid + band + 0.5) as usize);
            columns += 1;
        }
        assert!(
            columns >= 6,
            "eye {side}: {columns} columns uncovered beside the iris"
        );
        let shadow = under / white;
        eprintln!(
            "demo eye {side} looking up: {columns} columns beside the iris; under the lashes {:.0} \
             levels against the white copied there {:.0}: {shadow:.2}",
            under / columns as f32,
            white / columns as f32
        );
        assert!(
            shadow < 0.93,
            "eye {side}: the eyeball a raised lid uncovers is not in its shadow (luma {shadow:.2} of \
             the white it shows)"
        );
        for rgba in [&p.rgba, &out] {
            crops.push(eye_crop(rgba, &p, [a, b], 1.6));
        }
    }
    contact_sheet_cols(&crops, 192, 192, 4, &out_dir().join("raised_lids.png"));
}

#[test]
fn an_iris_looking_aside_leaves_the_white_of_the_eye_with_its_grain() {
    // Where the iris was before it turned aside, the eye shows sclera. It was a flat fill of the eye's
    // mean sclera colour: a disc of smooth paint without the picture's grain (mean difference between
    // horizontal neighbours 0.16-0.23 levels, against 5.4-12 in the white beside the iris). Now that
    // colour with the grain of the portrait's own white beside the iris: 2.3-3.2 levels.
    let tracker = common::tracker();
    let mut portraits = vec![("demo", demo())];
    if let Some(dir) = common::testdata("paintings") {
        portraits.push(("Mona Lisa", dir.join("mona_lisa.jpg")));
    }
    let mut crops = Vec::new();
    for (name, path) in portraits {
        let (p, head) = face_portrait(&tracker, &path, 512);
        let (w, h) = (p.width as usize, p.height as usize);
        let rig = head.rig().clone();
        let (iris, radius) = (rig.iris.unwrap(), rig.iris_radius.unwrap());
        // Both eyes to the head's left.
        let face = FaceFrame::neutral()
            .with_expression(Expression::EyeLookOutLeft, 0.8)
            .with_expression(Expression::EyeLookInRight, 0.8);
        let moved = head.retarget(&face).iris.unwrap();
        let out = render(&head, &p, &face);
        let luma = |img: &[u8], x: usize, y: usize| luma_at(img, w, x, y);
        for side in 0..2 {
            let (c, m, r) = (iris[side], moved[side], radius[side]);
            let d = |a: [f32; 2], x: usize, y: usize| {
                ((x as f32 + 0.5 - a[0]).powi(2) + (y as f32 + 0.5 - a[1]).powi(2)).sqrt()
            };
            let opening = if side == 0 {
                rig.right_eye_opening()
            } else {
                rig.left_eye_opening()
            };
            let in_eye = |x: usize, y: usize| {
                // Inside the opening by the even-odd rule.
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                let mut inside = false;
                for k in 0..opening.len() {
                    let (a, b) = (opening[k], opening[(k + 1) % opening.len()]);
                    if (a[1] > py) != (b[1] > py)
                        && px < (b[0] - a[0]) * (py - a[1]) / (b[1] - a[1]) + a[0]
                    {
                        inside = !inside;
                    }
                }
                inside
            };
            // The place the iris left (its disc at rest, clear of the moved one, inside the opening), and
            // the portrait's own white beside the iris.
            let left_by_iris =
                |x: usize, y: usize| d(c, x, y) < r && d(m, x, y) > 1.2 * r && in_eye(x, y);
            let white = |x: usize, y: usize| {
                d(c, x, y) > 1.5 * r && (y as f32 - c[1]).abs() < 0.5 * r && in_eye(x, y)
            };
            let (mut grain, mut lum, mut n) = (0.0f32, 0.0f32, 0usize);
            let (mut wgrain, mut wlum, mut wn) = (0.0f32, 0.0f32, 0usize);
            for y in (c[1] - 2.0 * r) as usize..(c[1] + 2.0 * r) as usize {
                for x in (c[0] - 3.0 * r) as usize..(c[0] + 3.0 * r) as usize {
                    if x + 1 >= w || y >= h {
                        continue;
                    }
                    if left_by_iris(x, y) && left_by_iris(x + 1, y) {
                        grain += (luma(&out, x + 1, y) - luma(&out, x, y)).abs();
                        lum += luma(&out, x, y);
                        n += 1;
                    }
                    if white(x, y) && white(x + 1, y) {
                        wgrain += (luma(&p.rgba, x + 1, y) - luma(&p.rgba, x, y)).abs();
                        wlum += luma(&p.rgba, x, y);
                        wn += 1;
                    }
                }
            }
            assert!(
                n > 20 && wn > 20,
                "{name} eye {side}: {n} uncovered, {wn} white pixels"
            );
            let (grain, lum, wgrain, wlum) = (
                grain / n as f32,
                lum / n as f32,
                wgrain / wn as f32,
                wlum / wn as f32,
            );
            eprintln!(
                "{name} eye {side}: where the iris was {n} px, luma {lum:.1}, grain {grain:.2}; the white beside it luma {wlum:.1}, grain {wgrain:.2}"
            );
            // A flat fill measured 0.16-0.23 levels here; the white beside the iris 5.4-12.
            assert!(
                grain >= 0.15 * wgrain,
                "{name} eye {side}: where the iris was is smooth (grain {grain:.2} levels against {wgrain:.2} in the white beside it)"
            );
            let crop = |img: &[u8]| {
                let img = image::RgbaImage::from_raw(w as u32, h as u32, img.to_vec()).unwrap();
                let s = 6.0 * r;
                let c = image::imageops::crop_imm(
                    &img,
                    (c[0] - s / 2.0).max(0.0) as u32,
                    (c[1] - s / 2.0).max(0.0) as u32,
                    s as u32,
                    s as u32,
                )
                .to_image();
                image::imageops::resize(&c, 192, 192, image::imageops::FilterType::Nearest)
                    .into_raw()
            };
            crops.push(crop(&p.rgba));
            crops.push(crop(&out));
        }
    }
    contact_sheet_cols(&crops, 192, 192, 4, &out_dir().join("iris_aside.png"));
}

/// A look down leaves the upper lid's lash line whole over the place the iris left. That place, inside
/// the tracked opening, was a disc of the eye's mean white: on the demo, whose tracked opening reaches
/// into the lash line and takes in skin below the eye, a grey-pink disc that broke the lash line where
/// the iris had been. Now it shows the portrait beside the iris at the same place between the lids.
/// Measured on the demo looking down, on each row of the band under the portrait's upper lid landmarks
/// (a tenth of the eye's width, where its lashes are), the mean luma over the iris's middle columns
/// against the columns beside the iris (2026-12-04): the mean white's disc 142 against 127 (rows 131-152
/// against 102-154 beside); now 111 and 101 against 127 and 125, the rows alike (dark lashes at the top,
/// the white below) as beside (the portrait at rest: 54 and 59, its lashes over the iris). Also writes
/// `looking_down.png` (each eye in the portrait and looking down).
#[test]
fn a_look_down_keeps_the_lash_line_over_where_the_iris_was() {
    use bevy_talking_head::rig::topology::eye_ring;
    let tracker = common::tracker();
    let (p, head) = face_portrait(&tracker, &demo(), 512);
    let w = p.width as usize;
    // The irises turned down by the gaze angles alone: `eyeLookDown*` weights also lower the upper lid
    // (`rig::LOOK_DOWN_LID`), over most of the place the iris leaves.
    let mut down = FaceFrame::neutral();
    down.gaze = Gaze {
        left: [0.0, -0.6],
        right: [0.0, -0.6],
    };
    let out = render(&head, &p, &down);
    let t0 = head.retarget(&FaceFrame::neutral()).points;
    let rig = head.rig().clone();
    let (iris, radius) = (rig.iris.unwrap(), rig.iris_radius.unwrap());
    let mut crops = Vec::new();
    for side in 0..2 {
        let ring = eye_ring(side);
        let (a, b) = (t0[ring[0]], t0[ring[8]]);
        let width = (a[0] - b[0]).abs();
        let lid = upper_lid(&t0, side);
        let (c, r) = (iris[side], radius[side]);
        // The mean luma of `img` on each row of the lash band under the lid (rows counted from the lid),
        // over the columns `lo..hi` iris radii from the iris's centre.
        let rows = (0.1 * width).ceil() as usize;
        let band = |img: &[u8], lo: f32, hi: f32| {
            let (mut sum, mut n) = (vec![0.0f32; rows], 0usize);
            for x in (c[0] - hi * r) as usize..=(c[0] + hi * r) as usize {
                let dx = (x as f32 + 0.5 - c[0]).abs() / r;
                if dx < lo || dx >= hi {
                    continue;
                }
                let top = lid_at(&lid, x as f32 + 0.5).ceil() as usize;
                for (k, s) in sum.iter_mut().enumerate() {
                    *s += luma_at(img, w, x, top + k);
                }
                n += 1;
            }
            assert!(n >= 3, "eye {side}: {n} columns");
            sum.iter().map(|s| s / n as f32).collect::<Vec<f32>>()
        };
        let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
        let (over, beside, rest) = (
            band(&out, 0.0, 0.5),
            band(&out, 1.4, 2.0),
            band(&p.rgba, 0.0, 0.5),
        );
        // How alike the band's rows are over the iris's columns and beside them: dark lashes at the
        // top, the white below.
        let alike = pearson(&over, &beside);
        eprintln!(
            "demo eye {side} looking down, the lash band's rows over the iris's columns {over:.0?}, \
             beside them {beside:.0?}, the portrait over the iris {rest:.0?}: means {:.0}, {:.0}, \
             {:.0}, rows alike at r {alike:.2}",
            mean(&over),
            mean(&beside),
            mean(&rest)
        );
        assert!(
            mean(&over) <= mean(&beside),
            "eye {side}: the lash line is broken over where the iris was (luma {:.0} against {:.0} \
             beside it)",
            mean(&over),
            mean(&beside)
        );
        // The iris has left (not a dark hole nor the iris drawn on), and the band is the lash line over
        // white there as beside the iris, row by row.
        assert!(
            mean(&over) >= mean(&rest) + 20.0,
            "eye {side}: the iris is still there or a dark hole ({:.0} against the portrait's {:.0})",
            mean(&over),
            mean(&rest)
        );
        assert!(
            alike >= 0.8,
            "eye {side}: the band over where the iris was is unlike the lash line beside it (r \
             {alike:.2}: {over:.0?} against {beside:.0?})"
        );
        for rgba in [&p.rgba, &out] {
            crops.push(eye_crop(rgba, &p, [a, b], 1.6));
        }
    }
    contact_sheet_cols(&crops, 192, 192, 4, &out_dir().join("looking_down.png"));
}

/// A lid raised a pixel or two over the iris (`browInnerUp`, `eyeWide*`) keeps its lashes on the iris:
/// that strip showed the white beside the iris (or the iris's rim mirrored onto the white below it), a
/// thin pale arc over the iris, one pixel brighter than the lashes above and the iris below (2026-12-05:
/// up to 78 levels over both neighbours on the demo). Measured on the demo's irises' middle columns,
/// from above the portrait's lid down to half a radius above the iris's centre: no pixel brighter than both its neighbours
/// in the column by more than 20 levels.
#[test]
fn a_slightly_raised_lid_draws_no_pale_arc_over_the_iris() {
    let tracker = common::tracker();
    let (p, head) = face_portrait(&tracker, &demo(), 512);
    let w = p.width as usize;
    let rig = head.rig().clone();
    let (iris, radius) = (rig.iris.unwrap(), rig.iris_radius.unwrap());
    for (name, face) in [
        (
            "browInnerUp",
            FaceFrame::neutral().with_expression(Expression::BrowInnerUp, 1.0),
        ),
        (
            "eyeWide",
            FaceFrame::neutral()
                .with_expression(Expression::EyeWideLeft, 1.0)
                .with_expression(Expression::EyeWideRight, 1.0),
        ),
    ] {
        let out = render(&head, &p, &face);
        for side in 0..2 {
            let (c, r) = (iris[side], radius[side]);
            let mut worst = (0.0f32, 0usize, 0usize);
            for x in (c[0] - 0.5 * r) as usize..=(c[0] + 0.5 * r) as usize {
                let top = (c[1] - 1.6 * r) as usize;
                for y in top + 1..(c[1] - 0.5 * r) as usize {
                    let (up, here, down) = (
                        luma_at(&out, w, x, y - 1),
                        luma_at(&out, w, x, y),
                        luma_at(&out, w, x, y + 1),
                    );
                    let peak = here - up.max(down);
                    if peak > worst.0 {
                        worst = (peak, x, y);
                    }
                }
            }
            eprintln!(
                "{name}, eye {side}: the brightest pixel over its column neighbours above the iris: \
                 {:.0} levels at ({}, {})",
                worst.0, worst.1, worst.2
            );
            assert!(
                worst.0 <= 30.0,
                "{name}, eye {side}: a pale arc over the iris ({:.0} levels over both neighbours at \
                 ({}, {}))",
                worst.0,
                worst.1,
                worst.2
            );
        }
    }
}

#[test]
fn a_lid_lifted_at_the_corner_draws_no_white_pixel_there() {
    // Raised outer brows lift the upper lid a pixel at the eye's inner corner (the corner itself moves
    // a little); the eyeball it uncovers there took the portrait's white from beside the iris: one
    // white pixel (luma about 220) in the pink corner (about 140) on each eye of the demo. Within a
    // tenth of the eye's width of each corner, no pixel stands out from all 8 neighbours by more
    // than 15 levels brighter unless the neutral frame has one there too.
    let tracker = common::tracker();
    let (p, head) = face_portrait(&tracker, &demo(), 512);
    let w = p.width as usize;
    let rig = head.rig().clone();
    let neutral = render(&head, &p, &FaceFrame::neutral());
    let speck = |img: &[u8], x: usize, y: usize| {
        let here = luma_at(img, w, x, y);
        let mut brightest = f32::MIN;
        for (dx, dy) in [
            (-1i32, -1i32),
            (0, -1),
            (1, -1),
            (-1, 0),
            (1, 0),
            (-1, 1),
            (0, 1),
            (1, 1),
        ] {
            let v = luma_at(img, w, (x as i32 + dx) as usize, (y as i32 + dy) as usize);
            brightest = brightest.max(v);
        }
        here - brightest
    };
    for (name, face) in [
        (
            "browOuterUp",
            FaceFrame::neutral()
                .with_expression(Expression::BrowOuterUpLeft, 1.0)
                .with_expression(Expression::BrowOuterUpRight, 1.0),
        ),
        (
            "brows up",
            FaceFrame::neutral()
                .with_expression(Expression::BrowInnerUp, 1.0)
                .with_expression(Expression::BrowOuterUpLeft, 1.0)
                .with_expression(Expression::BrowOuterUpRight, 1.0),
        ),
    ] {
        let out = render(&head, &p, &face);
        for (outer, inner) in [(33usize, 133usize), (263, 362)] {
            let (a, b) = (rig.landmarks[outer], rig.landmarks[inner]);
            let reach = 0.1 * ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
            for corner in [a, b] {
                let mut worst = (f32::MIN, 0usize, 0usize);
                let (x0, x1) = ((corner[0] - reach) as usize, (corner[0] + reach) as usize);
                let (y0, y1) = ((corner[1] - reach) as usize, (corner[1] + reach) as usize);
                for y in y0..=y1 {
                    for x in x0..=x1 {
                        let s = speck(&out, x, y);
                        if s > worst.0 && speck(&neutral, x, y) <= 15.0 {
                            worst = (s, x, y);
                        }
                    }
                }
                eprintln!(
                    "{name}, corner at ({:.0}, {:.0}): the brightest pixel over all its neighbours \
                     {:.0} levels at ({}, {})",
                    corner[0], corner[1], worst.0, worst.1, worst.2
                );
                assert!(
                    worst.0 <= 15.0,
                    "{name}: a white pixel at the eye's corner ({:.0} levels over all neighbours at \
                     ({}, {}))",
                    worst.0,
                    worst.1,
                    worst.2
                );
            }
        }
    }
}

/// A portrait that squints at rest, driven by a neutral player (`ExpressionRig::player_driven`: its own
/// squint undone by lowering the lower lids): the eye opens as the picture's own eye stretched, with no
/// line or dot of its own. Before 2026-12-05 the eyeball a lowered lower lid uncovered was drawn in place
/// of the lid's old band: the iris's bottom as a dark sliver under it, a pale arc at its rim (Mona
/// Lisa), dark dots where the lower lashes were (the demo). Within each eye (its ring's box, grown by a
/// tenth of its width), no pixel stands out from both its neighbours above and below by more than 30
/// levels the same way (13-19 now; 28, 38 and 65 with the old layer), unless the portrait has one of
/// more than 25 within a pixel of there.
#[test]
fn an_eye_opened_from_the_portrait_squint_draws_no_line_or_dot() {
    use bevy_talking_head::rig::topology::{LEFT_EYE, RIGHT_EYE};
    let tracker = common::tracker();
    let mut paths = vec![demo()];
    if let Some(dir) = common::testdata("paintings") {
        paths.push(dir.join("mona_lisa.jpg"));
    }
    let player = ExpressionRig::player_driven();
    let mut failures = Vec::new();
    for path in paths {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (p, head) = common::warp::face_portrait_with(&tracker, &path, 512, &player);
        let own = head.rig().expressions.as_ref().map_or(0.0, |e| {
            e.get(Expression::EyeSquintLeft)
                .max(e.get(Expression::EyeSquintRight))
        });
        assert!(
            own > 0.25,
            "{name} squints at rest ({own:.2}): the case this test is about"
        );
        let w = p.width as usize;
        let out = render(&head, &p, &FaceFrame::neutral());
        let target = head.retarget(&FaceFrame::neutral());
        // How far `img`'s pixel stands out from both its neighbours above and below, the same way.
        let line = |img: &[u8], x: usize, y: usize| {
            let here = luma_at(img, w, x, y);
            let (a, b) = (luma_at(img, w, x, y - 1), luma_at(img, w, x, y + 1));
            (here - a.max(b)).max(a.min(b) - here)
        };
        for ring in [&RIGHT_EYE, &LEFT_EYE] {
            let lowered = ring[1..8]
                .iter()
                .map(|&i| target.points[i][1] - head.rig().landmarks[i][1])
                .fold(0.0, f32::max);
            let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
            for &i in ring.iter() {
                let q = target.points[i];
                lo = [lo[0].min(q[0]), lo[1].min(q[1])];
                hi = [hi[0].max(q[0]), hi[1].max(q[1])];
            }
            let m = 0.1 * (hi[0] - lo[0]);
            let mut worst = (f32::MIN, 0usize, 0usize);
            for y in (lo[1] - m) as usize..=(hi[1] + m) as usize {
                for x in (lo[0] - m) as usize..=(hi[0] + m) as usize {
                    let s = line(&out, x, y);
                    let own = (-1i32..=1)
                        .flat_map(|dy| (-1i32..=1).map(move |dx| (dx, dy)))
                        .map(|(dx, dy)| {
                            line(&p.rgba, (x as i32 + dx) as usize, (y as i32 + dy) as usize)
                        })
                        .fold(f32::MIN, f32::max);
                    if s > worst.0 && own <= 25.0 {
                        worst = (s, x, y);
                    }
                }
            }
            eprintln!(
                "{name}, eye at ({:.0}, {:.0}): lower lid lowered {lowered:.1} px; the pixel standing out \
                 most: {:.0} levels at ({}, {})",
                lo[0], lo[1], worst.0, worst.1, worst.2
            );
            if worst.0 > 30.0 {
                failures.push(format!(
                    "{name}: {:.0} levels at ({}, {})",
                    worst.0, worst.1, worst.2
                ));
            }
        }
        contact_sheet_cols(
            &[p.rgba.to_vec(), out],
            p.width,
            p.height,
            2,
            &out_dir().join(format!("unsquint_{name}.png")),
        );
    }
    assert!(
        failures.is_empty(),
        "a line or dot in an opened eye: {failures:?}"
    );
}

/// Surprise (raised brows, wide eyes, open jaw) on the demo: the lids rise off the irises' tops, and
/// the sliver of eyeball left between the lash band and an iris's edge, a pixel or two deep, was drawn
/// as the white: a dotted pale arc along the iris's top (before 2026-12-05: 74 and 54 levels over its
/// neighbours above and below). Along the top half of each iris's edge (0.8 to 1.4 radii from its
/// centre), no pixel is brighter than both its neighbours above and below by more than 35 levels (22 on
/// both eyes now: the irises' own texture).
#[test]
fn surprise_draws_no_dotted_arc_along_the_iris_top() {
    let tracker = common::tracker();
    let (p, head) = face_portrait(&tracker, &demo(), 512);
    let w = p.width as usize;
    let face = FaceFrame::neutral()
        .with_expression(Expression::BrowInnerUp, 1.0)
        .with_expression(Expression::BrowOuterUpLeft, 1.0)
        .with_expression(Expression::BrowOuterUpRight, 1.0)
        .with_expression(Expression::EyeWideLeft, 1.0)
        .with_expression(Expression::EyeWideRight, 1.0)
        .with_expression(Expression::JawOpen, 0.5);
    let out = render(&head, &p, &face);
    let target = head.retarget(&face);
    let (irises, radii) = (target.iris.unwrap(), head.rig().iris_radius.unwrap());
    let mut failures = Vec::new();
    for (side, c) in irises.iter().enumerate() {
        let radius = radii[side];
        let mut worst = (f32::MIN, 0usize, 0usize);
        for y in (c[1] - 1.4 * radius) as usize..=c[1] as usize {
            for x in (c[0] - 1.4 * radius) as usize..=(c[0] + 1.4 * radius) as usize {
                let d = (x as f32 + 0.5 - c[0]).hypot(y as f32 + 0.5 - c[1]) / radius;
                if !(0.8..=1.4).contains(&d) {
                    continue;
                }
                let here = luma_at(&out, w, x, y);
                let over = here - luma_at(&out, w, x, y - 1).max(luma_at(&out, w, x, y + 1));
                if over > worst.0 {
                    worst = (over, x, y);
                }
            }
        }
        eprintln!(
            "eye {side}: the brightest pixel over its neighbours above and below along the iris's top: \
             {:.0} levels at ({}, {})",
            worst.0, worst.1, worst.2
        );
        if worst.0 > 35.0 {
            failures.push(format!(
                "eye {side}: {:.0} at ({}, {})",
                worst.0, worst.1, worst.2
            ));
        }
    }
    let crops: Vec<Vec<u8>> = irises
        .iter()
        .zip(radii)
        .map(|(c, radius)| {
            let img = image::RgbaImage::from_raw(p.width, p.height, out.clone()).unwrap();
            let r = (2.5 * radius) as u32;
            let tile =
                image::imageops::crop_imm(&img, c[0] as u32 - r, c[1] as u32 - r, 2 * r, 2 * r)
                    .to_image();
            image::imageops::resize(&tile, 192, 192, image::imageops::FilterType::Nearest)
                .into_raw()
        })
        .collect();
    contact_sheet_cols(
        &crops,
        192,
        192,
        2,
        &out_dir().join("surprise_iris_top.png"),
    );
    assert!(
        failures.is_empty(),
        "a dotted arc over the iris: {failures:?}"
    );
}

/// A risen lid uncovers the top of the iris, which the portrait hides: it is drawn from the iris below
/// it, and never from a catchlight there (copied up, the lit spot under the lid drew a second,
/// streaked highlight above the first on photos in surprise: 7 pixels above the catchlight in each of
/// aflw2000_00050's eyes, 0 now). Above the neutral frame's catchlight (the pixels of the iris's upper
/// part 60 levels over its median, joined to the brightest) the surprised iris shows at most 3 such
/// pixels.
#[test]
fn surprise_does_not_stretch_the_catchlight_up_the_iris() {
    let tracker = common::tracker();
    let mut paths = vec![demo()];
    if let Some(dir) = common::testdata("faces") {
        paths.push(dir.join("aflw2000_00050.jpg"));
        paths.push(dir.join("aflw2000_00081.jpg"));
    }
    let surprise = FaceFrame::neutral()
        .with_expression(Expression::BrowInnerUp, 1.0)
        .with_expression(Expression::BrowOuterUpLeft, 1.0)
        .with_expression(Expression::BrowOuterUpRight, 1.0)
        .with_expression(Expression::EyeWideLeft, 1.0)
        .with_expression(Expression::EyeWideRight, 1.0);
    let mut failures = Vec::new();
    let mut crops = Vec::new();
    for path in paths {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (p, head) = face_portrait(&tracker, &path, 512);
        let w = p.width as usize;
        let radii = head.rig().iris_radius.unwrap();
        let mut frames = Vec::new();
        for face in [FaceFrame::neutral(), surprise] {
            let out = render(&head, &p, &face);
            let irises = head.retarget(&face).iris.unwrap();
            frames.push((out, irises));
        }
        for (side, &r) in radii.iter().enumerate() {
            let c = frames[1].1[side];
            let (neutral, _) = upper_iris_light(&frames[0].0, w, c, r, 0.0);
            let (_, above) = upper_iris_light(&frames[1].0, w, c, r, neutral as f32 - 1.0);
            eprintln!(
                "{name} eye {side}: pixels lit above the catchlight's top (row {neutral}) in surprise: {above}"
            );
            if above > 3 {
                failures.push(format!("{name} eye {side}: {above}"));
            }
            for (out, _) in &frames {
                let img = image::RgbaImage::from_raw(p.width, p.height, out.clone()).unwrap();
                let half = (2.5 * r) as u32;
                let tile = image::imageops::crop_imm(
                    &img,
                    c[0] as u32 - half,
                    c[1] as u32 - half,
                    2 * half,
                    2 * half,
                )
                .to_image();
                crops.push(
                    image::imageops::resize(&tile, 160, 160, image::imageops::FilterType::Nearest)
                        .into_raw(),
                );
            }
        }
    }
    contact_sheet_cols(
        &crops,
        160,
        160,
        4,
        &out_dir().join("surprise_catchlight.png"),
    );
    assert!(
        failures.is_empty(),
        "the catchlight stretched up the iris: {failures:?}"
    );
}

/// Of the iris's upper part in `rgba` (`w` pixels wide; inside 0.9 of its radius `r` around `c`, above
/// 0.2 radii below its centre), the pixels 60 levels over that part's median luma are lit: the top row
/// of the lit pixels joined (8-connected) to the brightest (the catchlight), and how many lit pixels lie
/// above row `above`.
fn upper_iris_light(rgba: &[u8], w: usize, c: [f32; 2], r: f32, above: f32) -> (usize, usize) {
    let in_part = |x: usize, y: usize| {
        (x as f32 + 0.5 - c[0]).hypot(y as f32 + 0.5 - c[1]) < 0.9 * r
            && (y as f32 + 0.5) < c[1] + 0.2 * r
    };
    let (x0, y0) = ((c[0] - r) as usize, (c[1] - r) as usize);
    let n = (2.0 * r) as usize + 2;
    let at = |i: usize| (x0 + i % n, y0 + i / n);
    let mut lumas: Vec<f32> = (0..n * n)
        .map(at)
        .filter(|&(x, y)| in_part(x, y))
        .map(|(x, y)| luma_at(rgba, w, x, y))
        .collect();
    lumas.sort_by(f32::total_cmp);
    let bright = lumas[lumas.len() / 2] + 60.0;
    let lit = |i: usize| {
        let (x, y) = at(i);
        in_part(x, y) && luma_at(rgba, w, x, y) > bright
    };
    let count = (0..n * n)
        .filter(|&i| lit(i) && ((at(i).1) as f32) < above)
        .count();
    let Some(brightest) = (0..n * n).filter(|&i| lit(i)).max_by(|&a, &b| {
        let (l, m) = (at(a), at(b));
        luma_at(rgba, w, l.0, l.1).total_cmp(&luma_at(rgba, w, m.0, m.1))
    }) else {
        return (y0 + n, count);
    };
    let mask: Vec<bool> = (0..n * n).map(lit).collect();
    let catchlight = regions(&mask, n, n)
        .into_iter()
        .find(|r| r.members.contains(&brightest))
        .expect("the brightest lit pixel is in a region");
    (y0 + catchlight.bounds[1], count)
}

/// The edge of a half-closed eye is smooth, not a staircase of whole pixels: the cartoon boy (crisp
/// drawn eyes, 640 px) half blinking, along each eye (0.15-0.85 of its width). Where the target's lid
/// line crosses a pixel row near its middle (the eye covering 30-70 % of that pixel), the pixel should
/// show lid and eyeball in part: its luma between its neighbours' above (lash band) and below (eyeball),
/// 20-80 % of the way. The eye opening is rasterised whole-pixel and the skin around it by the mesh:
/// drawn so, such a pixel is the one or the other and the edge jumps a row at a time (before
/// 2026-12-06, none of them in between); the pixels the edge crosses now take the eye by
/// the share of them it covers (`EyeLayer::smooth_opening_edges`).
#[test]
fn a_half_closed_eyes_edge_is_smooth_not_a_staircase() {
    let Some(boy) = common::testdata("stylized").map(|d| d.join("cartoon_boy.jpg")) else {
        eprintln!("no ../shared/testdata: skipped");
        return;
    };
    let tracker = common::tracker();
    let (p, head) = face_portrait(&tracker, &boy, 640);
    let w = p.width as usize;
    let face = FaceFrame::neutral()
        .with_expression(Expression::EyeBlinkLeft, 0.5)
        .with_expression(Expression::EyeBlinkRight, 0.5);
    let out = render(&head, &p, &face);
    let t = head.retarget(&face).points;
    let luma = |x: usize, y: usize| luma_at(&out, w, x, y);
    for side in 0..2 {
        let line = upper_lid(&t, side);
        let (x0, x1) = (line[0][0], line[line.len() - 1][0]);
        let (mut crossed, mut between) = (0, 0);
        for x in (x0 + 0.15 * (x1 - x0)) as usize..(x0 + 0.85 * (x1 - x0)) as usize {
            let lid = lid_at(&line, x as f32 + 0.5);
            let y = lid.floor() as usize;
            let eye = y as f32 + 1.0 - lid;
            let (above, here, below) = (luma(x, y - 1), luma(x, y), luma(x, y + 1));
            if !(0.3..=0.7).contains(&eye) || (below - above).abs() < 30.0 {
                continue;
            }
            crossed += 1;
            let share = (here - above) / (below - above);
            if (0.2..=0.8).contains(&share) {
                between += 1;
            }
        }
        eprintln!(
            "eye {side}: {between} of {crossed} pixels the lid line crosses show lid and eyeball in part"
        );
        assert!(crossed >= 8, "eye {side}: only {crossed} pixels measured");
        assert!(
            2 * between >= crossed,
            "eye {side}: {between} of {crossed} pixels the lid line crosses in between"
        );
    }
}

/// The pixels between each brow's lower contour and the upper lid under it (the lid's lash rows left
/// out), over the eye's width, in a frame whose landmarks are `t`: `(pixels, those darker than
/// `dark`)`, summed over both eyes.
fn brow_lid_band(rgba: &[u8], w: usize, t: &[[f32; 3]], dark: f32) -> (usize, usize) {
    use bevy_talking_head::rig::topology::{LEFT_BROW, LEFT_EYE, RIGHT_BROW, RIGHT_EYE};
    let polyline = |idx: &mut dyn Iterator<Item = usize>| {
        let mut v: Vec<[f32; 2]> = idx.map(|i| [t[i][0], t[i][1]]).collect();
        v.sort_by(|a, b| a[0].total_cmp(&b[0]));
        v
    };
    let y_at = |line: &[[f32; 2]], x: f32| {
        line.windows(2).find_map(|s| {
            let (a, b) = (s[0], s[1]);
            (a[0] <= x && x <= b[0] && b[0] > a[0])
                .then(|| a[1] + (b[1] - a[1]) * (x - a[0]) / (b[0] - a[0]))
        })
    };
    let (mut n, mut d) = (0, 0);
    for (eye, brow) in [(&RIGHT_EYE, &RIGHT_BROW), (&LEFT_EYE, &LEFT_BROW)] {
        let lid = polyline(&mut [eye[0], eye[8]].into_iter().chain(eye[9..].iter().copied()));
        let lower_brow = polyline(&mut brow[5..].iter().copied());
        let (x0, x1) = (
            t[eye[0]][0].min(t[eye[8]][0]),
            t[eye[0]][0].max(t[eye[8]][0]),
        );
        for x in (x0 as usize + 1)..(x1 as usize) {
            let (Some(top), Some(bottom)) = (y_at(&lower_brow, x as f32), y_at(&lid, x as f32))
            else {
                continue;
            };
            for y in (top as usize + 1)..((bottom - 2.0).max(0.0) as usize) {
                n += 1;
                d += usize::from(luma_at(rgba, w, x, y) < dark);
            }
        }
    }
    (n, d)
}

/// A raised brow stretches the skin between it and the lid; where that band is a shadow under the brow
/// with light lid skin below it (Mona Lisa, whose faint brows also rise 1.6 times as far), an even
/// stretch drew the shadow as a thick dark arch: heavy brows she does not have. The stretch now goes
/// into the band's light skin and the shadow rises with the brow (`LidBand::shade`). Measured at 512 px
/// with the brows fully raised (browInnerUp and both browOuterUp at 1): the share of the band darker
/// than 110, her shadow's luma, 0.68 at rest; raised, 0.65 with the even stretch, 0.54 now. Writes
/// `raised_brows.png` (her eyes at rest and raised, 3x).
#[test]
fn a_raised_brow_lifts_the_shadow_under_it_and_stretches_the_light_lid_skin() {
    let tracker = common::tracker();
    let Some(dir) = common::testdata("paintings") else {
        eprintln!("no shared test data: skipped");
        return;
    };
    let (p, head) = face_portrait(&tracker, &dir.join("mona_lisa.jpg"), 512);
    let w = p.width as usize;
    let raised = FaceFrame::neutral()
        .with_expression(Expression::BrowInnerUp, 1.0)
        .with_expression(Expression::BrowOuterUpLeft, 1.0)
        .with_expression(Expression::BrowOuterUpRight, 1.0);
    let mut crops = Vec::new();
    let mut shares = Vec::new();
    for face in [FaceFrame::neutral(), raised] {
        let out = render(&head, &p, &face);
        let t = head.retarget(&face).points;
        let (n, dark) = brow_lid_band(&out, w, &t, 110.0);
        assert!(n > 300, "{n} band pixels");
        shares.push(dark as f32 / n as f32);
        eprintln!("Mona Lisa's brow-lid band: {n} pixels, {dark} darker than 110");
        let rest = head.retarget(&FaceFrame::neutral()).points;
        let (a, b) = (rest[33], rest[263]);
        let img = image::RgbaImage::from_raw(p.width, p.height, out).unwrap();
        let (cx, cy, half) = (
            (a[0] + b[0]) / 2.0,
            (a[1] + b[1]) / 2.0 - 10.0,
            0.8 * (b[0] - a[0]).abs(),
        );
        let crop = image::imageops::crop_imm(
            &img,
            (cx - half).max(0.0) as u32,
            (cy - half / 2.0).max(0.0) as u32,
            (2.0 * half) as u32,
            half as u32,
        )
        .to_image();
        crops.push(
            image::imageops::resize(&crop, 480, 240, image::imageops::FilterType::Nearest)
                .into_raw(),
        );
    }
    contact_sheet_cols(&crops, 480, 240, 1, &out_dir().join("raised_brows.png"));
    assert!(
        shares[0] > 0.6,
        "the test's premise: her band is mostly shadow at rest ({:.2} of it darker than 110)",
        shares[0]
    );
    assert!(
        shares[1] < 0.6,
        "raised brows stretch the shadow under them: {:.2} of the band darker than 110 (rest {:.2}; \
         an even stretch 0.65)",
        shares[1],
        shares[0]
    );
}
