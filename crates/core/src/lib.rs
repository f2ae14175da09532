//! The pure analysis core of Quartier.
//!
//! Takes plain data, returns plain results: no files, no database, no network, no async.
//! Importers, storage and the web app live in other crates and call into this one.
//!
//! - Values: [`cell`] — a number or an official statistical symbol ([`cell::Symbol`]),
//!   and the parsing of the number formats found in German deliveries ([`cell::NumberFormat`]).
//! - Areas: [`hierarchy`] — levels, parents, key prefixes, sums of counts up the hierarchy
//!   and their comparison with delivered totals; [`keys`] — matching delivered area keys to
//!   known ones (leading zeros lost by Excel).
//! - Data checks: [`validate`] — duplicates, negative counts, unknown areas, with locations.
//! - Maps: [`classify`] — class breaks as in mapclassify.

pub mod allocation;
pub mod cell;
pub mod classify;
pub mod cluster;
pub mod crosswalk;
pub mod date;
pub mod disclosure;
pub mod hierarchy;
pub mod index;
pub mod indicator;
pub mod keys;
pub mod names;
pub mod segregation;
pub mod spatial;
pub mod stats;
pub mod supply;
pub mod validate;

pub use cell::{Cell, NumberFormat, Symbol};
