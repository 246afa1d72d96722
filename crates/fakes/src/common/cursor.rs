//! Opaque `next_page` cursors for the time-bucketed reports: `page_` + base64 of the next
//! bucket's start, the 1-based page number it leads to, and a check word, so a cursor the fake
//! did not issue is refused instead of being misread.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::prng::mix;

/// Where the next page of a bucketed report begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// Unix seconds at which the next page's first bucket starts.
    pub(crate) position: i64,
    /// The 1-based index of the page this cursor asks for (the first page has no cursor).
    pub(crate) page: u32,
}

const PREFIX: &str = "page_";

fn check(position: i64, page: u32) -> u32 {
    (mix(position as u64 ^ (u64::from(page) << 40) ^ 0x5EED_CAFE) >> 32) as u32
}

impl Cursor {
    pub(crate) fn encode(self) -> String {
        let mut bytes = Vec::with_capacity(16);
        bytes.extend_from_slice(&self.position.to_be_bytes());
        bytes.extend_from_slice(&self.page.to_be_bytes());
        bytes.extend_from_slice(&check(self.position, self.page).to_be_bytes());
        format!("{PREFIX}{}", STANDARD.encode(bytes))
    }

    /// `None` for anything this fake did not issue.
    pub(crate) fn decode(text: &str) -> Option<Self> {
        let bytes = STANDARD.decode(text.strip_prefix(PREFIX)?).ok()?;
        let bytes: [u8; 16] = bytes.try_into().ok()?;
        let position = i64::from_be_bytes(bytes[0..8].try_into().ok()?);
        let page = u32::from_be_bytes(bytes[8..12].try_into().ok()?);
        let sent_check = u32::from_be_bytes(bytes[12..16].try_into().ok()?);
        (sent_check == check(position, page) && page >= 1).then_some(Self { position, page })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_foreign_text() {
        let c = Cursor {
            position: 1_736_640_000,
            page: 3,
        };
        let text = c.encode();
        assert!(text.starts_with("page_"));
        assert_eq!(Cursor::decode(&text), Some(c));
        assert_eq!(Cursor::decode("page_AAAAAGdGxdEiJdKOAAAAAGcqsYA="), None);
        assert_eq!(Cursor::decode("garbage"), None);
    }
}
