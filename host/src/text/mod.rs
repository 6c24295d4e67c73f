//! Small text helpers several layers need and none owns: a stream cut
//! into lines, environment-variable names, random names.

mod identifier;
mod lines;
mod random;

pub use identifier::is_identifier;
pub use lines::{LineSplitter, MAX_LINE};
pub use random::random_hex;
