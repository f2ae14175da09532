//! Composite social indices: definitions and published methods.
//!
//! - [`definition`]: the TOML form of an index (method, indicators, rating population).
//! - [`mss`]: Berlin "Monitoring Soziale Stadtentwicklung" status and dynamics index.
//! - [`svi`]: CDC/ATSDR Social Vulnerability Index percentile ranks and flags.
//! - [`imd`]: English Indices of Deprivation 2019 exponential combination of domains.

pub mod definition;
pub mod gisd;
pub mod imd;
pub mod mss;
pub mod robustness;
pub mod svi;
pub mod weighted;

pub use definition::{Exclusion, IndexDefinition, IndexMethod};
