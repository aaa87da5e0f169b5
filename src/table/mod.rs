//! Result tables on polars: building them from columns, writing them as CSV or Parquet (by the
//! file extension, atomically), and reading them back with checked column access.
//!
//! CSV floats are written in their shortest round-trip form (read back bit-identical), NaN as
//! `NaN`. Reading accepts what other tools write: a byte-order mark, blank lines, and Parquet
//! compressed with snappy, zstd, lz4 or gzip. Every error names the file, and for a bad cell
//! its line (CSV) or row (Parquet).

pub mod estimates;

use std::path::Path;

use polars::prelude::{
    CsvReadOptions, CsvWriter, DataType, NamedFrom, ParquetReader, ParquetWriter, SerReader,
    SerWriter, Series,
};

use crate::error::{Error, Result};

/// The table type of every table the library writes (polars').
pub use polars::prelude::DataFrame;

/// The largest table read.
const MAX_BYTES: u64 = 4 << 30;

/// One column's values, to build a table from.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// 64-bit floats.
    F64(Vec<f64>),
    /// 64-bit integers.
    I64(Vec<i64>),
    /// Booleans.
    Bool(Vec<bool>),
    /// Text.
    Str(Vec<String>),
}

/// A table from named columns of equal length.
pub fn frame(columns: Vec<(&str, Values)>) -> Result<DataFrame> {
    let series: Vec<_> = columns
        .into_iter()
        .map(|(name, v)| {
            match v {
                Values::F64(v) => Series::new(name.into(), v),
                Values::I64(v) => Series::new(name.into(), v),
                Values::Bool(v) => Series::new(name.into(), v),
                Values::Str(v) => Series::new(name.into(), v),
            }
            .into()
        })
        .collect();
    DataFrame::new_infer_height(series)
        .map_err(|e| Error::Invalid(format!("cannot build a table: {e}")))
}

fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// Writes `df` to `path`: Parquet for `.parquet`, CSV otherwise; atomically (a failure leaves
/// whatever was there), creating the folder when missing.
pub fn write(df: &mut DataFrame, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    crate::util::fsutil::write_via_temp(path, |tmp| {
        let mut file = std::fs::File::create(tmp).map_err(|e| Error::io(tmp, e))?;
        let r = if is_parquet(path) {
            ParquetWriter::new(&mut file).finish(df).map(|_| ())
        } else {
            CsvWriter::new(&mut file).include_header(true).finish(df)
        };
        r.map_err(|e| Error::format(path, format!("cannot write the table: {e}")))
    })
}

/// `df` as the bytes of a Parquet file (how the Python module hands tables to polars: the
/// same values, bit for bit, as a table written by [`write`]).
pub fn parquet_bytes(df: &mut DataFrame) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf)
        .finish(df)
        .map_err(|e| Error::Invalid(format!("cannot encode the table: {e}")))?;
    Ok(buf)
}

/// A table read from a file, with where each row came from (for messages).
#[derive(Debug, Clone)]
pub struct Table {
    /// The data.
    pub df: DataFrame,
    /// The file.
    path: std::path::PathBuf,
    /// For CSV, the line each row started on.
    lines: Option<Vec<usize>>,
}

/// The data lines of CSV text: the byte-order mark and blank lines left out, and for each
/// kept record after the header its line number in the file.
fn clean_csv(text: &str) -> (String, Vec<usize>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut kept = String::with_capacity(text.len());
    let mut lines = Vec::new();
    for (k, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if !kept.is_empty() {
            lines.push(k + 1);
        }
        kept.push_str(line);
        kept.push('\n');
    }
    (kept, lines)
}

impl Table {
    /// A table already in memory (messages name no file, rows by number).
    pub(crate) fn from_frame(df: DataFrame) -> Self {
        Table {
            df,
            path: std::path::PathBuf::new(),
            lines: None,
        }
    }

    /// Reads a CSV (with a header line) or Parquet table.
    pub fn read(path: &Path) -> Result<Self> {
        if is_parquet(path) {
            let file = crate::util::fsutil::open_regular(path)?;
            let df = crate::util::untrusted::decode(path, "Parquet file", || {
                ParquetReader::new(file)
                    .finish()
                    .map_err(|e| Error::format(path, format!("not a readable Parquet table: {e}")))
            })?;
            return Ok(Table {
                df,
                path: path.to_path_buf(),
                lines: None,
            });
        }
        let bytes = crate::util::fsutil::read_regular(path, MAX_BYTES)?;
        let text = String::from_utf8(bytes)
            .map_err(|e| Error::format(path, format!("not UTF-8 text: {e}")))?;
        let (clean, lines) = clean_csv(&text);
        if clean.is_empty() {
            return Err(Error::format(path, "empty file: no header line"));
        }
        let df = crate::util::untrusted::decode(path, "CSV file", || {
            // Every column as text: cells are parsed by the column accessors below, so that a
            // column of names that look like numbers ("1", "0.10") stays exactly as written.
            CsvReadOptions::default()
                .with_has_header(true)
                .with_infer_schema_length(Some(0))
                .into_reader_with_file_handle(std::io::Cursor::new(clean.into_bytes()))
                .finish()
                .map_err(|e| Error::format(path, format!("not a readable CSV table: {e}")))
        })?;
        Ok(Table {
            df,
            path: path.to_path_buf(),
            lines: Some(lines),
        })
    }

    /// The file it came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of rows.
    pub fn height(&self) -> usize {
        self.df.height()
    }

    /// Whether column `name` exists.
    pub fn has(&self, name: &str) -> bool {
        self.df.get_column_index(name).is_some()
    }

