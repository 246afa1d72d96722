//! The query string as the provider sees it: decoded pairs, repeated keys kept in order, and the
//! two array conventions (OpenAI's repeated keys, Anthropic's `key[]`).

/// How a provider spells an array parameter in the query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArrayStyle {
    /// `group_by=model&group_by=project_id` (OpenAI).
    Repeated,
    /// `group_by[]=model&group_by[]=workspace_id` (Anthropic).
    Brackets,
}

/// A parsed query string.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

/// An array parameter sent in the other provider's spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WrongArraySpelling {
    /// The key as it was sent, e.g. `group_by[]`.
    pub(crate) sent: String,
    /// The key as the provider documents it, e.g. `group_by`.
    pub(crate) expected: String,
}

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Self { pairs }
    }

    /// The first value of `key`, if sent.
    pub(crate) fn first(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of the array parameter `name`, in the provider's `style`; the other spelling
    /// is an error, so a client that encodes arrays the wrong way finds out.
    pub(crate) fn array(
        &self,
        name: &str,
        style: ArrayStyle,
    ) -> Result<Vec<&str>, WrongArraySpelling> {
        let bracketed = format!("{name}[]");
        let (wanted, other) = match style {
            ArrayStyle::Repeated => (name, bracketed.as_str()),
            ArrayStyle::Brackets => (bracketed.as_str(), name),
        };
        if self.pairs.iter().any(|(k, _)| k == other) {
            return Err(WrongArraySpelling {
                sent: other.to_owned(),
                expected: wanted.to_owned(),
            });
        }
        Ok(self
            .pairs
            .iter()
            .filter(|(k, _)| k == wanted)
            .map(|(_, v)| v.as_str())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_keep_their_order() {
        let q = Query::parse(Some("group_by=model&group_by=project_id&limit=31"));
        assert_eq!(
            q.array("group_by", ArrayStyle::Repeated),
            Ok(vec!["model", "project_id"])
        );
        assert_eq!(q.first("limit"), Some("31"));
    }

    #[test]
    fn brackets_are_decoded_and_the_wrong_spelling_is_refused() {
        let q = Query::parse(Some(
            "group_by%5B%5D=model&starting_at=2025-08-01T00%3A00%3A00Z",
        ));
        assert_eq!(q.array("group_by", ArrayStyle::Brackets), Ok(vec!["model"]));
        assert_eq!(q.first("starting_at"), Some("2025-08-01T00:00:00Z"));
        assert!(q.array("group_by", ArrayStyle::Repeated).is_err());
    }
}
