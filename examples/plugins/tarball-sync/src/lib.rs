//! `tarball-sync`: the build path becomes the contents of a release
//! tarball. The node downloads it (so the bytes never cross the user's
//! link), its sha256 is checked when given, and it is unpacked next to the
//! build path and swapped in, so a failed download or a bad archive leaves
//! the previous tree in place.
//!
//! ```toml
//! [build]
//! source = "tarball-sync"
//!
//! [build.tarball-sync]
//! url = "https://example.com/releases/app-1.4.2.tar.gz"
//! sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"  # optional
//! strip_components = 1                                                          # default 1
//!
//! [plugins.tarball-sync]
//! grant = ["remote-exec", "remote-files"]
//! ```
//!
//! The node needs `curl`, `tar` and `sha256sum`.

use ops_plugin_sdk::bindings::exports::ops::plugin::sync::{SyncOutcome, SyncRequest};
use ops_plugin_sdk::exec::{scratch_dir, Exec};
use ops_plugin_sdk::{
    config::from_config, Capability, Config, ConfigError, Description, Error, Plugin, SyncStrategy,
};
use serde::Deserialize;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub url: String,
    pub sha256: Option<String>,
    #[serde(default = "one")]
    pub strip_components: u32,
}

fn one() -> u32 {
    1
}

impl Section {
    /// Checks what serde cannot: the URL's scheme and the digest's shape.
    pub fn check(self) -> Result<Section, Vec<ConfigError>> {
        let error = |key: &str, message: String| {
            Err(vec![ConfigError {
                key: key.into(),
                message,
            }])
        };
        if !(self.url.starts_with("https://") || self.url.starts_with("http://")) {
            return error("url", format!("`{}` is not an http(s) URL", self.url));
        }
        if let Some(digest) = &self.sha256 {
            let hex = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
            if !hex {
                return error("sha256", format!("`{digest}` is not 64 hex digits"));
            }
        }
        if self.strip_components > 16 {
            return error("strip_components", "at most 16".into());
        }
        Ok(self)
    }
}

/// The programs one sync runs on the node, in order. `archive` is in the
/// run's scratch directory; `staging` is beside `path`.
pub fn commands(section: &Section, path: &str, archive: &str) -> Vec<Exec> {
    let staging = format!("{}.tarball-sync-new", path.trim_end_matches('/'));
    let previous = format!("{}.tarball-sync-old", path.trim_end_matches('/'));
    let mut steps = vec![Exec::remote("curl")
        .args(["--fail", "--silent", "--show-error", "--location"])
        .args([
            "--proto",
            "=https,http",
            "--max-time",
            "600",
            "--output",
            archive,
        ])
        .arg("--")
        .arg(section.url.as_str())];
    if let Some(digest) = &section.sha256 {
        steps.push(
            Exec::remote("sha256sum")
                .args(["--check", "--strict", "--status", "-"])
                .stdin(format!("{}  {archive}\n", digest.to_ascii_lowercase())),
        );
    }
    steps.push(Exec::remote("rm").args(["-rf", "--", &staging, &previous]));
    steps.push(Exec::remote("mkdir").args(["-p", "--", &staging]));
    steps.push(
        Exec::remote("tar")
            .args(["-xzf", archive, "-C", &staging, "--no-same-owner"])
            .arg(format!("--strip-components={}", section.strip_components)),
    );
    // Swap: the old tree moves aside only once the new one is complete.
    steps.push(Exec::remote("mkdir").args(["-p", "--", path]));
    steps.push(Exec::remote("mv").args(["-T", "--", path, &previous]));
    steps.push(Exec::remote("mv").args(["-T", "--", &staging, path]));
    steps.push(Exec::remote("rm").args(["-rf", "--", &previous]));
    steps
}

pub struct TarballSync;

impl Plugin for TarballSync {
    fn describe() -> Description {
        Description {
            name: "tarball-sync",
            version: env!("CARGO_PKG_VERSION"),
            description: "Unpacks a release tarball, downloaded on the node, into build.path",
            capabilities: vec![Capability::RemoteExec, Capability::RemoteFiles],
        }
    }

