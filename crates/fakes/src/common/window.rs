//! A validated request for a page of time buckets, shared by the usage and cost reports of both
//! providers: the time range, bucket width, page size, and where this page starts.

use super::buckets::{Alignment, Bucket, Width, page_of_buckets};
use super::cursor::Cursor;
use super::respond::Variant;

#[derive(Debug, Clone)]
pub(crate) struct Window {
    pub(crate) end: i64,
    pub(crate) width: Width,
    pub(crate) alignment: Alignment,
    pub(crate) limit: u32,
    /// Where this page starts: `start`, or what the cursor says.
    pub(crate) position: i64,
    /// 1-based page index.
    pub(crate) page: u32,
    /// The cursor as sent, if any.
    pub(crate) sent_cursor: Option<String>,
}

/// The `page` parameter was not a cursor this fake issued for this range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadCursor;

/// One rendered page's buckets and continuation.
#[derive(Debug, Clone)]
pub(crate) struct BucketPage {
    pub(crate) buckets: Vec<Bucket>,
    pub(crate) has_more: bool,
    pub(crate) next_page: Option<String>,
}

impl Window {
    /// A window starting at `start`, or where `cursor` says.
    pub(crate) fn new(
        (start, end): (i64, i64),
        width: Width,
        alignment: Alignment,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Self, BadCursor> {
        let (position, page) = match cursor {
            None => (start, 1),
            Some(text) => {
                let c = Cursor::decode(text).ok_or(BadCursor)?;
                if c.position < start || c.position > end {
                    return Err(BadCursor);
                }
                (c.position, c.page)
            }
        };
        Ok(Self {
            end,
            width,
            alignment,
            limit,
            position,
            page,
            sent_cursor: cursor.map(str::to_owned),
        })
    }

    /// This page's buckets; under [`Variant::RepeatPage`] the cursor does not advance.
    pub(crate) fn page(&self, variant: Variant) -> BucketPage {
        let (buckets, next) = page_of_buckets(
            self.position,
            self.end,
            self.width,
            self.alignment,
            self.limit,
        );
        let (has_more, next_page) = if variant == Variant::RepeatPage {
            let same = self.sent_cursor.clone().unwrap_or_else(|| {
                Cursor {
                    position: self.position,
                    page: self.page,
                }
                .encode()
            });
            (true, Some(same))
        } else {
            match next {
                Some(position) => (
                    true,
                    Some(
                        Cursor {
                            position,
                            page: self.page + 1,
                        }
                        .encode(),
                    ),
                ),
                None => (false, None),
            }
        };
        BucketPage {
            buckets,
            has_more,
            next_page,
        }
    }
}
