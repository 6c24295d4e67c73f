//! Small text helpers several layers need and none owns.

mod random;

pub use random::random_hex;
