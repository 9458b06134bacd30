//! Files shared in channels: what a name, a type and a size may be, what the stored bytes
//! really are (sniffed, not trusted), and which types a browser may show inline.
//!
//! File bytes never pass through the API: clients upload to and download from storage with
//! presigned URLs. The API decides everything else here, before and after the upload.

use crate::ApiError;

/// Longest file name, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Files one message may carry.
pub const MAX_FILES_PER_MESSAGE: usize = 10;
/// Bytes read from the start of a stored file to learn its type and image size.
pub const SNIFF_BYTES: u64 = 64 * 1024;

/// A file name as shown and offered on download. Names are labels, never paths: separators,
/// control characters and the invisible characters that disguise an extension (`gnp.exe`
/// shown as `exe.png` by a right-to-left override) are refused rather than silently changed.
pub fn name(raw: &str) -> Result<String, ApiError> {
    // Spaces around a name are dropped; other characters are the name (the OpenAPI pattern
    // says the same).
    let n = raw.trim_matches(' ');
    if n.is_empty() {
        return Err(ApiError::validation("name must not be empty"));
    }
    if n.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::validation(format!("name must be at most {MAX_NAME_CHARS} characters")));
    }
    if n == "." || n == ".." || n.contains(['/', '\\']) {
        return Err(ApiError::validation("name must be a file name, not a path"));
    }
    if let Some(c) = n.chars().find(|&c| c.is_control() || invisible(c)) {
        return Err(ApiError::validation(format!("name must not contain U+{:04X}", c as u32)));
    }
    Ok(n.to_string())
}

/// Format and direction controls and zero-width characters: they change how a name reads
/// without being seen.
fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// A declared media type, reduced to its lower-case `type/subtype` (parameters dropped).
pub fn content_type(raw: &str) -> Result<String, ApiError> {
    let essence = raw.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match essence.split_once('/') {
        Some((t, s)) if token(t) && token(s) => Ok(essence),
        _ => Err(ApiError::validation("content_type must be a media type such as image/png")),
    }
}

/// A declared size: at least a byte, at most the configured maximum.
pub fn size(raw: i64, max: i64) -> Result<i64, ApiError> {
    if (1..=max).contains(&raw) {
        Ok(raw)
    } else {
        Err(ApiError::validation(format!("size must be between 1 and {max} bytes")))
    }
}

/// What the first bytes of a file say it is, for the formats that matter: images a browser
/// shows, documents, archives, and markup that must never be served as such.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some("image/webp")
    } else if starts(b"%PDF-") {
        Some("application/pdf")
    } else if starts(b"PK\x03\x04") {
        Some("application/zip")
    } else if starts(b"\x1f\x8b") {
        Some("application/gzip")
    } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
        Some("video/mp4")
    } else {
        markup(head)
    }
}

/// HTML and SVG, which a browser would run scripts in if it rendered them.
fn markup(head: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(&head[..head.len().min(1024)]).to_ascii_lowercase();
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with("<!doctype html") || t.starts_with("<html") || t.starts_with("<script") {
        Some("text/html")
    } else if t.starts_with("<svg") || (t.starts_with("<?xml") && t.contains("<svg")) {
        Some("image/svg+xml")
    } else {
        None
    }
}

/// The type a completed upload is recorded with: what the bytes are when they are a known
/// format, else what the uploader said, except that a claimed image must be one.
pub fn settle_type(declared: &str, sniffed: Option<&'static str>) -> Result<String, ApiError> {
    match sniffed {
        Some(t) => Ok(t.to_string()),
        None if declared.starts_with("image/") => {
            Err(ApiError::validation(format!("the file is not an image this server knows, though declared {declared}")))
        }
        None => Ok(declared.to_string()),
    }
}

/// Largest picture read whole to make a thumbnail (it and its decoded pixels fit in a
/// component's 64 MiB); a larger one is shared without one.
pub const PREVIEW_SOURCE_MAX_BYTES: i64 = 16 * 1024 * 1024;

/// Pictures the server makes thumbnails of. GIFs are left alone: they may move, and a
/// thumbnail would not.
pub fn previewable(content_type: &str) -> bool {
    matches!(content_type, "image/png" | "image/jpeg" | "image/webp")
}

/// Where a file's thumbnail is stored: beside the file, named for its type.
pub fn thumb_key(storage_key: &str, thumb_type: &str) -> String {
    let ext = if thumb_type == "image/png" { "png" } else { "jpg" };
    format!("{storage_key}.thumb.{ext}")
}

