//! Labels: the one check that turns raw labels (from `.npy` files, NumPy, torch) into class
//! indices, class counts, and the entropy H(Y) of the empirical label distribution.

/// The most classes infoplane handles (labels are class indices below this).
pub const MAX_CLASSES: usize = 65_536;

/// Raw labels as they arrive from outside, before they are class indices.
#[derive(Debug, Clone, Copy)]
pub enum RawLabels<'a> {
    /// Signed integers (NumPy int8..int64, bool).
    Int(&'a [i64]),
    /// Unsigned integers (uint64 values above i64::MAX included).
    UInt(&'a [u64]),
    /// Floating-point numbers: accepted only when every one is an integer.
    Float(&'a [f64]),
    /// Single-precision floats, likewise (shown as written: 0.7, not 0.699999988).
    Float32(&'a [f32]),
}

/// The labels as class indices `0..MAX_CLASSES`, checked before anything is sized by them:
/// negative, fractional, non-finite and too-large labels are refused with what is wrong and
/// which sample has it (the caller adds the file or argument). The CLI's `import`, the Python
/// `estimate` and the Python `Recorder` all go through this.
pub fn class_indices(raw: RawLabels<'_>) -> Result<Vec<u32>, String> {
    let too_large = |shown: String, i: usize| {
        format!(
            "label {shown} of sample {i} is too large: infoplane supports at most {MAX_CLASSES} classes (labels 0 to {})",
            MAX_CLASSES - 1
        )
    };
    let negative = |shown: String, i: usize| {
        format!(
            "label {shown} of sample {i} is negative; labels must be class indices 0, 1, 2, ..."
        )
    };
    let fits = |v: u64| v < MAX_CLASSES as u64;
    match raw {
        RawLabels::Int(v) => v
            .iter()
            .enumerate()
            .map(|(i, &y)| match u64::try_from(y) {
                Err(_) => Err(negative(y.to_string(), i)),
                Ok(u) if fits(u) => Ok(u as u32),
                Ok(_) => Err(too_large(y.to_string(), i)),
            })
            .collect(),
        RawLabels::UInt(v) => v
            .iter()
            .enumerate()
            .map(|(i, &y)| {
                if fits(y) {
                    Ok(y as u32)
                } else {
                    Err(too_large(y.to_string(), i))
                }
            })
            .collect(),
        RawLabels::Float(v) => v
            .iter()
            .enumerate()
            .map(|(i, &y)| float_index(y, y.to_string(), i))
            .collect(),
        RawLabels::Float32(v) => v
            .iter()
            .enumerate()
            .map(|(i, &y)| float_index(f64::from(y), y.to_string(), i))
            .collect(),
    }
}

/// A float label `y` (shown as `shown`) of sample `i` as a class index.
fn float_index(y: f64, shown: String, i: usize) -> Result<u32, String> {
    if !y.is_finite() || y.fract() != 0.0 {
        Err(format!(
            "label {shown} of sample {i} is not an integer; labels must be class indices 0, 1, 2, ..."
        ))
    } else if y < 0.0 {
        Err(format!(
            "label {shown} of sample {i} is negative; labels must be class indices 0, 1, 2, ..."
        ))
    } else if y >= MAX_CLASSES as f64 {
        Err(format!(
            "label {shown} of sample {i} is too large: infoplane supports at most {MAX_CLASSES} classes (labels 0 to {})",
            MAX_CLASSES - 1
        ))
    } else {
        Ok(y as u32)
    }
}

/// The number of classes the labels show: 1 + the largest label, 0 for no labels.
pub(crate) fn classes_in(labels: &[u32]) -> usize {
    labels.iter().max().map_or(0, |m| *m as usize + 1)
}

/// Number of samples of each class `0..n_classes` (labels at or above `n_classes` are ignored).
pub(crate) fn class_counts(labels: &[u32], n_classes: usize) -> Vec<usize> {
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
/// This is the ceiling of every I(Y;Z) estimate on the same samples.
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
pub(crate) fn entropy_bits(counts: &[usize]) -> f64 {
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
    fn class_indices_refuse_what_is_not_a_class_index() {
        assert_eq!(class_indices(RawLabels::Int(&[0, 2, 1])), Ok(vec![0, 2, 1]));
        assert_eq!(class_indices(RawLabels::Float(&[0.0, 3.0])), Ok(vec![0, 3]));
        assert_eq!(
            class_indices(RawLabels::Int(&[0, 1 << 32])).unwrap_err(),
            "label 4294967296 of sample 1 is too large: infoplane supports at most 65536 classes (labels 0 to 65535)"
        );
        assert_eq!(
            class_indices(RawLabels::UInt(&[u64::MAX])).unwrap_err(),
            "label 18446744073709551615 of sample 0 is too large: infoplane supports at most 65536 classes (labels 0 to 65535)"
        );
        assert_eq!(
            class_indices(RawLabels::Float(&[1.0, 0.7])).unwrap_err(),
            "label 0.7 of sample 1 is not an integer; labels must be class indices 0, 1, 2, ..."
        );
        assert_eq!(
            class_indices(RawLabels::Int(&[-1])).unwrap_err(),
            "label -1 of sample 0 is negative; labels must be class indices 0, 1, 2, ..."
        );
        assert!(class_indices(RawLabels::Float(&[f64::NAN])).is_err());
        assert_eq!(
            class_indices(RawLabels::Float32(&[0.7])).unwrap_err(),
            "label 0.7 of sample 0 is not an integer; labels must be class indices 0, 1, 2, ..."
        );
        assert!(class_indices(RawLabels::Float(&[1e9])).is_err());
        assert_eq!(class_indices(RawLabels::Int(&[65_535])), Ok(vec![65_535]));
    }

    #[test]
    fn counts_ignore_out_of_range() {
        assert_eq!(class_counts(&[0, 1, 1, 5], 2), vec![1, 2]);
    }
}
