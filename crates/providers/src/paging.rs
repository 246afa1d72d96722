//! The two listing shapes the billing APIs share: object lists paged by an id cursor
//! (`after` / `after_id` = the previous page's `last_id`), and daily bucket reports paged by an
//! opaque `page` cursor (`next_page`). Each provider's wire types say how to read their pages;
//! the loops, the cursor guard and the day guard live here once.

use std::collections::HashSet;

use serde::de::DeserializeOwned;
use spendlens_domain::{Day, DayRange};
use time::OffsetDateTime;

use crate::error::ProviderError;
use crate::http::{At, Client, CursorGuard, DayGuard};

/// A list longer than this many pages is a server that never stops.
const MAX_LIST_PAGES: u32 = 10_000;

/// An item of an object list, known by its id.
pub(crate) trait HasId {
    fn id(&self) -> &str;
}

/// One page of an object list.
pub(crate) trait IdPaged: DeserializeOwned {
    type Item: HasId;
    /// The items, whether more follow, and the page's `last_id`.
    fn into_parts(self) -> (Vec<Self::Item>, bool, Option<String>);
}

/// One page of a daily bucket report.
pub(crate) trait BucketPaged: DeserializeOwned {
    type Result;
    /// The buckets (start as sent, start parsed, results), whether more follow, and
    /// `next_page`.
    #[allow(
        clippy::type_complexity,
        reason = "a flat tuple read once, right below"
    )]
    fn into_parts(
        self,
    ) -> (
        Vec<(String, Option<OffsetDateTime>, Vec<Self::Result>)>,
        bool,
        Option<String>,
    );
}

/// Every item of an id-cursor list, each id once. `cursor_param` is `after` (OpenAI) or
/// `after_id` (Anthropic).
pub(crate) async fn list_all<P: IdPaged>(
    client: &Client<'_>,
    path: &str,
    base_query: &[(&str, String)],
    cursor_param: &'static str,
) -> Result<Vec<P::Item>, ProviderError> {
    let provider = client.provider();
    let mut items: Vec<P::Item> = Vec::new();
    let mut seen_ids = HashSet::new();
    let mut guard = CursorGuard::new(MAX_LIST_PAGES);
    let mut after: Option<String> = None;
    let mut page_number = 1;
    loop {
        let mut query = base_query.to_vec();
        if let Some(after) = &after {
            query.push((cursor_param, after.clone()));
        }
        let page: P = client.get(path, &query, page_number).await?;
        let at = At {
            endpoint: path,
            page: page_number,
        };
        let (data, has_more, last_id) = page.into_parts();
        let last_in_data = data.last().map(|item| item.id().to_owned());
        for item in data {
            if seen_ids.insert(item.id().to_owned()) {
                items.push(item);
            }
        }
        if !has_more {
            return Ok(items);
        }
        let next = last_id.filter(|id| !id.is_empty()).or(last_in_data);
        if next.is_none() {
            return Err(ProviderError::UnexpectedPage {
                provider,
                endpoint: path.to_owned(),
                page: page_number,
                detail: "the list says more items follow but gives no last_id to continue from"
                    .to_owned(),
            });
        }
        after = guard.advance(provider, at, next)?;
        page_number += 1;
    }
}

/// Every result of a daily bucket report over `window`, each handed with its bucket's day to
/// `map`. Every bucket must start at a UTC midnight inside the window, and each day may appear
/// once in the listing; the cursor must advance.
pub(crate) async fn list_buckets<P: BucketPaged, T>(
    client: &Client<'_>,
    path: &str,
    base_query: &[(&str, String)],
    window: DayRange,
    mut map: impl FnMut(Day, P::Result, At<'_>) -> Result<Vec<T>, ProviderError>,
) -> Result<Vec<T>, ProviderError> {
    let provider = client.provider();
    let mut out = Vec::new();
    let mut days = DayGuard::new(window);
    // Every page but the last carries at least one bucket of the window.
    let max_pages = u32::try_from(window.len_days())
        .unwrap_or(u32::MAX)
        .saturating_add(2);
    let mut guard = CursorGuard::new(max_pages);
    let mut cursor: Option<String> = None;
    let mut page_number = 1;
    loop {
        let mut query = base_query.to_vec();
        if let Some(cursor) = &cursor {
            query.push(("page", cursor.clone()));
        }
        let page: P = client.get(path, &query, page_number).await?;
        let at = At {
            endpoint: path,
            page: page_number,
        };
        let (buckets, has_more, next_page) = page.into_parts();
        for (sent, start, results) in buckets {
            let start = start.ok_or_else(|| ProviderError::UnexpectedPage {
                provider,
                endpoint: path.to_owned(),
                page: page_number,
                detail: format!("a bucket starts at \"{sent}\", which is not a time"),
            })?;
            let day = days.admit(provider, at, start)?;
            for result in results {
                out.extend(map(day, result, at)?);
            }
        }
        // Stop when has_more is false or the cursor is empty (OpenAI's cookbook stops on a
        // falsy next_page too).
        let next = next_page.filter(|next| has_more && !next.is_empty());
        match guard.advance(provider, at, next)? {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
        page_number += 1;
    }
}
