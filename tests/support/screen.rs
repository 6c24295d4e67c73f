//! The screen a terminal would show after a byte stream: just enough of a
//! terminal (text, CR, LF, cursor up, erase below, colours ignored) to
//! check what a live display leaves behind.

pub fn final_screen(stream: &str) -> Vec<String> {
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = stream.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                row += 1;
                col = 0;
                if lines.len() <= row {
                    lines.push(Vec::new());
                }
            }
            '\x1b' => {
                if chars.peek() != Some(&'[') {
                    continue;
                }
                chars.next();
                let mut args = String::new();
                let mut command = ' ';
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        command = c;
                        break;
                    }
                    args.push(c);
                }
                match command {
                    'A' => row = row.saturating_sub(args.parse().unwrap_or(1)),
                    'J' => {
                        lines.truncate(row + 1);
                        lines[row].truncate(col);
                    }
                    _ => {}
                }
            }
            c => {
                let line = &mut lines[row];
                while line.len() < col {
                    line.push(' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    let mut text: Vec<String> = lines.into_iter().map(|l| l.into_iter().collect()).collect();
    while text.last().is_some_and(|l| l.trim().is_empty()) {
        text.pop();
    }
    text
}
