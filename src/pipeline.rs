//! Orchestrator (work in progress).
