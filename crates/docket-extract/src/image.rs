//! Scanned images (PNG, JPEG, TIFF with any number of pages, WebP): text by OCR.

use serde_json::json;

use crate::paged::{check_image, Pages, THUMBNAIL_PX};
use crate::pix::{self, Pix, TiffPages};
use crate::{media, ocr, ExtractError, Extracted, Extraction, Observer, Options, PageImage};

pub(crate) fn extract(
    bytes: &[u8],
    media_type: &'static str,
    options: &Options,
    observer: &mut dyn Observer,
) -> Result<Extraction, ExtractError> {
    let what = kind(media_type);
    // Checked even when OCR happens elsewhere: the languages are the job's either way.
    let spec = ocr::language_spec(&options.languages)?;
    let limits = &options.limits;
    let corrupt = || ExtractError::Corrupt(format!("corrupt {what}: it could not be decoded"));

    let mut thumbnail = None;
    let mut want_thumbnail = options.thumbnail;
    let mut ocr_page = |pages: &mut Pages<'_>, pix: &Pix| -> Result<(), ExtractError> {
        if want_thumbnail {
            thumbnail = pix.thumbnail_png(THUMBNAIL_PX);
            want_thumbnail = false;
        }
        let index = pages.done();
        let text = match (options.known_pages.get(&index), options.delegate_ocr) {
            (Some(known), _) => known.clone(),
            (None, Some(_)) => {
                let png = pix.png().ok_or_else(|| {
                    ExtractError::Ocr(format!("the {what} could not be encoded for OCR"))
                })?;
                let mut texts = pages.read_elsewhere(vec![PageImage { index, png }])?;
                texts.pop().unwrap_or_default()
            }
            (None, None) => ocr::read_page(&spec, pix)?,
        };
        pages.ocr += 1;
        pages.push(&text)
    };

    let text;
    let page_count;
    if media_type == media::TIFF {
        // Every page's header is checked before any page is decoded, and counting stops one
        // past the limit so a TIFF claiming a million pages costs nothing.
        let mut count = 0u32;
        while count <= limits.max_pages {
            let Some(header) = pix::tiff_page_header(bytes, count) else {
                break;
            };
            check_image(&header, limits, what)?;
            count += 1;
        }
        if count == 0 {
            return Err(corrupt());
        }
        let mut pages = Pages::new(count, limits, observer)?;
        for page in TiffPages::new(bytes).take(count as usize) {
            ocr_page(&mut pages, &page.ok_or_else(corrupt)?)?;
        }
        // Headers for pages the decoder then never reached: part of the document is missing.
        if pages.done() < count {
            return Err(corrupt());
        }
        page_count = pages.pages();
        text = pages.finish();
    } else {
        let header = pix::header(bytes).ok_or_else(corrupt)?;
        check_image(&header, limits, what)?;
        let pix = Pix::decode(bytes).ok_or_else(corrupt)?;
        // The decoder may disagree with the header it was judged by; trust neither blindly.
        let (w, h) = pix.size();
        if (w, h) != (header.width, header.height) {
            return Err(corrupt());
        }
        let mut pages = Pages::new(1, limits, observer)?;
        ocr_page(&mut pages, &pix)?;
        page_count = 1;
        text = pages.finish();
    }

    Ok(Extraction {
        extracted: Extracted {
            media_type: media_type.to_owned(),
            text,
            pages: page_count,
            metadata: json!({ "ocr_pages": page_count }),
        },
        thumbnail,
    })
}

fn kind(media_type: &str) -> &'static str {
    match media_type {
        media::PNG => "PNG image",
        media::JPEG => "JPEG image",
        media::TIFF => "TIFF image",
        media::WEBP => "WebP image",
        _ => "image",
    }
}
