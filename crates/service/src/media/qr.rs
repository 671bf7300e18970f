//! The QR symbol of an NSPK link and its pictures: SVG, PNG, terminal text and the 1-bit
//! bitmap a receipt printer prints.
//!
//! One [`QrMatrix`] (error correction level M, a 4-module quiet zone) feeds every picture, so
//! a screen, a PNG and a receipt show the same symbol. Level M restores about 15 % of damaged
//! modules: enough for a glossy screen or a smudged thermal print, while a ~100-character NSPK
//! link stays at version 6 (41×41 modules), large modules for phone cameras. All pixel
//! arithmetic is integer.

use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the symbol on every side (the QR standard's minimum).
pub const QUIET_ZONE: usize = 4;

/// Why a picture could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// The text does not fit any QR version at level M.
    #[error("the text is too long for a QR code")]
    TooLong,
    /// The requested picture is smaller than one pixel per module.
    #[error("{size} px is too small for this QR code: at least {needed} px")]
    TooSmall {
        /// What was asked.
        size: u32,
        /// The least that works.
        needed: u32,
    },
    /// The PNG encoder failed.
    #[error("cannot encode the PNG: {0}")]
    Png(String),
}

/// The modules of a QR symbol with its quiet zone: `true` is dark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    /// Modules per side, quiet zone included.
    side: usize,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// Encodes `text` (the NSPK payload) at level M with a 4-module quiet zone.
    pub fn encode(text: &str) -> Result<Self, QrError> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .map_err(|_| QrError::TooLong)?;
        let inner = code.width();
        let colors = code.to_colors();
        let side = inner + 2 * QUIET_ZONE;
        let mut dark = vec![false; side * side];
        for (i, color) in colors.iter().enumerate() {
            let (y, x) = (i / inner, i % inner);
            if let Some(cell) = dark.get_mut((y + QUIET_ZONE) * side + x + QUIET_ZONE) {
                *cell = *color == Color::Dark;
            }
        }
        Ok(QrMatrix { side, dark })
    }

    /// Modules per side, quiet zone included.
    pub fn side(&self) -> usize {
        self.side
    }

    /// Is the module at column `x`, row `y` dark? Outside the matrix is light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.side && self.dark.get(y * self.side + x).copied().unwrap_or(false)
    }

    fn side_u32(&self) -> u32 {
        u32::try_from(self.side).unwrap_or(u32::MAX)
    }

    /// The least picture size (px) with at least `per_module` pixels per module.
    pub fn min_size(&self, per_module: u32) -> u32 {
        self.side_u32().saturating_mul(per_module)
    }
}

/// The symbol as SVG: dark modules as one path on a white square, one SVG unit per module.
/// With `size`, the picture is `size`×`size` px; without, it fills whatever holds it.
pub fn svg(matrix: &QrMatrix, size: Option<u32>) -> String {
    let side = matrix.side();
    let mut path = String::new();
    for y in 0..side {
        let mut x = 0;
        while x < side {
            if matrix.is_dark(x, y) {
                let start = x;
                while x < side && matrix.is_dark(x, y) {
                    x += 1;
                }
                let run = x - start;
                path.push_str(&format!("M{start} {y}h{run}v1h-{run}z"));
            } else {
                x += 1;
            }
        }
    }
    let dimensions = size
        .map(|s| format!(r#" width="{s}" height="{s}""#))
        .unwrap_or_default();
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}"{dimensions} shape-rendering="crispEdges"><rect width="{side}" height="{side}" fill="#fff"/><path fill="#000" d="{path}"/></svg>"##
    )
}

