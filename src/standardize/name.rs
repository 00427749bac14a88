//! Personal names: `first_name`, `last_name` and `full_name` → title-cased display values and
//! folded match keys; `full_name` is also split into a first and a last name.

use arrow::array::StringArray;

use super::Cleaned;
use super::text::{CleanedBuilder, clean, map_cleaned, match_text, per_distinct, title_case};

/// Which name field a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A given name: the first word's nickname is mapped to its canonical name in the key.
    First,
    /// A family name.
    Last,
}

/// A `full_name` column standardised, with the first and last names split from it.
#[derive(Debug, Clone)]
pub struct FullNames {
    /// The full name (titles and suffixes removed, "Last, First" turned round).
    pub full: Cleaned,
    /// The first word of the given names.
    pub first: Cleaned,
    /// The family name, particles such as "van der" included.
    pub last: Cleaned,
}

/// Titles dropped from the start of a name (lowercase, without dots; sorted).
const TITLES: &[&str] = &["dr", "miss", "mr", "mrs", "ms", "mx", "prof", "rev", "sir"];

/// Suffixes dropped from the end of a name (lowercase, without dots; sorted).
const SUFFIXES: &[&str] = &[
    "esq", "ii", "iii", "iv", "jnr", "jr", "md", "phd", "snr", "sr",
];

/// Particles that belong to the family name that follows them (lowercase; sorted).
const PARTICLES: &[&str] = &[
    "al", "bin", "d'", "da", "das", "de", "del", "della", "den", "der", "di", "dos", "du", "el",
    "ibn", "la", "le", "o'", "st", "ten", "ter", "van", "von",
];

