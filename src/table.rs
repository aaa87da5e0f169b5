//! Result tables: named, typed columns written as CSV or Parquet (chosen by the file extension).
//!
//! CSV floats use Rust's shortest round-trip formatting, so a value read back is bit-identical;
//! NaN is written as `NaN` (read as missing by pandas and polars).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use crate::error::{Error, Result};

/// One column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// 64-bit floats.
    F64(Vec<f64>),
    /// 64-bit integers.
    I64(Vec<i64>),
    /// Booleans.
    Bool(Vec<bool>),
    /// Text.
    Str(Vec<String>),
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Column::F64(v) => v.len(),
            Column::I64(v) => v.len(),
            Column::Bool(v) => v.len(),
            Column::Str(v) => v.len(),
        }
    }

    fn cell(&self, row: usize, out: &mut String) {
        match self {
            Column::F64(v) => {
                let x = v[row];
                if x.is_nan() {
                    out.push_str("NaN");
                } else {
                    let _ = write!(out, "{x}");
                }
            }
            Column::I64(v) => {
                let _ = write!(out, "{}", v[row]);
            }
            Column::Bool(v) => out.push_str(if v[row] { "true" } else { "false" }),
            Column::Str(v) => {
                let s = &v[row];
                if s.contains([',', '"', '\n', '\r']) {
                    out.push('"');
                    out.push_str(&s.replace('"', "\"\""));
                    out.push('"');
                } else {
                    out.push_str(s);
                }
            }
        }
    }
}

/// A table of equally long named columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    names: Vec<String>,
    columns: Vec<Column>,
}

impl Table {
    /// An empty table.
    pub fn new() -> Self {
        Table::default()
    }

    /// Adds a column (all columns must have the same length).
    pub fn with(mut self, name: &str, column: Column) -> Self {
        self.names.push(name.to_string());
        self.columns.push(column);
        self
    }

    /// Column names in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.columns[i])
    }

    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    /// The table as CSV text (header line, then one line per row).
    pub fn to_csv(&self) -> String {
        let mut out = self.names.join(",");
        out.push('\n');
        for r in 0..self.nrows() {
            for (i, c) in self.columns.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                c.cell(r, &mut out);
            }
            out.push('\n');
        }
        out
    }

    /// Writes the table to `path`: Parquet for `.parquet`, CSV otherwise. The file is written
    /// beside and renamed into place, so a failure leaves no half-written table.
    pub fn write(&self, path: &Path) -> Result<()> {
        if let Some(c) = self.columns.iter().find(|c| c.len() != self.nrows()) {
            return Err(Error::Invalid(format!(
                "table columns differ in length ({} vs {})",
                c.len(),
                self.nrows()
            )));
        }
        let parquet = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        let bytes = if parquet {
            self.to_parquet(path)?
        } else {
            self.to_csv().into_bytes()
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        crate::archive::fsutil::write_atomic(path, &bytes)
    }

    fn to_parquet(&self, path: &Path) -> Result<Vec<u8>> {
        let fields: Vec<Field> = self
            .names
            .iter()
            .zip(&self.columns)
            .map(|(n, c)| {
                let t = match c {
                    Column::F64(_) => DataType::Float64,
                    Column::I64(_) => DataType::Int64,
                    Column::Bool(_) => DataType::Boolean,
                    Column::Str(_) => DataType::Utf8,
                };
                Field::new(n, t, false)
            })
            .collect();
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter()
            .map(|c| -> ArrayRef {
                match c {
                    Column::F64(v) => Arc::new(Float64Array::from(v.clone())),
                    Column::I64(v) => Arc::new(Int64Array::from(v.clone())),
                    Column::Bool(v) => Arc::new(BooleanArray::from(v.clone())),
                    Column::Str(v) => Arc::new(StringArray::from(v.clone())),
                }
            })
            .collect();
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
            .map_err(|e| Error::format(path, e.to_string()))?;
        let mut buf = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None)
            .map_err(|e| Error::format(path, e.to_string()))?;
        w.write(&batch)
            .map_err(|e| Error::format(path, e.to_string()))?;
        w.close().map_err(|e| Error::format(path, e.to_string()))?;
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_round_trips_floats() {
        let t = Table::new()
            .with("x", Column::F64(vec![0.1 + 0.2, f64::NAN]))
            .with("s", Column::Str(vec!["a,b".into(), "q\"".into()]))
            .with("b", Column::Bool(vec![true, false]))
            .with("i", Column::I64(vec![-3, 7]));
        assert_eq!(
            t.to_csv(),
            "x,s,b,i\n0.30000000000000004,\"a,b\",true,-3\nNaN,\"q\"\"\",false,7\n"
        );
        assert_eq!("0.30000000000000004".parse::<f64>().unwrap(), 0.1 + 0.2);
    }
}
