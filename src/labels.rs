//! Label statistics: class counts and the entropy H(Y) of the empirical label distribution.

/// Number of samples of each class `0..n_classes` (labels at or above `n_classes` are ignored).
pub fn class_counts(labels: &[u32], n_classes: usize) -> Vec<usize> {
    let mut counts = vec![0; n_classes];
    for &y in labels {
        if let Some(c) = counts.get_mut(y as usize) {
            *c += 1;
        }
    }
    counts
}

/// Entropy in nats of the distribution given by `counts`: H = -Σ_c p_c ln p_c, p_c = n_c / N.
///
/// This is the ceiling of every I(Y;Z) estimate on the same samples (background §4).
pub fn entropy_nats(counts: &[usize]) -> f64 {
    let n: usize = counts.iter().sum();
    if n == 0 {
        return 0.0;
    }
    let n = n as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.ln()
        })
        .sum()
}

/// [`entropy_nats`] in bits.
pub fn entropy_bits(counts: &[usize]) -> f64 {
    entropy_nats(counts) / std::f64::consts::LN_2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_closed_forms() {
        assert_eq!(entropy_bits(&[5, 5]), 1.0);
        assert!((entropy_bits(&[1, 1, 1, 1, 1, 1, 1, 1, 1, 1]) - 10f64.log2()).abs() < 1e-12);
        assert_eq!(entropy_bits(&[7, 0]), 0.0);
        // p = (1/4, 3/4): H = 2 - (3/4) log2 3
        assert!((entropy_bits(&[1, 3]) - (2.0 - 0.75 * 3f64.log2())).abs() < 1e-12);
    }

    #[test]
    fn counts_ignore_out_of_range() {
        assert_eq!(class_counts(&[0, 1, 1, 5], 2), vec![1, 2]);
    }
}
