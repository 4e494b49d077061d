//! The extractor child process: reads requests on stdin, extracts, answers on stdout, and
//! keeps going so its OCR engines stay loaded between documents.
//!
//! Run it through [`crate::pool::ExtractorPool`]; the pool kills and replaces a child that hangs,
//! crashes or runs out of memory, which is the whole point of extracting out of process.

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::protocol::{self, Header};
use crate::{extract_observed, ExtractError, Extraction, Observer, PageImage, Progress};

/// Serves requests until stdin closes. Returns an error only if the parent stops speaking the
/// protocol (or goes away mid-request); every problem with a document is an answer instead.
pub fn serve() -> io::Result<()> {
    serve_with(|_| {})
}

/// [`serve`], calling `before_each` with the document name before each request. For the
/// crate's own fault-injection tests; production uses [`serve`].
#[doc(hidden)]
pub fn serve_with(mut before_each: impl FnMut(&str)) -> io::Result<()> {
    limit_openmp();
    let mut input = BufReader::new(io::stdin().lock());
    let mut output = BufWriter::new(io::stdout().lock());
    loop {
        let Some(header) = protocol::read_frame(&mut input, protocol::REQUEST)? else {
            return Ok(());
        };
        let header: Header = serde_json::from_slice(&header)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let body = protocol::read_frame(&mut input, protocol::BODY)?
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        before_each(&header.name);

        let result = match &header.path {
            Some(path) => match std::fs::read(path) {
                Ok(bytes) => run(&bytes, &header, &mut input, &mut output),
                Err(e) => Err(ExtractError::Unavailable(format!(
                    "the file could not be read: {}",
                    e.kind()
                ))),
            },
            None => run(&body, &header, &mut input, &mut output),
        };
        let (result, thumbnail) = match result {
            Ok(Extraction {
                extracted,
                thumbnail,
            }) => (Ok(extracted), thumbnail.unwrap_or_default()),
            Err(e) => (Err(e), Vec::new()),
        };
        let json = serde_json::to_vec(&result).map_err(io::Error::other)?;
        protocol::write_frame(&mut output, protocol::RESULT, &json)?;
        protocol::write_frame(&mut output, protocol::THUMBNAIL, &thumbnail)?;
        output.flush()?;
    }
}

fn run(
    bytes: &[u8],
    header: &Header,
    input: &mut impl Read,
    output: &mut impl Write,
) -> Result<Extraction, ExtractError> {
    let mut observer = Reporter { input, output };
    // A panic is a bug in our Rust code, not corruption of the process: report it against the
    // document and carry on (the default hook has already printed it to stderr).
    catch_unwind(AssertUnwindSafe(|| {
        extract_observed(bytes, &header.name, &header.options, &mut observer)
    }))
    .unwrap_or_else(|_| Err(ExtractError::Crashed("internal error".to_owned())))
}

/// Tells the parent about each page, and waits for its word after each OCR'd page.
struct Reporter<'a, R: Read, W: Write> {
    input: &'a mut R,
    output: &'a mut W,
}

impl<R: Read, W: Write> Reporter<'_, R, W> {
    /// A frame that cannot be written means the parent is gone; the result write that follows
    /// will notice, so the error is not worth a second path here.
    fn send(&mut self, kind: u8, value: &impl serde::Serialize) {
        if let Ok(json) = serde_json::to_vec(value) {
            let _ = protocol::write_frame(self.output, kind, &json);
            let _ = self.output.flush();
        }
    }
}

impl<R: Read, W: Write> Observer for Reporter<'_, R, W> {
    fn read_elsewhere(&mut self, images: Vec<PageImage>) -> Result<Vec<String>, ExtractError> {
        let gone = |e: io::Error| ExtractError::Unavailable(format!("the parent is gone: {e}"));
        for image in images {
            let mut payload = Vec::with_capacity(4 + image.png.len());
            payload.extend_from_slice(&image.index.to_le_bytes());
            payload.extend_from_slice(&image.png);
            protocol::write_frame(self.output, protocol::IMAGE, &payload).map_err(gone)?;
        }
        protocol::write_frame(self.output, protocol::IMAGES_END, &[]).map_err(gone)?;
        self.output.flush().map_err(gone)?;
        let answer = protocol::read_frame(self.input, protocol::TEXTS)
            .map_err(gone)?
            .ok_or_else(|| gone(io::ErrorKind::UnexpectedEof.into()))?;
        let texts: Option<Vec<String>> = serde_json::from_slice(&answer)
            .map_err(|e| ExtractError::Unavailable(format!("a garbled answer: {e}")))?;
        // `null`: the parent keeps the reason (an outage, a pause) and wants us to stop.
        texts.ok_or(ExtractError::Stopped)
    }

    fn progress(&mut self, progress: Progress) {
        self.send(protocol::PROGRESS, &progress);
    }

    fn ocr_starting(&mut self, index: u32) {
        self.send(protocol::OCR_STARTING, &protocol::PageIndex { index });
    }

    fn ocr_finished(&mut self, index: u32, text: &str) -> bool {
        let page = protocol::PageText {
            index,
            text: text.to_owned(),
        };
        self.send(protocol::OCR_DONE, &page);
        // No answer (the parent went away) stops the document: nobody waits for it.
        matches!(
            protocol::read_frame(self.input, protocol::ACK),
            Ok(Some(answer)) if answer.first() == Some(&1)
        )
    }
}

/// Tesseract parallelises with OpenMP, which reads `OMP_THREAD_LIMIT` once, when the library
/// loads, before `main`. A pool of single-threaded children beats children that each fight
/// for every core, so if the variable is missing the process re-executes itself with it set.
fn limit_openmp() {
    const VAR: &str = "OMP_THREAD_LIMIT";
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    use std::os::unix::process::CommandExt;
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(VAR, "1")
        .exec();
    // Only reached if exec failed; extraction still works, just with more threads.
    eprintln!("could not re-execute with {VAR}=1: {err}");
}
