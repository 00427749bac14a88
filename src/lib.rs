//! `golden` consolidates scattered customer records into audited golden records.
//!
//! ```text
//! pipeline.toml ──► plan ──► ingest ──► standardize ──► block ──► compare ──► score ──► cluster ──► survive ──► write
//!                           (DataFusion) (Arrow kernels) (keys)   (strsim,    (Fellegi-  (union-find, (rules +    (Parquet,
//!                                                                 rayon)      Sunter)    stable ids)  lineage)   atomic)
//! ```
//!
//! Each stage is one module with one entry function; data passes between stages as Arrow arrays.
#![deny(missing_docs)]

pub mod block;
pub mod cli;
pub mod cluster;
pub mod compare;
pub mod config;
#[cfg(feature = "distributed")]
pub mod distributed;
pub mod error;
pub mod evaluate;
pub mod explain;
pub mod generate;
pub mod ingest;
pub mod memory;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod query;
pub mod report;
pub mod run;
pub mod schema;
pub mod standardize;
pub mod survive;
pub mod telemetry;
pub mod verify;

pub use error::{Error, Result};
