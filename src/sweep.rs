//! Sweeps past one machine: the units of work (archive, layer, epoch), their deterministic
//! assignment to shards, archive fingerprints, and the checked merge of the shards' parts.
//!
//! A unit keeps every σ² and estimator of one (archive, layer, epoch) in one pass. `--shard
//! i/n` takes the units whose stable hash (FNV-1a of fingerprint, layer name and epoch) is
//! i − 1 modulo n; `--shard slice:i/n` cuts the units, in order, into n contiguous slices of
//! about equal cost N²·H. Both depend only on the archives and the selection, so every shard
//! of a sweep agrees on them without talking to the others. `merge` concatenates the parts
//! with polars and refuses duplicated units, parts of another version or request (unless
//! forced), mixed units and, given the expected archives, missing units (naming them and
//! their shard).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use polars::prelude::{DataFrame, IdxCa, NamedFrom};

use crate::archive::{format_epoch_ranges, Archive};
use crate::error::{Error, Result};
use crate::run::{self, EstimateRequest};
use crate::table::estimates::{self as table, EstimateRow};
use crate::table::Table;

pub(crate) use crate::util::hash::fnv1a;

/// The archive's fingerprint ([`Archive::fingerprint`]).
pub fn fingerprint(archive: &Archive) -> Result<String> {
    archive.fingerprint()
}

/// How units are dealt to shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// By a stable hash of each unit.
    Hash,
    /// Contiguous slices of about equal cost N²·H.
    Slice,
}

/// One shard of a sweep: `index` of `count` (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1..=count.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
    /// How units are dealt.
    pub mode: Mode,
}

impl Shard {
    /// Parses `i/n` or `slice:i/n` (1 ≤ i ≤ n ≤ 100000).
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || {
            Error::Invalid(format!(
                "--shard '{s}': expected i/n or slice:i/n with 1 ≤ i ≤ n ≤ 100000"
            ))
        };
        let (mode, rest) = match s.trim().strip_prefix("slice:") {
            Some(r) => (Mode::Slice, r),
            None => (Mode::Hash, s.trim()),
        };
        let (i, n) = rest.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count || count > 100_000 {
            return Err(bad());
        }
        Ok(Shard { index, count, mode })
    }

    /// `i/n` or `slice:i/n`.
    pub fn label(&self) -> String {
        match self.mode {
            Mode::Hash => format!("{}/{}", self.index, self.count),
            Mode::Slice => format!("slice:{}/{}", self.index, self.count),
        }
    }
}

/// One unit of work.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Position of the archive among those given.
    pub archive: usize,
    /// Its directory, as given (for messages).
    pub dir: String,
    /// The archive's fingerprint.
    pub fingerprint: String,
    /// Layer index and name.
    pub layer: (usize, String),
    /// Epoch.
    pub epoch: u32,
    /// Cost N²·H.
    pub weight: f64,
}

impl Unit {
    /// (fingerprint, layer name, epoch): how rows name their unit.
    pub fn key(&self) -> (String, String, u32) {
        (self.fingerprint.clone(), self.layer.1.clone(), self.epoch)
    }
}

/// The key of the unit a row belongs to.
pub(crate) fn row_key(r: &EstimateRow) -> (String, String, u32) {
    (r.fingerprint.clone(), r.layer.clone(), r.epoch)
}

/// Every unit of `archives` under the request's layer and epoch selection, in order.
pub fn units(archives: &[Archive], req: &EstimateRequest) -> Result<Vec<Unit>> {
    let mut out = Vec::new();
    for (a, archive) in archives.iter().enumerate() {
        let fp = fingerprint(archive)?;
        let n = archive.manifest().analysis_set.n as f64;
        let layers = crate::selection::layers(archive, req.layers.as_deref())?;
        let epochs = req.epochs.resolve(archive)?;
        for &li in &layers {
            let info = &archive.layers()[li];
            for &epoch in &epochs {
                out.push(Unit {
                    archive: a,
                    dir: archive.dir().display().to_string(),
                    fingerprint: fp.clone(),
                    layer: (li, info.name.clone()),
                    epoch,
                    weight: crate::estimator::registry::cost(&req.estimators, n, info.width as f64),
                });
            }
        }
    }
    Ok(out)
}

/// The shard (1-based, of `count`) a unit falls in under [`Mode::Hash`].
fn hash_shard(u: &Unit, count: usize) -> usize {
    let text = format!("{}\0{}\0{}", u.fingerprint, u.layer.1, u.epoch);
    (fnv1a(text.as_bytes()) % count as u64) as usize + 1
}

