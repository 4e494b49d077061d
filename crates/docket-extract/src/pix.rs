//! Safe handles on leptonica images: header probing, decoding (including each page of a TIFF)
//! and PNG thumbnails.

use std::ffi::c_int;
use std::ptr::{self, NonNull};
use std::sync::Once;

use crate::ffi;

/// What an image header claims, read without decoding any pixels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub(crate) width: i64,
    pub(crate) height: i64,
    /// Bits per sample times samples per pixel.
    pub(crate) bits_per_pixel: i64,
    pub(crate) colormapped: bool,
}

impl Header {
    /// Bytes the decoded image will take. Leptonica widens colour (and colormapped) images to
    /// 32 bits per pixel; grey and bilevel stay packed.
    pub(crate) fn decoded_bytes(&self) -> u64 {
        let bits = if self.colormapped || self.bits_per_pixel > 16 {
            32
        } else {
            self.bits_per_pixel.max(1)
        };
        let row = (self.width.max(0) as u64 * bits as u64).div_ceil(8);
        row.saturating_mul(self.height.max(0) as u64)
    }
}

/// Silences leptonica's stderr chatter, once per process: its messages name C functions rather
/// than problems, and every failure reaches the user through our own errors instead.
fn quiet() {
    static QUIET: Once = Once::new();
    // SAFETY: sets a global severity level; the Once keeps it from racing with itself, and
    // every leptonica call in this crate goes through here first.
    QUIET.call_once(|| unsafe {
        ffi::setMsgSeverity(ffi::L_SEVERITY_NONE);
    });
}

fn header_from(w: c_int, h: c_int, bps: c_int, spp: c_int, cmap: c_int) -> Header {
    Header {
        width: i64::from(w),
        height: i64::from(h),
        bits_per_pixel: i64::from(bps) * i64::from(spp),
        colormapped: cmap != 0,
    }
}

/// The header of the first (or only) image in `bytes`.
pub(crate) fn header(bytes: &[u8]) -> Option<Header> {
    quiet();
    let (mut format, mut w, mut h, mut bps, mut spp, mut cmap) = (0, 0, 0, 0, 0, 0);
    // SAFETY: the pointer and length describe a live slice; the out-pointers are locals.
    let failed = unsafe {
        ffi::pixReadHeaderMem(
            bytes.as_ptr(),
            bytes.len(),
            &mut format,
            &mut w,
            &mut h,
            &mut bps,
            &mut spp,
            &mut cmap,
        )
    };
    (failed == 0).then(|| header_from(w, h, bps, spp, cmap))
}

/// The header of page `n` (from 0) of a TIFF, or `None` past the last page.
pub(crate) fn tiff_page_header(bytes: &[u8], n: u32) -> Option<Header> {
    quiet();
    let n = c_int::try_from(n).ok()?;
    let (mut w, mut h, mut bps, mut spp, mut res, mut cmap, mut format) = (0, 0, 0, 0, 0, 0, 0);
    // SAFETY: as in `header`.
    let failed = unsafe {
        ffi::readHeaderMemTiff(
            bytes.as_ptr(),
            bytes.len(),
            n,
            &mut w,
            &mut h,
            &mut bps,
            &mut spp,
            &mut res,
            &mut cmap,
            &mut format,
        )
    };
    (failed == 0).then(|| header_from(w, h, bps, spp, cmap))
}

/// An owned leptonica image.
pub(crate) struct Pix(NonNull<ffi::Pix>);

impl Drop for Pix {
    fn drop(&mut self) {
        let mut raw = self.0.as_ptr();
        // SAFETY: we own this reference; pixDestroy drops it and nulls our copy.
        unsafe { ffi::pixDestroy(&mut raw) };
    }
}

impl Pix {
    fn from_raw(raw: *mut ffi::Pix) -> Option<Self> {
        NonNull::new(raw).map(Self)
    }

    /// Decodes the first image in `bytes`. Check [`header`] against the limits first.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        quiet();
        // SAFETY: leptonica only reads the slice and returns a new image or null.
        Self::from_raw(unsafe { ffi::pixReadMem(bytes.as_ptr(), bytes.len()) })
    }

    pub(crate) fn as_ptr(&self) -> *mut ffi::Pix {
        self.0.as_ptr()
    }

    pub(crate) fn size(&self) -> (i64, i64) {
        // SAFETY: the image is live.
        unsafe {
            (
                i64::from(ffi::pixGetWidth(self.as_ptr())),
                i64::from(ffi::pixGetHeight(self.as_ptr())),
            )
        }
    }

    /// The image as a PNG, at its own size and depth.
    pub(crate) fn png(&self) -> Option<Vec<u8>> {
        write_png(self)
    }

    /// A PNG whose long side is at most `long_side` pixels (never enlarged). Bilevel and grey
    /// scans are widened to colour first so the reduction averages pixels instead of picking
    /// them, which would leave a thumbnail of speckles.
    pub(crate) fn thumbnail_png(&self, long_side: i64) -> Option<Vec<u8>> {
        let (w, h) = self.size();
        let scale = (long_side as f64 / w.max(h).max(1) as f64).min(1.0);
        let tw = ((w as f64 * scale).round() as c_int).max(1);
        let th = ((h as f64 * scale).round() as c_int).max(1);
        // SAFETY: each call takes a live image and returns a new one or null.
        let wide = Self::from_raw(unsafe { ffi::pixConvertTo32(self.as_ptr()) })?;
        let small = Self::from_raw(unsafe { ffi::pixScaleToSize(wide.as_ptr(), tw, th) })?;
        write_png(&small)
    }
}

fn write_png(pix: &Pix) -> Option<Vec<u8>> {
    let mut data: *mut u8 = ptr::null_mut();
    let mut size = 0usize;
    // SAFETY: on success leptonica hands us a malloc'd buffer of `size` bytes, which we
    // copy and free with its own allocator.
    unsafe {
        if ffi::pixWriteMemPng(&mut data, &mut size, pix.as_ptr(), 0.0) != 0 || data.is_null() {
            return None;
        }
        let png = std::slice::from_raw_parts(data, size).to_vec();
        ffi::lept_free(data.cast());
        Some(png)
    }
}

/// The pages of a TIFF, decoded one at a time so only one is ever in memory.
pub(crate) struct TiffPages<'a> {
    bytes: &'a [u8],
    offset: usize,
    done: bool,
}

impl<'a> TiffPages<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        quiet();
        Self {
            bytes,
            offset: 0,
            done: false,
        }
    }
}

impl Iterator for TiffPages<'_> {
    type Item = Option<Pix>;

    /// `Some(None)` is a page that could not be decoded.
    fn next(&mut self) -> Option<Option<Pix>> {
        if self.done {
            return None;
        }
        // SAFETY: leptonica reads the slice from `offset`, returns the page there and moves
        // `offset` to the next one (0 after the last).
        let raw = unsafe {
            ffi::pixReadMemFromMultipageTiff(
                self.bytes.as_ptr(),
                self.bytes.len(),
                &mut self.offset,
            )
        };
        if self.offset == 0 {
            self.done = true;
        }
        Some(Pix::from_raw(raw))
    }
}
