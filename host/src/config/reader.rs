//! Walks the parsed TOML document with its spans: typed getters that
//! interpolate `$NAME`, check for unknown keys, and turn byte offsets into
//! file:line:column.

use std::collections::BTreeMap;
use std::path::Path;

use serde_spanned::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, ConfigErrorKind};
use super::interpolate::{interpolate, InterpolateError};
use super::located::Located;
use super::section::{Location, PluginSection, SectionEntry, SectionValue};

pub(super) type Env<'e> = &'e dyn Fn(&str) -> Option<String>;

pub(super) struct Reader<'a> {
    file: &'a Path,
    line_starts: Vec<usize>,
    text: &'a str,
    env: Env<'a>,
    pub secrets: Vec<String>,
    /// The variables `secrets` came from.
    pub secret_names: Vec<String>,
    pub locations: BTreeMap<String, Location>,
}

/// A string value with whether it came (partly) from the environment.
pub(super) struct Text {
    pub value: String,
    pub secret: bool,
}

impl<'a> Reader<'a> {
    pub fn new(file: &'a Path, text: &'a str, env: Env<'a>) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Reader {
            file,
            line_starts,
            text,
            env,
            secrets: Vec::new(),
            secret_names: Vec::new(),
            locations: BTreeMap::new(),
        }
    }

    pub fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let column = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0);
        Location {
            file: self.file.to_path_buf(),
            line: line + 1,
            column: column + 1,
        }
    }

    pub fn file_location(&self) -> Location {
        Location::top_of(self.file)
    }

    /// The recorded location of a dotted key, or the top of the file.
    pub fn location_of_key(&self, key: &str) -> Location {
        self.locations
            .get(key)
            .cloned()
            .unwrap_or_else(|| self.file_location())
    }

    pub fn span_location<T>(&self, spanned: &Spanned<T>) -> Location {
        self.location(spanned.span().start)
    }

    /// Rejects keys of `table` not in `known`, naming the closest one.
    pub fn check_keys(
        &self,
        table: &DeTable,
        prefix: &str,
        known: &[&str],
    ) -> Result<(), ConfigError> {
        let mut keys: Vec<&Spanned<std::borrow::Cow<str>>> = table.keys().collect();
        keys.sort_by_key(|k| k.span().start);
        for key in keys {
            let name: &str = key.get_ref();
            if !known.contains(&name) {
                return Err(ConfigError::new(
                    self.span_location(key),
                    ConfigErrorKind::UnknownKey {
                        key: join(prefix, name),
                        suggestion: super::snippet::closest(name, known).map(|s| join(prefix, s)),
                    },
                ));
            }
        }
        Ok(())
    }

    /// Finds `key` in `table`, recording its location under `path`.
    pub fn get<'t, 'i>(
        &mut self,
        table: &'t DeTable<'i>,
        prefix: &str,
        key: &str,
    ) -> Option<&'t Spanned<DeValue<'i>>> {
        let v = table.get(key)?;
        self.locations
            .insert(join(prefix, key), self.span_location(v));
        Some(v)
    }

    pub fn wrong_type(&self, value: &Spanned<DeValue>, key: &str, expected: &str) -> ConfigError {
        ConfigError::new(
            self.span_location(value),
            ConfigErrorKind::WrongType {
                key: key.to_owned(),
                expected: format!("{expected} (found {})", value.get_ref().type_str()),
            },
        )
    }

    /// Interpolates one string found at `value` for `key`.
    pub fn text_of(
        &mut self,
        raw: &str,
        value: &Spanned<DeValue>,
        key: &str,
    ) -> Result<Text, ConfigError> {
        let env = self.env;
        match interpolate(raw, env) {
            Ok(out) => {
                let secret = !out.secrets.is_empty();
                self.secrets.extend(out.secrets);
                self.secret_names.extend(out.names);
                Ok(Text {
                    value: out.text,
                    secret,
                })
            }
            Err(InterpolateError::Missing(variable)) => Err(ConfigError::new(
                self.span_location(value),
                ConfigErrorKind::MissingEnv {
                    variable,
                    key: key.to_owned(),
                },
            )),
            Err(InterpolateError::Malformed(message)) => Err(ConfigError::invalid(
                self.span_location(value),
                key,
                message,
            )),
        }
    }

    pub fn string(
        &mut self,
        table: &DeTable,
        prefix: &str,
        key: &str,
    ) -> Result<Option<String>, ConfigError> {
        Ok(self.text(table, prefix, key)?.map(|t| t.value))
    }

    pub fn text(
        &mut self,
        table: &DeTable,
        prefix: &str,
        key: &str,
    ) -> Result<Option<Text>, ConfigError> {
        let path = join(prefix, key);
        let Some(value) = self.get(table, prefix, key) else {
            return Ok(None);
        };
        match value.get_ref() {
            DeValue::String(s) => self.text_of(s, value, &path).map(Some),
            _ => Err(self.wrong_type(value, &path, "a string")),
        }
    }

    /// [`Reader::string`] with where the value is.
    pub fn located_string(
        &mut self,
        table: &DeTable,
        prefix: &str,
        key: &str,
    ) -> Result<Option<Located<String>>, ConfigError> {
        let Some(value) = self.get(table, prefix, key) else {
            return Ok(None);
        };
        let at = self.span_location(value);
        Ok(self
            .string(table, prefix, key)?
            .map(|value| Located { value, at }))
    }

    /// [`Reader::string_list`] with where the list is.
    pub fn located_string_list(
        &mut self,
        table: &DeTable,
        prefix: &str,
        key: &str,
    ) -> Result<Option<Located<Vec<String>>>, ConfigError> {
        let Some(value) = self.get(table, prefix, key) else {
            return Ok(None);
        };
        let at = self.span_location(value);
        Ok(self
            .string_list(table, prefix, key)?
            .map(|value| Located { value, at }))
    }

    /// A list of strings, each with where it is (so that a bad item is
    /// reported at its own column); empty when the key is absent.
    pub fn located_items(
        &mut self,
        table: &DeTable,
        prefix: &str,
        key: &str,
    ) -> Result<Vec<Located<String>>, ConfigError> {
        let path = join(prefix, key);
        let Some(value) = self.get(table, prefix, key) else {
            return Ok(Vec::new());
        };
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.wrong_type(value, &path, "a list of strings"));
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => {
                    let at = self.span_location(item);
                    let value = self.text_of(s, item, &path)?.value;
                    out.push(Located { value, at });
                }
                _ => return Err(self.wrong_type(item, &path, "a list of strings")),
            }
        }
        Ok(out)
    }

    pub fn integer(
        &mut self,
        table: &DeTable,
        prefix: &str,
        key: &str,
    ) -> Result<Option<i64>, ConfigError> {
        let path = join(prefix, key);
        let Some(value) = self.get(table, prefix, key) else {
            return Ok(None);
        };
        match value.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .map(Some)
                .map_err(|_| self.wrong_type(value, &path, "an integer that fits in 64 bits")),
            _ => Err(self.wrong_type(value, &path, "an integer")),
        }
    }

    pub fn string_list(
        &mut self,
        table: &DeTable,
        prefix: &str,
        key: &str,
    ) -> Result<Option<Vec<String>>, ConfigError> {
        let path = join(prefix, key);
        let Some(value) = self.get(table, prefix, key) else {
            return Ok(None);
        };
        self.list_of(value, &path).map(Some)
    }

    fn list_of(
        &mut self,
        value: &Spanned<DeValue>,
        path: &str,
    ) -> Result<Vec<String>, ConfigError> {
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.wrong_type(value, path, "a list of strings"));
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => out.push(self.text_of(s, item, path)?.value),
                _ => return Err(self.wrong_type(item, path, "a list of strings")),
            }
        }
        Ok(out)
    }

    pub fn table<'t, 'i>(
        &mut self,
        value: &'t Spanned<DeValue<'i>>,
        path: &str,
    ) -> Result<&'t DeTable<'i>, ConfigError> {
        self.locations
            .insert(path.to_owned(), self.span_location(value));
        value
            .get_ref()
            .as_table()
            .ok_or_else(|| self.wrong_type(value, path, "a table"))
    }

    /// Keeps a plugin-owned section as data, every key with its location.
    pub fn plugin_section(
        &mut self,
        value: &Spanned<DeValue>,
        path: &str,
    ) -> Result<PluginSection, ConfigError> {
        let table = self.table(value, path)?;
        let mut entries = Vec::new();
        self.flatten(table, path, "", &mut entries)?;
        entries.sort_by(|a: &SectionEntry, b: &SectionEntry| {
            (a.location.line, a.location.column).cmp(&(b.location.line, b.location.column))
        });
        Ok(PluginSection {
            path: path.to_owned(),
            entries,
            location: self.span_location(value),
        })
    }

    fn flatten(
        &mut self,
        table: &DeTable,
        section: &str,
        prefix: &str,
        out: &mut Vec<SectionEntry>,
    ) -> Result<(), ConfigError> {
        for (key, value) in table.iter() {
            let rel = join(prefix, key.get_ref());
            let full = join(section, &rel);
            let location = self.span_location(value);
            self.locations.insert(full.clone(), location.clone());
            let converted = match value.get_ref() {
                DeValue::String(s) => {
                    let text = self.text_of(s, value, &full)?;
                    if text.secret {
                        SectionValue::Secret(text.value)
                    } else {
                        SectionValue::Text(text.value)
                    }
                }
                DeValue::Integer(i) => {
                    SectionValue::Integer(i64::from_str_radix(i.as_str(), i.radix()).map_err(
                        |_| self.wrong_type(value, &full, "an integer that fits in 64 bits"),
                    )?)
                }
                DeValue::Float(f) => SectionValue::Float(
                    f.as_str()
                        .replace('_', "")
                        .parse()
                        .map_err(|_| self.wrong_type(value, &full, "a number"))?,
                ),
                DeValue::Boolean(b) => SectionValue::Boolean(*b),
                DeValue::Array(_) => SectionValue::TextList(self.list_of(value, &full)?),
                DeValue::Table(inner) => {
                    self.flatten(inner, section, &rel, out)?;
                    continue;
                }
                DeValue::Datetime(_) => {
                    return Err(self.wrong_type(value, &full, "a string, number, boolean or list"))
                }
            };
            out.push(SectionEntry {
                key: rel,
                value: converted,
                location,
            });
        }
        Ok(())
    }
}

pub(super) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}
