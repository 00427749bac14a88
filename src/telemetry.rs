//! Tracing setup (work in progress).
