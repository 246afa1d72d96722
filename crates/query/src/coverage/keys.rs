//! Which billed key a metered key names: the join's key match, by provider key id or by hint
//! (pure). [`KeyMatcher`] indexes a provider's billed keys once, so matching every metered row
//! costs a few hash lookups each instead of a pass over every billed key (at 5,000 keys and tens
//! of thousands of metered rows the pass was the coverage read's largest cost).

use std::collections::{BTreeSet, HashMap};

/// Which billed key a metered key names: a key id equal to it, or a hint it matches (the
/// same prefix and suffix around the hint's ellipsis). `None` when none or several match.
/// The reference definition, one pass over the keys; [`KeyMatcher`] gives the same answers.
pub fn match_key<'a>(metered: &str, keys: &'a [(String, Option<String>)]) -> Option<&'a str> {
    let metered = metered.trim();
    if metered.is_empty() {
        return None;
    }
    if let Some((id, _)) = keys.iter().find(|(id, _)| id == metered) {
        return Some(id);
    }
    let hinted: Vec<&str> = keys
        .iter()
        .filter(|(_, hint)| hint.as_deref().is_some_and(|h| hint_matches(h, metered)))
        .map(|(id, _)| id.as_str())
        .collect();
    match hinted.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// A hint's two visible ends: `("sk-proj-abc", "wxyz")` of `sk-proj-abc…wxyz`.
fn ends(hint: &str) -> Option<(&str, &str)> {
    hint.split_once('…').or_else(|| hint.split_once("..."))
}

/// Whether a hint (`sk-proj-abc…wxyz`) stands for `value` (the same hint, or a key with that
/// prefix and suffix).
fn hint_matches(hint: &str, value: &str) -> bool {
    if hint == value {
        return true;
    }
    let Some((head, tail)) = ends(hint) else {
        return false;
    };
    if let Some((v_head, v_tail)) = ends(value) {
        return !head.is_empty() && v_head == head && v_tail == tail;
    }
    !head.is_empty()
        && value.len() >= head.len() + tail.len()
        && value.starts_with(head)
        && value.ends_with(tail)
}

/// A provider's billed keys indexed for [`match_key`]'s rule: by id, by whole hint, and by a
/// hint's (prefix, suffix) — looked up for a whole key by cutting it at each (prefix length,
/// suffix length) the hints have (a handful: one or two formats per provider).
pub struct KeyMatcher<'a> {
    by_id: HashMap<&'a str, &'a str>,
    /// Whole hint → the entries (key ids, in key order) whose hint it is.
    by_hint: HashMap<&'a str, Vec<usize>>,
    /// (prefix, suffix) of hints with a non-empty prefix → the entries with that hint.
    by_ends: HashMap<(&'a str, &'a str), Vec<usize>>,
    /// The (prefix, suffix) byte lengths present in `by_ends`.
    lengths: BTreeSet<(usize, usize)>,
    ids: Vec<&'a str>,
}

impl<'a> KeyMatcher<'a> {
    pub fn new(keys: &'a [(String, Option<String>)]) -> KeyMatcher<'a> {
        let mut matcher = KeyMatcher {
            by_id: HashMap::with_capacity(keys.len()),
            by_hint: HashMap::new(),
            by_ends: HashMap::new(),
            lengths: BTreeSet::new(),
            ids: Vec::with_capacity(keys.len()),
        };
        for (index, (id, hint)) in keys.iter().enumerate() {
            matcher.ids.push(id);
            matcher.by_id.entry(id.as_str()).or_insert(id.as_str());
            let Some(hint) = hint.as_deref() else {
                continue;
            };
            matcher.by_hint.entry(hint).or_default().push(index);
            if let Some((head, tail)) = ends(hint)
                && !head.is_empty()
            {
                matcher.by_ends.entry((head, tail)).or_default().push(index);
                matcher.lengths.insert((head.len(), tail.len()));
            }
        }
        matcher
    }

    /// The billed key id `metered` names, as [`match_key`] decides.
    pub fn find(&self, metered: &str) -> Option<&'a str> {
        let metered = metered.trim();
        if metered.is_empty() {
            return None;
        }
        if let Some(id) = self.by_id.get(metered) {
            return Some(id);
        }
        // Entries whose hint matches: the same hint, or a hint with the value's two ends.
        let mut hinted: BTreeSet<usize> = BTreeSet::new();
        hinted.extend(self.by_hint.get(metered).into_iter().flatten());
        if let Some((head, tail)) = ends(metered) {
            hinted.extend(self.by_ends.get(&(head, tail)).into_iter().flatten());
        } else {
            for &(head_len, tail_len) in &self.lengths {
                if metered.len() < head_len + tail_len {
                    continue;
                }
                let (Some(head), Some(tail)) = (
                    metered.get(..head_len),
                    metered.get(metered.len() - tail_len..),
                ) else {
                    continue;
                };
                hinted.extend(self.by_ends.get(&(head, tail)).into_iter().flatten());
            }
        }
        let mut found = hinted.into_iter();
        match (found.next(), found.next()) {
            (Some(one), None) => Some(self.ids[one]),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Keys and metered values over a small alphabet, so ids, hints and values collide often.
    fn short() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[ab…. -]{0,6}").unwrap()
    }

    proptest! {
        #[test]
        fn the_index_decides_as_the_reference_pass(
            keys in proptest::collection::vec((short(), proptest::option::of(short())), 0..8),
            values in proptest::collection::vec(short(), 1..8),
        ) {
            let matcher = KeyMatcher::new(&keys);
            for value in &values {
                prop_assert_eq!(matcher.find(value), match_key(value, &keys), "value {:?}", value);
                // A value cut from a hint's ends, as a whole key would be.
                for (_, hint) in &keys {
                    if let Some((head, tail)) = hint.as_deref().and_then(ends) {
                        let whole = format!("{head}{value}{tail}");
                        prop_assert_eq!(matcher.find(&whole), match_key(&whole, &keys), "whole {:?}", whole);
                    }
                }
            }
        }
    }

    #[test]
    fn a_whole_key_matches_its_hint_and_two_matching_hints_match_nothing() {
        let keys = vec![
            ("key_abc".to_owned(), Some("sk-proj-abc…wxyz".to_owned())),
            ("key_def".to_owned(), Some("sk-def...12".to_owned())),
            ("key_x1".to_owned(), Some("sk-x…9".to_owned())),
            ("key_x2".to_owned(), Some("sk-x…9".to_owned())),
        ];
        let m = KeyMatcher::new(&keys);
        assert_eq!(m.find("sk-proj-abcQQQQQwxyz"), Some("key_abc"));
        assert_eq!(m.find("  sk-defZZ12 "), Some("key_def"));
        assert_eq!(m.find("sk-def…12"), Some("key_def"));
        assert_eq!(m.find("sk-x0009"), None, "two keys share the hint");
        assert_eq!(m.find("key_x2"), Some("key_x2"));
        assert_eq!(m.find("sk-proj-abwxyz"), None);
    }
}
