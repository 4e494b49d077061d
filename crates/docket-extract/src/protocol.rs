//! The frames parent and extractor child exchange over the child's stdin and stdout.
//!
//! A frame is a kind byte, a little-endian `u32` length and that many payload bytes. Headers
//! are JSON; document and thumbnail bytes travel raw, since JSON would triple their size.
//!
//! parent → child: `Q` (JSON [`Header`]), then `B` (the document; empty when a path is given).
//! child → parent: any number of `P` (JSON [`Progress`](crate::Progress)), `O` (JSON
//! [`PageIndex`]: this page goes to the OCR engine now) and `D` (JSON [`PageText`]: this page
//! was OCR'd), then `R` (JSON `Result<Extracted, ExtractError>`), then `T` (the thumbnail
//! PNG; empty for none). After each `D` the child waits for the parent's `A` (one byte: 1 to
//! go on, 0 to stop before the next page), so the parent can save the page durably first.
//! When OCR happens elsewhere the child sends, instead of `O`/`D`, one `I` per page to read
//! (the page's 0-based index as a little-endian `u32`, then its PNG) and an empty `E`, and
//! waits for the parent's `X` (JSON `Option<Vec<String>>`: the texts in order, or `null` to
//! stop).

use std::io::{self, Read, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::Options;

pub(crate) const REQUEST: u8 = b'Q';
pub(crate) const BODY: u8 = b'B';
pub(crate) const PROGRESS: u8 = b'P';
pub(crate) const RESULT: u8 = b'R';
pub(crate) const THUMBNAIL: u8 = b'T';
pub(crate) const OCR_STARTING: u8 = b'O';
pub(crate) const OCR_DONE: u8 = b'D';
pub(crate) const ACK: u8 = b'A';
pub(crate) const IMAGE: u8 = b'I';
pub(crate) const IMAGES_END: u8 = b'E';
pub(crate) const TEXTS: u8 = b'X';

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PageIndex {
    pub(crate) index: u32,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PageText {
    pub(crate) index: u32,
    pub(crate) text: String,
}

/// Largest frame either side accepts. Documents and texts beyond this are refused by the
/// limits long before; this only stops a garbled length from allocating gigabytes.
pub(crate) const MAX_FRAME: u32 = u32::MAX / 2;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Header {
    pub(crate) name: String,
    pub(crate) options: Options,
    /// Read the document from here instead of from the `B` frame.
    pub(crate) path: Option<PathBuf>,
}

fn bad_frame(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

pub(crate) fn write_frame(w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&l| l <= MAX_FRAME)
        .ok_or_else(|| bad_frame(format!("frame of {} bytes is too large", payload.len())))?;
    w.write_all(&[kind])?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(payload)
}

/// The next frame, which must be of kind `expected`; `Ok(None)` on a clean end of input
/// before it starts.
pub(crate) fn read_frame(r: &mut impl Read, expected: u8) -> io::Result<Option<Vec<u8>>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head[..1]) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    r.read_exact(&mut head[1..])?;
    let payload = read_payload(head, expected)?;
    let mut buf = vec![0u8; payload];
    r.read_exact(&mut buf)?;
    Ok(Some(buf))
}

fn read_payload(head: [u8; 5], expected: u8) -> io::Result<usize> {
    let [kind, l0, l1, l2, l3] = head;
    if kind != expected {
        return Err(bad_frame(format!(
            "expected frame {:?}, got {:?}",
            expected as char, kind as char
        )));
    }
    let len = u32::from_le_bytes([l0, l1, l2, l3]);
    if len > MAX_FRAME {
        return Err(bad_frame(format!("frame of {len} bytes is too large")));
    }
    Ok(len as usize)
}

pub(crate) async fn write_frame_async(
    w: &mut (impl AsyncWrite + Unpin),
    kind: u8,
    payload: &[u8],
) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&l| l <= MAX_FRAME)
        .ok_or_else(|| bad_frame(format!("frame of {} bytes is too large", payload.len())))?;
    let mut head = [kind, 0, 0, 0, 0];
    head[1..].copy_from_slice(&len.to_le_bytes());
    w.write_all(&head).await?;
    w.write_all(payload).await
}

/// The next frame's kind and payload, whatever its kind.
pub(crate) async fn read_any_frame_async(
    r: &mut (impl AsyncRead + Unpin),
) -> io::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    r.read_exact(&mut head).await?;
    let len = read_payload(head, head[0])?;
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf).await?;
    Ok((head[0], buf))
}
