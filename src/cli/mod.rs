//! cli stage (work in progress).
