//! Text that reaches a terminal: control characters (ANSI escape sequences, NUL, C1 codes)
//! from file names, npz keys, manifests or tables are shown escaped, never interpreted.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `s` with every control character written as an escape (`\x1b`, `\u{9b}`); newlines and
/// tabs are kept when `keep_lines` is set (multi-line reports), escaped otherwise.
pub fn escape(s: &str, keep_lines: bool) -> Cow<'_, str> {
    let bad = |c: char| c.is_control() && !(keep_lines && (c == '\n' || c == '\t'));
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !bad(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// [`escape`] for one-line messages: every control character escaped, newlines included.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// The first control character of `s`, if any (names with one are refused when written).
pub(crate) fn first_control(s: &str) -> Option<char> {
    s.chars().find(|c| c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_sequences() {
        assert_eq!(escape_controls("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(escape_controls("nul\0 c1\u{9b}"), "nul\\x00 c1\\u{9b}");
        assert_eq!(escape("two\nlines\tok\x07", true), "two\nlines\tok\\x07");
        assert_eq!(escape_controls("two\nlines"), "two\\x0alines");
        assert!(matches!(escape_controls("plain é"), Cow::Borrowed(_)));
        assert_eq!(first_control("fc1"), None);
        assert_eq!(first_control("a\u{7f}"), Some('\u{7f}'));
    }
}
