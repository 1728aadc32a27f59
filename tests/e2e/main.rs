//! End-to-end tests: the `boardcheck` binary and the crates together, on the real models,
//! real face images, a real SQLite store, a real station service and a real browser. One test
//! binary, so the crates are linked once and the models load once for all of them; a crate's
//! own tests live in that crate.

mod common;

mod bad_input;
mod boarding;
mod connections;
mod console_browser;
mod console_types;
mod ingest;
mod lane;
mod service;
mod station_load;
mod ticket;
mod vision;