/// Which of `units` (all of a sweep, in order) belong to `shard`.
pub fn assign(units: &[Unit], shard: &Shard) -> Vec<bool> {
    match shard.mode {
        Mode::Hash => units
            .iter()
            .map(|u| hash_shard(u, shard.count) == shard.index)
            .collect(),
        Mode::Slice => {
            let total: f64 = units
                .iter()
                .map(|u| u.weight)
                .sum::<f64>()
                .max(f64::MIN_POSITIVE);
            let mut before = 0.0;
            units
                .iter()
                .map(|u| {
                    let mid = before + u.weight / 2.0;
                    before += u.weight;
                    let k = ((mid / total) * shard.count as f64).floor() as usize;
                    k.min(shard.count - 1) + 1 == shard.index
                })
                .collect()
        }
    }
}

/// The unit keys present in `tables` (files, or folders searched for `.parquet` and `.csv`).
pub fn present_units(tables: &[PathBuf]) -> Result<BTreeSet<(String, String, u32)>> {
    let mut out = BTreeSet::new();
    for path in table_files(tables)? {
        let t = Table::read(&path)?;
        if t.height() == 0 {
            continue;
        }
        out.extend(table::from_table(&t)?.rows.iter().map(row_key));
    }
    Ok(out)
}

/// The table files among `paths`, folders searched recursively (sorted).
fn table_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)?;
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = e.map_err(|e| Error::io(dir, e))?.path();
        if p.is_dir() {
            walk(&p, out)?;
        } else if p
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("parquet") || x.eq_ignore_ascii_case("csv"))
        {
            out.push(p);
        }
    }
    Ok(())
}

/// Estimates the units of `archives` that belong to `shard` (all without one) and are not in
/// `present`, archive by archive in order; every row names its shard.
pub fn estimate_units(
    archives: &[Archive],
    req: &EstimateRequest,
    shard: Option<&Shard>,
    present: &BTreeSet<(String, String, u32)>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<EstimateRow>> {
    let all = units(archives, req)?;
    let mine = shard.map_or_else(|| vec![true; all.len()], |s| assign(&all, s));
    let label = shard.map_or("all".to_string(), Shard::label);
    let todo: Vec<&Unit> = all
        .iter()
        .zip(&mine)
        .filter(|(u, &m)| m && !present.contains(&u.key()))
        .map(|(u, _)| u)
        .collect();
    let total = todo.len();
    let mut rows = Vec::new();
    for (a, archive) in archives.iter().enumerate() {
        let set: BTreeSet<(usize, u32)> = todo
            .iter()
            .filter(|u| u.archive == a)
            .map(|u| (u.layer.0, u.epoch))
            .collect();
        if set.is_empty() {
            continue;
        }
        let offset = rows.len();
        let sub = EstimateRequest {
            units: Some(set),
            ..req.clone()
        };
        let done_before = todo.iter().filter(|u| u.archive < a).count();
        let part = run::estimate_archive(
            archive,
            &sub,
            &mut |d, _| progress(done_before + d, total),
            None,
        )?;
        rows.extend(part);
        rows[offset..]
            .iter_mut()
            .for_each(|r| r.shard = label.clone());
    }
    Ok(rows)
}

/// One part read for merging.
struct Part {
    path: PathBuf,
    df: DataFrame,
    rows: Vec<EstimateRow>,
    /// The unit of its information columns (None for an empty part).
    unit: Option<table::Unit>,
    parquet: bool,
}

fn read_part(path: &Path) -> Result<Part> {
    let t = Table::read(path)?;
    let (rows, unit) = if t.height() == 0 {
        (Vec::new(), None)
    } else {
        let e = table::from_table(&t)?;
        (e.rows, Some(e.unit))
    };
    let parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    Ok(Part {
        path: path.to_path_buf(),
        df: t.df,
        rows,
        unit,
        parquet,
    })
}

/// What a merge wrote.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The table (the parts' rows in unit order, values exactly as in the parts).
    pub df: DataFrame,
    /// Parts read (files).
    pub parts: usize,
    /// Units merged.
    pub units: usize,
}

