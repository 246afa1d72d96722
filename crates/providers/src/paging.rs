//! The listing shapes the billing APIs share and the guards that stop a listing that repeats
//! itself: object lists paged by an id cursor (`after` / `after_id` = the previous page's
//! `last_id`), daily bucket reports paged by an opaque `page` cursor (`next_page`), next-page
//! links and tokens ([`CursorGuard`]: a link or token seen before is an error), and numbered or
//! offset pages ([`OffsetGuard`]: an item seen on an earlier page, or a listing that never
//! ends, is an error). Each provider's wire types say how to read their pages; the loops and
//! guards live here once.

use std::collections::HashSet;

use serde::de::DeserializeOwned;
use spendlens_domain::{Day, DayRange, ProviderKind};
use time::OffsetDateTime;

use crate::error::ProviderError;
use crate::http::{At, Client};

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
    #[expect(
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

/// Follows a listing's cursor and refuses one that does not advance: the cursor just sent, or
/// any cursor seen before in this listing.
pub(crate) struct CursorGuard {
    seen: HashSet<String>,
    max_pages: u32,
}

impl CursorGuard {
    pub(crate) fn new(max_pages: u32) -> CursorGuard {
        CursorGuard {
            seen: HashSet::new(),
            max_pages,
        }
    }

    /// `next` is the cursor page `at.page` handed out (`None`: the listing is complete).
    /// Returns the cursor to send for the next page.
    pub(crate) fn advance(
        &mut self,
        provider: ProviderKind,
        at: At<'_>,
        next: Option<String>,
    ) -> Result<Option<String>, ProviderError> {
        let Some(next) = next else {
            return Ok(None);
        };
        if !self.seen.insert(next.clone()) {
            return Err(ProviderError::RepeatedPage {
                provider,
                endpoint: at.endpoint.to_owned(),
                page: at.page,
            });
        }
        if at.page >= self.max_pages {
            return Err(ProviderError::TooManyPages {
                provider,
                endpoint: at.endpoint.to_owned(),
                pages: at.page,
            });
        }
        Ok(Some(next))
    }
}

/// The days of one bucket listing: each must be inside the window and appear once.
pub(crate) struct DayGuard {
    window: DayRange,
    seen: HashSet<Day>,
}

impl DayGuard {
    pub(crate) fn new(window: DayRange) -> DayGuard {
        DayGuard {
            window,
            seen: HashSet::new(),
        }
    }

    /// Checks a bucket starting at `start`, returning its day.
    pub(crate) fn admit(
        &mut self,
        provider: ProviderKind,
        at: At<'_>,
        start: OffsetDateTime,
    ) -> Result<Day, ProviderError> {
        let start = start.to_offset(time::UtcOffset::UTC);
        let unexpected = |detail: String| ProviderError::UnexpectedPage {
            provider,
            endpoint: at.endpoint.to_owned(),
            page: at.page,
            detail,
        };
        if start.time() != time::Time::MIDNIGHT {
            return Err(unexpected(format!(
                "a daily bucket starts at {start}, not at midnight UTC"
            )));
        }
        let day = Day::of(start);
        if !self.window.contains(day) {
            return Err(unexpected(format!(
                "a bucket for {day} is outside the requested window {}",
                self.window
            )));
        }
        if !self.seen.insert(day) {
            return Err(ProviderError::DuplicateBucket {
                provider,
                endpoint: at.endpoint.to_owned(),
                page: at.page,
                day: day.to_string(),
            });
        }
        Ok(day)
    }
}

/// Numbered or offset pages (`page=N`, `offset=K`): each item's id may appear once in the
/// whole listing (a proxy that writes while it is read can shift a row onto the next page),
/// and the listing must end within `max_pages`.
pub(crate) struct OffsetGuard {
    seen: HashSet<String>,
    max_pages: u32,
}

impl OffsetGuard {
    pub(crate) fn new(max_pages: u32) -> OffsetGuard {
        OffsetGuard {
            seen: HashSet::new(),
            max_pages,
        }
    }

    /// Admits an item of page `at.page`; an id read before is a repeated page.
    pub(crate) fn admit(
        &mut self,
        provider: ProviderKind,
        at: At<'_>,
        id: &str,
    ) -> Result<(), ProviderError> {
        if self.seen.insert(id.to_owned()) {
            Ok(())
        } else {
            Err(repeated_page(provider, at))
        }
    }

