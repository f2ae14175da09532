//! Integration tests: the real `quartier` binary on files written into a temp directory.
//! Every bad-input test checks the message (file, place, field) and that the database is
//! unchanged afterwards.

mod accounts;
mod aggregate;
mod allocate;
mod areas;
mod boundaries;
mod data;
mod demo;
mod disclosure;
mod e2e;
mod indicators;
mod offers;
mod official;
mod ogc;
mod report;
mod spatial;
mod support;