/// Nickname → canonical given name (sorted by nickname, for binary search).
const NICKNAMES: &[(&str, &str)] = &[
    ("abby", "abigail"),
    ("abe", "abraham"),
    ("al", "albert"),
    ("alex", "alexander"),
    ("alf", "alfred"),
    ("alfie", "alfred"),
    ("andy", "andrew"),
    ("angie", "angela"),
    ("archie", "archibald"),
    ("art", "arthur"),
    ("barb", "barbara"),
    ("barbie", "barbara"),
    ("bart", "bartholomew"),
    ("becca", "rebecca"),
    ("becky", "rebecca"),
    ("ben", "benjamin"),
    ("benny", "benjamin"),
    ("bernie", "bernard"),
    ("bess", "elizabeth"),
    ("bessie", "elizabeth"),
    ("beth", "elizabeth"),
    ("betsy", "elizabeth"),
    ("betty", "elizabeth"),
    ("bill", "william"),
    ("billy", "william"),
    ("bob", "robert"),
    ("bobby", "robert"),
    ("catherine", "katherine"),
    ("cathy", "katherine"),
    ("charlie", "charles"),
    ("chas", "charles"),
    ("chris", "christopher"),
    ("chrissy", "christina"),
    ("chuck", "charles"),
    ("cindy", "cynthia"),
    ("cliff", "clifford"),
    ("connie", "constance"),
    ("dan", "daniel"),
    ("danny", "daniel"),
    ("dave", "david"),
    ("davy", "david"),
    ("deb", "deborah"),
    ("debbie", "deborah"),
    ("debby", "deborah"),
    ("dick", "richard"),
    ("don", "donald"),
    ("donnie", "donald"),
    ("dot", "dorothy"),
    ("dottie", "dorothy"),
    ("doug", "douglas"),
    ("drew", "andrew"),
    ("ed", "edward"),
    ("eddie", "edward"),
    ("eddy", "edward"),
    ("eliza", "elizabeth"),
    ("elsie", "elizabeth"),
    ("ernie", "ernest"),
    ("flo", "florence"),
    ("fred", "frederick"),
    ("freddie", "frederick"),
    ("freddy", "frederick"),
    ("gabe", "gabriel"),
    ("gene", "eugene"),
    ("geoff", "geoffrey"),
    ("gerry", "gerald"),
    ("ginny", "virginia"),
    ("greg", "gregory"),
    ("gus", "augustus"),
    ("hal", "henry"),
    ("hank", "henry"),
    ("harry", "henry"),
    ("hattie", "harriet"),
    ("herb", "herbert"),
    ("jack", "john"),
    ("jake", "jacob"),
    ("jamie", "james"),
    ("jeff", "jeffrey"),
    ("jen", "jennifer"),
    ("jenn", "jennifer"),
    ("jennie", "jennifer"),
    ("jenny", "jennifer"),
    ("jerry", "gerald"),
    ("jess", "jessica"),
    ("jessie", "jessica"),
    ("jim", "james"),
    ("jimmy", "james"),
    ("joe", "joseph"),
    ("joey", "joseph"),
    ("johnny", "john"),
    ("jon", "john"),
    ("jonny", "john"),
    ("josh", "joshua"),
    ("judy", "judith"),
    ("kat", "katherine"),
    ("kate", "katherine"),
    ("katharine", "katherine"),
    ("kathryn", "katherine"),
    ("kathy", "katherine"),
    ("katie", "katherine"),
    ("ken", "kenneth"),
    ("kenny", "kenneth"),
    ("kim", "kimberly"),
    ("kimmy", "kimberly"),
    ("kitty", "katherine"),
    ("larry", "lawrence"),
    ("len", "leonard"),
    ("lenny", "leonard"),
    ("liam", "william"),
    ("libby", "elizabeth"),
    ("liz", "elizabeth"),
    ("lizzie", "elizabeth"),
    ("lizzy", "elizabeth"),
    ("lottie", "charlotte"),
    ("lou", "louis"),
    ("madge", "margaret"),
    ("maggie", "margaret"),
    ("mandy", "amanda"),
    ("marge", "margaret"),
    ("margie", "margaret"),
    ("marty", "martin"),
    ("matt", "matthew"),
    ("matty", "matthew"),
    ("meg", "margaret"),
    ("mick", "michael"),
    ("mickey", "michael"),
    ("mike", "michael"),
    ("mikey", "michael"),
    ("mitch", "mitchell"),
    ("molly", "mary"),
    ("monty", "montgomery"),
    ("nat", "nathaniel"),
    ("nate", "nathan"),
    ("ned", "edward"),
    ("nell", "eleanor"),
    ("nellie", "eleanor"),
    ("nick", "nicholas"),
    ("nicky", "nicholas"),
    ("ollie", "oliver"),
    ("pam", "pamela"),
    ("pat", "patricia"),
    ("patsy", "patricia"),
    ("patty", "patricia"),
    ("peg", "margaret"),
    ("peggy", "margaret"),
    ("pete", "peter"),
    ("phil", "philip"),
    ("phillip", "philip"),
    ("polly", "mary"),
    ("ray", "raymond"),
    ("reggie", "reginald"),
    ("rich", "richard"),
    ("richie", "richard"),
    ("rick", "richard"),
    ("ricky", "richard"),
    ("rob", "robert"),
    ("robbie", "robert"),
    ("robby", "robert"),
    ("rod", "rodney"),
    ("ron", "ronald"),
    ("ronnie", "ronald"),
    ("russ", "russell"),
    ("sally", "sarah"),
    ("sam", "samuel"),
    ("sammy", "samuel"),
    ("sandy", "sandra"),
    ("sid", "sidney"),
    ("stan", "stanley"),
    ("steph", "stephanie"),
    ("steve", "stephen"),
    ("steven", "stephen"),
    ("stevie", "stephen"),
    ("sue", "susan"),
    ("susie", "susan"),
    ("suzy", "susan"),
    ("ted", "edward"),
    ("teddy", "edward"),
    ("terry", "terence"),
    ("theo", "theodore"),
    ("tim", "timothy"),
    ("timmy", "timothy"),
    ("tina", "christina"),
    ("tom", "thomas"),
    ("tommy", "thomas"),
    ("tony", "anthony"),
    ("tori", "victoria"),
    ("tricia", "patricia"),
    ("trish", "patricia"),
    ("trudy", "gertrude"),
    ("val", "valerie"),
    ("vicki", "victoria"),
    ("vicky", "victoria"),
    ("vince", "vincent"),
    ("wally", "walter"),
    ("walt", "walter"),
    ("wes", "wesley"),
    ("will", "william"),
    ("willie", "william"),
    ("willy", "william"),
    ("zach", "zachary"),
    ("zack", "zachary"),
];

