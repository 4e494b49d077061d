//! html5ever follows the WHATWG algorithm, whose scope checks walk the stack of open elements
//! (and the list of active formatting elements) for every tag. Deliberately deep nesting makes
//! that quadratic: 50,000 unclosed `<b>` tags take close to a minute. Browsers cap the depth
//! inside their parser; html5ever cannot be told to, so we estimate the work with a crude
//! tokenizer before parsing and refuse documents over budget.

use crate::ExtractError;

/// Sum over all start tags of the nesting depth at which they open. Calibrated so that the
/// worst case accepted parses in about a second, while a multi-megabyte real page scores
/// well under a tenth of it.
const MAX_PARSE_WORK: u64 = 50_000_000;

/// Elements that are void, or closed implicitly by their next sibling in real-world HTML, so
/// they do not deepen the tree however often they are left unclosed.
const FLAT: &[&[u8]] = &[
    b"area",
    b"base",
    b"br",
    b"col",
    b"embed",
    b"hr",
    b"img",
    b"input",
    b"link",
    b"meta",
    b"param",
    b"source",
    b"track",
    b"wbr",
    b"p",
    b"li",
    b"dt",
    b"dd",
    b"tr",
    b"td",
    b"th",
    b"option",
    b"optgroup",
    b"thead",
    b"tbody",
    b"tfoot",
    b"colgroup",
    b"rb",
    b"rt",
    b"rp",
    b"!doctype",
];

/// Elements whose content is raw text up to their end tag, where `<` means nothing.
const RAW_TEXT: &[&[u8]] = &[
    b"script",
    b"style",
    b"textarea",
    b"title",
    b"xmp",
    b"noembed",
    b"noframes",
];

pub(crate) fn check(html: &str) -> Result<(), ExtractError> {
    let lower = html.as_bytes().to_ascii_lowercase();
    let mut depth = 0u64;
    let mut max_depth = 0u64;
    let mut work = 0u64;
    let mut i = 0usize;
    while let Some(lt) = find(&lower, i, b"<") {
        let rest = lower.get(lt + 1..).unwrap_or_default();
        if rest.starts_with(b"!--") {
            i = find(&lower, lt + 4, b"-->").map_or(lower.len(), |end| end + 3);
            continue;
        }
        let (closing, name_at) = match rest.first() {
            Some(b'/') => (true, lt + 2),
            _ => (false, lt + 1),
        };
        let name = tag_name(&lower, name_at);
        i = name_at + name.len().max(1);
        if name.is_empty() {
            continue;
        }
        let flat = FLAT.contains(&name);
        if closing {
            if !flat {
                depth = depth.saturating_sub(1);
            }
            continue;
        }
        let tag_end = find(&lower, i, b">").unwrap_or(lower.len());
        let self_closing = tag_end > 0 && lower.get(tag_end - 1) == Some(&b'/');
        work = work.saturating_add(depth);
        if !flat && !self_closing {
            depth += 1;
            max_depth = max_depth.max(depth);
        }
        if work > MAX_PARSE_WORK {
            return Err(ExtractError::TooLarge(format!(
                "HTML nests elements too deeply to parse safely (at least {max_depth} levels)"
            )));
        }
        i = tag_end;
        if RAW_TEXT.contains(&name) {
            let mut end_tag = b"</".to_vec();
            end_tag.extend_from_slice(name);
            i = find(&lower, i, &end_tag).unwrap_or(lower.len());
        }
    }
    Ok(())
}

fn tag_name(bytes: &[u8], at: usize) -> &[u8] {
    let rest = bytes.get(at..).unwrap_or_default();
    match rest.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'!' => {
            let len = rest
                .iter()
                .skip(1)
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b':' | b'_'))
                .count();
            rest.get(..len + 1).unwrap_or_default()
        }
        _ => &[],
    }
}

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let rest = haystack.get(from..)?;
    if needle.len() == 1 {
        return rest
            .iter()
            .position(|b| Some(b) == needle.first())
            .map(|p| p + from);
    }
    rest.windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn ordinary_markup_passes() {
        let page = "<html><body>".to_owned()
            + &"<div><p>para<p>para<ul><li>a<li>b</ul><br><img src=x></div>".repeat(20_000)
            + "<script>if (a < b) { '<div>'.repeat(9) }</script></body></html>";
        assert!(check(&page).is_ok());
    }

    #[test]
    fn deep_nesting_is_refused() {
        assert!(check(&"<div>".repeat(20_000)).is_err());
        let formatting: String = (0..20_000).map(|i| format!("<b id={i}>")).collect();
        assert!(check(&formatting).is_err());
    }

    #[test]
    fn unmatched_tags_do_not_panic() {
        for s in [
            "<",
            "</",
            "<!--",
            "<a",
            "</div></div>",
            "<script>",
            "<x/",
            "<!",
        ] {
            let _ = check(s);
        }
    }
}
