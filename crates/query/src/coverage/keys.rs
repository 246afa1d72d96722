//! Which billed key a metered key names: the join's key match, by provider key id or by hint
//! (pure).

/// Which billed key a metered key names: a key id equal to it, or a hint it matches (the
/// same prefix and suffix around the hint's ellipsis). `None` when none or several match.
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

/// Whether a hint (`sk-proj-abc…wxyz`) stands for `value` (the same hint, or a key with that
/// prefix and suffix).
fn hint_matches(hint: &str, value: &str) -> bool {
    if hint == value {
        return true;
    }
    let Some((head, tail)) = hint.split_once('…').or_else(|| hint.split_once("...")) else {
        return false;
    };
    if let Some((v_head, v_tail)) = value.split_once('…').or_else(|| value.split_once("...")) {
        return !head.is_empty() && v_head == head && v_tail == tail;
    }
    !head.is_empty()
        && value.len() >= head.len() + tail.len()
        && value.starts_with(head)
        && value.ends_with(tail)
}
