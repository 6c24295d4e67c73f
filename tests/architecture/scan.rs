//! Reading Rust sources for the architecture test: which modules a file
//! reaches through `crate::`, `super::` and `self::` paths (in `use`
//! declarations, grouped or not, and in expressions and types), and how
//! long its functions are.
//!
//! This is a tokenizer, not a parser: comments and literals are skipped so
//! that prose and strings never count as dependencies, and every path is
//! resolved against the module the file (and any inline `mod NAME { .. }`
//! around it) defines.

use std::path::Path;

/// The module a file under a crate's `src` defines, as path segments:
/// `pipeline/steps.rs` is `[pipeline, steps]`, `plugin/mod.rs` is
/// `[plugin]`, `lib.rs` and `main.rs` are the crate root `[]`.
pub fn module_of(relative: &Path) -> Vec<String> {
    let mut segments: Vec<String> = relative
        .components()
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned()
        })
        .collect();
    if segments.last().is_some_and(|last| last == "mod")
        || (segments.len() == 1 && matches!(segments[0].as_str(), "lib" | "main"))
    {
        segments.pop();
    }
    segments
}

/// (1-based line, absolute module path) of every path in `text` that starts
/// at `crate`, `super` or `self`, for a file that defines module `module`.
/// A grouped import yields one entry per leaf: `use crate::{a::X, b::Y}`
/// reaches `[a, X]` and `[b, Y]`.
pub fn reached_paths(text: &str, module: &[String]) -> Vec<(usize, Vec<String>)> {
    let tokens = tokens(text);
    let mut found = Vec::new();
    // Inline modules open at a brace depth: `mod tests { .. }` makes
    // `super::` inside it mean the file's own module.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut index = 0;
    while index < tokens.len() {
        let (line, token) = &tokens[index];
        match token.as_str() {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, at)| *at == depth) {
                    inline.pop();
                }
            }
            "mod" if tokens.get(index + 2).is_some_and(|(_, t)| t == "{") => {
                inline.push((tokens[index + 1].1.clone(), depth));
            }
            "crate" | "super" | "self"
                if is_path_start(&tokens, index)
                    && tokens.get(index + 1).is_some_and(|(_, t)| t == "::") =>
            {
                let mut here: Vec<String> = module.to_vec();
                here.extend(inline.iter().map(|(name, _)| name.clone()));
                let mut leaves = Vec::new();
                let end = use_tree(&tokens, index, (*line, Vec::new()), &mut leaves);
                for (leaf_line, leaf) in leaves {
                    if let Some(path) = resolve(&here, &leaf) {
                        found.push((leaf_line, path));
                    }
                }
                index = end;
                continue;
            }
            _ => {}
        }
        index += 1;
    }
    found
}

/// `crate` after `::` is not this crate's root (`$crate` is: the macro's
/// crate is this one), nor is `self` as a method receiver.
fn is_path_start(tokens: &[(usize, String)], index: usize) -> bool {
    index == 0 || tokens[index - 1].1 != "::"
}

/// Reads the path (or use tree) that starts at `index` with the segments
/// in `prefix` already read, pushing one path per leaf into `leaves`, with
/// the line of its last segment. Returns the index of the first token
/// after it.
fn use_tree(
    tokens: &[(usize, String)],
    mut index: usize,
    (mut line, mut prefix): (usize, Vec<String>),
    leaves: &mut Vec<(usize, Vec<String>)>,
) -> usize {
    loop {
        let Some((token_line, token)) = tokens.get(index) else {
            leaves.push((line, prefix));
            return index;
        };
        if token == "{" {
            index += 1;
            while tokens.get(index).is_some_and(|(_, t)| t != "}") {
                match tokens[index].1.as_str() {
                    "," => index += 1,
                    // `X as Y` names no other path.
                    "as" => index += 2,
                    _ => index = use_tree(tokens, index, (line, prefix.clone()), leaves),
                }
            }
            return index + 1;
        }
        if !is_segment(token) {
            leaves.push((line, prefix));
            return index;
        }
        line = *token_line;
        prefix.push(token.clone());
        index += 1;
        if tokens.get(index).is_some_and(|(_, t)| t == "::") {
            index += 1;
        } else {
            leaves.push((line, prefix));
            return index;
        }
    }
}

fn is_segment(token: &str) -> bool {
    token == "*"
        || token
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// The absolute module path `path` (starting at `crate`, `super` or `self`)
/// names from module `here`; `None` when `super` climbs above the root.
fn resolve(here: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut absolute: Vec<String> = here.to_vec();
    let mut segments = path.iter().peekable();
    match segments.peek().map(|s| s.as_str()) {
        Some("crate") => {
            absolute.clear();
            segments.next();
        }
        Some("self") => {
            segments.next();
        }
        _ => {}
    }
    while segments.peek().is_some_and(|s| *s == "super") {
        absolute.pop()?;
        segments.next();
    }
    absolute.extend(segments.filter(|s| *s != "self").cloned());
    Some(absolute)
}

/// The tokens of `text` with their 1-based lines: identifiers (with
/// `$crate` as `crate`), `::` and single punctuation characters. Comments,
/// string, byte and char literals and lifetimes are dropped.
fn tokens(text: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        let start_line = line;
        let next = chars.get(at + 1).copied();
        if c == '\n' {
            line += 1;
            at += 1;
        } else if c.is_whitespace() {
            at += 1;
        } else if c == '/' && next == Some('/') {
            while at < chars.len() && chars[at] != '\n' {
                at += 1;
            }
        } else if c == '/' && next == Some('*') {
            at = skip_block_comment(&chars, at, &mut line);
        } else if let Some(end) = raw_string_end(&chars, at, &mut line) {
            at = end;
        } else if c == '"' || (c == 'b' && next == Some('"')) {
            at = skip_string(&chars, at + usize::from(c == 'b'), &mut line);
        } else if c == '\'' || (c == 'b' && next == Some('\'')) {
            at = skip_char_or_lifetime(&chars, at + usize::from(c == 'b'));
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let begin = at;
            at += 1;
            while at < chars.len() && (chars[at].is_alphanumeric() || chars[at] == '_') {
                at += 1;
            }
            let word: String = chars[begin..at].iter().collect();
            out.push((start_line, word.trim_start_matches('$').to_owned()));
        } else if c == ':' && next == Some(':') {
            out.push((start_line, "::".to_owned()));
            at += 2;
        } else {
            out.push((start_line, c.to_string()));
            at += 1;
        }
    }
    out
}

