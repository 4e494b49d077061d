//! Splits an `any`/`all` pattern into its terms, as paperless-ngx does.

/// Splits `pattern` into terms: runs of non-whitespace, except that a double-quoted stretch
/// (`"with quotes"`) is one term. Inside a term, whitespace runs become one space; empty terms
/// are dropped. A lone quote with no closing partner is an ordinary character.
///
/// `  some random  words "with   quotes  " and` → `some`, `random`, `words`, `with quotes`, `and`.
pub(crate) fn split_terms(pattern: &str) -> Vec<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut terms = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let closing = if chars[i] == '"' {
            chars[i + 1..]
                .iter()
                .position(|&c| c == '"')
                .map(|offset| i + 1 + offset)
                .filter(|&end| end > i + 1)
        } else {
            None
        };
        let (raw, next): (String, usize) = match closing {
            Some(end) => (chars[i + 1..end].iter().collect(), end + 1),
            None => {
                let end = chars[i..]
                    .iter()
                    .position(|c| c.is_whitespace())
                    .map_or(chars.len(), |offset| i + offset);
                (chars[i..end].iter().collect(), end)
            }
        };
        let term = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if !term.is_empty() {
            terms.push(term);
        }
        i = next;
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::split_terms;

    #[test]
    fn splits_words_and_quoted_phrases() {
        assert_eq!(
            split_terms(r#"  some random  words "with   quotes  " and   spaces"#),
            ["some", "random", "words", "with quotes", "and", "spaces"]
        );
    }

    #[test]
    fn lone_quote_is_an_ordinary_character() {
        assert_eq!(split_terms(r#"ab"cd ef"#), [r#"ab"cd"#, "ef"]);
        assert_eq!(split_terms(r#""open"#), [r#""open"#]);
    }

    #[test]
    fn empty_and_blank_phrases_are_dropped() {
        assert!(split_terms("   ").is_empty());
        assert_eq!(split_terms(r#""   " x"#), ["x"]);
    }
}
