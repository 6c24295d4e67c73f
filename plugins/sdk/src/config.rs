//! A plugin's config section into a `#[derive(Deserialize)]` struct.
//!
//! The host hands a section as flat entries with dotted keys for nested
//! tables (`retry.count`); this module rebuilds the tables and runs serde
//! over them. An error names the key it is about (`retry.count`, or the
//! missing or unknown key), which the host turns into an error at that
//! key's file, line and column.
//!
//! ```
//! #[derive(serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Section { url: String, #[serde(default)] strip: u32 }
//! let config = vec![ops_plugin_sdk::ConfigEntry {
//!     key: "url".into(),
//!     value: ops_plugin_sdk::ConfigValue::Text("https://example.com/a.tgz".into()),
//! }];
//! let section: Section = ops_plugin_sdk::config::from_config(&config).map_err(|e| e[0].message.clone())?;
//! assert_eq!(section.strip, 0);
//! # Ok::<(), String>(())
//! ```

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};

use crate::types::{ConfigEntry, ConfigError, ConfigValue};

/// Deserializes the section; on failure, one error at the key it concerns.
pub fn from_config<T: DeserializeOwned>(config: &[ConfigEntry]) -> Result<T, Vec<ConfigError>> {
    let mut root = Vec::new();
    for entry in config {
        insert(&mut root, &entry.key, &entry.value);
    }
    T::deserialize(Node::Table(root)).map_err(|e| {
        vec![ConfigError {
            key: e.key,
            message: e.message,
        }]
    })
}

enum Node<'a> {
    Value(&'a ConfigValue),
    Table(Vec<(String, Node<'a>)>),
}

fn insert<'a>(table: &mut Vec<(String, Node<'a>)>, key: &str, value: &'a ConfigValue) {
    match key.split_once('.') {
        None => table.push((key.to_owned(), Node::Value(value))),
        Some((head, rest)) => {
            let position = table
                .iter()
                .position(|(k, n)| k == head && matches!(n, Node::Table(_)));
            let index = position.unwrap_or_else(|| {
                table.push((head.to_owned(), Node::Table(Vec::new())));
                table.len() - 1
            });
            if let Node::Table(inner) = &mut table[index].1 {
                insert(inner, rest, value);
            }
        }
    }
}

/// A deserialization error and the key (relative to the section) it is
/// about; empty for the section itself.
#[derive(Debug)]
pub struct Error {
    pub key: String,
    pub message: String,
}

impl Error {
    fn under(mut self, key: &str) -> Error {
        self.key = if self.key.is_empty() {
            key.to_owned()
        } else {
            format!("{key}.{}", self.key)
        };
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Error {
        Error {
            key: String::new(),
            message: message.to_string(),
        }
    }

    fn missing_field(field: &'static str) -> Error {
        Error {
            key: field.to_owned(),
            message: format!("missing `{field}`"),
        }
    }
}

impl<'de> de::Deserializer<'de> for Node<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Node::Table(entries) => visitor.visit_map(Entries {
                entries: entries.into_iter(),
                current: None,
                key: String::new(),
            }),
            Node::Value(ConfigValue::Text(s)) | Node::Value(ConfigValue::Secret(s)) => {
                visitor.visit_str(s)
            }
            Node::Value(ConfigValue::Integer(i)) => visitor.visit_i64(*i),
            Node::Value(ConfigValue::Float(f)) => visitor.visit_f64(*f),
            Node::Value(ConfigValue::Boolean(b)) => visitor.visit_bool(*b),
            Node::Value(ConfigValue::TextList(list)) => visitor.visit_seq(
                de::value::SeqDeserializer::new(list.iter().map(|s| s.as_str())),
            ),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self {
            Node::Value(ConfigValue::Text(s)) => visitor.visit_enum(s.as_str().into_deserializer()),
            _ => Err(de::Error::custom(
                "expected a string naming one of the choices",
            )),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

struct Entries<'a> {
    entries: std::vec::IntoIter<(String, Node<'a>)>,
    current: Option<Node<'a>>,
    key: String,
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, node)) = self.entries.next() else {
            return Ok(None);
        };
        self.current = Some(node);
        let value = seed
            .deserialize(de::value::StrDeserializer::<Error>::new(&key))
            .map_err(|e| e.under(&key))?;
        self.key = key;
        Ok(Some(value))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let node = self
            .current
            .take()
            .ok_or_else(|| <Error as de::Error>::custom("a value without a key"))?;
        seed.deserialize(node).map_err(|e| e.under(&self.key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Section {
        url: String,
        #[serde(default)]
        strip: u32,
        checksum: Option<String>,
        #[serde(default)]
        exclude: Vec<String>,
        retry: Option<Retry>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Retry {
        count: u8,
    }

    fn entry(key: &str, value: ConfigValue) -> ConfigEntry {
        ConfigEntry {
            key: key.into(),
            value,
        }
    }

    fn text(s: &str) -> ConfigValue {
        ConfigValue::Text(s.into())
    }

    #[test]
    fn a_section_becomes_a_struct_with_nested_tables() {
        let config = vec![
            entry("url", ConfigValue::Secret("https://x/a.tgz".into())),
            entry("strip", ConfigValue::Integer(1)),
            entry("exclude", ConfigValue::TextList(vec!["*.log".into()])),
            entry("retry.count", ConfigValue::Integer(3)),
        ];
        let section: Section = from_config(&config).unwrap();
        assert_eq!(
            section,
            Section {
                url: "https://x/a.tgz".into(),
                strip: 1,
                checksum: None,
                exclude: vec!["*.log".into()],
                retry: Some(Retry { count: 3 }),
            }
        );
    }

    #[test]
    fn errors_name_their_key() {
        let err = |config: Vec<ConfigEntry>| from_config::<Section>(&config).unwrap_err().remove(0);
        let missing = err(vec![]);
        assert_eq!(
            (missing.key.as_str(), missing.message.as_str()),
            ("url", "missing `url`")
        );
        let unknown = err(vec![
            entry("url", text("u")),
            entry("srtip", ConfigValue::Integer(1)),
        ]);
        assert_eq!(unknown.key, "srtip");
        assert!(
            unknown.message.contains("unknown field `srtip`"),
            "{}",
            unknown.message
        );
        let wrong = err(vec![entry("url", text("u")), entry("strip", text("one"))]);
        assert_eq!(wrong.key, "strip");
        assert!(wrong.message.contains("expected u32"), "{}", wrong.message);
        let nested = err(vec![
            entry("url", text("u")),
            entry("retry.count", ConfigValue::Integer(300)),
        ]);
        assert_eq!(nested.key, "retry.count");
        let nested_missing = err(vec![
            entry("url", text("u")),
            entry("retry.x", ConfigValue::Integer(1)),
        ]);
        assert_eq!(nested_missing.key, "retry.x");
    }
}
