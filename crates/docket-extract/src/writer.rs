use crate::ExtractError;

/// Accumulates extracted text with the layout rules the structured formats share, so HTML,
/// Markdown and DOCX produce text that looks alike: runs of whitespace collapse, block breaks
/// never stack beyond what was asked for, and nothing is emitted before the first content.
///
/// The character cap is enforced while writing rather than afterwards so a document that
/// expands enormously cannot make us hold all of its text in memory first.
pub(crate) struct TextWriter {
    out: String,
    chars: usize,
    max_chars: usize,
    pending_newlines: usize,
    pending_tabs: usize,
    /// Inside a table cell with nothing written yet: blocks opening there (a <p> in a <td>)
    /// must not push the cell onto a line of its own.
    cell_start: bool,
    pending_space: bool,
    overflowed: bool,
}

impl TextWriter {
    pub(crate) fn new(max_chars: usize) -> Self {
        Self {
            out: String::new(),
            chars: 0,
            max_chars,
            pending_newlines: 0,
            pending_tabs: 0,
            cell_start: false,
            pending_space: false,
            overflowed: false,
        }
    }

    /// Text whose whitespace is layout, not content (HTML text, Markdown prose).
    pub(crate) fn text(&mut self, s: &str) {
        for ch in s.chars() {
            if ch.is_whitespace() {
                self.pending_space = true;
            } else {
                self.flush_pending();
                self.push(ch);
            }
        }
    }

    /// Text whose whitespace is content (`<pre>`, code blocks, DOCX runs).
    pub(crate) fn verbatim(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        self.flush_pending();
        let mut chars = s.chars().peekable();
        while let Some(ch) = chars.next() {
            if ch == '\r' {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                self.push('\n');
            } else {
                self.push(ch);
            }
        }
    }

    pub(crate) fn space(&mut self) {
        self.pending_space = true;
    }

    /// Asks for at least `newlines` line breaks before whatever comes next: 1 separates lines,
    /// 2 separates paragraphs.
    pub(crate) fn block(&mut self, newlines: usize) {
        if !self.cell_start {
            self.pending_newlines = self.pending_newlines.max(newlines);
        }
    }

    /// Starts a table cell other than the first in its row: cells are tab-separated so a row
    /// stays one line. Empty cells still count, so columns stay aligned.
    pub(crate) fn cell(&mut self) {
        self.pending_newlines = 0;
        self.pending_tabs += 1;
        self.cell_start = true;
    }

    /// Starts the first cell of a table row, which begins a line.
    pub(crate) fn first_cell(&mut self) {
        self.block(1);
        self.cell_start = true;
    }

    pub(crate) fn end_row(&mut self) {
        // Tabs for empty cells at the end of a row carry no information.
        self.pending_tabs = 0;
        self.cell_start = false;
        self.block(1);
    }

    /// An explicit line break (`<br>`, `<w:br/>`): unlike [`Self::block`], repeated ones add up.
    pub(crate) fn newline(&mut self) {
        if self.out.is_empty() {
            return;
        }
        self.flush_pending();
        self.trim_trailing_spaces();
        self.push('\n');
    }

    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }

    /// The text written since byte offset `start`, as returned by [`Self::len`] earlier.
    pub(crate) fn since(&self, start: usize) -> &str {
        self.out.get(start..).unwrap_or("")
    }

    pub(crate) fn finish(mut self) -> Result<String, ExtractError> {
        if self.overflowed {
            return Err(too_many_chars(self.max_chars));
        }
        let kept = self.out.trim_end().len();
        self.out.truncate(kept);
        Ok(self.out)
    }

    fn flush_pending(&mut self) {
        self.cell_start = false;
        if self.out.is_empty() {
            self.pending_newlines = 0;
            self.pending_tabs = 0;
            self.pending_space = false;
            return;
        }
        if self.pending_tabs > 0 {
            self.trim_trailing_spaces();
            for _ in 0..self.pending_tabs {
                self.push('\t');
            }
        } else if self.pending_newlines > 0 {
            self.trim_trailing_spaces();
            let already = self.out.chars().rev().take_while(|&c| c == '\n').count();
            for _ in already..self.pending_newlines {
                self.push('\n');
            }
        } else if self.pending_space && !self.out.ends_with(char::is_whitespace) {
            self.push(' ');
        }
        self.pending_newlines = 0;
        self.pending_tabs = 0;
        self.pending_space = false;
    }

    fn trim_trailing_spaces(&mut self) {
        let kept = self.out.trim_end_matches(' ').len();
        self.out.truncate(kept);
    }

    fn push(&mut self, ch: char) {
        // NUL is never text, and PostgreSQL refuses it in a text column.
        if self.overflowed || ch == '\0' {
            return;
        }
        if self.chars >= self.max_chars {
            self.overflowed = true;
            return;
        }
        self.chars += 1;
        self.out.push(ch);
    }
}

pub(crate) fn too_many_chars(max_chars: usize) -> ExtractError {
    ExtractError::TooLarge(format!(
        "the extracted text is longer than the limit of {max_chars} characters"
    ))
}

#[cfg(test)]
mod tests {
    use super::TextWriter;

    fn written(f: impl FnOnce(&mut TextWriter)) -> String {
        let mut w = TextWriter::new(1000);
        f(&mut w);
        w.finish().unwrap_or_default()
    }

    #[test]
    fn collapses_whitespace_and_blocks() {
        let s = written(|w| {
            w.block(2);
            w.text("  hello \n  world ");
            w.block(1);
            w.block(2);
            w.text("next");
            w.block(1);
        });
        assert_eq!(s, "hello world\n\nnext");
    }

    #[test]
    fn newlines_add_up_and_verbatim_keeps_spaces() {
        let s = written(|w| {
            w.text("a");
            w.newline();
            w.newline();
            w.verbatim("  b\r\nc");
        });
        assert_eq!(s, "a\n\n  b\nc");
    }

    #[test]
    fn cells_are_tab_separated_even_when_empty() {
        let s = written(|w| {
            w.first_cell();
            w.block(2);
            w.text("a");
            w.block(2);
            w.cell();
            w.block(2);
            w.cell();
            w.text("c");
            w.cell();
            w.end_row();
            w.text("next");
        });
        assert_eq!(s, "a\t\tc\nnext");
    }

    #[test]
    fn overflow_is_an_error_not_a_truncation() {
        let mut w = TextWriter::new(3);
        w.text("abcd");
        assert!(w.finish().is_err());
    }
}
