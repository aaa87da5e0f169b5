//! The matrices of a Parquet archive (activations, inputs): one required float32 column of
//! N x H values, written straight from the slice through Parquet's column writer and read
//! straight from the pages (a fast path for the PLAIN pages the writer makes), checked against
//! its content hash as the pages pass.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use ndarray::Array2;
use parquet::basic::Encoding;
use parquet::column::reader::ColumnReader;
use parquet::file::metadata::KeyValue;
use parquet::file::reader::{FileReader, SerializedFileReader};

use super::super::content::{self, Digest, HashingWriter};
use super::super::hashed_reader::digest_while;
use super::{open_file, props};
use crate::error::{Error, Result};

/// Writes a row-major matrix as one flat float32 column `name`, with its shape in the metadata.
///
/// Straight from `data` into pages on disk through Parquet's column writer: no Arrow array,
/// no copy of the matrix and no row group buffered in memory (a 2 GiB layer needs 2 GiB, not
/// three times that).
pub(super) fn write_matrix(
    path: &Path,
    column: &str,
    data: &[f32],
    shape: (usize, usize),
) -> Result<Digest> {
    use parquet::basic::{Repetition, Type as Physical};
    use parquet::data_type::FloatType;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::types::Type;
    let fail = |e: parquet::errors::ParquetError| {
        Error::format(path, format!("cannot write Parquet: {e}"))
    };
    let field = Type::primitive_type_builder(column, Physical::FLOAT)
        .with_repetition(Repetition::REQUIRED)
        .build()
        .map_err(fail)?;
    let schema = Type::group_type_builder("schema")
        .with_fields(vec![Arc::new(field)])
        .build()
        .map_err(fail)?;
    let kv = vec![KeyValue::new(
        "infoplane.shape".to_string(),
        format!("[{}, {}]", shape.0, shape.1),
    )];
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let mut w = SerializedFileWriter::new(
        HashingWriter::new(file),
        Arc::new(schema),
        Arc::new(props(kv)),
    )
    .map_err(fail)?;
    let mut group = w.next_row_group().map_err(fail)?;
    if let Some(mut col) = group.next_column().map_err(fail)? {
        col.typed::<FloatType>()
            .write_batch(data, None, None)
            .map_err(fail)?;
        col.close().map_err(fail)?;
    }
    group.close().map_err(fail)?;
    let (file, digest) = w.into_inner().map_err(fail)?.finish();
    file.sync_all().map_err(|e| Error::io(path, e))?;
    Ok(digest)
}

/// Reads a matrix written by [`write_matrix`] straight from the column's pages into one
/// `Vec<f32>` (no Arrow arrays in between: this is the hot path of every estimator run). With
/// `expected`, the file's bytes are hashed as the decoder reads them ([`HashedFile`]) and
/// compared at the end: damage found by the hash is the error, whatever the decoder made of it.
pub(super) fn read_matrix(
    path: &Path,
    column_name: &str,
    shape: (usize, usize),
    expected: Option<&Digest>,
) -> Result<Array2<f32>> {
    let file = open_file(path)?;
    let Some(d) = expected else {
        return crate::util::untrusted::decode(path, "Parquet file", || {
            read_matrix_unguarded(path, column_name, shape, file)
        });
    };
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let (decoded, found) = digest_while(file, len, |hashed| {
        crate::util::untrusted::decode(path, "Parquet file", || {
            read_matrix_unguarded(path, column_name, shape, hashed)
        })
    });
    match found {
        Ok(found) => content::check(path, d, &found)?,
        // The hash could not be finished (a thread panicked): hash the file by itself.
        Err(_) => content::check_file(path, d)?,
    }
    decoded
}

