//! Pairwise and cluster precision / recall / F1 of a run against truth.
