//! # boardcheck-api
//!
//! The station service's HTTP interface as types: every request and response body, shared by
//! the service (`boardcheck-station`), the lane's client (`boardcheck-lane`) and the console
//! page's script. It holds data and serde shapes only — no handlers, no I/O.

use serde::{Deserialize, Serialize};

/// One stage's time for one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageSample {
    pub stage: String,
    pub ms: f64,
}
