//! No value in ops.toml may hold a NUL: no program can receive one in an
//! argument or its environment, so a NUL could only be cut off somewhere
//! (turning a value into a different one) or fail deep inside a run.
//! Refused at load time, at the value's own line and column.

use serde_spanned::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::ConfigError;
use super::reader::{join, Reader};

pub(super) fn refuse_nul(r: &Reader, table: &DeTable, prefix: &str) -> Result<(), ConfigError> {
    for (key, value) in table {
        let path = join(prefix, key.get_ref());
        if key.get_ref().contains('\0') {
            return Err(nul_in(r, key, &path));
        }
        value_without_nul(r, value, &path)?;
    }
    Ok(())
}

fn value_without_nul(r: &Reader, value: &Spanned<DeValue>, path: &str) -> Result<(), ConfigError> {
    match value.get_ref() {
        DeValue::String(s) if s.contains('\0') => Err(nul_in(r, value, path)),
        DeValue::Array(items) => items
            .iter()
            .try_for_each(|item| value_without_nul(r, item, path)),
        DeValue::Table(table) => refuse_nul(r, table, path),
        _ => Ok(()),
    }
}

fn nul_in<T>(r: &Reader, at: &Spanned<T>, path: &str) -> ConfigError {
    ConfigError::invalid(
        r.span_location(at),
        path,
        "contains a NUL character (\\u0000), which no program can receive",
    )
}