/// Merges the parts in `paths` (files or folders of parts). With `expect` (the sweep's units,
/// in order), every expected unit must be there and no other; `force` lets parts of other
/// versions or requests through.
pub fn merge(paths: &[PathBuf], expect: Option<&[Unit]>, force: bool) -> Result<Merged> {
    let files = table_files(paths)?;
    if files.is_empty() {
        return Err(Error::Invalid(
            "merge: no part given (.parquet or .csv files, or folders of them)".into(),
        ));
    }
    refuse_repeated_files(&files)?;
    let parts: Vec<Part> = files.iter().map(|p| read_part(p)).collect::<Result<_>>()?;
    check_parts(&parts, force)?;
    parts.iter().try_for_each(refuse_repeated_rows)?;
    let mut owner: BTreeMap<(String, String, u32), usize> = BTreeMap::new();
    for (k, p) in parts.iter().enumerate() {
        for key in p.rows.iter().map(row_key).collect::<BTreeSet<_>>() {
            if let Some(&j) = owner.get(&key) {
                return Err(Error::format(
                    &p.path,
                    format!(
                        "layer '{}' epoch {} of archive {} is also in {}: a part was given twice, or two sweeps overlap",
                        key.1,
                        key.2,
                        key.0,
                        parts[j].path.display()
                    ),
                ));
            }
            owner.insert(key, k);
        }
    }
    if let Some(expect) = expect {
        check_expected(&parts, &owner, expect)?;
    }
    let order = unit_order(&parts, expect);
    let df = concat_in_order(&parts, &order)?;
    Ok(Merged {
        df,
        parts: parts.len(),
        units: owner.len(),
    })
}

/// The same part file named twice (directly, through a folder, or by another path).
fn refuse_repeated_files(files: &[PathBuf]) -> Result<()> {
    let mut seen: BTreeMap<PathBuf, &PathBuf> = BTreeMap::new();
    for f in files {
        if let Some(first) = seen.insert(crate::util::fsutil::resolve(f), f) {
            return Err(Error::format(
                f,
                format!(
                    "is given twice (also as {}); name each part once",
                    first.display()
                ),
            ));
        }
    }
    Ok(())
}

