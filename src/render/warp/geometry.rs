//! What the eye and mouth layers share: the frame of a segment ([`SegmentFrame`]), the similarity
//! between two segments ([`Similarity`]) and the luma of a pixel.

pub(super) fn luma(p: &[u8]) -> f32 {
    luma3([p[0] as f32, p[1] as f32, p[2] as f32])
}

/// The luma of a colour in levels (BT.601 weights, as [`luma`]).
pub(super) fn luma3(c: [f32; 3]) -> f32 {
    0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
}

/// `c` moved towards `o` by `a` (0: `c`, 1: `o`), per channel.
pub(super) fn mix3(c: [f32; 3], o: [f32; 3], a: f32) -> [f32; 3] {
    [
        c[0] + (o[0] - c[0]) * a,
        c[1] + (o[1] - c[1]) * a,
        c[2] + (o[2] - c[2]) * a,
    ]
}

/// A hash of integer coordinates, uniform in -1..1 (the eye and mouth layers' fixed grain).
pub(super) fn hash(x: i32, y: i32) -> f32 {
    let mut h = (x as u32).wrapping_mul(0x8da6_b343) ^ (y as u32).wrapping_mul(0xd816_3841);
    h ^= h >> 13;
    h = h.wrapping_mul(0x5bd1_e995);
    h ^= h >> 15;
    (h & 0xffff) as f32 / 32767.5 - 1.0
}

/// Maps points by the similarity taking segment `from` onto segment `to`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Similarity {
    origin: [f32; 2],
    target: [f32; 2],
    z: [f32; 2],
}

impl Similarity {
    pub fn new(from: [[f32; 2]; 2], to: [[f32; 2]; 2]) -> Self {
        let f = [from[1][0] - from[0][0], from[1][1] - from[0][1]];
        let t = [to[1][0] - to[0][0], to[1][1] - to[0][1]];
        let n = (f[0] * f[0] + f[1] * f[1]).max(1e-9);
        // z = t / f as complex numbers.
        let z = [
            (t[0] * f[0] + t[1] * f[1]) / n,
            (t[1] * f[0] - t[0] * f[1]) / n,
        ];
        Self {
            origin: from[0],
            target: to[0],
            z,
        }
    }

    /// How many `to` units one `from` unit spans (the map's scale).
    pub fn scale(&self) -> f32 {
        self.z[0].hypot(self.z[1])
    }

    #[inline]
    pub fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        let d = [p[0] - self.origin[0], p[1] - self.origin[1]];
        [
            self.target[0] + self.z[0] * d[0] - self.z[1] * d[1],
            self.target[1] + self.z[1] * d[0] + self.z[0] * d[1],
        ]
    }
}

/// The frame of a segment `a -> b`: `u` along it (0 at `a`, 1 at `b`), `v` across it in pixels, positive
/// on the side of `normal_sign * (-dy, dx)` (towards the chin for the mouth's and the eyes' segments as
/// the eye and mouth layers build them).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SegmentFrame {
    origin: [f32; 2],
    axis: [f32; 2],
    normal: [f32; 2],
    pub width: f32,
}

impl SegmentFrame {
    pub(super) fn new(a: [f32; 2], b: [f32; 2], normal_sign: f32) -> Self {
        let d = [b[0] - a[0], b[1] - a[1]];
        let width = (d[0] * d[0] + d[1] * d[1]).sqrt().max(1e-3);
        let axis = [d[0] / width, d[1] / width];
        Self {
            origin: a,
            axis,
            normal: [-axis[1] * normal_sign, axis[0] * normal_sign],
            width,
        }
    }

    /// The frame of one eye, from its outer (`u` = 0) to its inner corner, `v` towards the chin. The
    /// subject's right eye runs towards the subject's left, like the mouth; the left eye the other way.
    pub fn eye(corners: [[f32; 2]; 2], side: usize) -> Self {
        Self::new(corners[0], corners[1], if side == 0 { 1.0 } else { -1.0 })
    }

    #[inline]
    pub fn local(&self, p: [f32; 2]) -> [f32; 2] {
        let d = [p[0] - self.origin[0], p[1] - self.origin[1]];
        [
            (d[0] * self.axis[0] + d[1] * self.axis[1]) / self.width,
            d[0] * self.normal[0] + d[1] * self.normal[1],
        ]
    }

    pub fn world(&self, u: f32, v: f32) -> [f32; 2] {
        [
            self.origin[0] + self.axis[0] * u * self.width + self.normal[0] * v,
            self.origin[1] + self.axis[1] * u * self.width + self.normal[1] * v,
        ]
    }
}
