//! Quartier's use cases: what a planner asks of the stored data, answered with the analysis
//! core — indicator values with references and statuses, index tables and their robustness,
//! spatial statistics and clusters, supply and gaps, needs-based allocation, the monitoring of
//! measures, checks of offers deliveries.
//!
//! Each use case is a function taking a store handle (`&dyn Store`, already limited to the
//! request's visibility by `quartier_store::scope`) and returning plain results. The CLI, the
//! web pages and the reports call the same function for the same question; this crate does no
//! I/O of its own beyond the store, and the store knows nothing of it.

pub mod allocation;
pub mod indexing;
pub mod monitoring;
pub mod offers;
pub mod spatial;
pub mod supply;
pub mod views;
