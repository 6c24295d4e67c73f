//! SSH to the build node.
