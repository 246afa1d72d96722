//! Id-cursor pagination of the plain list endpoints (OpenAI projects and keys: `after`;
//! Anthropic workspaces and keys: `after_id`/`before_id`).

/// One page of a list.
#[derive(Debug)]
pub(crate) struct ListPage<'a, T> {
    pub(crate) items: Vec<&'a T>,
    pub(crate) has_more: bool,
    /// The 1-based page number, for fault rules: the first item's position divided by the page
    /// size, rounded up, plus one (exact while the client keeps the same `limit`).
    pub(crate) page: u32,
}

/// The cursor id is not in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownId(pub(crate) String);

/// Items after `after` (or before `before`), at most `limit`.
pub(crate) fn list_page<'a, T>(
    items: &[&'a T],
    id: impl Fn(&T) -> &str,
    after: Option<&str>,
    before: Option<&str>,
    limit: u32,
) -> Result<ListPage<'a, T>, UnknownId> {
    let position = |wanted: &str| {
        items
            .iter()
            .position(|item| id(item) == wanted)
            .ok_or_else(|| UnknownId(wanted.to_owned()))
    };
    let limit = limit as usize;
    let (start, end, has_more) = match (after, before) {
        (Some(after), _) => {
            let start = position(after)? + 1;
            let end = (start + limit).min(items.len());
            (start, end, end < items.len())
        }
        (None, Some(before)) => {
            let end = position(before)?;
            let start = end.saturating_sub(limit);
            (start, end, start > 0)
        }
        (None, None) => {
            let end = limit.min(items.len());
            (0, end, end < items.len())
        }
    };
    let page = u32::try_from(start.div_ceil(limit.max(1)) + 1).unwrap_or(u32::MAX);
    Ok(ListPage {
        items: items[start..end].to_vec(),
        has_more,
        page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        (0..5).map(|i| format!("id{i}")).collect()
    }

    #[test]
    fn pages_forward_and_backward() {
        let owned = ids();
        let items: Vec<&String> = owned.iter().collect();
        let first = list_page(&items, |s| s.as_str(), None, None, 2).unwrap();
        assert_eq!(first.items, vec!["id0", "id1"]);
        assert!(first.has_more);
        assert_eq!(first.page, 1);
        let second = list_page(&items, |s| s.as_str(), Some("id1"), None, 2).unwrap();
        assert_eq!(second.items, vec!["id2", "id3"]);
        assert_eq!(second.page, 2);
        let last = list_page(&items, |s| s.as_str(), Some("id3"), None, 2).unwrap();
        assert_eq!(last.items, vec!["id4"]);
        assert!(!last.has_more);
        let back = list_page(&items, |s| s.as_str(), None, Some("id3"), 2).unwrap();
        assert_eq!(back.items, vec!["id1", "id2"]);
        assert!(back.has_more);
        assert!(list_page(&items, |s| s.as_str(), Some("nope"), None, 2).is_err());
    }
}
