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

/// The largest CSV table read.
const MAX_CSV_BYTES: u64 = 4 << 30;

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
    /// For a table read from CSV, the line each row started on (for messages).
    lines: Option<Vec<usize>>,
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

    /// A numeric column as f64 (integers converted), if present and numeric.
    pub fn f64s(&self, name: &str) -> Option<Vec<f64>> {
        match self.column(name)? {
            Column::F64(v) => Some(v.clone()),
            Column::I64(v) => Some(v.iter().map(|&x| x as f64).collect()),
            _ => None,
        }
    }

    /// An integer column, if present and integral.
    pub fn i64s(&self, name: &str) -> Option<Vec<i64>> {
        match self.column(name)? {
            Column::I64(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// Any column as text (numbers formatted as in CSV).
    pub fn strs(&self, name: &str) -> Option<Vec<String>> {
        let c = self.column(name)?;
        Some(
            (0..c.len())
                .map(|r| {
                    let mut s = String::new();
                    match c {
                        Column::Str(v) => s.push_str(&v[r]),
                        other => other.cell(r, &mut s),
                    }
                    s
                })
                .collect(),
        )
    }

    /// A boolean column, if present and boolean.
    pub fn bools(&self, name: &str) -> Option<Vec<bool>> {
        match self.column(name)? {
            Column::Bool(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// Where row `r` came from, for messages: `line L` of a CSV file, else `row R` (1-based).
    pub fn row_label(&self, r: usize) -> String {
        match self.lines.as_ref().and_then(|l| l.get(r)) {
            Some(line) => format!("line {line}"),
            None => format!("row {}", r + 1),
        }
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

    /// Reads a table written by [`Self::write`] (or any CSV with a header line, or a Parquet
    /// file of float, integer, boolean and string columns). CSV column types are inferred: all
    /// integers → I64, all numbers (NaN allowed) → F64, all `true`/`false` → Bool, else Str.
    pub fn read(path: &Path) -> Result<Self> {
        let parquet = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        if parquet {
            return Self::read_parquet(path);
        }
        let bytes = crate::archive::fsutil::read_regular(path, MAX_CSV_BYTES)?;
        let text = String::from_utf8(bytes)
            .map_err(|e| Error::format(path, format!("not UTF-8 text: {e}")))?;
        Self::parse_csv(&text).map_err(|m| Error::format(path, m))
    }

    /// Parses CSV text (RFC 4180 quoting); errors are one line with the line number. A byte
    /// order mark is skipped, and so are blank lines; a header without rows is an empty table.
    pub fn parse_csv(text: &str) -> std::result::Result<Self, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut records: Vec<(usize, Vec<String>)> = Vec::new();
        let mut field = String::new();
        let mut record = Vec::new();
        let mut quoted = false;
        let mut line = 1;
        let mut start_line = 1;
        let mut chars = text.chars().peekable();
        let mut any = false;
        while let Some(c) = chars.next() {
            any = true;
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
                (false, '"') if field.is_empty() => quoted = true,
                (false, ',') => record.push(std::mem::take(&mut field)),
                (false, '\r') => {}
                (false, '\n') => {
                    record.push(std::mem::take(&mut field));
                    records.push((start_line, std::mem::take(&mut record)));
                    line += 1;
                    start_line = line;
                    any = false;
                }
                (false, c) => field.push(c),
            }
        }
        if quoted {
            return Err(format!("line {start_line}: unterminated quoted field"));
        }
        if any {
            record.push(field);
            records.push((start_line, record));
        }
        records.retain(|(_, r)| !(r.len() == 1 && r[0].is_empty()));
        let Some((_, header)) = records.first().cloned() else {
            return Err("empty file: no header line".into());
        };
        let width = header.len();
        for (l, r) in &records[1..] {
            if r.len() != width {
                return Err(format!(
                    "line {l}: {} fields, the header has {width}",
                    r.len()
                ));
            }
        }
        let mut table = Table::new();
        for (k, name) in header.iter().enumerate() {
            let cells: Vec<&str> = records[1..].iter().map(|(_, r)| r[k].as_str()).collect();
            // A header without rows: every column is an empty numeric one.
            let column = if cells.is_empty() {
                Column::F64(Vec::new())
            } else if cells.iter().all(|c| c.parse::<i64>().is_ok()) {
                Column::I64(cells.iter().filter_map(|c| c.parse().ok()).collect())
            } else if !cells.is_empty() && cells.iter().all(|c| c.parse::<f64>().is_ok()) {
                Column::F64(cells.iter().filter_map(|c| c.parse().ok()).collect())
            } else if !cells.is_empty() && cells.iter().all(|c| *c == "true" || *c == "false") {
                Column::Bool(cells.iter().map(|c| *c == "true").collect())
            } else {
                Column::Str(cells.iter().map(|c| c.to_string()).collect())
            };
            table = table.with(name, column);
        }
        table.lines = Some(records[1..].iter().map(|(l, _)| *l).collect());
        Ok(table)
    }

    fn read_parquet(path: &Path) -> Result<Self> {
        crate::untrusted::decode(path, "Parquet file", || Self::read_parquet_unguarded(path))
    }

    fn read_parquet_unguarded(path: &Path) -> Result<Self> {
        use arrow::array::Array;
        let bad = |m: String| Error::format(path, m);
        let file = crate::archive::fsutil::open_regular(path)?;
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| bad(format!("not a readable Parquet file: {e}")))?
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let mut table: Option<Table> = None;
        for batch in reader {
            let batch = batch.map_err(|e| bad(e.to_string()))?;
            let schema = batch.schema();
            let mut part = Table::new();
            for (f, a) in schema.fields().iter().zip(batch.columns()) {
                let col = match f.data_type() {
                    DataType::Float64 => a
                        .as_any()
                        .downcast_ref::<Float64Array>()
                        .map(|x| Column::F64(x.iter().map(|v| v.unwrap_or(f64::NAN)).collect())),
                    DataType::Int64 => a
                        .as_any()
                        .downcast_ref::<Int64Array>()
                        .map(|x| Column::I64(x.iter().map(|v| v.unwrap_or(0)).collect())),
                    DataType::Boolean => a
                        .as_any()
                        .downcast_ref::<BooleanArray>()
                        .map(|x| Column::Bool(x.iter().map(|v| v.unwrap_or(false)).collect())),
                    DataType::Utf8 => a.as_any().downcast_ref::<StringArray>().map(|x| {
                        Column::Str(x.iter().map(|v| v.unwrap_or("").to_string()).collect())
                    }),
                    other => {
                        return Err(bad(format!(
                            "column '{}' has type {other}, not float64, int64, bool or string",
                            f.name()
                        )))
                    }
                };
                let col = col.ok_or_else(|| {
                    bad(format!("column '{}': unexpected array layout", f.name()))
                })?;
                if a.null_count() > 0 && !matches!(col, Column::F64(_)) {
                    return Err(bad(format!("column '{}' has missing values", f.name())));
                }
                part = part.with(f.name(), col);
            }
            table = Some(match table {
                None => part,
                Some(mut t) => {
                    for (c, p) in t.columns.iter_mut().zip(part.columns) {
                        match (c, p) {
                            (Column::F64(a), Column::F64(b)) => a.extend(b),
                            (Column::I64(a), Column::I64(b)) => a.extend(b),
                            (Column::Bool(a), Column::Bool(b)) => a.extend(b),
                            (Column::Str(a), Column::Str(b)) => a.extend(b),
                            _ => return Err(bad("column types differ between row groups".into())),
                        }
                    }
                    t
                }
            });
        }
        Ok(table.unwrap_or_default())
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
        let back = Table::parse_csv(&t.to_csv()).unwrap();
        assert_eq!(back.to_csv(), t.to_csv());
        assert_eq!(back.column("i"), Some(&Column::I64(vec![-3, 7])));
        assert_eq!(back.column("b"), Some(&Column::Bool(vec![true, false])));
        assert_eq!(
            Table::parse_csv("a,b\n1,2\n3\n").unwrap_err(),
            "line 3: 1 fields, the header has 2"
        );
        assert_eq!(
            Table::parse_csv("a\n\"x\n").unwrap_err(),
            "line 2: unterminated quoted field"
        );
    }

    #[test]
    fn parquet_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.parquet");
        let t = Table::new()
            .with("x", Column::F64(vec![1.5, f64::NAN]))
            .with("s", Column::Str(vec!["a".into(), "b".into()]))
            .with("b", Column::Bool(vec![true, false]))
            .with("i", Column::I64(vec![-3, 7]));
        t.write(&p).unwrap();
        assert_eq!(Table::read(&p).unwrap().to_csv(), t.to_csv());
    }
}
