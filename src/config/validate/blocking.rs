//! `[blocking]`: rules of keys such as `metaphone(first_name)`, and the block size cap.

use toml::Spanned;

use super::super::raw;
use super::super::{BlockKey, BlockingConfig, BlockingRule, KeyTransform};
use super::{Checker, is_identifier, unmapped};
use crate::schema::KEY_SEPARATOR;

/// Largest `max_block_size`: one record of such a block meets the rest in one chunk of the
/// comparison stage, whose vector ids are 16-bit.
pub const MAX_BLOCK_SIZE_LIMIT: usize = 1 << 16;

/// The functions of one field accepted in blocking keys, by their name in pipeline files;
/// `left(field, N)` is the other one.
const ONE_FIELD_FUNCTIONS: &[(&str, KeyTransform)] = &[
    ("metaphone", KeyTransform::Metaphone),
    ("soundex", KeyTransform::Soundex),
    ("nysiis", KeyTransform::Nysiis),
    ("year", KeyTransform::Year),
];

impl Checker<'_> {
    /// `[blocking]`: at least one rule, and the block size cap.
    pub(super) fn check_blocking(
        &mut self,
        raw: &raw::RawBlocking,
        mapped: &[String],
    ) -> BlockingConfig {
        if raw.rules.get_ref().is_empty() {
            self.err(
                raw.rules.span(),
                "blocking.rules",
                "no rules; add at least one rule, such as rules = [[\"email\"]]",
            );
        }
        let rules = (raw.rules.get_ref().iter().enumerate())
            .map(|(i, rule)| self.check_rule(rule, &format!("blocking.rules[{i}]"), mapped))
            .collect();
        let mut max_block_size = raw::DEFAULT_MAX_BLOCK_SIZE;
        if let Some(m) = &raw.max_block_size {
            match usize::try_from(*m.get_ref()) {
                Ok(n) if (1..=MAX_BLOCK_SIZE_LIMIT).contains(&n) => max_block_size = n,
                _ => self.err(
                    m.span(),
                    "blocking.max_block_size",
                    format!(
                        "must be between 1 and {MAX_BLOCK_SIZE_LIMIT}, got {} (a block of \
                         {MAX_BLOCK_SIZE_LIMIT} records already holds two billion pairs)",
                        m.get_ref()
                    ),
                ),
            }
        }
        BlockingConfig {
            rules,
            max_block_size,
        }
    }

    /// One rule (`rkey`, such as `blocking.rules[2]`): its keys, each on a mapped field.
    fn check_rule(
        &mut self,
        rule: &Spanned<Vec<Spanned<String>>>,
        rkey: &str,
        mapped: &[String],
    ) -> BlockingRule {
        if rule.get_ref().is_empty() {
            self.err(
                rule.span(),
                rkey,
                "empty rule; list at least one key, such as [\"email\"]",
            );
        }
        let mut keys = Vec::new();
        let mut text = Vec::new();
        for (j, k) in rule.get_ref().iter().enumerate() {
            let kkey = format!("{rkey}[{j}]");
            text.push(k.get_ref().trim().to_string());
            match parse_block_key(k.get_ref()) {
                Ok(key) => {
                    if !mapped.contains(&key.field) {
                        self.err(k.span(), kkey, unmapped(&key.field, mapped));
                    }
                    keys.push(key);
                }
                Err(msg) => self.err(k.span(), kkey, msg),
            }
        }
        BlockingRule {
            keys,
            text: text.join(KEY_SEPARATOR),
        }
    }
}

/// The rule whose text (as [`BlockingRule::text`], and the manifest's `blocking[k].rule`) is
/// `text`: its keys, joined by [`KEY_SEPARATOR`].
pub fn parse_rule(text: &str) -> Result<BlockingRule, String> {
    let keys = text
        .split(KEY_SEPARATOR)
        .map(parse_block_key)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(BlockingRule {
        keys,
        text: text.to_string(),
    })
}

/// Parses a blocking key: `field`, `metaphone(field)`, `soundex(field)`, `nysiis(field)`,
/// `year(field)` or `left(field, N)`.
pub fn parse_block_key(text: &str) -> Result<BlockKey, String> {
    let s = text.trim();
    let hint = "write `field` or `function(field)`, such as `metaphone(first_name)` or \
                `left(postcode, 3)`";
    let Some(open) = s.find('(') else {
        return if is_identifier(s) {
            Ok(BlockKey {
                field: s.to_string(),
                transform: KeyTransform::Identity,
            })
        } else {
            Err(format!("invalid key `{s}`; {hint}"))
        };
    };
    let Some(inner) = s[open + 1..].strip_suffix(')') else {
        return Err(format!("invalid key `{s}`; {hint}"));
    };
    let func = s[..open].trim();
    let args: Vec<&str> = inner.split(',').map(str::trim).collect();
    let (field, transform) = match (func, args.as_slice()) {
        ("left", [f, n]) => match n.parse::<usize>() {
            Ok(n) if n >= 1 => (f.to_string(), KeyTransform::Prefix(n)),
            _ => {
                return Err(format!(
                    "`left` needs a length of at least 1, got `{n}`, as in `left(postcode, 3)`"
                ));
            }
        },
        ("left", _) => {
            return Err("`left` takes a field and a length, as in `left(postcode, 3)`".into());
        }
        _ => {
            let Some(&(_, transform)) = ONE_FIELD_FUNCTIONS.iter().find(|(n, _)| *n == func) else {
                let names: Vec<&str> = ONE_FIELD_FUNCTIONS.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "unknown function `{func}`; expected one of {}, left",
                    names.join(", ")
                ));
            };
            let [f] = args.as_slice() else {
                return Err(format!(
                    "`{func}` takes one field, as in `{func}(first_name)`"
                ));
            };
            (f.to_string(), transform)
        }
    };
    if !is_identifier(&field) {
        return Err(format!("invalid field name `{field}` in key `{s}`; {hint}"));
    }
    Ok(BlockKey { field, transform })
}