/// A `size`×`size` grey-scale picture (one byte per pixel, 0 = black, 255 = white): whole
/// pixels per module, centred, the leftover pixels added to the quiet zone.
pub fn pixels(matrix: &QrMatrix, size: u32) -> Result<Vec<u8>, QrError> {
    let needed = matrix.min_size(1);
    if size < needed {
        return Err(QrError::TooSmall { size, needed });
    }
    let side = matrix.side_u32();
    let module = size / side;
    let offset = (size - module * side) / 2;
    let to_module = |p: u32| -> Option<usize> {
        let q = p.checked_sub(offset)? / module;
        usize::try_from(q).ok()
    };
    let capacity = usize::try_from(u64::from(size) * u64::from(size)).unwrap_or(0);
    let mut out = Vec::with_capacity(capacity);
    for y in 0..size {
        let my = to_module(y);
        for x in 0..size {
            let dark = match (to_module(x), my) {
                (Some(mx), Some(my)) => matrix.is_dark(mx, my),
                _ => false,
            };
            out.push(if dark { 0 } else { 255 });
        }
    }
    Ok(out)
}

/// The symbol as a `size`×`size` grey-scale PNG (see [`pixels`]).
pub fn png(matrix: &QrMatrix, size: u32) -> Result<Vec<u8>, QrError> {
    use image::ImageEncoder as _;
    let pixels = pixels(matrix, size)?;
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&pixels, size, size, image::ExtendedColorType::L8)
        .map_err(|e| QrError::Png(e.to_string()))?;
    Ok(out)
}