/// The type of the thumbnail stored at `key` (see [`thumb_key`]).
pub fn thumb_type(key: &str) -> &'static str {
    if key.ends_with(".png") { "image/png" } else { "image/jpeg" }
}

/// Images a browser may show inline: decoded as pixels, never as a document. SVG is not one
/// of them (it can carry scripts); everything else is downloaded as an attachment.
pub fn inline_safe(content_type: &str) -> bool {
    matches!(content_type, "image/png" | "image/jpeg" | "image/gif" | "image/webp")
}

/// `Content-Disposition` for a download: the name as an RFC 6266 `filename*` (UTF-8,
/// percent-encoded) with an ASCII fallback, `inline` only for [`inline_safe`] types.
pub fn disposition(name: &str, content_type: &str) -> String {
    let kind = if inline_safe(content_type) { "inline" } else { "attachment" };
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '%') || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_labels_not_paths() {
        assert_eq!(name("  résumé 📄.pdf ").unwrap(), "résumé 📄.pdf");
        assert_eq!(name("report (final).tar.gz").unwrap(), "report (final).tar.gz");
        for bad in ["", "   ", ".", "..", "../../etc/passwd", "a/b.txt", "c:\\x.txt", "a\nb", "tab\there"] {
            assert!(name(bad).is_err(), "{bad:?}");
        }
        // A right-to-left override makes "invoice\u{202E}gnp.exe" read as "invoiceexe.png".
        let e = name("invoice\u{202E}gnp.exe").unwrap_err();
        assert!(e.message.contains("U+202E"), "{e:?}");
        assert!(name("zero\u{200B}width").is_err());
        assert!(name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(name(&"é".repeat(MAX_NAME_CHARS)).is_ok());
    }

    #[test]
    fn content_types_are_reduced_to_their_essence() {
        assert_eq!(content_type("Image/PNG").unwrap(), "image/png");
        assert_eq!(content_type("text/plain; charset=utf-8").unwrap(), "text/plain");
        assert_eq!(
            content_type("application/vnd.openxmlformats-officedocument.wordprocessingml.document").unwrap().len(),
            71
        );
        for bad in ["", "png", "image/", "/png", "image/png/x", "te xt/plain", "a/b\"c"] {
            assert!(content_type(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sizes_are_bounded() {
        assert_eq!(size(1, 10).unwrap(), 1);
        assert_eq!(size(10, 10).unwrap(), 10);
        for bad in [0, -1, 11] {
            assert!(size(bad, 10).is_err(), "{bad}");
        }
    }

    #[test]
    fn sniffing_knows_the_common_formats_and_markup() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a.."), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff(b"\0\0\0\x18ftypmp42"), Some("video/mp4"));
        assert_eq!(sniff(b"  <!DOCTYPE html><p>"), Some("text/html"));
        assert_eq!(sniff(b"\xef\xbb\xbf<svg xmlns=..."), Some("image/svg+xml"));
        assert_eq!(sniff(b"<?xml version=\"1.0\"?>\n<svg>"), Some("image/svg+xml"));
        assert_eq!(sniff(b"just some text"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn the_bytes_decide_the_type() {
        assert_eq!(settle_type("image/png", Some("image/jpeg")).unwrap(), "image/jpeg");
        assert_eq!(settle_type("image/png", Some("text/html")).unwrap(), "text/html");
        assert_eq!(settle_type("text/plain", None).unwrap(), "text/plain");
        assert!(settle_type("image/png", None).is_err(), "a claimed image must be one");
        assert!(inline_safe("image/png") && !inline_safe("image/svg+xml") && !inline_safe("text/html"));
    }

    #[test]
    fn dispositions_carry_the_name_safely() {
        assert_eq!(disposition("cat.png", "image/png"), "inline; filename=\"cat.png\"; filename*=UTF-8''cat.png");
        assert_eq!(
            disposition("naïve \"plan\".pdf", "application/pdf"),
            "attachment; filename=\"na_ve _plan_.pdf\"; filename*=UTF-8''na%C3%AFve%20%22plan%22.pdf"
        );
        assert!(disposition("x.svg", "image/svg+xml").starts_with("attachment;"));
    }

    #[test]
    fn thumbnails_sit_beside_their_file_and_say_their_type() {
        let k = thumb_key("ws/a/b", "image/png");
        assert_eq!(k, "ws/a/b.thumb.png");
        assert_eq!(thumb_type(&k), "image/png");
        assert_eq!(thumb_type(&thumb_key("ws/a/b", "image/jpeg")), "image/jpeg");
        assert!(previewable("image/webp") && !previewable("image/gif") && !previewable("image/svg+xml"));
    }
}
