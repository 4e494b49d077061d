//! PDF through poppler (its GLib binding): the text layer of each page, and for pages without
//! one, OCR of the page rendered at scanning resolution. Poppler was chosen by measurement
//! against `pdftotext` (see ARCHITECTURE.md): the same text layout code, so the same text.

use std::collections::BTreeMap;
use std::ffi::c_int;

use cairo::{Context, Format, ImageSurface};
use poppler::{Document, Page};
use serde_json::json;

use crate::paged::{Pages, THUMBNAIL_PX};
use crate::pix::Pix;
use crate::{
    media, ocr, text_size, word_gaps, ExtractError, Extracted, Extraction, Observer, Options,
    PageImage,
};

/// Resolution pages without a text layer are rendered at for OCR: what tesseract is trained
/// for and what scanners default to.
const OCR_DPI: f64 = 300.0;

pub(crate) fn extract(
    bytes: &[u8],
    options: &Options,
    observer: &mut dyn Observer,
) -> Result<Extraction, ExtractError> {
    // A GBytes of our own: the document keeps a reference to it for its whole life, which a
    // borrowed slice could not promise.
    let data = glib::Bytes::from(bytes);
    let doc = Document::from_bytes(&data, None).map_err(open_error)?;
    let total = u32::try_from(doc.n_pages()).unwrap_or(0);
    if total == 0 {
        return Err(corrupt("it has no pages"));
    }
    let mut pages = Pages::new(total, &options.limits, observer)?;
    let mut spec = None;
    let mut thumbnail = None;
    // Texts read elsewhere for pages the loop has not reached yet (a batch spans pages).
    let mut elsewhere: BTreeMap<u32, String> = BTreeMap::new();

    for index in 0..total {
        let page = doc
            .page(index as c_int)
            .ok_or_else(|| corrupt(&format!("page {} cannot be read", index + 1)))?;
        if index == 0 && options.thumbnail {
            thumbnail = render_thumbnail(&page);
        }
        let text = text_layer(&page);
        if text.trim().is_empty() {
            // OCR'd by an earlier attempt: taken as it was, the page is not OCR'd again.
            let mut go_on = true;
            let text = match (options.known_pages.get(&index), options.delegate_ocr) {
                (Some(known), _) => known.clone(),
                // Read elsewhere, a batch at a time; the caller saved each page it got back.
                (None, Some(batch)) => {
                    if !elsewhere.contains_key(&index) {
                        let images = render_batch(&doc, index, batch, options)?;
                        let indices: Vec<u32> = images.iter().map(|i| i.index).collect();
                        let texts = pages.read_elsewhere(images)?;
                        elsewhere.extend(indices.into_iter().zip(texts));
                    }
                    elsewhere.remove(&index).unwrap_or_default()
                }
                (None, None) => {
                    // Validated once, and only for documents that need OCR at all.
                    let spec = match &spec {
                        Some(spec) => spec,
                        None => spec.insert(ocr::language_spec(&options.languages)?),
                    };
                    pages.observer().ocr_starting(index);
                    let text = ocr_page(&page, spec, options.limits.max_pixels)?;
                    go_on = pages.observer().ocr_finished(index, &text);
                    text
                }
            };
            if !text.trim().is_empty() {
                pages.ocr += 1;
            }
            pages.push(&text)?;
            if !go_on && index + 1 < total {
                return Err(ExtractError::Stopped);
            }
        } else {
            pages.push(&text)?;
        }
    }

    let mut metadata = json!({});
    if let Some(title) = doc.title() {
        metadata["title"] = title.as_str().into();
    }
    if let Some(author) = doc.author() {
        metadata["author"] = author.as_str().into();
    }
    if pages.ocr > 0 {
        metadata["ocr_pages"] = pages.ocr.into();
    }
    Ok(Extraction {
        extracted: Extracted {
            media_type: media::PDF.to_owned(),
            text: pages.finish(),
            pages: total,
            metadata,
        },
        thumbnail,
    })
}

fn corrupt(why: &str) -> ExtractError {
    ExtractError::Corrupt(format!("corrupt PDF: {why}"))
}

fn open_error(e: glib::Error) -> ExtractError {
    match e.kind::<poppler::Error>() {
        Some(poppler::Error::Encrypted) => {
            ExtractError::Corrupt("the PDF is password-protected".to_owned())
        }
        // Poppler's own messages ("PDF document is damaged") are already in the user's terms.
        _ => corrupt(&e.message().to_lowercase()),
    }
}

/// Renders `page` at `scale` pixels per point on white, or `None` if cairo cannot make the
/// surface (absurd sizes are capped by the callers first).
fn render(page: &Page, scale: f64) -> Option<ImageSurface> {
    let (w, h) = page.size();
    let pw = (w * scale).round().max(1.0) as i32;
    let ph = (h * scale).round().max(1.0) as i32;
    let surface = ImageSurface::create(Format::Rgb24, pw, ph).ok()?;
    {
        let cr = Context::new(&surface).ok()?;
        cr.set_source_rgb(1.0, 1.0, 1.0);
        cr.paint().ok()?;
        cr.scale(scale, scale);
        page.render(&cr);
    }
    surface.flush();
    Some(surface)
}

