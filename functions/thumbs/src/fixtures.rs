//! Pictures for tests: a JPEG photo carrying an EXIF orientation and a GPS position, as a
//! phone writes them, with marks that show which way up it was turned.

use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

pub const RED: Rgb<u8> = Rgb([220, 20, 20]);
pub const GREEN: Rgb<u8> = Rgb([20, 200, 20]);
const BLUE: Rgb<u8> = Rgb([20, 20, 200]);

/// A `width` x `height` JPEG (as stored) with a red quarter in its top-left corner and a
/// green one in its top-right, on blue; an EXIF block with `orientation` (1..=8) and a GPS
/// position when asked.
pub fn photo(width: u32, height: u32, orientation: Option<u16>, gps: bool) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| match (x < width / 4, x >= width - width / 4, y < height / 4) {
        (true, _, true) => RED,
        (_, true, true) => GREEN,
        _ => BLUE,
    });
    let mut jpeg = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut jpeg), ImageFormat::Jpeg).expect("encode a JPEG in memory");
    if orientation.is_none() && !gps {
        return jpeg;
    }
    with_exif(&jpeg, &exif(orientation, gps))
}

/// The JPEG with an APP1 "Exif" segment holding `tiff` right after its SOI marker.
fn with_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(2 + 6 + tiff.len()).expect("small EXIF").to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A PNG with a transparent half.
pub fn transparent_png(width: u32, height: u32) -> Vec<u8> {
    let img =
        RgbaImage::from_fn(
            width,
            height,
            |x, _| if x < width / 2 { Rgba([200, 0, 0, 255]) } else { Rgba([0, 0, 0, 0]) },
        );
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png).expect("encode a PNG in memory");
    png
}

/// The GPS latitude written into photos (52° 31' 12.34" N), to look for in what is served.
pub const LATITUDE: [(u32, u32); 3] = [(52, 1), (31, 1), (1234, 100)];

/// A little-endian TIFF block: IFD0 with the orientation and a pointer to a GPS IFD holding
/// a version, a latitude reference and a latitude.
fn exif(orientation: Option<u16>, gps: bool) -> Vec<u8> {
    let mut ifd0: Vec<(u16, u16, u32, [u8; 4])> = Vec::new();
    if let Some(o) = orientation {
        let [a, b] = o.to_le_bytes();
        ifd0.push((0x0112, 3, 1, [a, b, 0, 0]));
    }
    let gps_at = 8 + 2 + 12 * (ifd0.len() + usize::from(gps)) + 4;
    if gps {
        ifd0.push((0x8825, 4, 1, u32::try_from(gps_at).expect("small").to_le_bytes()));
    }
    let mut t = b"II".to_vec();
    t.extend_from_slice(&42u16.to_le_bytes());
    t.extend_from_slice(&8u32.to_le_bytes());
    write_ifd(&mut t, &ifd0);
    if gps {
        let data_at = u32::try_from(gps_at + 2 + 12 * 3 + 4).expect("small");
        write_ifd(
            &mut t,
            &[(0x0000, 1, 4, [2, 3, 0, 0]), (0x0001, 2, 2, [b'N', 0, 0, 0]), (0x0002, 5, 3, data_at.to_le_bytes())],
        );
        for (n, d) in LATITUDE {
            t.extend_from_slice(&n.to_le_bytes());
            t.extend_from_slice(&d.to_le_bytes());
        }
    }
    t
}

fn write_ifd(t: &mut Vec<u8>, entries: &[(u16, u16, u32, [u8; 4])]) {
    t.extend_from_slice(&u16::try_from(entries.len()).expect("few entries").to_le_bytes());
    for (tag, kind, count, value) in entries {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(value);
    }
    t.extend_from_slice(&0u32.to_le_bytes());
}

/// Which mark is in each corner of a decoded picture, as `[top-left, top-right,
/// bottom-left, bottom-right]`: `'R'`, `'G'` or `'.'`.
pub fn corners(encoded: &[u8]) -> [char; 4] {
    let img = image::load_from_memory(encoded).expect("a picture").to_rgb8();
    let (w, h) = img.dimensions();
    let at = |x: u32, y: u32| {
        let Rgb([r, g, b]) = *img.get_pixel(x, y);
        if r > 150 && g < 100 && b < 100 {
            'R'
        } else if g > 150 && r < 100 && b < 100 {
            'G'
        } else {
            '.'
        }
    };
    let (l, r, t, b) = (w / 16, w - 1 - w / 16, h / 16, h - 1 - h / 16);
    [at(l, t), at(r, t), at(l, b), at(r, b)]
}

/// Whether the bytes hold the latitude [`photo`] writes (its rationals, as TIFF stores them).
pub fn holds_latitude(bytes: &[u8]) -> bool {
    let needle: Vec<u8> = LATITUDE.iter().flat_map(|(n, d)| [n.to_le_bytes(), d.to_le_bytes()]).flatten().collect();
    bytes.windows(needle.len()).any(|w| w == needle)
}

/// A photo-like JPEG (quality 90): a gradient with fine grain, so it compresses as a
/// camera's does (a 12-megapixel one is a few MB), with an EXIF orientation of 6.
pub fn grainy_photo(width: u32, height: u32) -> Vec<u8> {
    let mut x: u32 = 0x9E37_79B9;
    let img = RgbImage::from_fn(width, height, |px, py| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let grain = |shift: u32| i32::try_from((x >> shift) & 31).unwrap_or(0) - 16;
        let base = |v: u32, of: u32| i32::try_from(v * 200 / of.max(1)).unwrap_or(0) + 28;
        let c = |v: i32| u8::try_from(v.clamp(0, 255)).unwrap_or(0);
        Rgb([c(base(px, width) + grain(0)), c(base(py, height) + grain(8)), c(120 + grain(16))])
    });
    let mut jpeg = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90);
    img.write_with_encoder(encoder).expect("encode a JPEG in memory");
    with_exif(&jpeg, &exif(Some(6), false))
}
