//! Log-spaced histogram of squared pairwise distances, binned by the bits of the f64 value.
//!
//! A value's bin is its binary exponent plus the top [`MANTISSA_BITS`] bits of its mantissa,
//! so every bin spans a relative width of at most 2^-7 (0.78 %) of the squared distance, which is
//! at most 0.39 % of the distance itself, with no range chosen in advance. The bins cover squared
//! distances from 2^-64 to 2^64 (values outside fall into the first or last bin); exact zeros
//! (identical representations) are counted apart.

use serde::Serialize;

/// Mantissa bits that select the bin within an octave.
pub const MANTISSA_BITS: u32 = 7;
/// Largest relative width of a bin, on squared distances.
pub const RELATIVE_BIN_WIDTH: f64 = 1.0 / (1u64 << MANTISSA_BITS) as f64;

const SHIFT: u32 = 52 - MANTISSA_BITS;
/// Octaves covered: squared distances in [2^-64, 2^64).
const OCTAVES: usize = 128;
const BINS: usize = OCTAVES << MANTISSA_BITS;
/// Index (exponent and mantissa bits) of 2^-64, the first bin.
const BASE: u64 = (1023 - 64) << MANTISSA_BITS;

/// Counts of squared distances per bin (bin 0 also holds exact zeros, see [`Self::zeros`]).
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    zeros: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BINS],
            zeros: 0,
        }
    }
}

/// Lower edge of bin `b`, as a squared distance.
pub(crate) fn bin_lower(b: usize) -> f64 {
    f64::from_bits((b as u64 + BASE) << SHIFT)
}

/// Upper edge of bin `b`, as a squared distance.
pub(crate) fn bin_upper(b: usize) -> f64 {
    f64::from_bits((b as u64 + BASE + 1) << SHIFT)
}

/// The bin of a positive squared distance.
#[inline]
fn bin_of(d2: f64) -> usize {
    ((d2.to_bits() >> SHIFT).saturating_sub(BASE) as usize).min(BINS - 1)
}

impl Histogram {
    /// Adds one squared distance (non-negative, finite).
    #[inline]
    pub fn add(&mut self, d2: f64) {
        if d2 > 0.0 {
            self.counts[bin_of(d2)] += 1;
        } else {
            self.zeros += 1;
        }
    }

    /// Adds the counts of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.zeros += other.zeros;
    }

    /// Number of values added.
    pub fn total(&self) -> u64 {
        self.zeros + self.counts.iter().sum::<u64>()
    }

    /// Number of exact zeros.
    pub fn zeros(&self) -> u64 {
        self.zeros
    }

    /// The q-quantile (q in [0, 1]) of the squared distances: the geometric middle of the bin
    /// holding the value of rank ceil(q * total) (1-based), within [`RELATIVE_BIN_WIDTH`].
    pub fn quantile(&self, q: f64) -> f64 {
        let total = self.total();
        if total == 0 {
            return f64::NAN;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        if rank <= self.zeros {
            return 0.0;
        }
        let mut seen = self.zeros;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return (bin_lower(b) * bin_upper(b)).sqrt();
            }
        }
        f64::NAN
    }

    /// Non-empty bins as (lower edge, upper edge, count), on distances (not squared), merged
    /// `group` at a time so that a plot has bins of relative width about 2^-7 * group.
    pub(crate) fn distance_bins(&self, group: usize) -> Vec<HistogramBin> {
        let group = group.max(1);
        let mut out = Vec::new();
        if self.zeros > 0 {
            out.push(HistogramBin {
                lower: 0.0,
                upper: 0.0,
                count: self.zeros,
            });
        }
        let first = self.counts.iter().position(|&c| c > 0);
        let last = self.counts.iter().rposition(|&c| c > 0);
        if let (Some(first), Some(last)) = (first, last) {
            let mut b = first - first % group;
            while b <= last {
                let end = (b + group).min(BINS);
                let count: u64 = self.counts[b..end].iter().sum();
                if count > 0 {
                    out.push(HistogramBin {
                        lower: bin_lower(b).sqrt(),
                        upper: bin_upper(end - 1).sqrt(),
                        count,
                    });
                }
                b = end;
            }
        }
        out
    }
}

/// One histogram bin of (non-squared) distances; `lower == upper == 0` counts exact zeros.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HistogramBin {
    /// Lower edge (distance).
    pub lower: f64,
    /// Upper edge (distance).
    pub upper: f64,
    /// Number of pairs.
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_have_bounded_relative_width_and_contain_their_values() {
        for &v in &[1e-15, 3.7e-3, 0.5, 1.0, 2.0, 123.456, 9.9e15] {
            let b = bin_of(v);
            assert!(bin_lower(b) <= v && v < bin_upper(b), "{v}");
            assert!(bin_upper(b) / bin_lower(b) - 1.0 <= RELATIVE_BIN_WIDTH + 1e-15);
        }
    }

    #[test]
    fn quantiles_of_known_values() {
        let mut h = Histogram::default();
        for k in 1..=1000 {
            h.add(k as f64);
        }
        h.add(0.0);
        assert_eq!(h.total(), 1001);
        assert_eq!(h.quantile(0.0), 0.0);
        for (q, exact) in [(0.5, 500.0), (0.9, 900.0), (0.99, 990.0)] {
            let got = h.quantile(q);
            assert!(
                (got / exact - 1.0).abs() <= RELATIVE_BIN_WIDTH,
                "q {q}: {got}"
            );
        }
        let bins = h.distance_bins(16);
        assert_eq!(bins.iter().map(|b| b.count).sum::<u64>(), 1001);
        assert_eq!(bins[0].count, 1);
    }
}
