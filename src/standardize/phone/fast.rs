//! A lock-free fast path for [`super::to_e164`] on the shapes nearly every export uses.
//!
//! `phonenumber` keeps its compiled patterns in one global, mutex-guarded LRU cache, so its
//! parser serialises every thread on that lock and dominated the whole run at a million
//! records. This module compiles the same metadata patterns once into plain [`Regex`]es and
//! walks the steps `phonenumber::parse` takes for a number made of digits (optionally after a
//! `+`): international-prefix check, country code, national prefix, length check, then the
//! general-pattern test of [`super::plausible`]. Wherever a number would take any other branch
//! (an IDD, a carrier code or transform rule, a leading zero, an unknown region) it answers
//! "don't know" and the caller asks `phonenumber` itself; a test compares both on thousands of
//! numbers from many regions.

use std::sync::{Arc, LazyLock};

use foldhash::{HashMap, HashMapExt};
use phonenumber::country::Id;
use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
use regex::{Regex, RegexBuilder};

/// `phonenumber`'s bounds on a national significant number's length.
const NSN_LENGTH: std::ops::RangeInclusive<usize> = 2..=17;

/// A descriptor's pattern, anchored at the start as `phonenumber` tests it, with its lengths.
struct Pattern {
    /// `^(?:national_number)`.
    regex: Regex,
    /// Possible lengths (empty: any).
    lengths: Vec<u16>,
}

impl Pattern {
    /// The general descriptor of `meta`, if its pattern compiles.
    fn general(meta: &Metadata) -> Option<Pattern> {
        let general: &Descriptor = meta.descriptors().general();
        Some(Pattern {
            regex: prefix_regex(general.national_number().as_str())?,
            lengths: general.possible_length().to_vec(),
        })
    }

    /// `phonenumber::metadata::Descriptor::is_match`.
    fn is_match(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16)))
            && self.regex.is_match(national)
    }
}

/// What parsing needs from one region's metadata.
struct Region {
    /// Country calling code (`44`).
    code: u16,
    /// The same, as text.
    code_text: String,
    /// International dialling prefix (`00`), anchored.
    idd: Option<Regex>,
    /// National prefix (`0`).
    national_prefix: Option<String>,
    /// National prefix for parsing, anchored; `None` when the region has none.
    prefix_for_parsing: Option<Regex>,
    /// Whether a transform rule rewrites numbers (the fast path then gives up).
    has_transform: bool,
    /// The general descriptor.
    general: Arc<Pattern>,
    /// The general descriptor's possible local-only lengths.
    local_lengths: Vec<u16>,
}

impl Region {
    /// `meta` compiled; `None` when one of its patterns does not compile here.
    fn new(meta: &Metadata) -> Option<Region> {
        let anchored = |pattern: Option<&str>| match pattern {
            Some(p) => prefix_regex(p).map(Some),
            None => Some(None),
        };
        Some(Region {
            code: meta.country_code(),
            code_text: meta.country_code().to_string(),
            idd: anchored(meta.international_prefix().map(|r| r.as_str()))?,
            national_prefix: meta.national_prefix().map(str::to_string),
            prefix_for_parsing: anchored(meta.national_prefix_for_parsing().map(|r| r.as_str()))?,
            has_transform: meta.national_prefix_transform_rule().is_some(),
            general: Arc::new(Pattern::general(meta)?),
            local_lengths: meta
                .descriptors()
                .general()
                .possible_local_length()
                .to_vec(),
        })
    }

    /// `phonenumber::validator::length(meta, national, Type::Unknown)` is `TooShort`.
    fn too_short(&self, national: &str) -> bool {
        let len = national.len() as u16;
        let lengths = &self.general.lengths;
        !lengths.is_empty() && !self.local_lengths.contains(&len) && len < lengths[0]
    }

    /// `validator::length(..).is_possible()`.
    fn possible_length(&self, national: &str) -> bool {
        let len = national.len() as u16;
        let lengths = &self.general.lengths;
        !lengths.is_empty() && (self.local_lengths.contains(&len) || lengths.contains(&len))
    }

    /// `parser::helper::national_number` followed by the parser's second national-prefix strip;
    /// `None` when a carrier transform would apply.
    fn strip_national_prefix<'a>(&self, mut national: &'a str) -> Option<&'a str> {
        match &self.prefix_for_parsing {
            Some(re) => {
                if let Some(m) = re.find(national) {
                    if self.has_transform {
                        return None;
                    }
                    // phonenumber re-tests the unstripped number against itself here, so a
                    // match at the start always strips.
                    national = &national[m.end()..];
                }
            }
            None => national = self.strip_plain_prefix(national),
        }
        Some(self.strip_plain_prefix(national))
    }

    /// `national` without a leading national prefix.
    fn strip_plain_prefix<'a>(&self, national: &'a str) -> &'a str {
        match &self.national_prefix {
            Some(p) => national.strip_prefix(p.as_str()).unwrap_or(national),
            None => national,
        }
    }
}

/// The compiled metadata: regions by ISO code, and general patterns by calling code.
struct Rules {
    /// Parsing rules per region id (`GB`).
    regions: HashMap<String, Region>,
    /// General patterns of every region sharing a calling code (shared with `regions`; the
    /// non-geographic codes all have the id `001`, so this is not a list of region ids). A code
    /// with a region that failed to compile is missing, which sends its numbers to
    /// `phonenumber` rather than skip that region's pattern.
    by_code: HashMap<u16, Vec<Arc<Pattern>>>,
}

