//! End-to-end tests against real sshd, dockerd, registry, git and rsync on
//! 127.0.0.1.

#[path = "../support/mod.rs"]
mod support;

// The builder of hostile plugins belongs to the plugin runtime tests, which
// use all of it (and would report what is dead); these tests use a part.
#[allow(dead_code)]
#[path = "../plugins/hostile.rs"]
mod hostile_plugin;

mod artifacts;
mod bench_proxy;
mod build_failures;
mod build_lock;
mod build_refs;
mod build_security;
mod build_spec;
mod build_token;
mod buildah;
mod config;
mod config_check;
mod critical_path;
mod dropped;
mod exec;
mod exec_tty;
mod faults;
mod hooks;
mod hostile;
mod hostile_output;
mod images;
mod infra;
mod keeper;
mod keeper_agent;
mod keeper_faults;
mod node_isolation;
mod node_prune;
mod output;
mod plugin_api_versions;
mod plugin_author;
mod plugin_deadline;
mod plugin_examples;
mod plugin_install;
mod plugin_mirror;
mod plugin_new_user;
mod plugin_pins;
mod plugin_project;
mod plugin_registry;
mod plugin_signing;
mod plugin_signing_oci;
mod plugin_versions;
mod plugin_versions_built;
mod push;
mod registry_faults;
mod resolve;
mod scaffold_builder;
mod secret_scope;
mod snapshots;
mod ssh_agent;
mod ssh_config_diff;
mod ssh_known_hosts;
mod ssh_user_cert;
mod trust;