/// A part must hold each (unit, estimator, setting) row once: repeated rows would be counted
/// twice by everything downstream.
fn refuse_repeated_rows(p: &Part) -> Result<()> {
    let mut seen = BTreeMap::new();
    for (i, r) in p.rows.iter().enumerate() {
        let key = (row_key(r), r.estimator.as_ref(), r.setting.as_str());
        if let Some(first) = seen.insert(key, i) {
            return Err(Error::format(
                &p.path,
                format!(
                    "holds the row of layer '{}' epoch {} ({} {}) twice (rows {} and {}): a part holds each estimate once; was it concatenated with itself?",
                    r.layer,
                    r.epoch,
                    r.estimator,
                    r.setting,
                    first + 1,
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

/// One unit, one version, one request and one format across the parts.
fn check_parts(parts: &[Part], force: bool) -> Result<()> {
    if parts.iter().any(|p| p.parquet != parts[0].parquet) {
        return Err(Error::Invalid(
            "merge: the parts must be all Parquet or all CSV (estimate --out part.parquet)".into(),
        ));
    }
    let first = parts.iter().find_map(|p| p.rows.first().map(|r| (p, r)));
    let Some((p0, r0)) = first else {
        return Ok(());
    };
    for p in parts {
        for r in &p.rows {
            let what = if r.version != r0.version {
                Some(format!(
                    "infoplane {} (the first part: {})",
                    r.version, r0.version
                ))
            } else if r.request != r0.request {
                Some(format!(
                    "another request (estimators, parameters, layers or epochs: {} vs {})",
                    r.request, r0.request
                ))
            } else {
                None
            };
            if let Some(w) = what.filter(|_| !force) {
                return Err(Error::format(
                    &p.path,
                    format!(
                        "estimated by {w} than {}; merge them with --force only if that is intended",
                        p0.path.display()
                    ),
                ));
            }
        }
    }
    if let Some(p) = parts.iter().find(|p| p.unit.is_some() && p.unit != p0.unit) {
        return Err(Error::format(
            &p.path,
            format!(
                "is in another unit than {} (bits vs nats): estimate the parts with one --unit",
                p0.path.display()
            ),
        ));
    }
    Ok(())
}

/// Every expected unit present, and nothing else.
fn check_expected(
    parts: &[Part],
    owner: &BTreeMap<(String, String, u32), usize>,
    expect: &[Unit],
) -> Result<()> {
    let wanted: BTreeSet<(String, String, u32)> = expect.iter().map(Unit::key).collect();
    if let Some((key, &k)) = owner.iter().find(|(k, _)| !wanted.contains(*k)) {
        return Err(Error::format(
            &parts[k].path,
            format!(
                "holds layer '{}' epoch {} of archive {}, which the expected archives and selection do not have",
                key.1, key.2, key.0
            ),
        ));
    }
    let missing: Vec<&Unit> = expect
        .iter()
        .filter(|u| !owner.contains_key(&u.key()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid(missing_message(
        parts,
        expect.len(),
        &missing,
    )))
}

/// `M of T expected units are missing (shard 2/3): archive 0 (fingerprint) layer 'fc1' epochs
/// 0-4; ...`, with how to compute them.
fn missing_message(parts: &[Part], total: usize, missing: &[&Unit]) -> String {
    let mut by: BTreeMap<(usize, String, (usize, String)), Vec<u32>> = BTreeMap::new();
    for u in missing {
        by.entry((u.archive, u.dir.clone(), u.layer.clone()))
            .or_default()
            .push(u.epoch);
    }
    let listed: Vec<String> = by
        .iter()
        .take(6)
        .map(|((_, dir, (_, layer)), e)| {
            format!("{dir} layer '{layer}' epochs {}", format_epoch_ranges(e))
        })
        .collect();
    let more = by.len().saturating_sub(6);
    let shards = shards_of(parts, missing);
    let shard_flag = if shards.is_empty() {
        "--shard <the shard>".to_string()
    } else {
        let flags: Vec<String> = shards.iter().map(|s| format!("--shard {s}")).collect();
        flags.join(" | ")
    };
    format!(
        "merge: {} of {total} expected units are missing{}: {}{}; estimate them with `infoplane estimate ARCHIVES... {shard_flag} --only-missing PARTS...` and merge again",
        missing.len(),
        if shards.is_empty() { String::new() } else { format!(" (from shard {})", shards.join(", ")) },
        listed.join("; "),
        if more > 0 { format!("; and {more} more layers") } else { String::new() }
    )
}

/// The shards (`2/3`) the missing units belong to, when the parts name a hash layout.
fn shards_of(parts: &[Part], missing: &[&Unit]) -> Vec<String> {
    let label = parts
        .iter()
        .flat_map(|p| p.rows.first())
        .map(|r| r.shard.clone())
        .next();
    let Some(shard) = label.and_then(|l| Shard::parse(&l).ok()) else {
        return Vec::new();
    };
    if shard.mode != Mode::Hash {
        return Vec::new();
    }
    let which: BTreeSet<usize> = missing.iter().map(|u| hash_shard(u, shard.count)).collect();
    which
        .iter()
        .map(|i| format!("{i}/{}", shard.count))
        .collect()
}

/// The order of the merged rows: (part, row) pairs, units in `expect`'s order (or by run,
/// fingerprint, layer index, epoch), rows of a unit in their part's order.
fn unit_order(parts: &[Part], expect: Option<&[Unit]>) -> Vec<(usize, usize)> {
    let rank: BTreeMap<(String, String, u32), usize> = expect
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(i, u)| (u.key(), i))
        .collect();
    let mut all: Vec<(usize, usize)> = parts
        .iter()
        .enumerate()
        .flat_map(|(k, p)| (0..p.rows.len()).map(move |i| (k, i)))
        .collect();
    all.sort_by_key(|&(k, i)| {
        let r = &parts[k].rows[i];
        let fallback = (r.run.clone(), r.fingerprint.clone(), r.layer_index, r.epoch);
        (
            rank.get(&row_key(r)).copied().unwrap_or(usize::MAX),
            fallback,
            k,
            i,
        )
    });
    all
}

/// The parts' frames stacked (polars) and taken in `order`.
fn concat_in_order(parts: &[Part], order: &[(usize, usize)]) -> Result<DataFrame> {
    let bad = |e: polars::prelude::PolarsError| {
        Error::Invalid(format!("merge: cannot stack the parts: {e}"))
    };
    let mut offsets = Vec::with_capacity(parts.len());
    let mut stacked: Option<DataFrame> = None;
    let mut at = 0usize;
    for p in parts {
        offsets.push(at);
        at += p.df.height();
        stacked = Some(match stacked {
            None => p.df.clone(),
            Some(s) => s.vstack(&p.df).map_err(|e| {
                Error::format(
                    &p.path,
                    format!("does not stack with the parts before it: {e}"),
                )
            })?,
        });
    }
    let stacked = stacked.unwrap_or_default();
    let idx: Vec<polars::prelude::IdxSize> = order
        .iter()
        .map(|&(k, i)| (offsets[k] + i) as polars::prelude::IdxSize)
        .collect();
    stacked.take(&IdxCa::new("row".into(), idx)).map_err(bad)
}
