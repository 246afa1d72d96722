//! The guard against a row served twice by LiteLLM's offset pages. `/user/daily/activity`
//! pages over the underlying rollup rows (one per user, date, key, model, provider), newest
//! date first; a proxy that writes while it is read shifts the rows, so the last row of one
//! page comes back as the first row of the next (litellm.md, pagination pitfall). Folded into
//! per-date results, such a row shows up as the same (date, model, key) cell, with exactly the
//! same figures, at the end of one page and the start of the next. A cell legitimately split
//! over a page boundary holds different rows (another provider of the same model), so its two
//! halves are not equal to the last nano-dollar and token; an equal pair is one row read twice.

use std::collections::BTreeMap;

use spendlens_domain::Day;

use super::{Figures, UNKNOWN_MODEL, figures, wire};
use crate::error::ProviderError;
use crate::http::At;

/// The (model, key) cells of one date's result.
pub(super) type Cells = BTreeMap<(String, String), Figures>;

/// The date a result is for (`YYYY-MM-DD`, maybe with a time after it).
pub(super) fn result_day(result: &wire::DayResult) -> Option<Day> {
    result
        .date
        .as_deref()
        .and_then(|date| date.get(..10))
        .and_then(|text| text.parse().ok())
}

/// The per-key cells of a result's model breakdown.
pub(super) fn key_cells(result: &wire::DayResult, at: At<'_>) -> Result<Cells, ProviderError> {
    let mut cells = Cells::new();
    let Some(models) = result.breakdown.as_ref().and_then(|b| b.models.as_ref()) else {
        return Ok(cells);
    };
    for (model, cell) in models {
        let model = if model.trim().is_empty() {
            UNKNOWN_MODEL.to_owned()
        } else {
            model.clone()
        };
        for (hash, key_cell) in cell.api_key_breakdown.iter().flatten() {
            let f = figures(
                &key_cell.metrics(),
                &|| format!("key {hash} of {model}"),
                at,
            )?;
            cells.insert((model.clone(), hash.clone()), f);
        }
    }
    Ok(cells)
}

/// Remembers the last date of the previous page and its cells.
#[derive(Debug, Default)]
pub(super) struct Boundary {
    last: Option<(Day, Cells)>,
}

impl Boundary {
    /// The cells of this page's first result that repeat the previous page's last result,
    /// then remembers this page's last result. `results` are the page's results in order.
    pub(super) fn repeats(
        &mut self,
        results: &[wire::DayResult],
        at: At<'_>,
    ) -> Result<Vec<(Day, String, String, Figures)>, ProviderError> {
        let mut repeats = Vec::new();
        if let (Some((previous_day, previous)), Some(first)) = (&self.last, results.first())
            && result_day(first) == Some(*previous_day)
        {
            for ((model, key), f) in key_cells(first, at)? {
                let carries_something =
                    !f.spend.is_zero() || f.prompt != 0 || f.completion != 0 || f.requests != 0;
                if carries_something && previous.get(&(model.clone(), key.clone())) == Some(&f) {
                    repeats.push((*previous_day, model, key, f));
                }
            }
        }
        self.last = match results.last() {
            Some(last) => result_day(last)
                .map(|day| key_cells(last, at).map(|cells| (day, cells)))
                .transpose()?,
            None => None,
        };
        Ok(repeats)
    }
}