    fn validate(config: Config) -> Result<(), Vec<ConfigError>> {
        from_config::<Section>(&config)?.check().map(|_| ())
    }
}

impl SyncStrategy for TarballSync {
    fn sync(request: SyncRequest) -> Result<SyncOutcome, Error> {
        let section = from_config::<Section>(&request.config)
            .and_then(Section::check)
            .map_err(|e| format!("{}: {}", e[0].key, e[0].message))?;
        let scratch = scratch_dir("tarball-sync")?;
        let archive = format!("{scratch}/release.tar.gz");
        log::info!("downloading {} on the node", section.url);
        for step in commands(&section, &request.path, &archive) {
            step.run()?;
        }
        let summary = match &section.sha256 {
            Some(digest) => format!("{} (sha256 {})", section.url, &digest[..12]),
            None => section.url.clone(),
        };
        Ok(SyncOutcome {
            commit: None,
            summary,
        })
    }
}

ops_plugin_sdk::export_sync_strategy!(TarballSync);

#[cfg(test)]
mod tests {
    use super::*;
    use ops_plugin_sdk::{ConfigEntry, ConfigValue};

    fn config(entries: &[(&str, ConfigValue)]) -> Config {
        entries
            .iter()
            .map(|(k, v)| ConfigEntry {
                key: (*k).into(),
                value: v.clone(),
            })
            .collect()
    }

    fn section(entries: &[(&str, ConfigValue)]) -> Result<Section, Vec<ConfigError>> {
        from_config::<Section>(&config(entries)).and_then(Section::check)
    }

    #[test]
    fn reads_the_section_with_its_defaults() {
        let s = section(&[("url", ConfigValue::Text("https://h/a.tgz".into()))]).unwrap();
        assert_eq!(s.strip_components, 1);
        assert_eq!(s.sha256, None);
    }

    #[test]
    fn bad_values_name_their_key() {
        let url = section(&[("url", ConfigValue::Text("ftp://h/a".into()))]).unwrap_err();
        assert_eq!(url[0].key, "url");
        let digest = section(&[
            ("url", ConfigValue::Text("https://h/a".into())),
            ("sha256", ConfigValue::Text("abc".into())),
        ])
        .unwrap_err();
        assert_eq!(digest[0].key, "sha256");
        let unknown = section(&[
            ("url", ConfigValue::Text("https://h/a".into())),
            ("strip", ConfigValue::Integer(1)),
        ])
        .unwrap_err();
        assert_eq!(unknown[0].key, "strip");
    }

    #[test]
    fn the_url_is_an_argument_after_the_options_and_the_digest_goes_on_stdin() {
        let s = section(&[
            ("url", ConfigValue::Text("https://h/-o/etc/x".into())),
            ("sha256", ConfigValue::Text("AB".repeat(32))),
        ])
        .unwrap();
        let steps = commands(&s, "/b/app/", "/s/release.tar.gz");
        let curl = steps[0].request();
        assert_eq!(curl.program, "curl");
        assert_eq!(
            curl.args[curl.args.len() - 2..],
            ["--", "https://h/-o/etc/x"]
        );
        let check = steps[1].request();
        assert_eq!(check.program, "sha256sum");
        assert_eq!(
            check.stdin.as_deref(),
            Some(format!("{}  /s/release.tar.gz\n", "ab".repeat(32)).as_bytes())
        );
        let programs: Vec<&str> = steps.iter().map(|s| s.request().program.as_str()).collect();
        assert_eq!(
            programs,
            [
                "curl",
                "sha256sum",
                "rm",
                "mkdir",
                "tar",
                "mkdir",
                "mv",
                "mv",
                "rm"
            ]
        );
        assert_eq!(
            steps[7].request().args,
            ["-T", "--", "/b/app.tarball-sync-new", "/b/app/"]
        );
    }
}
