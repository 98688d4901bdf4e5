//! A still background ([`RiggedPortraits::with_still_background`]): the warp moves the person alone,
//! then lays the frame over the plate, the background with the person taken out.

use crate::render::PortraitImage;
use crate::rig::RiggedPortraits;

/// What the warp moves: the main portrait, or with a still background the person alone.
pub(super) fn texture(rigged: &RiggedPortraits) -> &PortraitImage {
    rigged
        .still_layers()
        .map_or(rigged.portrait().as_ref(), |(person, _)| person)
}

/// `out` (RGBA) over the opaque `plate` of the same size, by `out`'s alpha; `out` comes out opaque.
pub(super) fn over_plate(out: &mut [u8], plate: &[u8]) {
    let n = out.len().min(plate.len()) / 4;
    let mut i = 0;
    while i < n {
        let a = out[i * 4 + 3];
        // A run of the same alpha: the person (255) is left, the sure background (0) is the plate's
        // run copied whole, soft edges are blended pixel by pixel.
        let mut j = i + 1;
        while j < n && out[j * 4 + 3] == a {
            j += 1;
        }
        match a {
            255 => {}
            0 => out[i * 4..j * 4].copy_from_slice(&plate[i * 4..j * 4]),
            a => {
                let a = u32::from(a);
                for k in i..j {
                    for c in k * 4..k * 4 + 3 {
                        // (o a + p (255 - a)) / 255, rounded, without a division.
                        let x = u32::from(out[c]) * a + u32::from(plate[c]) * (255 - a) + 128;
                        out[c] = ((x + (x >> 8)) >> 8) as u8;
                    }
                    out[k * 4 + 3] = 255;
                }
            }
        }
        i = j;
    }
}