/// The page's text layer, with the word breaks `pdftotext` would see (see `word_gaps`).
fn text_layer(page: &Page) -> String {
    let Some(text) = page.text() else {
        return String::new();
    };
    match glyph_boxes(page) {
        Some(boxes) => word_gaps::with_word_gaps(text.as_str(), &boxes),
        None => text.to_string(),
    }
}

/// The box of each character of `Page::text`, in order.
fn glyph_boxes(page: &Page) -> Option<Vec<word_gaps::GlyphBox>> {
    use glib::translate::ToGlibPtr;
    let mut rects: *mut poppler::ffi::PopplerRectangle = std::ptr::null_mut();
    let mut n: std::ffi::c_uint = 0;
    // SAFETY: a live page; poppler allocates the array with g_malloc and hands it to us.
    let found = unsafe {
        poppler::ffi::poppler_page_get_text_layout(page.to_glib_none().0, &mut rects, &mut n)
    };
    if found == 0 || rects.is_null() {
        return None;
    }
    // SAFETY: poppler wrote `n` rectangles at `rects`; they are copied out before the free.
    let boxes = unsafe { std::slice::from_raw_parts(rects, n as usize) }
        .iter()
        .map(|r| [r.x1, r.y1, r.x2, r.y2])
        .collect();
    // SAFETY: the array is ours, allocated by g_malloc, and no longer used.
    unsafe { glib::ffi::g_free(rects.cast()) };
    Some(boxes)
}

/// Page `from` and the next pages that need OCR, up to `batch` of them, rendered as PNGs for
/// a provider elsewhere. Pages with a text layer, and pages read by an earlier attempt, are
/// skipped: they never leave the machine.
fn render_batch(
    doc: &Document,
    from: u32,
    batch: u32,
    options: &Options,
) -> Result<Vec<PageImage>, ExtractError> {
    let total = u32::try_from(doc.n_pages()).unwrap_or(0);
    let mut images = Vec::new();
    for index in from..total {
        if images.len() >= batch.max(1) as usize {
            break;
        }
        if options.known_pages.contains_key(&index) {
            continue;
        }
        let page = doc
            .page(index as c_int)
            .ok_or_else(|| corrupt(&format!("page {} cannot be read", index + 1)))?;
        if !text_layer(&page).trim().is_empty() {
            continue;
        }
        let surface = render_for_ocr(&page, options.limits.max_pixels)?;
        let mut png = Vec::new();
        surface
            .write_to_png(&mut png)
            .map_err(|e| ExtractError::Ocr(format!("a page could not be encoded: {e}")))?;
        images.push(PageImage { index, png });
    }
    Ok(images)
}

/// OCR of a page rendered at scanning resolution, or, if its text is larger than OCR needs,
/// rendered again at the resolution that brings it down to that size (a fresh rendering reads
/// better than a reduced copy; see [`crate::text_size`]).
fn ocr_page(page: &Page, spec: &str, max_pixels: u64) -> Result<String, ExtractError> {
    let scale = ocr_scale(page, max_pixels)?;
    let grey = render_grey(page, scale)?;
    let grey = match text_size::x_height(&grey).and_then(text_size::reduction) {
        Some(factor) => render_grey(page, scale * f64::from(factor))?,
        None => grey,
    };
    ocr::recognise(spec, &grey)
}

/// `page` rendered in grey at `scale` pixels per point.
fn render_grey(page: &Page, scale: f64) -> Result<Pix, ExtractError> {
    let surface =
        render(page, scale).ok_or_else(|| corrupt("a page without text could not be rendered"))?;
    let (width, height, stride) = (surface.width(), surface.height(), surface.stride());
    let ppi = (scale * 72.0).round() as c_int;
    let mut grey = None;
    let _ = surface.with_data(|data| {
        grey = Pix::grey_from_rgb32(data, width, height, stride, ppi);
    });
    grey.ok_or_else(|| corrupt("a page without text could not be rendered"))
}

/// `page` rendered at scanning resolution.
fn render_for_ocr(page: &Page, max_pixels: u64) -> Result<ImageSurface, ExtractError> {
    render(page, ocr_scale(page, max_pixels)?)
        .ok_or_else(|| corrupt("a page without text could not be rendered"))
}

/// Pixels per point of scanning resolution for `page`, within the pixel limit.
fn ocr_scale(page: &Page, max_pixels: u64) -> Result<f64, ExtractError> {
    let (w, h) = page.size();
    // Points are 1/72 inch. A page so large that 300 dpi would pass the pixel limit is
    // rendered coarser instead: its text is as large as ever, only the paper is bigger.
    let mut scale = OCR_DPI / 72.0;
    let area = (w * scale) * (h * scale);
    if !area.is_finite() || area <= 0.0 {
        return Err(corrupt("a page has no size"));
    }
    if area > max_pixels as f64 {
        scale *= (max_pixels as f64 / area).sqrt();
    }
    Ok(scale)
}

fn render_thumbnail(page: &Page) -> Option<Vec<u8>> {
    let (w, h) = page.size();
    let long = w.max(h);
    if !long.is_finite() || long <= 0.0 {
        return None;
    }
    crate::thumbnail::png_of(render(page, THUMBNAIL_PX as f64 / long)?)
}
