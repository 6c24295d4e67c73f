//! `[node]`: what ops keeps on the build node. With it, every push is
//! followed by the same prune as `ops node prune` (the images of the `keep`
//! newest builds, the build cache down to `cache`).

use toml::de::{DeTable, DeValue};

use super::error::ConfigError;
use super::located::Located;
use super::reader::Reader;
use crate::domain::ByteSize;

/// The most builds a policy may keep: beyond it nothing would ever be
/// pruned, which is what leaving `keep` out says.
pub const MAX_KEEP: i64 = 10_000;

/// `[node]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodePolicy {
    /// `keep`: builds whose images stay (at least 1).
    pub keep: Option<Located<usize>>,
    /// `cache`: build cache above this is pruned.
    pub cache: Option<Located<ByteSize>>,
}

impl NodePolicy {
    /// Whether a push is followed by a prune.
    pub fn prunes(&self) -> bool {
        self.keep.is_some() || self.cache.is_some()
    }
}

pub(super) fn node_policy(r: &mut Reader, root: &DeTable) -> Result<NodePolicy, ConfigError> {
    let Some(value) = r.get(root, "", "node") else {
        return Ok(NodePolicy::default());
    };
    let table = r.table(value, "node")?;
    r.check_keys(table, "node", &["keep", "cache"])?;
    let mut policy = NodePolicy::default();
    if let Some(value) = r.get(table, "node", "keep") {
        let at = r.span_location(value);
        let keep = r.integer(table, "node", "keep")?.unwrap_or_default();
        if !(1..=MAX_KEEP).contains(&keep) {
            return Err(ConfigError::invalid(
                at,
                "node.keep",
                format!("{keep} builds: keep at least 1 and at most {MAX_KEEP}"),
            ));
        }
        policy.keep = Some(Located {
            value: keep as usize,
            at,
        });
    }
    if let Some(value) = r.get(table, "node", "cache") {
        let at = r.span_location(value);
        let DeValue::String(text) = value.get_ref() else {
            return Err(r.wrong_type(value, "node.cache", "a size such as \"20GB\""));
        };
        let size = text
            .parse::<ByteSize>()
            .map_err(|e| ConfigError::invalid(at.clone(), "node.cache", e.to_string()))?;
        policy.cache = Some(Located { value: size, at });
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(Path::new("/p/ops.toml"), text, &|_: &str| None).map_err(|e| e.to_string())
    }

    #[test]
    fn keep_and_cache_with_where_they_are_written() {
        let c = parse("[build]\ncommand = \"make\"\n[node]\nkeep = 5\ncache = \"20GB\"\n").unwrap();
        let keep = c.node.keep.as_ref().unwrap();
        assert_eq!((keep.value, keep.at.line), (5, 4));
        assert_eq!(c.node.cache.as_ref().unwrap().value.0, 20_000_000_000);
        assert!(c.node.prunes());
        assert!(!parse("[build]\ncommand = \"make\"\n")
            .unwrap()
            .node
            .prunes());
    }

    #[test]
    fn bad_values_name_the_key_and_line() {
        let zero = parse("[node]\nkeep = 0\n").unwrap_err();
        assert!(
            zero.contains("ops.toml:2") && zero.contains("node.keep"),
            "{zero}"
        );
        let size = parse("[node]\ncache = \"lots\"\n").unwrap_err();
        assert!(
            size.contains("node.cache") && size.contains("\"lots\""),
            "{size}"
        );
        let typo = parse("[node]\nkept = 3\n").unwrap_err();
        assert!(typo.contains("keep"), "{typo}");
        let number = parse("[node]\ncache = 20\n").unwrap_err();
        assert!(number.contains("node.cache"), "{number}");
    }
}
