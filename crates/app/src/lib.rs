//! Quartier's use cases: what a planner asks of the stored data, answered with the analysis
//! core — indicator values with references and statuses, index tables and their robustness,
//! spatial statistics and clusters, supply and gaps, needs-based allocation, the monitoring of
//! measures, checks of offers deliveries.
//!
//! Each use case is a function taking a store handle (`&dyn Store`, already limited to the
//! request's visibility by `quartier_store::scope`) and returning plain results. The CLI, the
//! web pages and the reports call the same function for the same question; this crate does no
//! I/O of its own beyond the store, and the store knows nothing of it.
//!
//! This crate is also the only way up to the store: `cli`, `web` and `report` depend on
//! `quartier-app`, never on `quartier-store` directly (`tests/layers.rs` checks it). They
//! open a store through [`store::Location`] and read or write plain records (areas, offers,
//! conferences, accounts) through the re-exported [`store::Store`] trait; every question that
//! combines stored data with the analysis core is a function here.

/// Persistence, re-exported: opening a store, its records and the `Store` trait.
pub use quartier_store as store;

pub mod allocation;
pub mod crosswalk;
pub mod indexing;
pub mod monitoring;
pub mod offers;
pub mod spatial;
pub mod supply;
pub mod views;
