//! Composite social indices: definitions and published methods.
//!
//! - [`definition`]: the TOML form of an index (method, indicators, rating population).
//! - [`mss`]: Berlin "Monitoring Soziale Stadtentwicklung" status and dynamics index.

pub mod definition;
pub mod mss;

pub use definition::{Exclusion, IndexDefinition, IndexMethod};
