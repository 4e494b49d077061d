//! A SHA-256 whose state can be written down between requests and picked up by any process.
//!
//! A resumable upload arrives in many `PATCH` requests, possibly on different processes and
//! across restarts, and its hash must come out of the bytes as they pass (no second read).
//! `sha2` 0.10's hasher cannot be serialised, so this keeps what it keeps itself — the eight
//! state words, the length, and the bytes of a block not yet full — and runs `sha2`'s own
//! compression function (`compress256`) over full blocks; only the final padding is ours.

use sha2::compress256;
use sha2::digest::generic_array::GenericArray;
use sha2::digest::typenum::U64;

use crate::BlobError;

const BLOCK: usize = 64;
/// Blocks compressed per call: copying into an aligned batch costs far less than the hashing.
const BATCH: usize = 1024;

const INITIAL: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// SHA-256 in progress, storable as text with [`ResumableSha256::to_state`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumableSha256 {
    state: [u32; 8],
    /// Bytes hashed so far, the tail included.
    length: u64,
    /// The start of a block not yet full (fewer than 64 bytes).
    tail: Vec<u8>,
    batch: Vec<GenericArray<u8, U64>>,
}

impl Default for ResumableSha256 {
    fn default() -> Self {
        ResumableSha256::new()
    }
}

impl ResumableSha256 {
    pub fn new() -> ResumableSha256 {
        ResumableSha256 {
            state: INITIAL,
            length: 0,
            tail: Vec::with_capacity(BLOCK),
            batch: Vec::new(),
        }
    }

    /// Bytes hashed so far.
    pub fn length(&self) -> u64 {
        self.length
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.length += data.len() as u64;
        if !self.tail.is_empty() {
            let take = (BLOCK - self.tail.len()).min(data.len());
            self.tail.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.tail.len() < BLOCK {
                return;
            }
            let block = GenericArray::clone_from_slice(&self.tail);
            compress256(&mut self.state, std::slice::from_ref(&block));
            self.tail.clear();
        }
        let mut blocks = data.chunks_exact(BLOCK);
        for block in &mut blocks {
            self.batch.push(GenericArray::clone_from_slice(block));
            if self.batch.len() == BATCH {
                compress256(&mut self.state, &self.batch);
                self.batch.clear();
            }
        }
        if !self.batch.is_empty() {
            compress256(&mut self.state, &self.batch);
            self.batch.clear();
        }
        self.tail.extend_from_slice(blocks.remainder());
    }

    /// The digest of everything hashed so far, in lowercase hex (the hasher is unchanged).
    pub fn finalize_hex(&self) -> String {
        let mut state = self.state;
        let mut last = self.tail.clone();
        last.push(0x80);
        while last.len() % BLOCK != BLOCK - 8 {
            last.push(0);
        }
        last.extend_from_slice(&(self.length.wrapping_mul(8)).to_be_bytes());
        let blocks: Vec<GenericArray<u8, U64>> = last
            .chunks_exact(BLOCK)
            .map(GenericArray::clone_from_slice)
            .collect();
        compress256(&mut state, &blocks);
        state.iter().map(|w| format!("{w:08x}")).collect()
    }

    /// The state as text: `v1:` the state words in hex, `:` the length, `:` the tail in hex.
    pub fn to_state(&self) -> String {
        let words: String = self.state.iter().map(|w| format!("{w:08x}")).collect();
        format!("v1:{words}:{}:{}", self.length, hex::encode(&self.tail))
    }

    /// Reads [`ResumableSha256::to_state`]'s text back.
    pub fn from_state(text: &str) -> Result<ResumableSha256, BlobError> {
        let bad = || BlobError::Config(format!("unreadable hash state `{text}`"));
        let mut parts = text.split(':');
        if parts.next() != Some("v1") {
            return Err(bad());
        }
        let words = parts.next().filter(|w| w.len() == 64).ok_or_else(bad)?;
        let length: u64 = parts.next().and_then(|l| l.parse().ok()).ok_or_else(bad)?;
        let tail = parts
            .next()
            .and_then(|t| hex::decode(t).ok())
            .ok_or_else(bad)?;
        if parts.next().is_some() || tail.len() >= BLOCK || length % 64 != tail.len() as u64 {
            return Err(bad());
        }
        let mut state = [0u32; 8];
        for (i, word) in state.iter_mut().enumerate() {
            *word = u32::from_str_radix(&words[i * 8..i * 8 + 8], 16).map_err(|_| bad())?;
        }
        let mut hasher = ResumableSha256::new();
        hasher.state = state;
        hasher.length = length;
        hasher.tail = tail;
        Ok(hasher)
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::ResumableSha256;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 + i / 7) as u8).collect()
    }

    #[test]
    fn matches_sha2_whatever_the_split_and_across_a_stored_state() {
        for n in [
            0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 70_000, 200_003,
        ] {
            let bytes = data(n);
            let expected = hex::encode(Sha256::digest(&bytes));
            for split in [0, 1, 63, 64, 65, n / 2, n.saturating_sub(1), n] {
                let split = split.min(n);
                let mut first = ResumableSha256::new();
                first.update(&bytes[..split]);
                let mut resumed = ResumableSha256::from_state(&first.to_state()).unwrap();
                resumed.update(&bytes[split..]);
                assert_eq!(resumed.finalize_hex(), expected, "n={n} split={split}");
                assert_eq!(resumed.length(), n as u64);
            }
        }
    }

    #[test]
    fn unreadable_states_are_refused() {
        for bad in [
            "",
            "v2:00:0:",
            "v1:zz:0:",
            &format!("v1:{}:3:00", "0".repeat(64)),
            &format!("v1:{}:1:{}", "0".repeat(64), "00".repeat(64)),
            &format!("v1:{}:0::", "0".repeat(64)),
        ] {
            assert!(ResumableSha256::from_state(bad).is_err(), "{bad}");
        }
    }
}