/// Block comments nest in Rust.
fn skip_block_comment(chars: &[char], mut at: usize, line: &mut usize) -> usize {
    let mut depth = 0;
    while at < chars.len() {
        match (chars[at], chars.get(at + 1).copied()) {
            ('/', Some('*')) => {
                depth += 1;
                at += 2;
            }
            ('*', Some('/')) => {
                depth -= 1;
                at += 2;
                if depth == 0 {
                    return at;
                }
            }
            (c, _) => {
                *line += usize::from(c == '\n');
                at += 1;
            }
        }
    }
    at
}

/// The end of a raw string (`r"..."`, `r#"..."#`, `br#"..."#`) starting at
/// `at`, or `None` when none starts there.
fn raw_string_end(chars: &[char], at: usize, line: &mut usize) -> Option<usize> {
    if at > 0 && (chars[at - 1].is_alphanumeric() || chars[at - 1] == '_') {
        return None; // inside an identifier such as `bar`
    }
    let mut index = at;
    if chars.get(index) == Some(&'b') {
        index += 1;
    }
    if chars.get(index) != Some(&'r') {
        return None;
    }
    index += 1;
    let hashes = chars[index..].iter().take_while(|c| **c == '#').count();
    index += hashes;
    if chars.get(index) != Some(&'"') {
        return None;
    }
    index += 1;
    while index < chars.len() {
        if chars[index] == '"'
            && chars[index + 1..]
                .iter()
                .take(hashes)
                .filter(|c| **c == '#')
                .count()
                == hashes
        {
            return Some(index + 1 + hashes);
        }
        *line += usize::from(chars[index] == '\n');
        index += 1;
    }
    Some(index)
}

/// From the opening `"` at `at` to after the closing one.
fn skip_string(chars: &[char], mut at: usize, line: &mut usize) -> usize {
    at += 1;
    while at < chars.len() {
        match chars[at] {
            '\\' => {
                *line += usize::from(chars.get(at + 1) == Some(&'\n'));
                at += 2;
            }
            '"' => return at + 1,
            c => {
                *line += usize::from(c == '\n');
                at += 1;
            }
        }
    }
    at
}

/// `'x'`, `'\n'`, `'\u{1F600}'` are char literals; `'a` (no closing quote
/// right after one character) is a lifetime or a label.
fn skip_char_or_lifetime(chars: &[char], at: usize) -> usize {
    if chars.get(at + 1) == Some(&'\\') {
        let mut index = at + 3;
        while index < chars.len() && chars[index] != '\'' {
            index += 1;
        }
        return index + 1;
    }
    if chars.get(at + 2) == Some(&'\'') {
        return at + 3;
    }
    at + 1
}

/// (first line, length, name) of each function in rustfmt-formatted code:
/// from its `fn` line to the closing brace at the same indentation.
pub fn functions(lines: &[&str]) -> Vec<(usize, usize, String)> {
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let indent = line.len() - code.len();
        let Some(after_fn) = after_fn_keyword(code) else {
            continue;
        };
        let name: String = after_fn
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if let Some(length) = body_length(&lines[start..], indent) {
            found.push((start, length, name));
        }
    }
    found
}

/// What follows `fn ` in a function's first line, past any visibility
/// (`pub`, `pub(crate)`, `pub(in path)`) and qualifiers (`const`, `async`,
/// `unsafe`, `extern "C"`).
fn after_fn_keyword(code: &str) -> Option<&str> {
    let mut rest = code;
    if let Some(after) = rest.strip_prefix("pub") {
        rest = match after.strip_prefix('(') {
            Some(scoped) => scoped.split_once(')')?.1,
            None => after,
        };
        rest = rest.strip_prefix(' ')?;
    }
    loop {
        if let Some(after) = rest.strip_prefix("fn ") {
            return Some(after);
        }
        let qualifier = ["const ", "async ", "unsafe ", "extern \"C\" ", "extern "]
            .iter()
            .find(|q| rest.starts_with(**q))?;
        rest = &rest[qualifier.len()..];
    }
}

/// Lines from a `fn` line to its closing brace; `None` for a declaration
/// without a body.
fn body_length(lines: &[&str], indent: usize) -> Option<usize> {
    let close = format!("{}}}", " ".repeat(indent));
    let mut opened = false;
    for (index, line) in lines.iter().enumerate() {
        let code = line.trim_end();
        if index == 0 && code.ends_with('}') {
            return Some(1);
        }
        if *line == close {
            return Some(index + 1);
        }
        opened |= code.ends_with('{');
        if !opened && code.ends_with(';') {
            return None;
        }
    }
    None
}
