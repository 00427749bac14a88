//! block stage (work in progress).
