//! Previews of pictures shared in channels. A preview is what every member of a channel
//! loads, so it is made once, when an upload completes: decoded within a memory limit,
//! scaled down to fit a box, turned upright by its EXIF orientation and encoded afresh.
//! Nothing of the original's metadata is copied, so a photo's GPS position never reaches a
//! channel through its preview.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// The longest side of a thumbnail in pixels: sharp in a 360-pixel box on a 2x screen.
pub const BOX: u32 = 720;

/// Memory a decoded picture may take: a component has 64 MiB (the host's default) and a
/// Worker 128 MiB in all. A 4K screenshot with transparency takes 32 MiB. JPEG photos decode
/// scaled down by their IDCT, so a 48-megapixel one takes under 3 MiB. Larger pictures get
/// no thumbnail (they are still shared).
pub const MAX_DECODE_BYTES: u64 = 32 << 20;

/// Neither side of a decoded picture may pass this many pixels.
const MAX_SIDE: u32 = 24_000;

/// JPEG quality of opaque thumbnails.
const JPEG_QUALITY: u8 = 82;

#[derive(Debug, thiserror::Error)]
pub enum ThumbError {
    #[error("not a JPEG, PNG or WebP picture")]
    Unsupported,
    #[error("the picture is too large to preview: {0}")]
    TooLarge(String),
    #[error("the picture cannot be read: {0}")]
    Damaged(String),
}

impl From<image::ImageError> for ThumbError {
    fn from(e: image::ImageError) -> Self {
        match e {
            image::ImageError::Limits(l) => Self::TooLarge(l.to_string()),
            image::ImageError::Unsupported(_) => Self::Unsupported,
            other => Self::Damaged(other.to_string()),
        }
    }
}

/// A picture's size in pixels as it is shown, that is with its orientation applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub width: u32,
    pub height: u32,
}

/// An encoded thumbnail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub bytes: Vec<u8>,
    /// `image/jpeg`, or `image/png` for a picture with an alpha channel.
    pub content_type: &'static str,
    pub shape: Shape,
}

/// A picture that was read whole: its shape and its thumbnail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub shape: Shape,
    pub thumbnail: Thumbnail,
}

/// The shape of a picture from its first bytes (its headers), without decoding it.
pub fn shape(bytes: &[u8]) -> Result<Shape, ThumbError> {
    let mut decoder = reader(bytes)?.into_decoder()?;
    let (w, h) = decoder.dimensions();
    Ok(oriented(w, h, decoder.orientation().unwrap_or(Orientation::NoTransforms)))
}

/// Decodes a whole picture and makes its thumbnail.
pub fn preview(bytes: &[u8]) -> Result<Preview, ThumbError> {
    if image::guess_format(bytes).ok() == Some(ImageFormat::Jpeg)
        && let Some(p) = jpeg_preview(bytes)?
    {
        return Ok(p);
    }
    any_preview(bytes)
}

