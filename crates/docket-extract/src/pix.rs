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

/// Where byte `n` of a row sits in leptonica's 32-bit words: `n ^ 3` on little-endian hosts.
const BYTE_IN_WORD: usize = if cfg!(target_endian = "little") { 3 } else { 0 };

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

    /// The image in 8-bit grey (colour by luminance, colormaps resolved, bilevel widened).
    pub(crate) fn grey(&self) -> Option<Self> {
        // SAFETY: a live image in, a new image or null out.
        Self::from_raw(unsafe { ffi::pixConvertTo8(self.as_ptr(), 0) })
    }

    /// 8-bit grey from 32-bit pixels as cairo stores them (`0x00RRGGBB` in native order,
    /// `stride` bytes a row), carrying `ppi` as its resolution.
    pub(crate) fn grey_from_rgb32(
        data: &[u8],
        width: c_int,
        height: c_int,
        stride: c_int,
        ppi: c_int,
    ) -> Option<Self> {
        let (w, h, stride) = (
            usize::try_from(width).ok()?,
            usize::try_from(height).ok()?,
            usize::try_from(stride).ok()?,
        );
        if w == 0 || h == 0 || stride < w * 4 || data.len() < stride * h {
            return None;
        }
        // SAFETY: a new image or null.
        let pix = Self::from_raw(unsafe { ffi::pixCreate(width, height, 8) })?;
        // SAFETY: a live 8-bit image of `height` rows of `wpl` 32-bit words each, which hold
        // at least `width` bytes; nothing else refers to it yet.
        unsafe {
            let wpl = usize::try_from(ffi::pixGetWpl(pix.as_ptr())).ok()?;
            let base = ffi::pixGetData(pix.as_ptr()).cast::<u8>();
            if base.is_null() || wpl * 4 < w {
                return None;
            }
            for (y, row) in data.chunks_exact(stride).take(h).enumerate() {
                let out = std::slice::from_raw_parts_mut(base.add(y * wpl * 4), wpl * 4);
                for (x, px) in row[..w * 4].chunks_exact(4).enumerate() {
                    let rgb = u32::from_ne_bytes([px[0], px[1], px[2], px[3]]);
                    let (r, g, b) = ((rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff);
                    // Leptonica's luminance weights; its bytes sit in big-endian order within
                    // each word (`SET_DATA_BYTE`).
                    let grey = (r * 3 + g * 5 + b * 2 + 5) / 10;
                    out[x ^ BYTE_IN_WORD] = grey as u8;
                }
            }
            ffi::pixSetResolution(pix.as_ptr(), ppi, ppi);
        }
        Some(pix)
    }

    /// The width and height of every 8-connected dark shape (darker than `threshold` out of
    /// 255), or `None` if leptonica cannot say.
    pub(crate) fn dark_shapes(&self, threshold: c_int) -> Option<Vec<(i64, i64)>> {
        // SAFETY: a live image in, a new image or null out.
        let binary = Self::from_raw(unsafe { ffi::pixConvertTo1(self.as_ptr(), threshold) })?;
        // SAFETY: a live bilevel image in; a new array of boxes (ours to destroy) or null out.
        let mut boxa = unsafe { ffi::pixConnCompBB(binary.as_ptr(), 8) };
        if boxa.is_null() {
            return None;
        }
        let mut shapes = Vec::new();
        // SAFETY: `boxa` is live until the destroy below; indices are within its count.
        unsafe {
            let n = ffi::boxaGetCount(boxa);
            shapes.reserve(usize::try_from(n).unwrap_or(0));
            for i in 0..n {
                let (mut x, mut y, mut w, mut h) = (0, 0, 0, 0);
                if ffi::boxaGetBoxGeometry(boxa, i, &mut x, &mut y, &mut w, &mut h) == 0 {
                    shapes.push((i64::from(w), i64::from(h)));
                }
            }
            ffi::boxaDestroy(&mut boxa);
        }
        Some(shapes)
    }

    /// The image scaled by `factor` (by area mapping when reduced), its resolution scaled with
    /// it. Not sharpened, as `pixScale` would: OCR read unsharpened reductions slightly better.
    pub(crate) fn scaled(&self, factor: f32) -> Option<Self> {
        // SAFETY: a live image in, a new image or null out; resolutions are plain integers.
        unsafe {
            let pix = Self::from_raw(ffi::pixScaleGeneral(self.as_ptr(), factor, factor, 0.0, 0))?;
            let (x, y) = (
                ffi::pixGetXRes(self.as_ptr()),
                ffi::pixGetYRes(self.as_ptr()),
            );
            if x > 0 && y > 0 {
                let scale = |r: c_int| ((r as f32 * factor).round() as c_int).max(1);
                ffi::pixSetResolution(pix.as_ptr(), scale(x), scale(y));
            }
            Some(pix)
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
        // SAFETY: the image is live.
        let colour = unsafe {
            ffi::pixGetDepth(self.as_ptr()) == 32 && ffi::pixGetColormap(self.as_ptr()).is_null()
        };
        // A colour page is scaled as it is: widening it would only copy 30 MB.
        let wide = if colour {
            None
        } else {
            // SAFETY: a live image in, a new image or null out.
            Some(Self::from_raw(unsafe {
                ffi::pixConvertTo32(self.as_ptr())
            })?)
        };
        let source = wide.as_ref().unwrap_or(self);
        // SAFETY: a live image in, a new image or null out.
        let small = Self::from_raw(unsafe { ffi::pixScaleToSize(source.as_ptr(), tw, th) })?;
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
