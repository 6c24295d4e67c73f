//! Every subcommand's entry point, one file each. Each takes the settings
//! `cli` made from its arguments and never sees clap.

pub mod build;
pub mod completions;
pub mod config_check;
pub mod connection;
pub mod exec;
pub mod init;
pub mod lock;
pub mod node;
pub mod plugin_build;
pub mod plugin_common;
pub mod plugin_info;
pub mod plugin_install;
pub mod plugin_list;
pub mod plugin_mirror;
pub mod plugin_new;
pub mod plugin_outdated;
pub mod plugin_push;
pub mod plugin_remove;
pub mod plugin_sign;
pub mod plugin_trust;
pub mod plugin_update;
pub mod trust;
