//! What PDF and image extraction share: collecting page texts under the character limit,
//! reporting progress, and the checks on page counts and image sizes.

use crate::{
    pix::Header, writer::too_many_chars, ExtractError, Limits, Observer, PageImage, Progress,
};

/// Between pages: a form feed, as `pdftotext` writes, on a line of its own.
pub(crate) const PAGE_BREAK: &str = "\n\x0c\n";

/// Long side of a thumbnail, in pixels.
pub(crate) const THUMBNAIL_PX: i64 = 256;

/// Collects the text of each page in order.
pub(crate) struct Pages<'a> {
    text: String,
    chars: usize,
    done: u32,
    total: u32,
    /// Pages whose text came from OCR.
    pub(crate) ocr: u32,
    limits: &'a Limits,
    observer: &'a mut dyn Observer,
}

impl<'a> Pages<'a> {
    /// Refuses a document with more pages than the limit before any work is done on it.
    pub(crate) fn new(
        total: u32,
        limits: &'a Limits,
        observer: &'a mut dyn Observer,
    ) -> Result<Self, ExtractError> {
        if total > limits.max_pages {
            return Err(ExtractError::TooLarge(format!(
                "the document has {total} pages, more than the limit of {}",
                limits.max_pages
            )));
        }
        Ok(Self {
            text: String::new(),
            chars: 0,
            done: 0,
            total,
            ocr: 0,
            limits,
            observer,
        })
    }

    /// Adds the next page's text and reports it. Pages are separated by a form feed on a line
    /// of its own, even when empty, so page N of the text is page N of the document.
    pub(crate) fn push(&mut self, page_text: &str) -> Result<(), ExtractError> {
        let page_text = page_text.trim();
        let separator = if self.done > 0 { PAGE_BREAK } else { "" };
        let chars = page_text.chars().count() + separator.len();
        self.chars = self.chars.saturating_add(chars);
        if self.chars > self.limits.max_text_chars {
            return Err(too_many_chars(self.limits.max_text_chars));
        }
        self.text.push_str(separator);
        self.text.push_str(page_text);
        self.done += 1;
        self.observer.progress(Progress {
            page: self.done,
            pages: self.total,
        });
        Ok(())
    }

    /// Who watches this extraction.
    pub(crate) fn observer(&mut self) -> &mut dyn Observer {
        &mut *self.observer
    }

    /// Pages pushed so far.
    pub(crate) fn done(&self) -> u32 {
        self.done
    }

    pub(crate) fn pages(&self) -> u32 {
        self.total
    }

    /// Has `images` read elsewhere (see [`crate::Options::delegate_ocr`]), checking that an
    /// answer came for each.
    pub(crate) fn read_elsewhere(
        &mut self,
        images: Vec<PageImage>,
    ) -> Result<Vec<String>, ExtractError> {
        let sent = images.len();
        let texts = self.observer.read_elsewhere(images)?;
        if texts.len() != sent {
            return Err(ExtractError::Ocr(format!(
                "the OCR provider answered {} texts for {sent} pages",
                texts.len()
            )));
        }
        Ok(texts)
    }

    pub(crate) fn finish(self) -> String {
        self.text
    }
}

/// Refuses an image whose header promises more pixels or decoded bytes than the limits allow,
/// before a single pixel is decoded: a few hundred bytes of PNG can claim 10¹⁰ pixels.
pub(crate) fn check_image(
    header: &Header,
    limits: &Limits,
    what: &str,
) -> Result<(), ExtractError> {
    let (w, h) = (header.width, header.height);
    if w <= 0 || h <= 0 {
        return Err(ExtractError::Corrupt(format!(
            "corrupt {what}: the image has no pixels"
        )));
    }
    let pixels = (w as u64).saturating_mul(h as u64);
    if pixels > limits.max_pixels {
        return Err(ExtractError::TooLarge(format!(
            "the image is {w} × {h} pixels, more than the limit of {} megapixels",
            limits.max_pixels / 1_000_000
        )));
    }
    if header.decoded_bytes() > limits.max_decompressed_bytes {
        return Err(ExtractError::TooLarge(format!(
            "the image would take {} MiB once decoded, more than the limit of {} MiB",
            header.decoded_bytes() >> 20,
            limits.max_decompressed_bytes >> 20
        )));
    }
    Ok(())
}
