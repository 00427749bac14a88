//! Serde structs mirroring the pipeline file 1:1 (filled in by the config work).
