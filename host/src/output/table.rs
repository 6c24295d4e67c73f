//! The plain tables of the listing commands (`plugin list`, `plugin
//! outdated`): no borders, columns two spaces apart, no trailing blanks,
//! so that they read well and split on whitespace.

use comfy_table::{presets, Table};

/// `header` over `rows`, as plain columns.
pub fn plain_table<R>(header: &[&str], rows: impl IntoIterator<Item = R>) -> String
where
    R: IntoIterator,
    R::Item: Into<comfy_table::Cell>,
{
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    table.trim_fmt()
}
