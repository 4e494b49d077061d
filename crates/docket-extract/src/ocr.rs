//! Tesseract engines: one per thread and language set, loaded on first use and kept, since
//! loading the model costs about as much as recognising a page.

use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::ptr::NonNull;

use crate::{ffi, pix::Pix, text_size, ExtractError};

/// Most languages in one request. Each one multiplies recognition time; more than this is a
/// mistake, not a document.
const MAX_LANGUAGES: usize = 8;

/// Engines kept per thread. A worker normally sees one language set; a few spare slots spare
/// reloading when requests alternate, without letting odd requests pile up models in memory.
const MAX_ENGINES_PER_THREAD: usize = 3;

thread_local! {
    static ENGINES: RefCell<Vec<(String, Engine)>> = const { RefCell::new(Vec::new()) };
}

/// Tesseract's language argument for `languages` (e.g. `["eng", "deu"]` → `eng+deu`). Names
/// are checked because tesseract turns them into file paths under its data directory.
pub(crate) fn language_spec(languages: &[String]) -> Result<String, ExtractError> {
    if languages.is_empty() {
        return Ok("eng".to_owned());
    }
    if languages.len() > MAX_LANGUAGES {
        return Err(ExtractError::Ocr(format!(
            "too many OCR languages ({}, at most {MAX_LANGUAGES})",
            languages.len()
        )));
    }
    for lang in languages {
        let valid = !lang.is_empty()
            && lang.len() <= 32
            && lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(ExtractError::Ocr(format!("invalid OCR language {lang:?}")));
        }
    }
    Ok(languages.join("+"))
}

/// The OCR languages installed on this host, as tesseract finds them in its data directory
/// (`TESSDATA_PREFIX`, or the one it was built with). Tesseract lists its directory only once
/// a language is loaded, so this loads the first of `probes` that is installed (a small
/// model costs well under a second) and lets it go again.
pub(crate) fn installed_languages(probes: &[String]) -> Result<Vec<String>, ExtractError> {
    for probe in probes {
        let Ok(spec) = language_spec(std::slice::from_ref(probe)) else {
            continue;
        };
        if let Ok(engine) = Engine::new(&spec) {
            let mut languages = engine.available_languages();
            languages.sort();
            languages.dedup();
            return Ok(languages);
        }
    }
    Err(ExtractError::Ocr(format!(
        "no OCR language could be loaded (tried {})",
        probes.join(", ")
    )))
}

/// The text of a page image, read at the size its text needs (see [`crate::text_size`]).
pub(crate) fn read_page(spec: &str, pix: &Pix) -> Result<String, ExtractError> {
    let page = text_size::for_ocr(pix)
        .ok_or_else(|| ExtractError::Ocr("the page image could not be prepared for OCR".into()))?;
    recognise(spec, &page)
}

/// The text of a page image, read as it is.
pub(crate) fn recognise(spec: &str, pix: &Pix) -> Result<String, ExtractError> {
    with_engine(spec, |engine| engine.recognise_pix(pix))?
}

/// Runs `f` with this thread's engine for `spec`, loading it on first use.
pub(crate) fn with_engine<R>(
    spec: &str,
    f: impl FnOnce(&mut Engine) -> R,
) -> Result<R, ExtractError> {
    ENGINES.with(|cell| {
        let mut engines = cell.borrow_mut();
        let index = match engines.iter().position(|(s, _)| s == spec) {
            Some(i) => i,
            None => {
                let engine = Engine::new(spec)?;
                if engines.len() >= MAX_ENGINES_PER_THREAD {
                    engines.remove(0);
                }
                engines.push((spec.to_owned(), engine));
                engines.len() - 1
            }
        };
        let (_, engine) = &mut engines[index];
        Ok(f(engine))
    })
}

/// One loaded tesseract instance. Not `Send`: tesseract engines are not thread-safe, which the
/// thread-local cache respects by construction.
pub(crate) struct Engine(NonNull<ffi::TessBaseApi>);

impl Drop for Engine {
    fn drop(&mut self) {
        // SAFETY: we own the handle and nothing else refers to it.
        unsafe { ffi::TessBaseAPIDelete(self.0.as_ptr()) };
    }
}

impl Engine {
    fn new(spec: &str) -> Result<Self, ExtractError> {
        let not_installed = || {
            ExtractError::Ocr(format!(
                "OCR language {spec:?} is not installed on this server"
            ))
        };
        let lang = CString::new(spec).map_err(|_| not_installed())?;
        // SAFETY: creating a handle has no preconditions; a null return is checked.
        let engine = NonNull::new(unsafe { ffi::TessBaseAPICreate() })
            .map(Self)
            .ok_or_else(|| ExtractError::Ocr("the OCR engine could not be started".to_owned()))?;
        // SAFETY: live handle, NUL-terminated strings; a null data path means tesseract's own
        // default (or TESSDATA_PREFIX).
        let failed =
            unsafe { ffi::TessBaseAPIInit3(engine.0.as_ptr(), std::ptr::null(), lang.as_ptr()) };
        if failed != 0 {
            return Err(not_installed());
        }
        // Tesseract writes diagnostics ("Estimating resolution as ...") to stderr by default.
        engine.set_variable(c"debug_file", c"/dev/null");
        Ok(engine)
    }

    /// Every language in the data directory this engine was loaded from.
    fn available_languages(&self) -> Vec<String> {
        // SAFETY: live, initialised handle; the array is null-terminated and ours to free with
        // TessDeleteTextArray, and each entry a NUL-terminated string.
        unsafe {
            let array = ffi::TessBaseAPIGetAvailableLanguagesAsVector(self.0.as_ptr());
            if array.is_null() {
                return Vec::new();
            }
            let mut languages = Vec::new();
            let mut entry = array;
            while !(*entry).is_null() {
                languages.push(CStr::from_ptr(*entry).to_string_lossy().into_owned());
                entry = entry.add(1);
            }
            ffi::TessDeleteTextArray(array);
            languages
        }
    }

    fn set_variable(&self, name: &CStr, value: &CStr) {
        // SAFETY: live handle and NUL-terminated strings. An unknown variable is only ignored.
        unsafe { ffi::TessBaseAPISetVariable(self.0.as_ptr(), name.as_ptr(), value.as_ptr()) };
    }

    /// The text of a leptonica image.
    pub(crate) fn recognise_pix(&mut self, pix: &Pix) -> Result<String, ExtractError> {
        // SAFETY: tesseract takes its own reference to the image (pixClone), released by the
        // Clear in `text`, so `pix` may be dropped afterwards.
        unsafe { ffi::TessBaseAPISetImage2(self.0.as_ptr(), pix.as_ptr()) };
        self.text()
    }

    fn text(&mut self) -> Result<String, ExtractError> {
        // SAFETY: an image is set; the returned string is ours to free with TessDeleteText.
        // Clear drops the image and results but keeps the loaded model.
        unsafe {
            let raw = ffi::TessBaseAPIGetUTF8Text(self.0.as_ptr());
            let text = if raw.is_null() {
                None
            } else {
                let text = CStr::from_ptr(raw).to_string_lossy().into_owned();
                ffi::TessDeleteText(raw);
                Some(text)
            };
            ffi::TessBaseAPIClear(self.0.as_ptr());
            text.ok_or_else(|| ExtractError::Ocr("OCR failed on this page".to_owned()))
        }
    }
}
