//! Estimator parameters by name, for front ends other than the command line (Python's keyword
//! arguments, as JSON): every parameter has one name (the CLI's flag without `--`, with
//! underscores: `sigma2`, `renyi_alpha`) and one default, the library's ([`Default`]).
//!
//! [`from_json`] builds [`EstimatorParams`] from the given values over the defaults, refusing
//! unknown names (naming the known ones); [`defaults`] lists every name with its default, for
//! stubs, help and the test that keeps the front ends' defaults the library's. Values whose
//! type has a text form (σ² specifications, error bars, kernel widths) are given as that text,
//! a number, or a list (joined with commas).

use serde_json::{Map, Value};

use super::EstimatorParams;
use crate::error::{Error, Result};

/// Every parameter name with its default value, in declaration order.
pub fn defaults() -> Map<String, Value> {
    match serde_json::to_value(EstimatorParams::default()) {
        Ok(Value::Object(m)) => m,
        _ => unreachable!("the parameters serialise to an object"),
    }
}

/// The parameters of a JSON object of `name: value` pairs over the defaults; a value of
/// `null` keeps the default. Checked by the estimators' `build`, as the CLI's are.
pub fn from_json(json: &str) -> Result<EstimatorParams> {
    let given: Map<String, Value> = serde_json::from_str(json)
        .map_err(|e| Error::Invalid(format!("parameters are not a JSON object: {e}")))?;
    let mut all = defaults();
    for (name, value) in given {
        let Some(slot) = all.get_mut(&name) else {
            let known: Vec<String> = defaults().keys().cloned().collect();
            return Err(Error::Invalid(format!(
                "unknown parameter '{name}' (known: {})",
                known.join(", ")
            )));
        };
        if value.is_null() {
            continue;
        }
        // A single value where the default is a list: a list of one.
        *slot = match (&*slot, value) {
            (Value::Array(_), Value::Array(v)) => Value::Array(v),
            (Value::Array(_), v) => Value::Array(vec![v]),
            (_, v) => v,
        };
    }
    serde_json::from_value(Value::Object(all))
        .map_err(|e| Error::Invalid(format!("parameters: {e}")))
}

/// Serde through a type's text form (`FromStr` and `Display`): a string, a number or a list
/// of them (joined with commas) on input, the text on output.
pub mod text {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};
    use serde_json::Value;

    /// Writes the value's text.
    pub(crate) fn serialize<T: std::fmt::Display, S: Serializer>(
        v: &T,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    /// Reads a string, a number or a list of them, and parses the text.
    pub(crate) fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
        D: Deserializer<'de>,
    {
        let one = |v: &Value| match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(D::Error::custom(format!(
                "expected text or a number, got {other}"
            ))),
        };
        let text = match Value::deserialize(d)? {
            Value::Array(items) => items
                .iter()
                .map(one)
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            v => one(&v)?,
        };
        text.parse()
            .map_err(|e| D::Error::custom(format!("'{text}': {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_every_name_is_a_flag_name() {
        let d = defaults();
        assert_eq!(from_json("{}").unwrap(), EstimatorParams::default());
        let all = Value::Object(d.clone()).to_string();
        assert_eq!(from_json(&all).unwrap(), EstimatorParams::default());
        for name in [
            "saturation_margin",
            "seed",
            "error",
            "sigma2",
            "precision",
            "tile",
            "bins",
            "bin_size",
            "bin_range",
            "renyi_alpha",
            "renyi_kernel",
            "renyi_width",
            "renyi_large",
            "renyi_lanczos_steps",
            "mine_variant",
            "mine_hidden",
            "mine_critic",
            "mine_transform",
            "mine_folds",
            "mc_samples",
            "ksg_k",
            "ksg_jitter",
            "slices",
            "smi_inner",
        ] {
            assert!(d.contains_key(name), "{name}");
        }
        // Fields the command line does not set are not parameters here either.
        for hidden in ["eval_every", "patience", "holdout", "alpha", "steps"] {
            assert!(!d.contains_key(hidden), "{hidden}");
        }
        assert_eq!(d["sigma2"], "0.001,0.01,0.1,1,thesis,nn");
        assert_eq!(d["renyi_large"], "slq");
        assert_eq!(d["bin_range"], serde_json::json!([-1.0, 1.0]));
    }

    #[test]
    fn values_come_as_text_numbers_or_lists() {
        let p = from_json(
            r#"{"sigma2": [0.001, 1.0, "nn*4"], "bins": 30, "renyi_width": "median",
                "mine_hidden": [32], "error": "subsample:5", "renyi_large": "subsets",
                "precision": "f64", "tile": null}"#,
        )
        .unwrap();
        assert_eq!(p.pairwise.sigma2.to_string(), "0.001,1,nn*4");
        assert_eq!(
            p.pairwise.sigma2,
            crate::estimator::pairwise::sigma::SigmaSpec::parse("0.001,1,nn*4").unwrap()
        );
        assert_eq!(p.bin.bins, vec![30]);
        assert_eq!(p.renyi.width.to_string(), "median");
        assert_eq!(p.mine.hidden, vec![32]);
        assert_eq!(p.common.error.to_string(), "subsample:5");
        assert_eq!(p.renyi.large, crate::estimator::renyi::Large::Subsets);
        assert_eq!(p.pairwise.tile, EstimatorParams::default().pairwise.tile);
        let e = from_json(r#"{"renyi_alfa": 2}"#).unwrap_err().to_string();
        assert!(
            e.starts_with("unknown parameter 'renyi_alfa' (known: "),
            "{e}"
        );
        assert!(e.contains("renyi_alpha"), "{e}");
        let e = from_json(r#"{"sigma2": "zero"}"#).unwrap_err().to_string();
        assert!(e.contains("'zero'"), "{e}");
        let e = from_json("[1]").unwrap_err().to_string();
        assert!(e.starts_with("parameters are not a JSON object"), "{e}");
    }
}
