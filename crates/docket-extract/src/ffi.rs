//! The few functions of tesseract's C API and of leptonica that OCR needs, declared by hand.
//!
//! Both are stable C ABIs (tesseract `capi.h`, leptonica `allheaders.h`; checked against
//! tesseract 5.3 and leptonica 1.82, Debian 12). A dozen declarations do not justify bindgen and
//! libclang at build time, nor binding crates that wrap thousands of functions we never call.
//! Safe wrappers live in `pix.rs` and `ocr.rs`; nothing else touches these.

use std::ffi::{c_char, c_int, c_void};

/// Leptonica's image type. Only ever handled by pointer.
#[repr(C)]
pub(crate) struct Pix {
    _private: [u8; 0],
}

/// Leptonica's array of boxes. Only ever handled by pointer.
#[repr(C)]
pub(crate) struct Boxa {
    _private: [u8; 0],
}

/// Tesseract's `TessBaseAPI`. Only ever handled by pointer.
#[repr(C)]
pub(crate) struct TessBaseApi {
    _private: [u8; 0],
}

/// `L_SEVERITY_NONE`: leptonica prints nothing. Its messages name C functions, not problems a
/// user could act on; every failure is reported through our own error type instead.
pub(crate) const L_SEVERITY_NONE: c_int = 6;

#[link(name = "lept")]
extern "C" {
    pub(crate) fn setMsgSeverity(newsev: c_int) -> c_int;
    pub(crate) fn pixReadHeaderMem(
        data: *const u8,
        size: usize,
        pformat: *mut c_int,
        pw: *mut c_int,
        ph: *mut c_int,
        pbps: *mut c_int,
        pspp: *mut c_int,
        piscmap: *mut c_int,
    ) -> c_int;
    pub(crate) fn readHeaderMemTiff(
        cdata: *const u8,
        size: usize,
        n: c_int,
        pw: *mut c_int,
        ph: *mut c_int,
        pbps: *mut c_int,
        pspp: *mut c_int,
        pres: *mut c_int,
        pcmap: *mut c_int,
        pformat: *mut c_int,
    ) -> c_int;
    pub(crate) fn pixReadMem(data: *const u8, size: usize) -> *mut Pix;
    pub(crate) fn pixReadMemFromMultipageTiff(
        cdata: *const u8,
        size: usize,
        poffset: *mut usize,
    ) -> *mut Pix;
    pub(crate) fn pixDestroy(ppix: *mut *mut Pix);
    pub(crate) fn pixGetWidth(pix: *const Pix) -> c_int;
    pub(crate) fn pixGetHeight(pix: *const Pix) -> c_int;
    pub(crate) fn pixConvertTo32(pixs: *mut Pix) -> *mut Pix;
    pub(crate) fn pixConvertTo8(pixs: *mut Pix, cmapflag: c_int) -> *mut Pix;
    pub(crate) fn pixConvertTo1(pixs: *mut Pix, threshold: c_int) -> *mut Pix;
    pub(crate) fn pixCreate(width: c_int, height: c_int, depth: c_int) -> *mut Pix;
    pub(crate) fn pixGetWpl(pix: *const Pix) -> c_int;
    pub(crate) fn pixGetDepth(pix: *const Pix) -> c_int;
    pub(crate) fn pixGetColormap(pix: *const Pix) -> *mut c_void;
    pub(crate) fn pixGetData(pix: *mut Pix) -> *mut u32;
    pub(crate) fn pixGetXRes(pix: *const Pix) -> c_int;
    pub(crate) fn pixGetYRes(pix: *const Pix) -> c_int;
    pub(crate) fn pixSetResolution(pix: *mut Pix, xres: c_int, yres: c_int) -> c_int;
    pub(crate) fn pixScaleGeneral(
        pixs: *mut Pix,
        scalex: f32,
        scaley: f32,
        sharpfract: f32,
        sharpwidth: c_int,
    ) -> *mut Pix;
    pub(crate) fn pixConnCompBB(pixs: *mut Pix, connectivity: c_int) -> *mut Boxa;
    pub(crate) fn boxaGetCount(boxa: *const Boxa) -> c_int;
    pub(crate) fn boxaGetBoxGeometry(
        boxa: *mut Boxa,
        index: c_int,
        px: *mut c_int,
        py: *mut c_int,
        pw: *mut c_int,
        ph: *mut c_int,
    ) -> c_int;
    pub(crate) fn boxaDestroy(pboxa: *mut *mut Boxa);
    pub(crate) fn pixScaleToSize(pixs: *mut Pix, wd: c_int, hd: c_int) -> *mut Pix;
    pub(crate) fn pixWriteMemPng(
        pfiledata: *mut *mut u8,
        pfilesize: *mut usize,
        pix: *mut Pix,
        gamma: f32,
    ) -> c_int;
    pub(crate) fn lept_free(ptr: *mut c_void);
}

#[link(name = "tesseract")]
extern "C" {
    pub(crate) fn TessBaseAPICreate() -> *mut TessBaseApi;
    pub(crate) fn TessBaseAPIDelete(handle: *mut TessBaseApi);
    pub(crate) fn TessBaseAPIInit3(
        handle: *mut TessBaseApi,
        datapath: *const c_char,
        language: *const c_char,
    ) -> c_int;
    pub(crate) fn TessBaseAPISetVariable(
        handle: *mut TessBaseApi,
        name: *const c_char,
        value: *const c_char,
    ) -> c_int;
    pub(crate) fn TessBaseAPISetImage2(handle: *mut TessBaseApi, pix: *mut Pix);
    pub(crate) fn TessBaseAPIGetUTF8Text(handle: *mut TessBaseApi) -> *mut c_char;
    pub(crate) fn TessDeleteText(text: *const c_char);
    pub(crate) fn TessBaseAPIClear(handle: *mut TessBaseApi);
    pub(crate) fn TessBaseAPIGetAvailableLanguagesAsVector(
        handle: *const TessBaseApi,
    ) -> *mut *mut c_char;
    pub(crate) fn TessDeleteTextArray(arr: *mut *mut c_char);
}
