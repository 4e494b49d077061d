//! Text → sparse feature vector for the `auto` model: words, hashed.

/// At most this many words of a document are looked at, so a huge text costs bounded work.
pub const MAX_TOKENS: usize = 20_000;
const MIN_TOKEN_CHARS: usize = 2;
const MAX_TOKEN_CHARS: usize = 40;

/// FNV-1a, 32-bit: stable across processes, platforms and Rust versions (the ids are stored in
/// the model), unlike `std`'s hasher.
fn fnv1a(bytes: &[u8], seed: u32) -> u32 {
    let mut hash = 0x811c_9dc5u32 ^ seed;
    for &b in bytes {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// Lowercased words: runs of letters, digits and `_`, 2 to 40 characters, at most
/// [`MAX_TOKENS`] of them.
pub(crate) fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| {
            let n = w.chars().count();
            (MIN_TOKEN_CHARS..=MAX_TOKEN_CHARS).contains(&n)
        })
        .take(MAX_TOKENS)
        .map(str::to_lowercase)
}

/// Hashed feature ids with their counts, sorted by id: every word, and every pair of adjacent
/// words when `bigrams` is set.
pub(crate) fn term_counts(text: &str, bigrams: bool) -> Vec<(u32, u32)> {
    let mut ids = Vec::new();
    let mut previous: Option<u32> = None;
    for token in tokens(text) {
        let id = fnv1a(token.as_bytes(), 0);
        ids.push(id);
        if bigrams {
            if let Some(prev) = previous {
                ids.push(fnv1a(&id.to_le_bytes(), prev));
            }
            previous = Some(id);
        }
    }
    ids.sort_unstable();
    let mut counts: Vec<(u32, u32)> = Vec::new();
    for id in ids {
        match counts.last_mut() {
            Some((last, n)) if *last == id => *n += 1,
            _ => counts.push((id, 1)),
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_lowercased_words() {
        let t: Vec<String> = tokens("The open() call, O_RDONLY; a 42 x").collect();
        assert_eq!(t, ["the", "open", "call", "o_rdonly", "42"]);
    }

    #[test]
    fn counts_are_merged_and_sorted() {
        let c = term_counts("word word other", false);
        assert_eq!(c.len(), 2);
        assert!(c.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(c.iter().map(|&(_, n)| n).sum::<u32>(), 3);
    }

    #[test]
    fn hashing_is_stable() {
        // Stored models depend on these ids never changing.
        assert_eq!(fnv1a(b"", 0), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a", 0), 0xe40c_292c);
    }
}
