//! The same frame fed 100 times with pixel noise: how much do the landmarks jitter, raw and smoothed?

mod common;

use bevy_talking_head::tracking::{ImageView, OneEuroParams, PointSmoother};

#[test]
fn landmark_jitter_on_a_still_frame_is_under_a_third_of_a_pixel_after_smoothing() {
    let Some(data) = common::testdata("faces/aflw2000_00050.jpg") else {
        return;
    };
    let img = image::open(&data).unwrap().to_rgb8();
    let mut tracker = common::tracker();
    let mut smoother = PointSmoother::new(OneEuroParams::LANDMARKS);
    // Deterministic noise, different every frame: the image moves by 0 or 1 px in x and in y (a shaky
    // camera: the true landmarks move by up to 1 px), and each pixel value by up to +-4 grey levels.
    let mut seed = 0x2545F4914F6CDD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut raw_runs = Vec::new();
    let mut smooth_runs = Vec::new();
    for frame in 0..100 {
        let (sx, sy) = ((next() % 2) as usize, (next() % 2) as usize);
        let src = img.as_raw();
        let mut noisy = vec![0u8; src.len()];
        for y in 0..h {
            for x in 0..w {
                let (fx, fy) = ((x + sx).min(w - 1), (y + sy).min(h - 1));
                for c in 0..3 {
                    let v = src[(fy * w + fx) * 3 + c] as i32 + (next() % 9) as i32 - 4;
                    noisy[(y * w + x) * 3 + c] = v.clamp(0, 255) as u8;
                }
            }
        }
        let view = ImageView::new(img.width(), img.height(), 3, &noisy, "noisy").unwrap();
        let face = tracker.track(&view).unwrap().expect("face lost");
        let mut points = face.landmarks.points.clone();
        raw_runs.push(points.clone());
        smoother.smooth(&mut points, frame as f64 / 30.0);
        smooth_runs.push(points);
    }
    let jitter = |runs: &[Vec<[f32; 3]>]| {
        let runs = &runs[20..];
        let n = runs.len() as f32;
        let mut total = 0.0;
        for i in 0..468 {
            for k in 0..2 {
                let mean = runs.iter().map(|r| r[i][k]).sum::<f32>() / n;
                let var = runs.iter().map(|r| (r[i][k] - mean).powi(2)).sum::<f32>() / n;
                total += var.sqrt();
            }
        }
        total / (468.0 * 2.0)
    };
    let (raw, smooth) = (jitter(&raw_runs), jitter(&smooth_runs));
    println!(
        "landmark standard deviation over 80 frames: raw {raw:.3} px, smoothed {smooth:.3} px"
    );
    assert!(smooth < 0.3, "smoothed jitter {smooth:.3} px");
    assert!(
        smooth < raw,
        "smoothing made it worse: {raw:.3} -> {smooth:.3}"
    );
}
