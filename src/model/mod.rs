//! model stage (work in progress).