/// Standardises a `first_name` or `last_name` column.
pub fn names(values: &StringArray, kind: NameKind) -> Cleaned {
    map_cleaned(values, |s| {
        let words = strip_affixes(words(s));
        let display = title_case(words.iter().copied());
        let key = name_key(&words.join(" "), kind)?;
        Some((display, key))
    })
}

/// Standardises a `full_name` column and splits it: "Last, First Middle" or "First Middle Last".
pub fn full_names(values: &StringArray) -> FullNames {
    let [full, first, last] = per_distinct(values, full_name_rows);
    FullNames { full, first, last }
}

/// [`full_names`] row by row: the full, first and last name columns.
fn full_name_rows(values: &StringArray) -> [Cleaned; 3] {
    let mut full = CleanedBuilder::like(values);
    let mut first = CleanedBuilder::like(values);
    let mut last = CleanedBuilder::like(values);
    for value in values.iter() {
        let cleaned = value.and_then(clean);
        let split = cleaned.as_deref().and_then(split_full_name);
        let Some(split) = split else {
            for builder in [&mut full, &mut first, &mut last] {
                builder.append(None, None);
            }
            continue;
        };
        let first_key = name_key(split.first, NameKind::First);
        let last_text = split.last.join(" ");
        let last_key = name_key(&last_text, NameKind::Last);
        let full_key = match (&first_key, &last_key) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (f, l) => f.clone().or_else(|| l.clone()),
        };
        let full_display = title_case(split.display.iter().copied());
        full.append(Some(&full_display), full_key.as_deref());
        let first_display = first_key.as_ref().map(|_| title_case([split.first]));
        first.append(first_display.as_deref(), first_key.as_deref());
        let last_display = last_key
            .as_ref()
            .map(|_| title_case(split.last.iter().copied()));
        last.append(last_display.as_deref(), last_key.as_deref());
    }
    [full.finish(), first.finish(), last.finish()]
}

/// The parts of a full name.
struct SplitName<'a> {
    /// Every kept word, given names first.
    display: Vec<&'a str>,
    /// The first given name.
    first: &'a str,
    /// The family name's words.
    last: Vec<&'a str>,
}

/// Splits a cleaned full name; `None` when nothing but titles and suffixes is left.
fn split_full_name(s: &str) -> Option<SplitName<'_>> {
    if let Some((before, after)) = s.split_once(',') {
        let last = strip_affixes(words(before));
        let given = strip_affixes(words(after));
        if let (false, Some(&first)) = (last.is_empty(), given.first()) {
            let display = given.iter().chain(&last).copied().collect();
            return Some(SplitName {
                display,
                first,
                last,
            });
        }
    }
    let display = strip_affixes(words(s));
    let (&first, rest) = display.split_first()?;
    let mut start = display.len();
    if !rest.is_empty() {
        start -= 1;
        while start > 1 && in_list(PARTICLES, display[start - 1]) {
            start -= 1;
        }
    }
    let last = display[start..].to_vec();
    Some(SplitName {
        display,
        first,
        last,
    })
}

/// The words of `s`, split on spaces and commas.
fn words(s: &str) -> Vec<&str> {
    s.split([' ', ',']).filter(|w| !w.is_empty()).collect()
}

/// Drops leading titles and trailing suffixes.
fn strip_affixes(mut words: Vec<&str>) -> Vec<&str> {
    let titles = words.iter().take_while(|w| in_list(TITLES, w)).count();
    words.drain(..titles);
    while words.last().is_some_and(|w| in_list(SUFFIXES, w)) {
        words.pop();
    }
    words
}

/// Whether `word`, lowercased and without dots, is in the sorted `list`.
fn in_list(list: &[&str], word: &str) -> bool {
    let bare: String = word
        .chars()
        .filter(|&c| c != '.')
        .flat_map(char::to_lowercase)
        .collect();
    list.binary_search(&bare.as_str()).is_ok()
}

/// The match key of a name: folded, punctuation dropped, hyphens as spaces, and for a given
/// name the first word's nickname replaced by its canonical name.
fn name_key(text: &str, kind: NameKind) -> Option<String> {
    let mut key = match_text(text, &['-']);
    if kind == NameKind::First {
        let first_len = key.find(' ').unwrap_or(key.len());
        if let Some(canonical) = canonical_given_name(&key[..first_len]) {
            key.replace_range(..first_len, canonical);
        }
    }
    (!key.is_empty()).then_some(key)
}