    /// Where row `r` came from: `line L` of a CSV file, else `row R` (1-based).
    pub(crate) fn row_label(&self, r: usize) -> String {
        match self.lines.as_ref().and_then(|l| l.get(r)) {
            Some(line) => format!("line {line}"),
            None => format!("row {}", r + 1),
        }
    }

    fn bad(&self, m: String) -> Error {
        Error::format(&self.path, m)
    }

    /// Column `name` as text (numbers formatted), None when it does not exist; missing
    /// values are empty.
    pub fn strs(&self, name: &str) -> Result<Option<Vec<String>>> {
        let Ok(c) = self.df.column(name) else {
            return Ok(None);
        };
        let s = c
            .cast(&DataType::String)
            .map_err(|e| self.bad(format!("column '{name}': {e}")))?;
        let ca = s
            .str()
            .map_err(|e| self.bad(format!("column '{name}': {e}")))?;
        Ok(Some(
            ca.iter()
                .map(|v| v.unwrap_or_default().to_string())
                .collect(),
        ))
    }

    /// Column `name` as numbers (missing values NaN), None when it does not exist; a cell
    /// that is not a number is named with its line.
    pub fn f64s(&self, name: &str) -> Result<Option<Vec<f64>>> {
        let Ok(c) = self.df.column(name) else {
            return Ok(None);
        };
        if c.dtype().is_primitive_numeric() || c.dtype() == &DataType::Null {
            let s = c
                .cast(&DataType::Float64)
                .map_err(|e| self.bad(format!("column '{name}': {e}")))?;
            let ca = s
                .f64()
                .map_err(|e| self.bad(format!("column '{name}': {e}")))?;
            return Ok(Some(ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect()));
        }
        let text = self.strs(name)?.unwrap_or_default();
        text.iter()
            .enumerate()
            .map(|(r, v)| {
                // An empty cell is a missing value (pandas writes NaN so).
                if v.trim().is_empty() {
                    return Ok(f64::NAN);
                }
                v.trim().parse::<f64>().map_err(|_| {
                    self.bad(format!(
                        "{}: column '{name}' holds '{}', which is not a number",
                        self.row_label(r),
                        crate::util::text::escape_controls(v)
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// Column `name` as whole numbers in `0..=max` (counts and indices: NaN, fractions,
    /// negatives and values past `max` are refused, never coerced).
    pub fn whole(&self, name: &str, max: f64) -> Result<Option<Vec<f64>>> {
        let Some(v) = self.f64s(name)? else {
            return Ok(None);
        };
        if let Some(r) = v
            .iter()
            .position(|x| !(x.is_finite() && *x >= 0.0 && x.fract() == 0.0 && *x <= max))
        {
            let shown = if v[r].abs() >= 1e16 {
                format!("{:e}", v[r])
            } else {
                v[r].to_string()
            };
            return Err(self.bad(format!(
                "{}: column '{name}' holds {shown}, which is not a whole number from 0 to {max}",
                self.row_label(r)
            )));
        }
        Ok(Some(v))
    }

    /// Column `name` as booleans (`true`/`false`, missing = false), None when absent.
    pub fn bools(&self, name: &str) -> Result<Option<Vec<bool>>> {
        let Some(text) = self.strs(name)? else {
            return Ok(None);
        };
        text.iter()
            .enumerate()
            .map(|(r, v)| match v.as_str() {
                "true" | "True" | "1" => Ok(true),
                "false" | "False" | "0" | "" => Ok(false),
                other => Err(self.bad(format!(
                    "{}: column '{name}' holds '{}', which is not true or false",
                    self.row_label(r),
                    crate::util::text::escape_controls(other)
                ))),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips_floats_bit_for_bit() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.csv");
        let mut df = frame(vec![
            ("x", Values::F64(vec![0.1 + 0.2, f64::NAN, 1e-300])),
            (
                "s",
                Values::Str(vec!["a,b".into(), "q\"".into(), "".into()]),
            ),
            ("b", Values::Bool(vec![true, false, true])),
            ("i", Values::I64(vec![-3, 7, 0])),
        ])
        .unwrap();
        write(&mut df, &p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.starts_with("x,s,b,i\n0.30000000000000004,\"a,b\",true,-3\nNaN,"),
            "{text}"
        );
        let t = Table::read(&p).unwrap();
        let x = t.f64s("x").unwrap().unwrap();
        assert_eq!(x[0].to_bits(), (0.1f64 + 0.2).to_bits());
        assert!(x[1].is_nan());
        assert_eq!(x[2], 1e-300);
        assert_eq!(t.strs("s").unwrap().unwrap(), ["a,b", "q\"", ""]);
        assert_eq!(t.bools("b").unwrap().unwrap(), [true, false, true]);
        assert_eq!(
            t.whole("i", 10.0).unwrap_err().to_string(),
            format!(
                "{}: line 2: column 'i' holds -3, which is not a whole number from 0 to 10",
                p.display()
            )
        );
    }

    #[test]
    fn parquet_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.parquet");
        let mut df = frame(vec![
            ("x", Values::F64(vec![1.5, f64::NAN])),
            ("s", Values::Str(vec!["a".into(), "b".into()])),
        ])
        .unwrap();
        write(&mut df, &p).unwrap();
        let t = Table::read(&p).unwrap();
        assert_eq!(t.strs("s").unwrap().unwrap(), ["a", "b"]);
        assert_eq!(t.f64s("x").unwrap().unwrap()[0], 1.5);
        assert_eq!(t.row_label(1), "row 2");
    }

    #[test]
    fn csv_cleaning_keeps_line_numbers() {
        let (text, lines) = clean_csv("\u{feff}a,b\r\n1,2\r\n\r\n3,4\n\n");
        assert_eq!(text, "a,b\n1,2\n3,4\n");
        assert_eq!(lines, [2, 4]);
    }
}
