//! Excel tables in and out, printable PDF letters, and zip archives of them.
//! A table is a header row and data rows of cells; what the columns mean is
//! the caller's business.

pub mod pdf;
pub mod zip;

pub mod xlsx {
    use std::io::Cursor;

    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    use rust_xlsxwriter::{Format, Workbook};

    /// A cell as read or to be written.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Cell {
        Empty,
        Text(String),
        Number(f64),
    }

    impl Cell {
        /// The cell as the text a user would have typed: numbers without a
        /// spurious fraction (`89.37`, `12`), so decimal parsing stays exact.
        pub fn as_text(&self) -> Option<String> {
            match self {
                Cell::Empty => None,
                Cell::Text(t) => Some(t.trim().to_owned()).filter(|t| !t.is_empty()),
                Cell::Number(n) => {
                    let hundredths = (n * 100.0).round();
                    if ((n * 100.0) - hundredths).abs() < 1e-6 {
                        let v = hundredths as i64;
                        let (whole, frac) = (v / 100, (v % 100).abs());
                        Some(if frac == 0 {
                            whole.to_string()
                        } else if frac % 10 == 0 {
                            format!("{whole}.{}", frac / 10)
                        } else {
                            format!("{whole}.{frac:02}")
                        })
                    } else {
                        Some(n.to_string())
                    }
                }
            }
        }
    }

    #[derive(Debug, thiserror::Error)]
    pub enum XlsxError {
        #[error("not a readable xlsx file: {0}")]
        Unreadable(String),
        #[error("the workbook has no sheet")]
        NoSheet,
        #[error("could not write the workbook: {0}")]
        Write(String),
    }

    /// The first sheet as rows of cells (the header row included).
    pub fn read_first_sheet(bytes: &[u8]) -> Result<Vec<Vec<Cell>>, XlsxError> {
        let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes))
            .map_err(|e: calamine::XlsxError| XlsxError::Unreadable(e.to_string()))?;
        let range =
            book.worksheet_range_at(0).ok_or(XlsxError::NoSheet)?.map_err(|e| XlsxError::Unreadable(e.to_string()))?;
        Ok(range
            .rows()
            .map(|row| {
                row.iter()
                    .map(|d| match d {
                        Data::Empty => Cell::Empty,
                        Data::String(s) => Cell::Text(s.clone()),
                        Data::Float(f) => Cell::Number(*f),
                        Data::Int(i) => Cell::Number(*i as f64),
                        Data::Bool(b) => Cell::Text(b.to_string()),
                        other => Cell::Text(other.to_string()),
                    })
                    .collect()
            })
            .collect())
    }

    /// A one-sheet workbook with a bold header row; numbers shown with two decimals.
    pub fn write_table(sheet: &str, headers: &[String], rows: &[Vec<Cell>]) -> Result<Vec<u8>, XlsxError> {
        let err = |e: rust_xlsxwriter::XlsxError| XlsxError::Write(e.to_string());
        let mut book = Workbook::new();
        let ws = book.add_worksheet();
        ws.set_name(sheet).map_err(err)?;
        let bold = Format::new().set_bold();
        let decimals = Format::new().set_num_format("0.00");
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold).map_err(err)?;
            ws.set_column_width(c as u16, 14).map_err(err)?;
        }
        for (r, row) in rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                match cell {
                    Cell::Empty => {}
                    Cell::Text(t) => {
                        ws.write_string(r, c as u16, t).map_err(err)?;
                    }
                    Cell::Number(n) => {
                        ws.write_number_with_format(r, c as u16, *n, &decimals).map_err(err)?;
                    }
                }
            }
        }
        book.save_to_buffer().map_err(err)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_table_round_trips() {
            let headers = vec!["房号".to_owned(), "建筑面积".to_owned()];
            let rows = vec![
                vec![Cell::Text("101".into()), Cell::Number(89.37)],
                vec![Cell::Text("102".into()), Cell::Number(1_340_550.0)],
            ];
            let bytes = write_table("房源", &headers, &rows).unwrap();
            let back = read_first_sheet(&bytes).unwrap();
            assert_eq!(back[0], vec![Cell::Text("房号".into()), Cell::Text("建筑面积".into())]);
            assert_eq!(back[1][1].as_text().as_deref(), Some("89.37"));
            assert_eq!(back[2][1].as_text().as_deref(), Some("1340550"));
            assert!(read_first_sheet(b"not a workbook").is_err());
        }

        #[test]
        fn numbers_read_as_typed() {
            assert_eq!(Cell::Number(89.3).as_text().as_deref(), Some("89.3"));
            assert_eq!(Cell::Number(0.05).as_text().as_deref(), Some("0.05"));
            assert_eq!(Cell::Number(12.0).as_text().as_deref(), Some("12"));
            assert_eq!(Cell::Number(1.005).as_text().as_deref(), Some("1.005"));
            assert_eq!(Cell::Text("  ".into()).as_text(), None);
        }
    }
}
