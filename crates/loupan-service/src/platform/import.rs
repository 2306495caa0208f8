//! What every Excel import shares: finding columns by their header (Chinese or
//! English), reading rows as text, and reporting problems by row and column.

use loupan_documents::xlsx::Cell;
use serde::Serialize;

/// A column: the field it fills, the header Loupan writes, the headers it accepts.
pub type ColumnSpec = (&'static str, &'static str, &'static [&'static str]);

/// One problem in a file: the Excel row number (the header is row 1), the
/// column header, and a code the UI translates.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub code: &'static str,
}

/// The data rows of a table, with their columns found by header.
pub struct TableRows<'a> {
    table: &'a [Vec<Cell>],
    columns: &'a [ColumnSpec],
    index: Vec<Option<usize>>,
}

/// One data row.
pub struct TableRow<'a> {
    pub line: usize,
    cells: &'a [Cell],
    rows: &'a TableRows<'a>,
}

impl<'a> TableRows<'a> {
    /// Maps the header row; a missing required column is reported on row 1.
    pub fn new(
        table: &'a [Vec<Cell>],
        columns: &'a [ColumnSpec],
        required: &[&str],
        errors: &mut Vec<RowError>,
    ) -> Self {
        let headers: &[Cell] = table.first().map(Vec::as_slice).unwrap_or_default();
        let index: Vec<Option<usize>> = columns
            .iter()
            .map(|(_, _, names)| {
                headers
                    .iter()
                    .position(|h| h.as_text().is_some_and(|t| names.iter().any(|n| n.eq_ignore_ascii_case(t.trim()))))
            })
            .collect();
        if table.is_empty() {
            errors.push(RowError { row: 1, column: String::new(), code: "empty_file" });
        }
        for ((field, header, _), found) in columns.iter().zip(&index) {
            if found.is_none() && required.contains(field) && !table.is_empty() {
                errors.push(RowError { row: 1, column: (*header).to_owned(), code: "missing_column" });
            }
        }
        let usable = errors.is_empty();
        TableRows { table: if usable { table } else { &[] }, columns, index }
    }

    /// The data rows that are not blank.
    pub fn iter(&'a self) -> impl Iterator<Item = TableRow<'a>> + 'a {
        self.table
            .iter()
            .enumerate()
            .skip(1)
            .map(move |(n, cells)| TableRow { line: n + 1, cells, rows: self })
            .filter(|r| !r.is_blank())
    }

    pub fn len(&'a self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&'a self) -> bool {
        self.len() == 0
    }

    /// The header a field is read from, for error reports.
    pub fn header_of(&self, field: &str) -> String {
        self.columns.iter().find(|(f, _, _)| *f == field).map_or_else(|| field.to_owned(), |(_, h, _)| (*h).to_owned())
    }
}

impl TableRow<'_> {
    /// The trimmed text of a field's cell, None when empty or the column is absent.
    pub fn text(&self, field: &str) -> Option<String> {
        let i = self.rows.columns.iter().position(|(f, _, _)| *f == field)?;
        self.rows.index[i].and_then(|c| self.cells.get(c)).and_then(Cell::as_text)
    }

    fn is_blank(&self) -> bool {
        self.rows.columns.iter().all(|(f, _, _)| self.text(f).is_none())
    }
}