    /// The number of the page after `at.page`, or an error when the listing runs too long.
    pub(crate) fn next_page(
        &self,
        provider: ProviderKind,
        at: At<'_>,
    ) -> Result<u32, ProviderError> {
        next_page_number(provider, at, self.max_pages)
    }
}

/// The page after `at.page`, unless `max_pages` have been read.
pub(crate) fn next_page_number(
    provider: ProviderKind,
    at: At<'_>,
    max_pages: u32,
) -> Result<u32, ProviderError> {
    if at.page >= max_pages {
        return Err(ProviderError::TooManyPages {
            provider,
            endpoint: at.endpoint.to_owned(),
            pages: at.page,
        });
    }
    Ok(at.page + 1)
}

/// A page that repeats items already read: the offset or page number did not advance.
pub(crate) fn repeated_page(provider: ProviderKind, at: At<'_>) -> ProviderError {
    ProviderError::RepeatedPage {
        provider,
        endpoint: at.endpoint.to_owned(),
        page: at.page,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_cursor_seen_before_stops_the_listing() {
        let mut guard = CursorGuard::new(100);
        let at = |page| At {
            endpoint: "/x",
            page,
        };
        assert_eq!(
            guard
                .advance(ProviderKind::OpenAi, at(1), Some("a".into()))
                .unwrap(),
            Some("a".to_owned())
        );
        assert_eq!(
            guard
                .advance(ProviderKind::OpenAi, at(2), Some("b".into()))
                .unwrap(),
            Some("b".to_owned())
        );
        let err = guard
            .advance(ProviderKind::OpenAi, at(3), Some("a".into()))
            .unwrap_err();
        assert!(
            matches!(err, ProviderError::RepeatedPage { page: 3, .. }),
            "{err:?}"
        );
        assert_eq!(
            guard.advance(ProviderKind::OpenAi, at(3), None).unwrap(),
            None
        );
    }

    #[test]
    fn a_listing_longer_than_needed_is_stopped() {
        let mut guard = CursorGuard::new(2);
        let at = |page| At {
            endpoint: "/x",
            page,
        };
        guard
            .advance(ProviderKind::Anthropic, at(1), Some("a".into()))
            .unwrap();
        let err = guard
            .advance(ProviderKind::Anthropic, at(2), Some("b".into()))
            .unwrap_err();
        assert!(matches!(err, ProviderError::TooManyPages { .. }), "{err:?}");
    }

    #[test]
    fn buckets_must_be_midnight_inside_the_window_and_once() {
        let window =
            DayRange::new("2026-11-01".parse().unwrap(), "2026-11-03".parse().unwrap()).unwrap();
        let mut guard = DayGuard::new(window);
        let at = At {
            endpoint: "/x",
            page: 1,
        };
        let p = ProviderKind::OpenAi;
        assert_eq!(
            guard
                .admit(p, at, datetime!(2026-11-01 00:00 UTC))
                .unwrap()
                .to_string(),
            "2026-11-01"
        );
        assert!(matches!(
            guard.admit(p, at, datetime!(2026-11-01 00:00 UTC)),
            Err(ProviderError::DuplicateBucket { .. })
        ));
        assert!(matches!(
            guard.admit(p, at, datetime!(2026-11-02 17:31 UTC)),
            Err(ProviderError::UnexpectedPage { .. })
        ));
        assert!(matches!(
            guard.admit(p, at, datetime!(2026-11-04 00:00 UTC)),
            Err(ProviderError::UnexpectedPage { .. })
        ));
    }

    #[test]
    fn an_offset_listing_refuses_a_repeated_item_and_stops_at_its_limit() {
        let mut guard = OffsetGuard::new(2);
        let at = |page| At {
            endpoint: "/x",
            page,
        };
        let p = ProviderKind::LiteLlm;
        guard.admit(p, at(1), "a").unwrap();
        assert_eq!(guard.next_page(p, at(1)).unwrap(), 2);
        let err = guard.admit(p, at(2), "a").unwrap_err();
        assert!(
            matches!(err, ProviderError::RepeatedPage { page: 2, .. }),
            "{err:?}"
        );
        let err = guard.next_page(p, at(2)).unwrap_err();
        assert!(
            matches!(err, ProviderError::TooManyPages { pages: 2, .. }),
            "{err:?}"
        );
    }
}
