//! Partition pruning (doc §5: "the table is day-partitioned … a partition filter
//! (`_PARTITIONTIME`) can cut bytes scanned … give it a wide margin, such as ±3 days"): the
//! fake reads the SQL's predicates on the ingestion pseudo-columns and answers from the rows of
//! those partitions only, so a margin too narrow for late rows loses them, as BigQuery would.
//!
//! Understood: `_PARTITIONTIME` (TIMESTAMP parameters) or `_PARTITIONDATE` (DATE or TIMESTAMP
//! parameters) compared with `>=`, `>`, `<`, `<=`, `=` to a named parameter, or `BETWEEN @a
//! AND @b`, joined to the rest of the WHERE clause by AND. Checked (the table is partitioned):
//! there is a lower and an upper bound (else the query is refused as an unpruned scan, in
//! BigQuery's words for a table that requires a partition filter), no OR in the WHERE clause,
//! and the bounds lie within a week of the usage window (a filter from 1970 prunes nothing).
//! Not partitioned: naming either pseudo-column is refused as BigQuery refuses an unknown name.

use std::collections::BTreeMap;

use super::data::Data;
use super::http::invalid;
use crate::common::respond::ApiError;

/// Bytes BigQuery processes per export row for the columns the §8 query reads.
pub(crate) const ROW_BYTES: u64 = 896;
const DAY_MICROS: i128 = 86_400_000_000;
/// How far outside the usage window a partition bound may lie and still count as pruning.
const PRUNE_SLACK_DAYS: i128 = 7;

const COLUMNS: [&str; 2] = ["_partitiontime", "_partitiondate"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Ge,
    Gt,
    Lt,
    Le,
    Eq,
}

/// The partition predicates of a query: every one must hold for a partition to be read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Partitions {
    bounds: Vec<(Op, i128)>,
}

impl Partitions {
    /// Does the partition of `day` (Unix day) pass every predicate?
    pub(crate) fn admits(&self, day: i64) -> bool {
        let at = i128::from(day) * DAY_MICROS;
        self.bounds.iter().all(|(op, value)| match op {
            Op::Ge => at >= *value,
            Op::Gt => at > *value,
            Op::Lt => at < *value,
            Op::Le => at <= *value,
            Op::Eq => at == *value,
        })
    }

    fn has_lower(&self) -> bool {
        self.bounds
            .iter()
            .any(|(op, _)| matches!(op, Op::Ge | Op::Gt | Op::Eq))
    }

    fn has_upper(&self) -> bool {
        self.bounds
            .iter()
            .any(|(op, _)| matches!(op, Op::Lt | Op::Le | Op::Eq))
    }

    /// Bytes processed: every row of the partitions read (all rows when unpruned).
    pub(crate) fn bytes(&self, data: &Data) -> u64 {
        let rows = data
            .rows
            .all()
            .iter()
            .filter(|row| self.admits(row.partition_day()))
            .count() as u64;
        rows * ROW_BYTES
    }
}

fn invalid_query(message: impl Into<String>) -> ApiError {
    invalid("invalidQuery", message)
}

/// `@name` right after position `at` in `sql` (spaces skipped): the name and the end.
fn parameter_at(sql: &str, at: usize) -> Option<(String, usize)> {
    let rest = &sql[at..];
    let trimmed = rest.trim_start();
    let start = at + (rest.len() - trimmed.len());
    let name: String = trimmed
        .strip_prefix('@')?
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then(|| {
        let end = start + 1 + name.len();
        (name, end)
    })
}

