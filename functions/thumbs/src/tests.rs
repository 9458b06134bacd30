use super::*;
use crate::fixtures::{corners, holds_latitude, photo, transparent_png};

#[test]
fn every_exif_orientation_is_turned_upright() {
    // Stored with red top-left and green top-right; where they end up when shown.
    let expected = [
        (1, ['R', 'G', '.', '.']),
        (2, ['G', 'R', '.', '.']),
        (3, ['.', '.', 'G', 'R']),
        (4, ['.', '.', 'R', 'G']),
        (5, ['R', '.', 'G', '.']),
        (6, ['.', 'R', '.', 'G']),
        (7, ['.', 'G', '.', 'R']),
        (8, ['G', '.', 'R', '.']),
    ];
    for (o, want) in expected {
        let p = preview(&photo(1600, 1200, Some(o), false)).expect("preview");
        let turned = o >= 5;
        assert_eq!(
            p.shape,
            if turned { Shape { width: 1200, height: 1600 } } else { Shape { width: 1600, height: 1200 } }
        );
        let small = if turned { Shape { width: 540, height: 720 } } else { Shape { width: 720, height: 540 } };
        assert_eq!(p.thumbnail.shape, small, "{o}");
        assert_eq!(corners(&p.thumbnail.bytes), want, "orientation {o}");
        assert_eq!(shape(&photo(1600, 1200, Some(o), true)).expect("shape"), p.shape, "{o}");
    }
}

#[test]
fn the_gps_position_stays_out_of_the_thumbnail() {
    let original = photo(900, 600, Some(6), true);
    assert!(holds_latitude(&original), "the fixture carries the position");
    let p = preview(&original).expect("preview");
    assert!(!holds_latitude(&p.thumbnail.bytes));
    assert!(!p.thumbnail.bytes.windows(6).any(|w| w == b"Exif\0\0"), "no EXIF block at all");
    let mut decoder = ImageReader::new(Cursor::new(&p.thumbnail.bytes[..]))
        .with_guessed_format()
        .expect("format")
        .into_decoder()
        .expect("decoder");
    assert_eq!(decoder.exif_metadata().expect("metadata"), None);
    assert_eq!(p.thumbnail.content_type, "image/jpeg");
}

#[test]
fn small_pictures_are_not_enlarged() {
    let p = preview(&photo(300, 200, None, false)).expect("preview");
    assert_eq!(p.thumbnail.shape, Shape { width: 300, height: 200 });
    assert_eq!(p.shape, Shape { width: 300, height: 200 });
}

#[test]
fn transparency_keeps_a_png() {
    let p = preview(&transparent_png(2000, 500)).expect("preview");
    assert_eq!(p.thumbnail.content_type, "image/png");
    assert_eq!(p.thumbnail.shape, Shape { width: 720, height: 180 });
    let img = image::load_from_memory(&p.thumbnail.bytes).expect("png").to_rgba8();
    assert_eq!(img.get_pixel(700, 90).0[3], 0, "the transparent half stays transparent");
    assert_eq!(img.get_pixel(10, 90).0[3], 255);
}

#[test]
fn the_shape_comes_from_the_first_bytes_alone() {
    let big = photo(4000, 3000, Some(8), true);
    assert_eq!(shape(&big[..8 * 1024]).expect("headers suffice"), Shape { width: 3000, height: 4000 });
}

#[test]
fn what_is_not_a_readable_picture_is_refused() {
    assert!(matches!(preview(b"GIF89a\x01\x00\x01\x00"), Err(ThumbError::Unsupported)));
    assert!(matches!(preview(b"%PDF-1.7 hello"), Err(ThumbError::Unsupported)));
    let mut cut = photo(800, 600, None, false);
    cut.truncate(cut.len() / 3);
    // A truncated JPEG still decodes (the rest grey) or is refused; never a panic.
    let _ = preview(&cut);
    let mut garbage = photo(800, 600, None, false)[..200].to_vec();
    garbage.extend(std::iter::repeat_n(0xAB, 5000));
    assert!(preview(&garbage).is_err());
}

#[test]
fn a_picture_past_the_memory_limit_is_too_large() {
    // A 9000 x 9000 PNG would decode to 243 MiB.
    let img = image::RgbImage::new(9000, 9000);
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), ImageFormat::Png).expect("png");
    assert!(matches!(preview(&png), Err(ThumbError::TooLarge(_))), "{:?}", preview(&png).map(|p| p.shape));
    assert_eq!(shape(&png).expect("the shape is still known"), Shape { width: 9000, height: 9000 });
}

#[test]
fn a_big_photo_decodes_scaled_within_the_limit() {
    // 24 megapixels would be 72 MiB of RGB: the IDCT scales it by 1/4 while decoding.
    let p = preview(&photo(6000, 4000, Some(3), true)).expect("preview");
    assert_eq!(p.shape, Shape { width: 6000, height: 4000 });
    assert_eq!(p.thumbnail.shape, Shape { width: 720, height: 480 });
    assert_eq!(corners(&p.thumbnail.bytes), ['.', '.', 'G', 'R']);
}

#[test]
fn grey_photos_are_previewed() {
    let img = image::GrayImage::from_fn(1000, 800, |x, _| image::Luma([u8::try_from(x % 256).unwrap_or(0)]));
    let mut jpeg = Vec::new();
    img.write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg).expect("jpeg");
    let p = preview(&jpeg).expect("preview");
    assert_eq!((p.thumbnail.shape, p.thumbnail.content_type), (Shape { width: 720, height: 576 }, "image/jpeg"));
}

#[test]
fn a_grainy_photo_is_the_size_a_camera_makes() {
    let jpeg = crate::fixtures::grainy_photo(2000, 1500);
    assert!(jpeg.len() > 500_000, "{} bytes", jpeg.len());
    let p = preview(&jpeg).expect("preview");
    assert_eq!(p.shape, Shape { width: 1500, height: 2000 });
}