/// Compiled once, on the first phone number.
static RULES: LazyLock<Rules> = LazyLock::new(|| {
    let mut regions = HashMap::new();
    let mut by_code = HashMap::new();
    for code in 1..1000u16 {
        let Some(metas) = DATABASE.by_code(&code) else {
            continue;
        };
        let mut patterns = Vec::with_capacity(metas.len());
        for meta in &metas {
            if let Some(r) = Region::new(meta) {
                patterns.push(r.general.clone());
                regions.insert(meta.id().to_string(), r);
            }
        }
        if patterns.len() == metas.len() {
            by_code.insert(code, patterns);
        }
    }
    Rules { regions, by_code }
});

/// `Regex` for `pattern` (whitespace-insensitive, as phonenumber compiles it) anchored at the
/// start.
fn prefix_regex(pattern: &str) -> Option<Regex> {
    RegexBuilder::new(&format!("^(?:{pattern})"))
        .ignore_whitespace(true)
        .build()
        .ok()
}

/// E.164 of a normalised number (`+` and digits, or digits) in `region`: `Some(Some(e164))` or
/// `Some(None)` (implausible) where the fast path can decide, `None` where only `phonenumber`
/// can.
pub(super) fn to_e164(number: &str, region: Option<Id>) -> Option<Option<String>> {
    let rules = &*RULES;
    let region = rules.regions.get(region?.as_ref())?;
    let (code, national) = match number.strip_prefix('+') {
        Some(digits) => {
            if digits.starts_with('0') || region.idd.as_ref().is_some_and(|r| r.is_match(digits)) {
                return None;
            }
            let (code, len) = (1..=3).find_map(|len| {
                let code: u16 = digits.get(..len)?.parse().ok()?;
                rules.by_code.contains_key(&code).then_some((code, len))
            })?;
            let national = &digits[len..];
            if national.len() <= *NSN_LENGTH.start() {
                return None;
            }
            (code, national)
        }
        None => {
            if region.idd.as_ref().is_some_and(|r| r.is_match(number)) {
                return None;
            }
            let national = match number.strip_prefix(region.code_text.as_str()) {
                Some(rest)
                    if !region.general.is_match(number) || !region.possible_length(number) =>
                {
                    if rest.len() <= *NSN_LENGTH.start() {
                        return None;
                    }
                    rest
                }
                _ => number,
            };
            (region.code, national)
        }
    };
    let stripped = region.strip_national_prefix(national)?;
    let national = if region.too_short(stripped) {
        national
    } else {
        stripped
    };
    if !NSN_LENGTH.contains(&national.len()) || national.starts_with('0') {
        return None;
    }
    let plausible = rules
        .by_code
        .get(&code)?
        .iter()
        .any(|p| p.is_match(national));
    Some(plausible.then(|| format!("+{code}{national}")))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    /// Every region's example numbers, written the ways exports write them (after
    /// [`super::super::normalise`]: digits, or `+` and digits) and slightly corrupted.
    fn corpus() -> Vec<(String, &'static str)> {
        let mut out = Vec::new();
        for code in 1..1000u16 {
            for meta in DATABASE.by_code(&code).unwrap_or_default() {
                let d = meta.descriptors();
                let examples = [Some(d.general()), d.mobile(), d.fixed_line()]
                    .into_iter()
                    .flatten()
                    .filter_map(Descriptor::example);
                let prefix = meta.national_prefix().unwrap_or("");
                for nsn in examples {
                    let short = |drop: usize| nsn[..nsn.len().saturating_sub(drop)].to_string();
                    for n in [nsn.to_string(), short(1), short(3), format!("{nsn}7")] {
                        for written in [
                            format!("+{code}{n}"),
                            format!("+{code}{prefix}{n}"),
                            format!("{prefix}{n}"),
                            n.clone(),
                            format!("{code}{n}"),
                        ] {
                            for region in [meta.id(), "GB", "US"] {
                                let region: &'static str =
                                    Box::leak(region.to_string().into_boxed_str());
                                out.push((written.clone(), region));
                            }
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn fast_path_agrees_with_phonenumber_wherever_it_decides() {
        let cases = corpus();
        let mut decided = 0;
        for (number, region) in &cases {
            let id = Id::from_str(region).ok();
            if let Some(fast) = to_e164(number, id) {
                decided += 1;
                let slow = super::super::parse_e164(number, id);
                assert_eq!(fast, slow, "{number} in {region}");
            }
        }
        // The fast path must carry most numbers, or it is not a fast path.
        assert!(
            decided * 10 > cases.len() * 7,
            "fast path decided {decided} of {}",
            cases.len()
        );
    }

    #[test]
    fn fast_path_takes_the_usual_uk_and_us_shapes() {
        let gb = Id::from_str("GB").ok();
        for n in ["07700900123", "+447700900123", "447700900123", "7700900123"] {
            assert_eq!(
                to_e164(n, gb),
                Some(Some("+447700900123".to_string())),
                "{n}"
            );
        }
        let us = Id::from_str("US").ok();
        assert_eq!(
            to_e164("4155552671", us),
            Some(Some("+14155552671".to_string()))
        );
        // No region: only phonenumber can tell which metadata applies.
        assert_eq!(to_e164("+447700900123", None), None);
    }
}
