//! The square around a face that the neural models see. One rule, used by the training-data tool
//! (`examples/prepare_training_data.rs`) and by [`NeuralRenderer`](super::NeuralRenderer), so a model sees
//! faces framed at run time as it saw them in training.

use serde::{Deserialize, Serialize};

use crate::tracking::bilinear;

/// A square in image pixels: the face's landmark box, [`SCALE`](Self::SCALE) times its longer side,
/// raised by [`LIFT`](Self::LIFT) of that side (room for hair; the chin sits lower in the square).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaceCrop {
    /// Centre in image pixels.
    pub centre: [f32; 2],
    /// Side in image pixels.
    pub side: f32,
}

impl FaceCrop {
    /// The square's side over the landmark box's longer side.
    pub const SCALE: f32 = 1.8;
    /// How far the square is raised, as a part of the landmark box's longer side.
    pub const LIFT: f32 = 0.1;

    /// The crop around these landmarks (image pixels). `None` when fewer than two are finite or they
    /// span no area.
    pub fn around(landmarks: &[[f32; 2]]) -> Option<Self> {
        let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
        let mut n = 0;
        for p in landmarks
            .iter()
            .filter(|p| p[0].is_finite() && p[1].is_finite())
        {
            n += 1;
            for k in 0..2 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        let extent = (hi[0] - lo[0]).max(hi[1] - lo[1]);
        if n < 2 || extent <= 0.0 {
            return None;
        }
        Some(Self {
            centre: [
                (lo[0] + hi[0]) / 2.0,
                (lo[1] + hi[1]) / 2.0 - Self::LIFT * extent,
            ],
            side: extent * Self::SCALE,
        })
    }

    /// The per-coordinate median of several crops (one steady crop for a whole video). `None` for none.
    pub fn median(crops: &[FaceCrop]) -> Option<Self> {
        if crops.is_empty() {
            return None;
        }
        let med = |f: &dyn Fn(&FaceCrop) -> f32| {
            let mut v: Vec<f32> = crops.iter().map(f).collect();
            v.sort_by(f32::total_cmp);
            v[v.len() / 2]
        };
        Some(Self {
            centre: [med(&|c| c.centre[0]), med(&|c| c.centre[1])],
            side: med(&|c| c.side),
        })
    }

    /// An image point in the pixels of a `size` x `size` crop.
    pub fn to_crop(&self, p: [f32; 2], size: u32) -> [f32; 2] {
        let s = size as f32 / self.side;
        [
            (p[0] - self.centre[0]) * s + size as f32 / 2.0,
            (p[1] - self.centre[1]) * s + size as f32 / 2.0,
        ]
    }

    /// A point of a `size` x `size` crop in image pixels.
    pub fn to_image(&self, q: [f32; 2], size: u32) -> [f32; 2] {
        let s = self.side / size as f32;
        [
            (q[0] - size as f32 / 2.0) * s + self.centre[0],
            (q[1] - size as f32 / 2.0) * s + self.centre[1],
        ]
    }

    /// The crop of an image (`channels` 3 or 4 bytes a pixel, top row first) as `size` x `size` RGB
    /// bytes. Each output pixel averages bilinear samples spread over its footprint (up to 8 x 8), so a
    /// large face shrinks without aliasing; outside the image the edge pixels repeat.
    pub fn sample_rgb(
        &self,
        pixels: &[u8],
        channels: usize,
        width: u32,
        height: u32,
        size: u32,
    ) -> Vec<u8> {
        let n = size as usize;
        let mut out = vec![0u8; n * n * 3];
        if width == 0 || height == 0 || pixels.len() < width as usize * height as usize * channels {
            return out;
        }
        let step = self.side / size as f32;
        let taps = (step.ceil() as usize).clamp(1, 8);
        for y in 0..n {
            for x in 0..n {
                let mut acc = [0.0f32; 3];
                for ty in 0..taps {
                    for tx in 0..taps {
                        let q = [
                            x as f32 + (tx as f32 + 0.5) / taps as f32,
                            y as f32 + (ty as f32 + 0.5) / taps as f32,
                        ];
                        let p = self.to_image(q, size);
                        let v = bilinear(pixels, width, height, channels, p[0], p[1]);
                        for (a, v) in acc.iter_mut().zip(v) {
                            *a += v;
                        }
                    }
                }
                let k = (taps * taps) as f32;
                for c in 0..3 {
                    out[(y * n + x) * 3 + c] = (acc[c] / k).round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crop_frames_the_face_and_maps_both_ways() {
        let crop = FaceCrop::around(&[[100.0, 100.0], [200.0, 150.0], [150.0, 200.0]]).unwrap();
        assert_eq!(crop.side, 180.0);
        assert_eq!(crop.centre, [150.0, 140.0]);
        let q = crop.to_crop([150.0, 140.0], 64);
        assert_eq!(q, [32.0, 32.0]);
        let p = crop.to_image(crop.to_crop([123.0, 177.0], 64), 64);
        assert!((p[0] - 123.0).abs() < 1e-3 && (p[1] - 177.0).abs() < 1e-3);
        assert!(FaceCrop::around(&[[1.0, 1.0]]).is_none());
        assert!(FaceCrop::around(&[[1.0, 1.0], [1.0, 1.0]]).is_none());
        assert!(FaceCrop::around(&[[f32::NAN, 1.0], [1.0, 1.0]]).is_none());
        let m = FaceCrop::median(&[
            crop,
            crop,
            FaceCrop {
                centre: [0.0; 2],
                side: 1.0,
            },
        ])
        .unwrap();
        assert_eq!(m, crop);
    }

    #[test]
    fn sampling_reads_the_right_pixels_and_repeats_the_edge() {
        // 4x4 image: left half red, right half blue.
        let mut img = vec![0u8; 4 * 4 * 3];
        for y in 0..4 {
            for x in 0..4 {
                let i = (y * 4 + x) * 3;
                if x < 2 {
                    img[i] = 200;
                } else {
                    img[i + 2] = 200;
                }
            }
        }
        // The whole image at 2x2: each output pixel averages its own 2x2 block.
        let whole = FaceCrop {
            centre: [2.0, 2.0],
            side: 4.0,
        };
        let out = whole.sample_rgb(&img, 3, 4, 4, 2);
        assert_eq!(&out[0..3], &[200, 0, 0]);
        assert_eq!(&out[3..6], &[0, 0, 200]);
        // A crop reaching far left of the image sees the left edge repeated.
        let left = FaceCrop {
            centre: [-10.0, 2.0],
            side: 4.0,
        };
        assert!(
            left.sample_rgb(&img, 3, 4, 4, 2)
                .chunks(3)
                .all(|p| p == [200, 0, 0])
        );
    }
}
