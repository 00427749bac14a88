//! Derived fields: `full_name` rebuilt from the surviving first and last names.

use super::rules::Candidate;

/// Lineage rule name of a `full_name` rebuilt from the surviving first and last names.
pub const DERIVED_FULL_NAME: &str = "derived(first_name, last_name)";

/// Where `full_name` and the names it is built from sit among the fields.
#[derive(Debug, Clone, Copy)]
pub struct FullName {
    /// Position of `full_name`.
    pub at: usize,
    first: Option<usize>,
    last: Option<usize>,
}

impl FullName {
    /// `Some` when `fields` has a `full_name`, which is then derived rather than survived.
    pub fn of(fields: &[String]) -> Option<Self> {
        let at = |name: &str| fields.iter().position(|f| f == name);
        Some(FullName {
            at: at("full_name")?,
            first: at("first_name"),
            last: at("last_name"),
        })
    }

    /// Writes the surviving first and last names (`chosen`, by field) joined by a space into
    /// `out`; returns the candidate the value is credited to (the first name's, else the last
    /// name's), `None` when neither survived.
    pub fn derive<'a>(
        &self,
        chosen: &[Option<Candidate<'a>>],
        out: &mut String,
    ) -> Option<Candidate<'a>> {
        let first = self.first.and_then(|i| chosen[i]);
        let last = self.last.and_then(|i| chosen[i]);
        out.clear();
        for part in [first, last].iter().flatten() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(part.value);
        }
        first.or(last)
    }
}