/// The partition predicates of lower-case, whitespace-normalized `sql`, with the value of each
/// named parameter they use from `values` (microseconds since the epoch). `window` is the
/// usage window (`@start`, `@end`) the bounds are checked against. `raw` is the SQL as sent,
/// for BigQuery's line:column in errors.
pub(crate) fn read(
    sql: &str,
    raw: &str,
    values: &BTreeMap<String, i128>,
    window: (i128, i128),
    partitioned: bool,
    table: &str,
) -> Result<Partitions, ApiError> {
    let mut partitions = Partitions::default();
    let mut named = false;
    for column in COLUMNS {
        for (at, _) in sql.match_indices(column) {
            let before = sql[..at].chars().next_back();
            let after_char = sql[at + column.len()..].chars().next();
            let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
            if before.is_some_and(is_ident) || after_char.is_some_and(is_ident) {
                continue;
            }
            named = true;
            if !partitioned {
                let upper = column.to_ascii_uppercase();
                return Err(invalid_query(format!(
                    "Unrecognized name: {upper} at [{}]",
                    position(raw, &upper)
                )));
            }
            let rest = &sql[at + column.len()..];
            let trimmed = rest.trim_start();
            let offset = at + column.len() + (rest.len() - trimmed.len());
            let (ops, skip): (Vec<Op>, usize) = if trimmed.starts_with(">=") {
                (vec![Op::Ge], 2)
            } else if trimmed.starts_with("<=") {
                (vec![Op::Le], 2)
            } else if trimmed.starts_with('>') {
                (vec![Op::Gt], 1)
            } else if trimmed.starts_with('<') {
                (vec![Op::Lt], 1)
            } else if trimmed.starts_with('=') {
                (vec![Op::Eq], 1)
            } else if trimmed.starts_with("between ") {
                (vec![Op::Ge, Op::Le], 8)
            } else {
                return Err(invalid_query(format!(
                    "spendlens fake: compare {column} with >=, >, <, <=, = or BETWEEN and a named \
                     parameter (e.g. {column} >= @partition_start)"
                )));
            };
            let mut cursor = offset + skip;
            for (index, op) in ops.iter().enumerate() {
                if index == 1 {
                    let rest = sql[cursor..].trim_start();
                    let Some(after_and) = rest.strip_prefix("and ") else {
                        return Err(invalid_query("Syntax error: BETWEEN needs AND"));
                    };
                    cursor = sql.len() - after_and.len();
                }
                let Some((name, end)) = parameter_at(sql, cursor) else {
                    return Err(invalid_query(format!(
                        "spendlens fake: the partition filter on {column} must compare with a \
                         named parameter (@partition_start, @partition_end)"
                    )));
                };
                let Some(value) = values.get(&name) else {
                    return Err(invalid_query(format!("Query parameter '{name}' not found")));
                };
                partitions.bounds.push((*op, *value));
                cursor = end;
            }
        }
    }
    if !partitioned {
        return Ok(partitions);
    }
    let prune_needed = || {
        invalid_query(format!(
            "Cannot query over table '{table}' without a filter over column(s) \
             '_PARTITION_LOAD_TIME', '_PARTITIONDATE', '_PARTITIONTIME' that can be used for \
             partition elimination"
        ))
    };
    if !named || !partitions.has_lower() || !partitions.has_upper() {
        return Err(prune_needed());
    }
    let where_clause = sql
        .split(" where ")
        .nth(1)
        .map(|w| w.split(" group by ").next().unwrap_or(w))
        .unwrap_or("");
    if where_clause.contains(" or ") {
        return Err(invalid_query(
            "spendlens fake: OR in the WHERE clause keeps BigQuery from pruning partitions; \
             join the partition filter with AND",
        ));
    }
    let slack = PRUNE_SLACK_DAYS * DAY_MICROS;
    let too_wide = partitions.bounds.iter().any(|(op, value)| match op {
        Op::Ge | Op::Gt => *value < window.0 - slack,
        Op::Lt | Op::Le => *value > window.1 + slack,
        Op::Eq => false,
    });
    if too_wide {
        return Err(invalid_query(format!(
            "spendlens fake: the partition filter reaches more than {PRUNE_SLACK_DAYS} days \
             beyond the usage window, so it scans partitions that cannot hold the window's rows; \
             keep a margin of a few days"
        )));
    }
    Ok(partitions)
}

/// `line:column` (1-based) of `needle` in `raw`, case-insensitive; `1:1` if absent.
fn position(raw: &str, needle: &str) -> String {
    for (number, line) in raw.lines().enumerate() {
        if let Some(column) = line.to_ascii_uppercase().find(needle) {
            return format!("{}:{}", number + 1, column + 1);
        }
    }
    "1:1".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i128 = DAY_MICROS;

    fn values() -> BTreeMap<String, i128> {
        BTreeMap::from([
            ("partition_start".to_owned(), 7 * DAY),
            ("partition_end".to_owned(), 13 * DAY),
        ])
    }

    fn read_sql(sql: &str, partitioned: bool) -> Result<Partitions, ApiError> {
        read(
            sql,
            sql,
            &values(),
            (10 * DAY, 11 * DAY),
            partitioned,
            "p:d.t",
        )
    }

    #[test]
    fn bounds_on_either_pseudo_column_prune_to_their_partitions() {
        let p = read_sql(
            "select 1 from `t` where usage_start_time >= @start and _partitiontime >= \
             @partition_start and _partitiontime < @partition_end group by x",
            true,
        )
        .unwrap();
        assert!(!p.admits(6) && p.admits(7) && p.admits(12) && !p.admits(13));
        let p = read_sql(
            "select 1 from `t` where _partitiondate between @partition_start and @partition_end",
            true,
        )
        .unwrap();
        assert!(p.admits(13) && !p.admits(14));
    }

    #[test]
    fn an_unpruned_or_open_ended_scan_is_refused() {
        for sql in [
            "select 1 from `t` where usage_start_time >= @start",
            "select 1 from `t` where _partitiontime >= @partition_start",
            "select 1 from `t` where _partitiontime >= @partition_start or \
             _partitiontime < @partition_end",
        ] {
            assert!(read_sql(sql, true).is_err(), "{sql}");
        }
        let wide = BTreeMap::from([
            ("partition_start".to_owned(), 0),
            ("partition_end".to_owned(), 13 * DAY),
        ]);
        let sql = "select 1 from `t` where _partitiontime >= @partition_start and \
                   _partitiontime < @partition_end";
        assert!(read(sql, sql, &wide, (10 * DAY, 11 * DAY), true, "t").is_err());
    }

    #[test]
    fn an_unpartitioned_table_has_no_partitiontime() {
        let raw = "SELECT 1\nFROM `t`\nWHERE _PARTITIONTIME >= @partition_start";
        let error = read(&raw.to_lowercase(), raw, &values(), (0, DAY), false, "t").unwrap_err();
        assert!(
            error
                .message
                .contains("Unrecognized name: _PARTITIONTIME at [3:7]")
        );
        assert!(read_sql("select 1 from `t` where usage_start_time >= @start", false).is_ok());
    }
}