fn read_matrix_unguarded<R: parquet::file::reader::ChunkReader + 'static>(
    path: &Path,
    column_name: &str,
    shape: (usize, usize),
    file: R,
) -> Result<Array2<f32>> {
    let corrupt = |e: parquet::errors::ParquetError| {
        Error::format(path, format!("corrupt or truncated Parquet file: {e}"))
    };
    let reader = SerializedFileReader::new(file).map_err(corrupt)?;
    let meta = reader.metadata();
    let schema = meta.file_metadata().schema_descr();
    if schema.num_columns() != 1
        || schema.column(0).name() != column_name
        || schema.column(0).physical_type() != parquet::basic::Type::FLOAT
        || schema.column(0).max_def_level() != 0
    {
        return Err(Error::format(
            path,
            format!("expected one required float32 column '{column_name}'"),
        ));
    }
    let expected = shape
        .0
        .checked_mul(shape.1)
        .ok_or_else(|| Error::format(path, format!("shape {shape:?} is too large")))?;
    let stored = meta.file_metadata().num_rows();
    if stored != expected as i64 {
        return Err(Error::format(
            path,
            format!(
                "holds {stored} values, expected {} x {} = {expected}",
                shape.0, shape.1
            ),
        ));
    }
    // Reserve no more than the file could hold (its footer may lie about the row count).
    let file_len = fs::metadata(path).map_or(0, |m| m.len());
    let mut values: Vec<f32> = crate::error::try_with_capacity(
        expected.min(file_len as usize / 4 + 1024),
        path,
        "the matrix",
    )?;
    prefault(&mut values);
    if !plain_pages(&reader, expected, &mut values).map_err(corrupt)? {
        values.clear();
        records(&reader, expected, &mut values).map_err(|e| match e {
            RecordsError::Parquet(e) => corrupt(e),
            RecordsError::NotFloat => Error::format(path, "column is not float32"),
        })?;
    }
    if values.len() != expected {
        return Err(Error::format(
            path,
            format!(
                "truncated data: {} of {expected} values readable",
                values.len()
            ),
        ));
    }
    Array2::from_shape_vec(shape, values).map_err(|e| Error::format(path, e.to_string()))
}

/// The fast path for the files [`write_matrix`] writes: uncompressed PLAIN data pages of a
/// required column, whose bytes are the values themselves, appended to `values` straight from
/// each page (no zero-filled buffer, no decoder state). False, with `values` partly filled,
/// at the first page of any other kind (then the general decoder reads the file).
fn plain_pages<R: parquet::file::reader::ChunkReader + 'static>(
    reader: &SerializedFileReader<R>,
    expected: usize,
    values: &mut Vec<f32>,
) -> parquet::errors::Result<bool> {
    use parquet::column::page::Page;
    for g in 0..reader.metadata().num_row_groups() {
        let mut pages = reader.get_row_group(g)?.get_column_page_reader(0)?;
        while let Some(page) = pages.get_next_page()? {
            let Page::DataPage {
                buf,
                num_values,
                encoding: Encoding::PLAIN,
                ..
            } = page
            else {
                return Ok(false);
            };
            let n = num_values as usize;
            if buf.len() != n * 4 || n > expected - values.len() {
                return Ok(false);
            }
            values.extend(
                buf.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        }
    }
    Ok(true)
}

enum RecordsError {
    Parquet(parquet::errors::ParquetError),
    NotFloat,
}

/// The general path: Parquet's record reader (any encoding, compression or page version).
fn records<R: parquet::file::reader::ChunkReader + 'static>(
    reader: &SerializedFileReader<R>,
    expected: usize,
    values: &mut Vec<f32>,
) -> std::result::Result<(), RecordsError> {
    for g in 0..reader.metadata().num_row_groups() {
        let group = reader.get_row_group(g).map_err(RecordsError::Parquet)?;
        let ColumnReader::FloatColumnReader(mut col) =
            group.get_column_reader(0).map_err(RecordsError::Parquet)?
        else {
            return Err(RecordsError::NotFloat);
        };
        loop {
            let remaining = expected - values.len();
            let (records, _, _) = col
                .read_records(remaining, None, None, values)
                .map_err(RecordsError::Parquet)?;
            if records == 0 || values.len() >= expected {
                break;
            }
        }
    }
    Ok(())
}

/// Writes every page of `v`'s spare capacity once, in parallel: a fresh buffer's first touch
/// costs one page fault per 4 KiB page (tens of milliseconds for a large layer in a virtual
/// machine), and the decoder would otherwise take them all on one core.
fn prefault(v: &mut Vec<f32>) {
    use rayon::prelude::*;
    const PAGE: usize = 4096 / size_of::<f32>();
    v.spare_capacity_mut()
        .par_chunks_mut(64 * PAGE)
        .for_each(|c| {
            c.iter_mut()
                .step_by(PAGE)
                .for_each(|x| *x = std::mem::MaybeUninit::new(0.0))
        });
}
