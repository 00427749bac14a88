//! One function per survivorship rule: pick the record whose value survives.

use crate::config::Rule;

/// What a rule sees of one candidate record (a cluster member with a non-null value).
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Record index.
    pub record: u32,
    /// The field's display value.
    pub value: &'a str,
    /// `updated_at`, ISO-8601 (sortable), if known.
    pub updated_at: Option<&'a str>,
    /// Position of the record's source in `source_priority` (unlisted sources after all).
    pub priority: usize,
    /// Position of the record's source in the pipeline file.
    pub source_order: usize,
    /// Row number within its source.
    pub row_number: u64,
}

/// Most recent first; then pipeline source order, then row order.
pub fn recency(a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
    b.updated_at
        .cmp(&a.updated_at)
        .then(a.source_order.cmp(&b.source_order))
        .then(a.row_number.cmp(&b.row_number))
}

/// The candidate that survives under `rule`; `None` when there are no candidates.
pub fn pick<'a>(rule: Rule, candidates: &[Candidate<'a>]) -> Option<Candidate<'a>> {
    match rule {
        Rule::MostRecent => candidates.iter().min_by(|a, b| recency(a, b)).copied(),
        Rule::MostFrequent => {
            let count = |v: &str| candidates.iter().filter(|c| c.value == v).count();
            candidates
                .iter()
                .min_by(|a, b| count(b.value).cmp(&count(a.value)).then(recency(a, b)))
                .copied()
        }
        Rule::SourcePriority => candidates
            .iter()
            .min_by(|a, b| a.priority.cmp(&b.priority).then(recency(a, b)))
            .copied(),
        Rule::Longest => candidates
            .iter()
            .min_by(|a, b| {
                b.value
                    .chars()
                    .count()
                    .cmp(&a.value.chars().count())
                    .then(recency(a, b))
            })
            .copied(),
        Rule::FirstNonNull => candidates
            .iter()
            .min_by(|a, b| {
                a.source_order
                    .cmp(&b.source_order)
                    .then(a.row_number.cmp(&b.row_number))
            })
            .copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(
        record: u32,
        value: &'static str,
        updated: Option<&'static str>,
        priority: usize,
    ) -> Candidate<'static> {
        Candidate {
            record,
            value,
            updated_at: updated,
            priority,
            source_order: priority,
            row_number: record as u64,
        }
    }

    #[test]
    fn each_rule_picks_its_record() {
        let c = [
            cand(0, "a@x.com", Some("2020-01-01T00:00:00"), 2),
            cand(1, "b@x.com", Some("2024-01-01T00:00:00"), 1),
            cand(2, "a@x.com", None, 0),
            cand(3, "longest@x.com", Some("2019-01-01T00:00:00"), 3),
        ];
        assert_eq!(pick(Rule::MostRecent, &c).map(|c| c.record), Some(1));
        assert_eq!(
            pick(Rule::MostFrequent, &c).map(|c| c.record),
            Some(0),
            "a@x.com twice; most recent of the two"
        );
        assert_eq!(pick(Rule::SourcePriority, &c).map(|c| c.record), Some(2));
        assert_eq!(pick(Rule::Longest, &c).map(|c| c.record), Some(3));
        assert_eq!(pick(Rule::FirstNonNull, &c).map(|c| c.record), Some(2));
        assert!(pick(Rule::MostRecent, &[]).is_none());
    }
}
