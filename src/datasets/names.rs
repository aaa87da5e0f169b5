//! The 18-language names data of the PyTorch char-RNN tutorial: one `<Language>.txt` per class,
//! one name per line, UTF-8.
//!
//! Conventions (those of the tutorial and the thesis, §1.3.1): names are folded to ASCII by
//! dropping accents (é → e, Ś → S) and every character outside the 57-letter alphabet
//! `a-z A-Z .,;'` and space is dropped (ß, ł); the name is truncated to its first 12 letters and
//! one-hot encoded as a 12 x 57 matrix, letter t in row t; shorter names are padded with all-zero
//! rows after the name (a recurrent model skips them, see the recorder's RNN). Classes are the
//! file stems in sorted order (`SOURCE.txt` and `README.txt` are not languages). `per_class` keeps a seeded random choice of that many names per
//! language (60 gives the thesis's 1080 names); the split is a seeded random 80/20. Sample ids
//! are `class_index << 32 | line_number` (1-based line in its file).

use std::path::Path;

use ndarray::Array2;

use super::Dataset;
use crate::error::{Error, Result};
use crate::util::rng::{random_split, SplitMix64};

/// The alphabet, in one-hot order.
pub const ALPHABET: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,;'";
/// Letters per name (longer names are truncated).
pub(crate) const MAX_LEN: usize = 12;
/// Fraction of names used for training.
pub(crate) const TRAIN_FRACTION: f64 = 0.8;

/// Latin letters with diacritics and their base letter (the NFD decomposition's first char).
const FOLD: &[(&str, char)] = &[
    ("ÀÁÂÃÄÅĀĂĄ", 'A'),
    ("àáâãäåāăą", 'a'),
    ("ÇĆĈĊČ", 'C'),
    ("çćĉċč", 'c'),
    ("ĎḌ", 'D'),
    ("ďḍ", 'd'),
    ("ÈÉÊËĒĔĖĘĚ", 'E'),
    ("èéêëēĕėęě", 'e'),
    ("ĜĞĠĢ", 'G'),
    ("ĝğġģ", 'g'),
    ("ĤḤ", 'H'),
    ("ĥḥ", 'h'),
    ("ÌÍÎÏĨĪĬĮİ", 'I'),
    ("ìíîïĩīĭį", 'i'),
    ("Ĵ", 'J'),
    ("ĵ", 'j'),
    ("Ķ", 'K'),
    ("ķ", 'k'),
    ("ĹĻĽ", 'L'),
    ("ĺļľ", 'l'),
    ("ÑŃŅŇ", 'N'),
    ("ñńņň", 'n'),
    ("ÒÓÔÕÖŌŎŐ", 'O'),
    ("òóôõöōŏő", 'o'),
    ("ŔŖŘ", 'R'),
    ("ŕŗř", 'r'),
    ("ŚŜŞŠȘ", 'S'),
    ("śŝşšș", 's'),
    ("ŢŤȚ", 'T'),
    ("ţťț", 't'),
    ("ÙÚÛÜŨŪŬŮŰŲ", 'U'),
    ("ùúûüũūŭůűų", 'u'),
    ("Ŵ", 'W'),
    ("ŵ", 'w'),
    ("ÝŶŸ", 'Y'),
    ("ýÿŷ", 'y'),
    ("ŹŻŽ", 'Z'),
    ("źżž", 'z'),
];

/// Folds a name to the alphabet: accents dropped, other characters removed.
pub fn fold(name: &str) -> String {
    name.chars()
        .filter_map(|c| {
            if ALPHABET.contains(c) {
                return Some(c);
            }
            FOLD.iter()
                .find(|(set, _)| set.contains(c))
                .map(|&(_, base)| base)
        })
        .collect()
}

/// One-hot encodes the first 12 letters of an already folded name into `out` (12 x 57,
/// row-major, zeroed): letter t sets row t; rows after the name stay zero.
pub fn encode(name: &str, out: &mut [f32]) {
    let letters: Vec<usize> = name
        .chars()
        .filter_map(|c| ALPHABET.find(c))
        .take(MAX_LEN)
        .collect();
    let width = ALPHABET.len();
    for (t, &l) in letters.iter().enumerate() {
        out[t * width + l] = 1.0;
    }
}

/// Loads every `*.txt` in `dir` as one language; `per_class` keeps that many names per language.
pub fn load(dir: &Path, per_class: Option<usize>, seed: u64) -> Result<Dataset> {
    let files = language_files(dir)?;
    let mut rng = SplitMix64::new(seed);
    let mut classes = Vec::new();
    let mut chosen: Vec<(u32, u64, String)> = Vec::new();
    for (c, path) in files.iter().enumerate() {
        let mut names = read_names(path)?;
        if let Some(k) = per_class {
            if k > names.len() {
                return Err(Error::request(
                    path,
                    format!(
                        "{k} names per language asked for, this language has {}",
                        names.len()
                    ),
                ));
            }
            rng.shuffle(&mut names);
            names.truncate(k);
            names.sort_unstable();
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        classes.push(stem);
        chosen.extend(names.into_iter().map(|(line, n)| (c as u32, line, n)));
    }
    let n = chosen.len();
    let mut inputs = Array2::<f32>::zeros((n, MAX_LEN * ALPHABET.len()));
    for (row, (_, _, name)) in chosen.iter().enumerate() {
        if let Some(slice) = inputs.row_mut(row).as_slice_mut() {
            encode(name, slice);
        }
    }
    let labels = chosen.iter().map(|(c, _, _)| *c).collect();
    let ids = chosen
        .iter()
        .map(|(c, line, _)| (u64::from(*c) << 32) | line)
        .collect();
    let (train, validation) = random_split(n, TRAIN_FRACTION, seed);
    Ok(Dataset {
        name: "names".into(),
        description: format!(
            "names from {}: {} languages, {n} names{}, one-hot 12 x 57, zero rows after the name",
            dir.display(),
            classes.len(),
            per_class
                .map(|k| format!(" ({k} per language)"))
                .unwrap_or_default()
        ),
        inputs,
        input_shape: vec![MAX_LEN, ALPHABET.len()],
        labels,
        classes,
        sample_ids: ids,
        train,
        validation,
        graph: None,
    })
}

/// The `<Language>.txt` files of `dir`, sorted (SOURCE and README left out); at least two.
fn language_files(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files: Vec<_> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt") && p.is_file())
        .filter(|p| {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().to_ascii_uppercase())
                .unwrap_or_default();
            stem != "SOURCE" && stem != "README"
        })
        .collect();
    files.sort();
    if files.len() < 2 {
        return Err(Error::format(
            dir,
            format!(
                "names data needs one <Language>.txt per class; found {} .txt files",
                files.len()
            ),
        ));
    }
    Ok(files)
}

/// The names of one language file, folded to ASCII, with their line numbers.
fn read_names(path: &Path) -> Result<Vec<(u64, String)>> {
    let bytes = crate::datasets::read_file(path)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        Error::format(path, format!("line {line}: not valid UTF-8"))
    })?;
    let mut names = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let folded = fold(line);
        if !folded.chars().any(|c| c.is_ascii_alphabetic()) {
            return Err(Error::format(
                path,
                format!(
                    "line {}: '{line}' has no letter of the alphabet a-z A-Z",
                    i + 1
                ),
            ));
        }
        names.push(((i + 1) as u64, folded));
    }
    Ok(names)
}
