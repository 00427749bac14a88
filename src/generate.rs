//! Synthetic multi-source customer data with known truth, for tests and benchmarks.
