//! Self-reenactment (issue 18): each shared driving video's calmest frame is the portrait, every third
//! other frame drives it, and the rendered head is scored against the real frame on the 256 px face crop
//! (`bevy_talking_head::eval`). Both ways of driving are run: the 52 weights through the expression
//! shapes, and the driver's own landmark motion. The portrait's background is kept still behind the
//! moving head (`ReenactmentOptions::still_background`, by the source frame's matte).
//!
//! Figures (every third frame; BENCHMARKS.md has the table), AKD % / PSNR dB / SSIM, per video
//! (greenscreen, head turns, webcam):
//! - before (weights, the pipeline of 2026-11-30): 1.71 / 27.3 / 0.850, 16.57 / 15.3 / 0.526,
//!   12.92 / 17.8 / 0.627: the head's shift was clamped at 0.2 face widths, and the turn's own shift of
//!   the point between the eyes was applied twice (as the turn about the neck, and again as translation);
//! - weights now: 0.98 / 30.1 / 0.902, 2.71 / 18.6 / 0.677, 4.00 / 20.7 / 0.750;
//! - landmarks: 0.79 / 30.0 / 0.904, 1.47 / 18.6 / 0.695, 2.12 / 21.0 / 0.767 (the webcam's 4.10 % before
//!   the whole person moved with a leaning head: the neck held the head within 0.35 face widths; PSNR
//!   17.8 and 19.5 dB on the two videos with turns before the hair lagged the turning face, 20.0 dB
//!   on the webcam before the background stayed still).
//!
//! Where the rest of the PSNR goes (the landmark path, before the hair lagged): nine tenths of the
//! squared error of the two videos with turns lies outside the face oval (hair, ears, background);
//! without it the crops would score 28 and 29 dB. The person PSNR (the real frame's background, outside
//! its selfie-segmentation matte, counted as drawn perfectly; 2026-12-07): 30.5 / 20.7 / 22.1 dB. So
//! on the head turns no handling of the background reaches 22 dB: the person's own pixels (hair and
//! ears the turn shows or hides) hold it at 20.7.
//!
//! The targets: landmarks AKD at most 3 % and at most half of the weights path's before, PSNR
//! at least 22 dB, SSIM at least 0.65; weights AKD at most 5 %. Asserted: each video's AKD on both
//! paths, the landmark path's mean AKD, mean PSNR and each SSIM. Not met and held by floors (measured
//! minus a margin): the PSNR of the two videos with head turns (18.6 and 21.0 dB: hair and ears that a
//! turn shows or hides, which a 2D warp of one frame cannot draw).
//!
//! Writes `target/reenactment_<video>.png` (rows: real | weights | landmarks) for looking at.

mod common;

use std::path::Path;

use bevy_talking_head::drive::LiveDriving;
use bevy_talking_head::eval::{ReenactmentOptions, ReenactmentScores, self_reenactment};
use bevy_talking_head::tracking::default_models_dir;

/// `(video, weights AKD, landmarks AKD, landmarks PSNR floor, landmarks person PSNR floor)`: the AKD
/// bounds are the targets where they hold, the measured figure plus 0.5 where not; PSNR floors are
/// measured minus 0.5 dB.
const BOUNDS: [(&str, f64, f64, f64, f64); 3] = [
    ("expressions_greenscreen.mp4", 5.0, 3.0, 29.5, 30.0), // measured 0.98, 0.79; 30.0, 30.5 dB
    ("expressions_head_turns.mp4", 5.0, 3.0, 18.0, 20.1),  // 2.71, 1.47; 18.6, 20.7 dB
    ("webcam_talking.mp4", 5.0, 3.0, 20.5, 21.6),          // 4.00, 2.12; 21.0, 22.1 dB
];

