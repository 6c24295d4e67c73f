//! The terminal under the live display: frames that replace each other,
//! its width, and pausing the display while a prompt has the terminal.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Rows of the board now on the screen. There is one terminal, so one
/// count for the process: a prompt that pauses the display erases them.
static DRAWN: Mutex<usize> = Mutex::new(0);
/// Set while something else (a passphrase prompt) has the terminal.
static PAUSED: AtomicBool = AtomicBool::new(false);

/// Draws frames so that each replaces the last.
pub(super) struct Screen;

impl Screen {
    /// Replaces the board: erases it, writes `above` (which stays), then
    /// draws `board` under it, in one `write` so that a frame never tears.
    /// While paused, only `above` is written.
    pub fn draw(&mut self, above: &[String], board: &[String], write: impl FnOnce(&str)) {
        let mut drawn = DRAWN.lock().unwrap_or_else(|p| p.into_inner());
        let board = if PAUSED.load(Ordering::SeqCst) {
            &[]
        } else {
            board
        };
        if *drawn == 0 && above.is_empty() && board.is_empty() {
            return;
        }
        let mut out = erase(*drawn);
        for line in above.iter().chain(board) {
            out.push_str(line);
            out.push('\n');
        }
        *drawn = board.len();
        write(&out);
    }
}

fn erase(rows: usize) -> String {
    if rows > 0 {
        format!("\r\x1b[{rows}A\r\x1b[J")
    } else {
        "\r\x1b[J".to_owned()
    }
}

/// Keeps the live display off the terminal until dropped: for prompts.
pub struct LivePause(());

/// Erases the live display (if one is drawn) and holds it off until the
/// returned guard is dropped.
pub fn pause_live_display() -> LivePause {
    let mut drawn = DRAWN.lock().unwrap_or_else(|p| p.into_inner());
    PAUSED.store(true, Ordering::SeqCst);
    if *drawn > 0 {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(erase(*drawn).as_bytes());
        let _ = err.flush();
        *drawn = 0;
    }
    LivePause(())
}

impl Drop for LivePause {
    fn drop(&mut self) {
        PAUSED.store(false, Ordering::SeqCst);
    }
}

/// The terminal's width in columns (80 if it cannot be told).
pub(super) fn terminal_width() -> usize {
    // SAFETY: TIOCGWINSZ writes a winsize into the struct it is given and
    // nothing else; on failure the zeroed struct is left as it was.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 {
        usize::from(size.ws_col)
    } else {
        80
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_replace_each_other_and_a_pause_keeps_the_board_off() {
        let mut screen = Screen;
        let mut written = Vec::new();
        screen.draw(&[], &["one".into(), "two".into()], |t| {
            written.push(t.to_owned())
        });
        screen.draw(&["done".into()], &[], |t| written.push(t.to_owned()));
        // Nothing drawn and nothing to draw: nothing written.
        screen.draw(&[], &[], |t| written.push(t.to_owned()));
        assert_eq!(written, ["\r\x1b[Jone\ntwo\n", "\r\x1b[2A\r\x1b[Jdone\n"]);

        // While a prompt has the terminal, finished lines still scroll up
        // but the board stays off; afterwards it is drawn below the prompt.
        written.clear();
        let pause = pause_live_display();
        screen.draw(&["built".into()], &["spin".into()], |t| {
            written.push(t.to_owned())
        });
        screen.draw(&[], &["spin".into()], |t| written.push(t.to_owned()));
        drop(pause);
        screen.draw(&[], &["spin".into()], |t| written.push(t.to_owned()));
        assert_eq!(written, ["\r\x1b[Jbuilt\n", "\r\x1b[Jspin\n"]);
    }
}
