//! Which epochs record activations: `all`, `log:K`, `every:K` or `none` (epoch 0 = before
//! training; metrics and gradient statistics are recorded at every epoch whatever the choice).
//! Shared by the tch recorder and the Python hook recorder.

use crate::error::{Error, Result};

/// The largest K of `log:K` and `every:K`.
const MAX_K: u32 = 1_000_000;

/// The `--record-epochs` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordEpochs {
    /// Every epoch 0..=E.
    All,
    /// About K epochs spaced evenly in log(1 + e) over 0..=E (duplicates merged), always
    /// including 0 and E; early epochs, where representations change fastest, are denser.
    Log(u32),
    /// Epochs 0, K, 2K, ... and E.
    Every(u32),
    /// No activations at all.
    None,
}

impl std::str::FromStr for RecordEpochs {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bail = |m: String| Err(Error::Invalid(m));
        let k = |v: &str| -> Result<u32> {
            let Ok(k) = v.parse::<u32>() else {
                return bail(format!("'{s}': K must be a positive integer"));
            };
            if k == 0 {
                return bail(format!("'{s}': K must be at least 1"));
            }
            if k > MAX_K {
                return bail(format!("'{s}': K must be at most {MAX_K}"));
            }
            Ok(k)
        };
        Ok(match s {
            "all" => Self::All,
            "none" => Self::None,
            _ if s.starts_with("log:") => Self::Log(k(&s[4..])?),
            _ if s.starts_with("every:") => Self::Every(k(&s[6..])?),
            _ => {
                return Err(Error::Invalid(format!(
                    "unknown --record-epochs '{s}' (expected all, log:K, every:K or none)"
                )))
            }
        })
    }
}

impl std::fmt::Display for RecordEpochs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::All => write!(f, "all"),
            Self::Log(k) => write!(f, "log:{k}"),
            Self::Every(k) => write!(f, "every:{k}"),
            Self::None => write!(f, "none"),
        }
    }
}

impl RecordEpochs {
    /// The epochs 0..=`epochs` that record activations, ascending.
    pub fn epochs(self, epochs: u32) -> Vec<u32> {
        (0..=epochs)
            .zip(self.mask(epochs))
            .filter_map(|(e, m)| m.then_some(e))
            .collect()
    }

    /// The plan of a recording of `epochs` epochs: every epoch 0..=`epochs` (metrics and
    /// gradient statistics), with activations where this schedule says.
    pub fn plan(self, epochs: u32) -> Vec<crate::archive::PlannedEpoch> {
        (0..=epochs)
            .zip(self.mask(epochs))
            .map(|(epoch, activations)| crate::archive::PlannedEpoch { epoch, activations })
            .collect()
    }

    /// Whether each epoch 0..=`epochs` records activations.
    pub fn mask(self, epochs: u32) -> Vec<bool> {
        let n = epochs as usize + 1;
        match self {
            Self::All => vec![true; n],
            Self::None => vec![false; n],
            Self::Every(k) => (0..=epochs).map(|e| e % k == 0 || e == epochs).collect(),
            Self::Log(k) => {
                let mut m = vec![false; n];
                m[0] = true;
                m[n - 1] = true;
                if k > 1 {
                    let top = (1.0 + f64::from(epochs)).ln();
                    for i in 0..k {
                        let x = top * f64::from(i) / f64::from(k - 1);
                        let e = (x.exp() - 1.0).round() as usize;
                        m[e.min(n - 1)] = true;
                    }
                }
                m
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epochs(r: RecordEpochs, e: u32) -> Vec<usize> {
        r.mask(e)
            .iter()
            .enumerate()
            .filter(|(_, &b)| b)
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn plans() {
        assert_eq!(epochs(RecordEpochs::All, 3), vec![0, 1, 2, 3]);
        assert_eq!(epochs(RecordEpochs::None, 3), Vec::<usize>::new());
        assert_eq!(epochs(RecordEpochs::Every(4), 10), vec![0, 4, 8, 10]);
        // log:5 over 0..=99: exp(k/4 · ln 100) - 1 = 0, 2.16, 9, 30.6, 99.
        assert_eq!(epochs(RecordEpochs::Log(5), 99), vec![0, 2, 9, 31, 99]);
        assert_eq!(epochs(RecordEpochs::Log(1), 7), vec![0, 7]);
        assert_eq!(epochs(RecordEpochs::Log(50), 3), vec![0, 1, 2, 3]);
    }

    #[test]
    fn parse() {
        assert_eq!(
            "log:30".parse::<RecordEpochs>().ok(),
            Some(RecordEpochs::Log(30))
        );
        assert_eq!(
            "every:5".parse::<RecordEpochs>().ok(),
            Some(RecordEpochs::Every(5))
        );
        let e = "every:0"
            .parse::<RecordEpochs>()
            .err()
            .map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("'every:0': K must be at least 1"));
        let e = "sometimes"
            .parse::<RecordEpochs>()
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("unknown --record-epochs 'sometimes' (expected all, log:K, every:K or none)")
        );
    }
}
