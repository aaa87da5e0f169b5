//! The names most programs need: `use infoplane::prelude::*;`.

pub use crate::archive::Archive;
pub use crate::error::{Error, Result};
pub use crate::estimator::{EstimatorParams, DEFAULT_ESTIMATORS};
pub use crate::run::{estimate_archive, estimate_arrays, Arrays, EstimateRequest};
pub use crate::table::estimates::{read as read_table, write as write_table, EstimateRow, Unit};
