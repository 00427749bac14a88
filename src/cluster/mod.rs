//! cluster stage (work in progress).
