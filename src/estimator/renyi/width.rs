//! The Rényi kernel's exponent convention and its width σ (a number, Silverman's rule or the
//! median distance), with their text forms for parameters.

use crate::error::{Error, Result};

/// The kernel's exponent convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convention {
    /// exp(-d²/(2σ²)).
    TwoSigma2,
    /// exp(-d²/σ²).
    Sigma2,
    /// exp(-d²/σ).
    Sigma,
    /// The linear kernel z·z' (no width), through the H x H dual at any N.
    Linear,
    /// The cosine kernel z·z' / (‖z‖ ‖z'‖) (no width), through the H x H dual at any N.
    Cosine,
}

impl Convention {
    /// The exponent written out, as in result rows.
    pub fn describe(self) -> &'static str {
        match self {
            Convention::TwoSigma2 => "exp(-d²/(2σ²))",
            Convention::Sigma2 => "exp(-d²/σ²)",
            Convention::Sigma => "exp(-d²/σ)",
            Convention::Linear => "z·z'",
            Convention::Cosine => "cos(z,z')",
        }
    }

    /// Whether the kernel is linear in the features (linear, cosine): no width, the dual path.
    pub(crate) fn is_linear(self) -> bool {
        matches!(self, Convention::Linear | Convention::Cosine)
    }

    /// The divisor of d² for the convention's parameter σ.
    pub fn divisor(self, sigma: f64) -> f64 {
        match self {
            Convention::TwoSigma2 => 2.0 * sigma * sigma,
            Convention::Sigma2 => sigma * sigma,
            Convention::Sigma | Convention::Linear | Convention::Cosine => sigma,
        }
    }
}

impl std::str::FromStr for Convention {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "2s2" | "2sigma2" => Ok(Convention::TwoSigma2),
            "s2" | "sigma2" => Ok(Convention::Sigma2),
            "s" | "sigma" => Ok(Convention::Sigma),
            "linear" => Ok(Convention::Linear),
            "cosine" => Ok(Convention::Cosine),
            o => Err(Error::Invalid(format!(
                "unknown kernel '{o}' (expected 2s2 = exp(-d²/(2σ²)), s2 = exp(-d²/σ²), s = exp(-d²/σ), linear or cosine)"
            ))),
        }
    }
}

impl std::fmt::Display for Convention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Convention::TwoSigma2 => "2s2",
            Convention::Sigma2 => "s2",
            Convention::Sigma => "s",
            Convention::Linear => "linear",
            Convention::Cosine => "cosine",
        })
    }
}

/// How the kernel width σ is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Width {
    /// A fixed σ.
    Fixed(f64),
    /// γ √d N^(-1/(4+d)).
    Silverman(f64),
    /// The median pairwise distance (not squared) of the matrix.
    Median,
}

impl std::fmt::Display for Width {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Width::Fixed(x) => write!(f, "{x}"),
            Width::Silverman(g) if *g == 0.8 => f.write_str("silverman"),
            Width::Silverman(g) => write!(f, "silverman:{g}"),
            Width::Median => f.write_str("median"),
        }
    }
}

impl std::str::FromStr for Width {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::Invalid(format!("unknown width '{s}' (expected a positive number, silverman, silverman:GAMMA or median)"))
        };
        match s {
            "silverman" => Ok(Width::Silverman(0.8)),
            "median" => Ok(Width::Median),
            _ => {
                let (v, silverman) = match s.strip_prefix("silverman:") {
                    Some(g) => (g, true),
                    None => (s, false),
                };
                let x: f64 = v.parse().map_err(|_| bad())?;
                if !(x > 0.0 && x.is_finite()) {
                    return Err(bad());
                }
                Ok(if silverman {
                    Width::Silverman(x)
                } else {
                    Width::Fixed(x)
                })
            }
        }
    }
}
