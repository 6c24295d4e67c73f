//! The offending line of a config file under an error, with a caret under
//! the spot, as compilers show it:
//!
//! ```text
//!    |
//! 12 | servics = ["api"]
//!    | ^^^^^^^
//! ```

use super::section::Location;

/// The snippet for `location`, read from its file; `None` when the file or
/// the line cannot be read (the error still names file:line:column).
pub fn snippet(location: &Location) -> Option<String> {
    let text = crate::local_file::read_local_text(&location.file, crate::local_file::MAX_TEXT_FILE)
        .ok()?;
    render(&text, location.line, location.column)
}

pub(super) fn render(text: &str, line: usize, column: usize) -> Option<String> {
    let source = text.lines().nth(line.checked_sub(1)?)?;
    if source.trim().is_empty() {
        return None;
    }
    let number = line.to_string();
    let gutter = " ".repeat(number.len());
    let before: String = source
        .chars()
        .take(column.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let marked = source
        .chars()
        .skip(column.saturating_sub(1))
        .take_while(|c| !c.is_whitespace() && !"=,]".contains(*c))
        .count()
        .max(1);
    Some(format!(
        "{gutter} |\n{number} | {source}\n{gutter} | {before}{}",
        "^".repeat(marked)
    ))
}

/// The known word most similar to `word`, if any is close enough to be a
/// plausible typo.
pub fn closest<'k>(word: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(word, k), *k))
        .filter(|(score, _)| *score >= 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_the_word_at_the_column() {
        let text = "[build]\n  servics = [\"api\"]\n";
        assert_eq!(
            render(text, 2, 3).unwrap(),
            "  |\n2 |   servics = [\"api\"]\n  |   ^^^^^^^"
        );
    }

    #[test]
    fn a_value_is_marked_up_to_its_end() {
        let text = "x = 1\n".repeat(9) + "target = \"nowhere\"\n";
        assert_eq!(
            render(&text, 10, 10).unwrap(),
            "   |\n10 | target = \"nowhere\"\n   |          ^^^^^^^^^"
        );
    }

    #[test]
    fn no_snippet_past_the_end_or_on_a_blank_line() {
        assert_eq!(render("a = 1\n\n", 2, 1), None);
        assert_eq!(render("a = 1\n", 5, 1), None);
        assert_eq!(render("a = 1\n", 0, 1), None);
    }

    #[test]
    fn closest_finds_typos_only() {
        assert_eq!(
            closest("servics", &["services", "prefix"]),
            Some("services")
        );
        assert_eq!(closest("zzz", &["services", "prefix"]), None);
    }
}
