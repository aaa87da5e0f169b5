//! Which layers and epochs of an archive a command works on (`--layers`, `--epochs`).

use crate::archive::{format_epoch_ranges, Archive};
use crate::error::{Error, Result};

/// An epoch selection: `all`, `last`, a list `0,5,10`, ranges `0..10` (inclusive), or
/// `every:K` (every K-th recorded epoch, the last one always included).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Epochs {
    /// Every epoch with activations.
    #[default]
    All,
    /// The last epoch with activations.
    Last,
    /// Every k-th epoch with activations, plus the last.
    Every(usize),
    /// Listed epochs (each must hold activations) and inclusive ranges (recorded epochs inside).
    Set {
        /// Single epochs.
        exact: Vec<u32>,
        /// Inclusive ranges.
        ranges: Vec<(u32, u32)>,
    },
}

impl Epochs {
    /// Parses `--epochs`.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        let bad = || {
            Error::Invalid(format!(
                "epochs '{s}': expected all, last, every:K, or a list like 0,5,10-20 / 0,5,10..20"
            ))
        };
        match s {
            "all" | "" => return Ok(Epochs::All),
            "last" => return Ok(Epochs::Last),
            _ => {}
        }
        if let Some(k) = s.strip_prefix("every:") {
            let k: usize = k.parse().map_err(|_| bad())?;
            return if k == 0 {
                Err(bad())
            } else {
                Ok(Epochs::Every(k))
            };
        }
        let mut exact = Vec::new();
        let mut ranges = Vec::new();
        for part in s.split(',').map(str::trim) {
            let range = part.split_once("..").or_else(|| part.split_once('-'));
            match range {
                Some((a, b)) => {
                    let a: u32 = a.trim().parse().map_err(|_| bad())?;
                    let b: u32 = b.trim().parse().map_err(|_| bad())?;
                    if b < a {
                        return Err(bad());
                    }
                    ranges.push((a, b));
                }
                None => exact.push(part.parse().map_err(|_| bad())?),
            }
        }
        Ok(Epochs::Set { exact, ranges })
    }

    /// The selected epochs of `archive` that hold activations. A listed epoch without
    /// activations is an error naming the archive and the recorded epochs; a range keeps only
    /// recorded epochs.
    pub fn resolve(&self, archive: &Archive) -> Result<Vec<u32>> {
        let recorded = archive.activation_epochs();
        Ok(match self {
            Epochs::All => recorded,
            Epochs::Last => recorded.last().copied().into_iter().collect(),
            Epochs::Every(k) => {
                let mut v: Vec<u32> = recorded.iter().copied().step_by(*k).collect();
                if let Some(&last) = recorded.last() {
                    if v.last() != Some(&last) {
                        v.push(last);
                    }
                }
                v
            }
            Epochs::Set { exact, ranges } => {
                if let Some(missing) = exact.iter().find(|e| !recorded.contains(e)) {
                    return Err(Error::request(
                        archive.dir(),
                        format!(
                            "epoch {missing} has no recorded activations (epochs with activations: {})",
                            format_epoch_ranges(&recorded)
                        ),
                    ));
                }
                recorded
                    .into_iter()
                    .filter(|e| exact.contains(e) || ranges.iter().any(|(a, b)| a <= e && e <= b))
                    .collect()
            }
        })
    }
}

/// Resolves `--layers` (None: all) to layer indices, checking every name.
pub fn layers(archive: &Archive, names: Option<&[String]>) -> Result<Vec<usize>> {
    match names {
        None => Ok((0..archive.layers().len()).collect()),
        Some(names) => names
            .iter()
            .map(|n| archive.layer(n).map(|(i, _)| i))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_ranges_and_keywords() {
        assert_eq!(Epochs::parse("all").unwrap(), Epochs::All);
        assert_eq!(Epochs::parse("last").unwrap(), Epochs::Last);
        assert_eq!(Epochs::parse("every:5").unwrap(), Epochs::Every(5));
        assert_eq!(
            Epochs::parse("5,0..2,4-4").unwrap(),
            Epochs::Set {
                exact: vec![5],
                ranges: vec![(0, 2), (4, 4)]
            }
        );
        assert!(Epochs::parse("3..1").is_err());
        assert!(Epochs::parse("every:0").is_err());
        assert!(Epochs::parse("x").is_err());
    }
}