#[test]
fn the_head_follows_its_driver_in_self_reenactment() {
    let Some(dir) = common::testdata("driving") else {
        return;
    };
    let options = ReenactmentOptions {
        stride: 3,
        sheet_every: 4,
        score_person: true,
        still_background: true,
        ..ReenactmentOptions::default()
    };
    assert_eq!(
        options.drivings,
        [LiveDriving::Expressions, LiveDriving::Landmarks]
    );
    let mut landmarks: Vec<ReenactmentScores> = Vec::new();
    let mut weights: Vec<ReenactmentScores> = Vec::new();
    for (video, weights_akd, landmarks_akd, psnr_floor, person_floor) in BOUNDS {
        let r = self_reenactment(&default_models_dir(), &dir.join(video), &options).unwrap();
        let [w, l] = [&r.scores[0], &r.scores[1]];
        for s in [w, l] {
            eprintln!(
                "{video} (portrait: frame {}): {:?}: AKD {:.2} %, PSNR {:.2} dB (person {:.2} dB), SSIM {:.3}, mouth r {:.3}, eye r {:.3}, {} of {} frames lost",
                r.source_frame,
                s.driving,
                s.akd,
                s.psnr,
                s.person_psnr.unwrap_or(f64::NAN),
                s.ssim,
                s.mouth_r,
                s.eye_r,
                s.lost,
                s.frames
            );
            assert_eq!(s.lost, 0, "{video}: {:?} lost the face", s.driving);
            assert!(s.frames >= 20, "{video}: {} frames scored", s.frames);
            // The mouth opens and closes with the driver's.
            assert!(
                s.mouth_r >= 0.9,
                "{video}: {:?} mouth r {}",
                s.driving,
                s.mouth_r
            );
        }
        assert!(w.akd <= weights_akd, "{video}: weights AKD {} %", w.akd);
        assert!(l.akd <= landmarks_akd, "{video}: landmarks AKD {} %", l.akd);
        assert!(
            l.psnr >= psnr_floor,
            "{video}: landmarks PSNR {} dB",
            l.psnr
        );
        assert!(l.ssim >= 0.65, "{video}: landmarks SSIM {}", l.ssim);
        // The person alone (the real background counted as drawn perfectly), held by its own floor, so a
        // person drawn worse cannot hide behind a background drawn better; above the whole crop's PSNR
        // (equal only where the matte finds no background in the crop at all).
        let person = l.person_psnr.expect("score_person scores the person");
        assert!(
            person >= person_floor,
            "{video}: landmarks person PSNR {person} dB"
        );
        assert!(
            person > l.psnr,
            "{video}: person PSNR {person} against {} dB",
            l.psnr
        );
        // The driver's own lids (measured 0.815-0.959): the eyes follow at least as well as through the
        // weights' blink shapes (0.527-0.940).
        assert!(l.eye_r >= 0.78, "{video}: landmarks eye r {}", l.eye_r);
        assert!(
            l.eye_r >= w.eye_r - 0.02,
            "{video}: eye r {} against {}",
            l.eye_r,
            w.eye_r
        );
        if let Some((w, h, rgba)) = r.sheet {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
                "target/reenactment_{}.png",
                video.trim_end_matches(".mp4")
            ));
            image::RgbaImage::from_raw(w, h, rgba)
                .unwrap()
                .save(&path)
                .unwrap();
            eprintln!("wrote {}", path.display());
        }
        weights.push(w.clone());
        landmarks.push(l.clone());
    }
    let mean = |v: &[ReenactmentScores], f: fn(&ReenactmentScores) -> f64| {
        v.iter().map(f).sum::<f64>() / v.len() as f64
    };
    let (lm_akd, w_akd) = (mean(&landmarks, |s| s.akd), mean(&weights, |s| s.akd));
    let lm_psnr = mean(&landmarks, |s| s.psnr);
    eprintln!(
        "mean AKD: weights {w_akd:.2} %, landmarks {lm_akd:.2} % (weights before: 10.40 %); mean PSNR landmarks {lm_psnr:.2} dB"
    );
    // Landmark driving: within the 3 %, at most half of the weights path's before (10.40 %),
    // and closer than the weights path.
    assert!(lm_akd <= 3.0, "landmarks mean AKD {lm_akd} %");
    assert!(lm_akd <= 10.40 / 2.0);
    assert!(
        lm_akd < w_akd,
        "landmarks {lm_akd} % against weights {w_akd} %"
    );
    assert!(lm_psnr >= 22.0, "landmarks mean PSNR {lm_psnr} dB");
}
