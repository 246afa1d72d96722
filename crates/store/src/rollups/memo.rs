//! Period reads of the bill's rollup kinds kept in memory under the billed-rollup revision
//! (see `revision`): a view read again while no sync, delete or rebuild wrote the bill — every
//! page load, every API call between syncs — is answered from memory, whatever the number of
//! its series. The revision is read before the data, so a read racing a write is kept under
//! the older revision and never served once the revision has moved; a process sharing the
//! database with others sees their writes through the same number.
//!
//! Bounded per organization: at most [`MAX_READS`] reads and [`MAX_ROWS`] rows, the oldest
//! forgotten first; a read larger than the row bound is not kept.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::PeriodRow;
use crate::OrgId;

/// The most reads kept per organization.
pub const MAX_READS: usize = 32;
/// The most rows kept per organization, over all its reads. A row is 344 bytes inline
/// (`size_of::<PeriodRow>()`) plus its dimensions on the heap, about 450 in all: about 29 MB.
/// The Keys view at 20,000 keys reads 30,000 rows (keys, and keys × units), so two of its
/// periods fit.
pub const MAX_ROWS: usize = 64_000;

/// One organization's kept reads, all under one revision.
#[derive(Debug, Default)]
struct Kept {
    revision: i64,
    reads: VecDeque<(String, Arc<Vec<PeriodRow>>)>,
    rows: usize,
}

/// The kept period reads of every organization, and how many reads they answered.
#[derive(Clone, Debug, Default)]
pub(crate) struct PeriodMemo {
    kept: Arc<Mutex<HashMap<OrgId, Kept>>>,
    hits: Arc<AtomicU64>,
}

impl PeriodMemo {
    /// The rows kept for `key` under `revision`, if any.
    pub(crate) fn get(&self, org: OrgId, revision: i64, key: &str) -> Option<Vec<PeriodRow>> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let found = kept
            .get(&org)
            .filter(|k| k.revision == revision)?
            .reads
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, rows)| Vec::clone(rows))?;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(found)
    }

    /// Keeps `rows`, read after revision `revision` was read, under `key`. A read under an older
    /// revision than the one kept is dropped; a newer one forgets every older read.
    pub(crate) fn put(&self, org: OrgId, revision: i64, key: String, rows: &[PeriodRow]) {
        if rows.len() > MAX_ROWS {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let entry = kept.entry(org).or_default();
        if entry.revision > revision {
            return;
        }
        if entry.revision < revision {
            *entry = Kept {
                revision,
                ..Kept::default()
            };
        }
        if entry.reads.iter().any(|(k, _)| *k == key) {
            return;
        }
        entry.rows += rows.len();
        entry.reads.push_back((key, Arc::new(rows.to_vec())));
        while entry.reads.len() > MAX_READS || entry.rows > MAX_ROWS {
            let Some((_, old)) = entry.reads.pop_front() else {
                break;
            };
            entry.rows -= old.len();
        }
    }

    /// How many reads were answered from memory.
    pub(crate) fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollups::{Metrics, SeriesKey};

    fn rows(n: usize) -> Vec<PeriodRow> {
        (0..n)
            .map(|i| PeriodRow {
                series: SeriesKey {
                    connection: None,
                    dims: vec![crate::rollups::DimValue::Text(i.to_string())],
                },
                current: Metrics::default(),
                previous: Metrics::default(),
            })
            .collect()
    }

    #[test]
    fn a_read_is_kept_only_under_its_revision_and_a_newer_one_forgets_the_rest() {
        let memo = PeriodMemo::default();
        let org = OrgId(1);
        memo.put(org, 3, "a".into(), &rows(2));
        assert_eq!(memo.get(org, 3, "a"), Some(rows(2)));
        assert_eq!(memo.get(org, 4, "a"), None, "the revision moved");
        assert_eq!(memo.get(OrgId(2), 3, "a"), None, "another organization");
        // A slower read under an older revision does not replace what is kept.
        memo.put(org, 2, "b".into(), &rows(1));
        assert_eq!(memo.get(org, 2, "b"), None);
        assert_eq!(memo.get(org, 3, "a"), Some(rows(2)));
        memo.put(org, 5, "b".into(), &rows(1));
        assert_eq!(memo.get(org, 5, "a"), None, "forgotten with its revision");
        assert_eq!(memo.get(org, 5, "b"), Some(rows(1)));
        assert_eq!(memo.hits(), 3);
    }

    #[test]
    fn the_oldest_reads_go_first_past_either_bound() {
        let memo = PeriodMemo::default();
        let org = OrgId(1);
        for i in 0..=MAX_READS {
            memo.put(org, 1, i.to_string(), &rows(1));
        }
        assert_eq!(memo.get(org, 1, "0"), None);
        assert!(memo.get(org, 1, "1").is_some());
        memo.put(org, 1, "big".into(), &rows(MAX_ROWS - 10));
        assert!(memo.get(org, 1, "big").is_some());
        assert_eq!(memo.get(org, 1, "1"), None, "pushed out by the rows bound");
        memo.put(org, 1, "huge".into(), &rows(MAX_ROWS + 1));
        assert_eq!(
            memo.get(org, 1, "huge"),
            None,
            "larger than the bound: not kept"
        );
    }
}
