//! Indicators: definitions, formulas, evaluation over the area hierarchy.

pub mod catalogue;
pub mod eval;
pub mod formula;

pub use catalogue::{Catalogue, Direction, Indicator};
pub use eval::{Evaluation, IndicatorValue, Status};
