//! `infoplane verify`: reads every file of an archive and checks it against the manifest.
//!
//! `inspect` reads only the manifest and the epoch records, so a damaged layer file goes
//! unnoticed until an estimate reaches it. `verify` reads every array of every committed epoch
//! (sample ids, labels, inputs, activations, metrics, gradient statistics, batch gradients),
//! checks shapes, stored types, labels against the classes and each epoch record against its
//! place in the plan, every file (or HDF5 array slot) against its content hash and every JSON
//! record against its checksum ([`super::content`]), and lists every problem with the file it
//! is in.

use std::collections::HashSet;

use super::Archive;
use crate::error::Result;

/// What [`verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Committed epochs read.
    pub epochs: usize,
    /// Activation matrices read.
    pub matrices: usize,
    /// Per-epoch gradient-statistics records read.
    pub gradient_records: usize,
    /// NaN or infinite values among the activations and inputs (allowed, but reported).
    pub nonfinite: usize,
    /// Observations that are not damage (an incomplete archive, leftovers of a killed writer).
    pub notes: Vec<String>,
    /// Damage: one line each, naming the file and what is wrong.
    pub problems: Vec<String>,
}

impl VerifyReport {
    fn check<T>(&mut self, r: Result<T>) -> Option<T> {
        r.map_err(|e| self.problems.push(e.to_string())).ok()
    }
}

/// Reads everything in `archive`; `progress(done, total)` after each epoch.
pub fn verify(archive: &Archive, progress: &mut dyn FnMut(usize, usize)) -> VerifyReport {
    let mut rep = VerifyReport::default();
    let m = archive.manifest();
    if let Some(ids) = rep.check(archive.sample_ids()) {
        let mut seen = HashSet::with_capacity(ids.len());
        if let Some(dup) = ids.iter().find(|id| !seen.insert(**id)) {
            rep.problems.push(format!(
                "{}: sample id {dup} appears twice",
                archive.dir().display()
            ));
        }
    }
    rep.check(archive.labels());
    rep.check(archive.label_sets());
    if let Some(Some(x)) = rep.check(archive.inputs()) {
        rep.nonfinite += x.iter().filter(|v| !v.is_finite()).count();
    }
    let epochs = archive.epochs();
    let metrics_ok = rep.check(archive.metrics()).is_some();
    for (i, &epoch) in epochs.iter().enumerate() {
        verify_epoch(archive, epoch, &mut rep);
        progress(i + 1, epochs.len());
    }
    rep.epochs = epochs.len();
    if !metrics_ok {
        rep.notes
            .push("metrics could not be read for every epoch (see the problems)".into());
    }
    if !archive.has_content_hashes() {
        rep.notes.push(
            "carries no content hashes (written before infoplane checked them): damage inside a data file can go unnoticed; `infoplane convert` writes a copy that has them"
                .into(),
        );
    }
    if !archive.is_complete() {
        rep.notes.push(format!(
            "incomplete: {} of {} planned epochs committed (the writer did not finish)",
            epochs.len(),
            m.epochs.len()
        ));
    }
    rep.notes.extend(archive.leftovers());
    rep
}

fn verify_epoch(archive: &Archive, epoch: u32, rep: &mut VerifyReport) {
    let m = archive.manifest();
    if archive.activation_epochs().contains(&epoch) {
        for li in 0..m.layers.len() {
            if let Some(z) = rep.check(archive.activations_at(li, epoch)) {
                rep.nonfinite += z.iter().filter(|v| !v.is_finite()).count();
                rep.matrices += 1;
            }
        }
    }
    if !m.parameters.is_empty() && rep.check(archive.gradients(epoch)).is_some() {
        rep.gradient_records += 1;
    }
    if m.batch_gradients.is_some() {
        for p in &m.parameters {
            rep.check(archive.batch_gradients(epoch, &p.name));
        }
    }
}
