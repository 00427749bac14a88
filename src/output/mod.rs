//! output stage (work in progress).