/// A JPEG decoded at the smallest IDCT scale that still fills the box. `None` for CMYK,
/// which the general decoder converts.
fn jpeg_preview(bytes: &[u8]) -> Result<Option<Preview>, ThumbError> {
    use jpeg_decoder::{Decoder, PixelFormat};
    let damaged = |e: jpeg_decoder::Error| ThumbError::Damaged(e.to_string());
    let mut decoder = Decoder::new(bytes);
    decoder.set_max_decoding_buffer_size(usize::try_from(MAX_DECODE_BYTES).unwrap_or(usize::MAX));
    decoder.read_info().map_err(damaged)?;
    let info = decoder.info().ok_or_else(|| ThumbError::Damaged("no frame header".into()))?;
    if info.pixel_format == PixelFormat::CMYK32 {
        return Ok(None);
    }
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    let fit = fit(width, height);
    let (w, h) = decoder.scale(to_u16(fit.0), to_u16(fit.1)).map_err(damaged)?;
    let bytes_per_pixel = if info.pixel_format == PixelFormat::RGB24 { 3 } else { 2 };
    if u64::from(w) * u64::from(h) * bytes_per_pixel > MAX_DECODE_BYTES {
        return Err(ThumbError::TooLarge(format!("{width} x {height} pixels")));
    }
    let pixels = decoder.decode().map_err(damaged)?;
    let orientation = decoder.exif_data().and_then(Orientation::from_exif_chunk).unwrap_or(Orientation::NoTransforms);
    let (w, h) = (u32::from(w), u32::from(h));
    let picture = match info.pixel_format {
        PixelFormat::RGB24 => image::RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8),
        PixelFormat::L8 => image::GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8),
        // Big-endian samples; a thumbnail needs their high bytes only.
        PixelFormat::L16 => image::GrayImage::from_raw(w, h, pixels.chunks_exact(2).map(|s| s[0]).collect())
            .map(DynamicImage::ImageLuma8),
        PixelFormat::CMYK32 => None,
    }
    .ok_or_else(|| ThumbError::Damaged("fewer pixels than the header says".into()))?;
    Ok(Some(finish(picture, oriented(width, height, orientation), orientation)?))
}

/// Any supported picture, decoded whole within the memory limit.
fn any_preview(bytes: &[u8]) -> Result<Preview, ThumbError> {
    let mut decoder = reader(bytes)?.into_decoder()?;
    // A damaged EXIF block costs the orientation, not the preview.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    // The decoders check their own allocations against the limits; the picture itself is
    // checked here.
    if decoder.total_bytes() > MAX_DECODE_BYTES {
        let (w, h) = decoder.dimensions();
        return Err(ThumbError::TooLarge(format!("{w} x {h} pixels")));
    }
    let picture = DynamicImage::from_decoder(decoder)?;
    let shape = oriented(picture.width(), picture.height(), orientation);
    finish(picture, shape, orientation)
}

/// Scales a decoded picture into the box, turns it upright and encodes it.
fn finish(picture: DynamicImage, shape: Shape, orientation: Orientation) -> Result<Preview, ThumbError> {
    // Scaled first, turned second: turning the full picture would hold two copies of it.
    let mut small =
        if picture.width() <= BOX && picture.height() <= BOX { picture } else { picture.thumbnail(BOX, BOX) };
    small.apply_orientation(orientation);
    Ok(Preview { shape, thumbnail: encode(&small)? })
}

/// The size a `width` x `height` picture takes in the box, never enlarged.
fn fit(width: u32, height: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= BOX {
        return (width, height);
    }
    let scale = |side: u32| u32::try_from(u64::from(side) * u64::from(BOX) / u64::from(long)).unwrap_or(BOX).max(1);
    (scale(width), scale(height))
}

fn to_u16(n: u32) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, ThumbError> {
    let mut reader =
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| ThumbError::Damaged(e.to_string()))?;
    if !matches!(reader.format(), Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) {
        return Err(ThumbError::Unsupported);
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    reader.limits(limits);
    Ok(reader)
}

fn oriented(width: u32, height: u32, orientation: Orientation) -> Shape {
    use Orientation::{Rotate90, Rotate90FlipH, Rotate270, Rotate270FlipH};
    if matches!(orientation, Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH) {
        Shape { width: height, height: width }
    } else {
        Shape { width, height }
    }
}

fn encode(img: &DynamicImage) -> Result<Thumbnail, ThumbError> {
    use image::codecs::jpeg::JpegEncoder;
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let shape = Shape { width: img.width(), height: img.height() };
    let mut bytes = Vec::new();
    let content_type = if img.color().has_alpha() {
        let rgba = img.to_rgba8();
        rgba.write_with_encoder(PngEncoder::new_with_quality(&mut bytes, CompressionType::Fast, FilterType::Adaptive))?;
        "image/png"
    } else {
        let rgb = img.to_rgb8();
        rgb.write_with_encoder(JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY))?;
        "image/jpeg"
    };
    Ok(Thumbnail { bytes, content_type, shape })
}

#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
#[cfg(test)]
mod tests;
