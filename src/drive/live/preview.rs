//! [`LivePreview`]: a small copy of a captured frame with its landmarks, for previews.

use crate::capture::CapturedFrame;

/// A small copy of a captured frame with the tracked landmarks on it, for previews (the inspector's).
#[derive(Clone, Debug, PartialEq)]
pub struct LivePreview {
    /// Width in pixels (at most 240).
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGBA8, top row first.
    pub rgba: Vec<u8>,
    /// The 468 landmarks in the preview's pixels.
    pub landmarks: Vec<[f32; 2]>,
}

impl LivePreview {
    /// The frame scaled (nearest) so its longer side is at most `max_side`, with `points` (frame pixels).
    pub fn of(frame: &CapturedFrame, points: &[[f32; 3]], max_side: u32) -> Self {
        let k = (max_side as f32 / frame.width.max(frame.height).max(1) as f32).min(1.0);
        let (w, h) = (
            ((frame.width as f32 * k) as u32).max(1),
            ((frame.height as f32 * k) as u32).max(1),
        );
        let mut rgba = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            let sy = ((y as f32 + 0.5) / k) as u32;
            for x in 0..w {
                let sx = ((x as f32 + 0.5) / k) as u32;
                let i = ((sy.min(frame.height - 1) * frame.width + sx.min(frame.width - 1)) * 3)
                    as usize;
                let px = frame.rgb.get(i..i + 3).unwrap_or(&[0, 0, 0]);
                rgba.extend_from_slice(&[px[0], px[1], px[2], 255]);
            }
        }
        Self {
            width: w,
            height: h,
            rgba,
            landmarks: points.iter().map(|p| [p[0] * k, p[1] * k]).collect(),
        }
    }
}