/// The canonical given name of a lowercase nickname (`bob` → `robert`).
pub fn canonical_given_name(nickname: &str) -> Option<&'static str> {
    NICKNAMES
        .binary_search_by(|(nick, _)| (*nick).cmp(nickname))
        .ok()
        .map(|i| NICKNAMES[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(values: &[Option<&str>]) -> StringArray {
        StringArray::from(values.to_vec())
    }

    fn pairs(c: &Cleaned) -> Vec<(Option<&str>, Option<&str>)> {
        c.display.iter().zip(c.key.iter()).collect()
    }

    #[test]
    fn tables_are_sorted_and_unique() {
        for list in [TITLES, SUFFIXES, PARTICLES] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
        }
        assert!(NICKNAMES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(NICKNAMES.len() >= 100);
    }

    #[test]
    fn nicknames_share_the_canonical_key() {
        let out = names(
            &arr(&[
                Some("Bob"),
                Some("Robert"),
                Some("liz"),
                Some("ELIZABETH"),
                Some("Bobby Joe"),
            ]),
            NameKind::First,
        );
        assert_eq!(
            pairs(&out),
            vec![
                (Some("Bob"), Some("robert")),
                (Some("Robert"), Some("robert")),
                (Some("Liz"), Some("elizabeth")),
                (Some("Elizabeth"), Some("elizabeth")),
                (Some("Bobby Joe"), Some("robert joe")),
            ]
        );
        // Last names are never mapped.
        let last = names(&arr(&[Some("Bob")]), NameKind::Last);
        assert_eq!(last.key.value(0), "bob");
    }

    #[test]
    fn display_and_key_of_names() {
        let out = names(
            &arr(&[
                Some("  josé "),
                Some("Øyvind"),
                Some("MÜLLER"),
                Some("o'brien"),
                Some("McDonald"),
                Some("smith-jones"),
                Some("Mr. John Jr."),
                Some("Dr"),
                Some(""),
                Some("n/a"),
                None,
            ]),
            NameKind::Last,
        );
        assert_eq!(
            pairs(&out),
            vec![
                (Some("José"), Some("jose")),
                (Some("Øyvind"), Some("oyvind")),
                (Some("Müller"), Some("muller")),
                (Some("O'Brien"), Some("obrien")),
                (Some("McDonald"), Some("mcdonald")),
                (Some("Smith-Jones"), Some("smith jones")),
                (Some("John"), Some("john")),
                (None, None),
                (None, None),
                (None, None),
                (None, None),
            ]
        );
    }

    #[test]
    fn full_name_splits() {
        let out = full_names(&arr(&[
            Some("Smith, John"),
            Some("John Smith"),
            Some("Mr John van der Berg Jr"),
            Some("de la Cruz, Dr. Maria Elena"),
            Some("Cher"),
            Some("Mrs"),
            None,
        ]));
        assert_eq!(
            pairs(&out.first),
            vec![
                (Some("John"), Some("john")),
                (Some("John"), Some("john")),
                (Some("John"), Some("john")),
                (Some("Maria"), Some("maria")),
                (Some("Cher"), Some("cher")),
                (None, None),
                (None, None),
            ]
        );
        assert_eq!(
            pairs(&out.last),
            vec![
                (Some("Smith"), Some("smith")),
                (Some("Smith"), Some("smith")),
                (Some("Van Der Berg"), Some("van der berg")),
                (Some("De La Cruz"), Some("de la cruz")),
                (None, None),
                (None, None),
                (None, None),
            ]
        );
        assert_eq!(
            pairs(&out.full),
            vec![
                (Some("John Smith"), Some("john smith")),
                (Some("John Smith"), Some("john smith")),
                (Some("John Van Der Berg"), Some("john van der berg")),
                (Some("Maria Elena De La Cruz"), Some("maria de la cruz")),
                (Some("Cher"), Some("cher")),
                (None, None),
                (None, None),
            ]
        );
    }

    #[test]
    fn full_name_key_uses_nicknames() {
        let out = full_names(&arr(&[Some("Bill Gates"), Some("Gates, William H.")]));
        assert_eq!(out.full.key.value(0), "william gates");
        assert_eq!(out.full.key.value(1), "william gates");
    }
}
