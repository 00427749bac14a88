//! compare stage (work in progress).