/// The symbol as text for a terminal: each character is one module wide and two high
/// (`█ ▀ ▄` and space). The glyphs draw the *light* modules when the terminal's background
/// is dark (most terminals), the dark ones when it is light.
pub fn text(matrix: &QrMatrix, dark_background: bool) -> String {
    let side = matrix.side();
    let ink = |x: usize, y: usize| {
        let dark = y < side && matrix.is_dark(x, y);
        dark != dark_background
    };
    let mut out = String::new();
    for y in (0..side).step_by(2) {
        for x in 0..side {
            out.push(match (ink(x, y), ink(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    out
}

/// A 1-bit picture as thermal printers take it: rows of `width / 8` bytes, the most
/// significant bit leftmost, 1 = a black dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    /// Bytes per row.
    pub row_bytes: usize,
    /// Rows.
    pub height: usize,
    /// `row_bytes × height` bytes.
    pub data: Vec<u8>,
}

/// The symbol `dots` printer dots per module, centred in a line of `width_bytes × 8` dots.
pub fn bitmap(matrix: &QrMatrix, dots: usize, width_bytes: usize) -> Bitmap {
    let side = matrix.side();
    let dots = dots.max(1);
    let width = width_bytes * 8;
    let picture = side * dots;
    let left = width.saturating_sub(picture) / 2;
    let height = picture;
    let mut data = vec![0u8; width_bytes * height];
    for y in 0..height {
        for x in 0..width.min(left + picture) {
            let Some(mx) = x.checked_sub(left).map(|p| p / dots) else {
                continue;
            };
            if matrix.is_dark(mx, y / dots)
                && let Some(byte) = data.get_mut(y * width_bytes + x / 8)
            {
                *byte |= 0x80 >> (x % 8);
            }
        }
    }
    Bitmap {
        row_bytes: width_bytes,
        height,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAYLOAD: &str = "https://qr.nspk.ru/AD1KSE14O9EAV3ENU6H1DQUO93FCMAE1?type=02&bank=100000000007&sum=12345&cur=RUB&crc=A667";

    fn decode_luma(width: u32, height: u32, pixels: Vec<u8>) -> String {
        let image = image::GrayImage::from_raw(width, height, pixels).unwrap();
        let mut prepared = rqrr::PreparedImage::prepare(image);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code in the picture");
        grids[0].decode().unwrap().1
    }

    #[test]
    fn an_nspk_link_is_version_6_with_a_quiet_zone() {
        let m = QrMatrix::encode(PAYLOAD).unwrap();
        assert_eq!(m.side(), 41 + 2 * QUIET_ZONE);
        // The quiet zone is light, the finder pattern's corner dark.
        assert!((0..m.side()).all(|i| !m.is_dark(i, 0) && !m.is_dark(0, i)));
        assert!(m.is_dark(QUIET_ZONE, QUIET_ZONE));
    }

    #[test]
    fn pixels_decode_to_the_payload_at_any_size() {
        let m = QrMatrix::encode(PAYLOAD).unwrap();
        for size in [m.min_size(2), 250, 512, 1001] {
            let px = pixels(&m, size).unwrap();
            assert_eq!(px.len(), usize::try_from(size * size).unwrap());
            assert_eq!(decode_luma(size, size, px), PAYLOAD, "size {size}");
        }
        assert_eq!(
            pixels(&m, 40),
            Err(QrError::TooSmall {
                size: 40,
                needed: 49
            })
        );
    }

    #[test]
    fn png_is_a_png_of_the_asked_size() {
        let m = QrMatrix::encode(PAYLOAD).unwrap();
        let bytes = png(&m, 300).unwrap();
        let image = image::load_from_memory(&bytes).unwrap().to_luma8();
        assert_eq!(image.dimensions(), (300, 300));
        assert_eq!(decode_luma(300, 300, image.into_raw()), PAYLOAD);
    }

    #[test]
    fn svg_draws_every_dark_module_once() {
        let m = QrMatrix::encode(PAYLOAD).unwrap();
        let svg = svg(&m, Some(400));
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 49 49\" width=\"400\" height=\"400\""));
        let path = svg.split(" d=\"").nth(1).unwrap();
        let drawn: usize = path
            .split('h')
            .skip(1)
            .step_by(2)
            .map(|run| run.split('v').next().unwrap().parse::<usize>().unwrap())
            .sum();
        let dark = (0..m.side())
            .flat_map(|y| (0..m.side()).map(move |x| (x, y)))
            .filter(|&(x, y)| m.is_dark(x, y))
            .count();
        assert_eq!(drawn, dark);
    }

    /// Reads the half-block text back into modules.
    fn from_text(text: &str, dark_background: bool) -> Vec<Vec<bool>> {
        let mut rows = Vec::new();
        for line in text.lines() {
            let (top, bottom): (Vec<bool>, Vec<bool>) = line
                .chars()
                .map(|c| match c {
                    '█' => (true, true),
                    '▀' => (true, false),
                    '▄' => (false, true),
                    _ => (false, false),
                })
                .map(|(t, b)| (t != dark_background, b != dark_background))
                .unzip();
            rows.push(top);
            rows.push(bottom);
        }
        rows
    }

    #[test]
    fn text_decodes_to_the_payload_for_both_backgrounds() {
        let m = QrMatrix::encode(PAYLOAD).unwrap();
        for dark_background in [true, false] {
            let rows = from_text(&text(&m, dark_background), dark_background);
            let side = m.side();
            for (y, row) in rows.iter().take(side).enumerate() {
                for (x, dark) in row.iter().enumerate() {
                    assert_eq!(*dark, m.is_dark(x, y), "({x}, {y})");
                }
            }
            // And as a picture, 4 px per module.
            let size = u32::try_from(side * 4).unwrap();
            let px: Vec<u8> = (0..side * 4)
                .flat_map(|y| (0..side * 4).map(move |x| (x, y)))
                .map(|(x, y)| if rows[y / 4][x / 4] { 0 } else { 255 })
                .collect();
            assert_eq!(decode_luma(size, size, px), PAYLOAD);
        }
    }

    #[test]
    fn bitmap_is_centred_and_decodes() {
        let m = QrMatrix::encode(PAYLOAD).unwrap();
        let b = bitmap(&m, 6, 48);
        assert_eq!(b.height, 49 * 6);
        assert_eq!(b.data.len(), 48 * b.height);
        let px: Vec<u8> = (0..b.height)
            .flat_map(|y| (0..48 * 8).map(move |x| (x, y)))
            .map(|(x, y)| {
                if b.data[y * 48 + x / 8] & (0x80 >> (x % 8)) != 0 {
                    0
                } else {
                    255
                }
            })
            .collect();
        assert_eq!(
            decode_luma(384, u32::try_from(b.height).unwrap(), px),
            PAYLOAD
        );
        // Centred: (384 - 294) / 2 = 45 light dots, then the quiet zone; first dark dot at
        // 45 + 4·6 = 69 on the finder pattern's first row.
        let row = 4 * 6;
        let first_dark = (0..384)
            .find(|x| b.data[row * 48 + x / 8] & (0x80 >> (x % 8)) != 0)
            .unwrap();
        assert_eq!(first_dark, 69);
    }
}
