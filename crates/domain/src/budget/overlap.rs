//! Overlapping caps, flagged: two enabled caps that govern the same calls over the same period
//! (a duplicate — only the lower limit can ever deny), and a cap that can never deny a call the
//! other would allow, because the other governs every call it governs, over a period that
//! always contains its own, with a limit at or below its own (a shadowed cap). Overlap as such
//! is normal (an organization cap above per-key caps is the point of tightest-wins); only these
//! two cases are flagged, as warnings — nothing is refused.
//!
//! Why a shadowed cap never denies alone: the wider cap counts every call the narrower one
//! counts, over a period containing the narrower one's (a day is inside its week and its month;
//! a week is not inside a month, so weekly and monthly caps are not compared), so its spend is
//! at least as large; with a limit no larger, its remaining is never larger. A call without a
//! price is denied by a fail-closed cap, so a fail-closed cap is shadowed only by a fail-closed
//! one. And both must count spend the same way (both from metered calls, or both from the bill
//! then metered calls — see `CapScope::metered_only`); pairs that count differently are not
//! compared. A platform cap above a tenant's cap is the tenant's ceiling, never flagged.

use serde::Serialize;

use super::eval::ExistingCap;
use super::{BudgetPeriod, Provenance, UnpricedPolicy};

/// How two caps overlap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OverlapKind {
    /// Same scope, same period: the caps govern exactly the same calls.
    Duplicate,
    /// `cap` never denies a call `by` would allow: `by` governs all its calls, over a period
    /// containing its own, with a limit at or below its own.
    Shadowed,
}

/// One flagged pair: `cap` is the one that is redundant (for a duplicate, the looser one, or
/// the later one at equal limits), `by` the one that makes it so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Overlap {
    pub kind: OverlapKind,
    pub cap: i64,
    pub by: i64,
    /// In words, naming both caps.
    pub message: String,
}

/// The flagged pairs among the enabled caps, each redundant cap once (with the cap that makes it
/// redundant having the lowest limit, then the lowest id), ordered by the redundant cap's id.
pub fn overlaps(caps: &[ExistingCap<'_>]) -> Vec<Overlap> {
    let enabled: Vec<&ExistingCap<'_>> = caps.iter().filter(|c| c.spec.enabled).collect();
    let mut found = Vec::new();
    for a in &enabled {
        let by = enabled
            .iter()
            .filter(|b| b.id != a.id && makes_redundant(b, a))
            .min_by(|x, y| x.spec.limit.cmp(&y.spec.limit).then(x.id.cmp(&y.id)));
        if let Some(b) = by {
            found.push(describe(a, b));
        }
    }
    found.sort_by_key(|o| o.cap);
    found
}

/// Whether `b` makes `a` redundant.
fn makes_redundant(b: &ExistingCap<'_>, a: &ExistingCap<'_>) -> bool {
    let (sa, sb) = (a.spec, b.spec);
    if sa.scope.metered_only() != sb.scope.metered_only() {
        return false;
    }
    // A platform cap above a tenant's own is the tenant's ceiling (it bounds what the tenant may
    // set), not a cap without effect.
    if sa.provenance == Provenance::Platform && sb.provenance == Provenance::Tenant {
        return false;
    }
    if !sb.scope.covers(&sa.scope) || !contains(sb.period, sa.period) || sb.limit > sa.limit {
        return false;
    }
    if sa.unpriced == UnpricedPolicy::FailClosed && sb.unpriced == UnpricedPolicy::FailOpen {
        return false;
    }
    if sb.scope == sa.scope && sb.period == sa.period && sb.limit == sa.limit {
        // Twins: the later one (higher id) is the redundant one, not both.
        return b.id < a.id;
    }
    true
}

/// Whether every period of `outer` contains the period of `inner` holding the same instant.
fn contains(outer: BudgetPeriod, inner: BudgetPeriod) -> bool {
    outer == inner || inner == BudgetPeriod::Daily
}

fn describe(a: &ExistingCap<'_>, b: &ExistingCap<'_>) -> Overlap {
    let (sa, sb) = (a.spec, b.spec);
    let duplicate = sa.scope == sb.scope && sa.period == sb.period;
    let message = if duplicate {
        format!(
            "\"{}\" (#{}) and \"{}\" (#{}) both cap {} per {}; only the lower limit ({} USD, \"{}\") can ever deny, so \"{}\" has no effect",
            sa.name,
            a.id,
            sb.name,
            b.id,
            sa.scope,
            sa.period.noun(),
            sb.limit,
            sb.name,
            sa.name,
        )
    } else {
        format!(
            "\"{}\" (#{}, {} USD per {}) can never deny a call that \"{}\" (#{}, {} USD per {}) would allow: that cap governs {} with a limit no higher",
            sa.name,
            a.id,
            sa.limit,
            sa.period.noun(),
            sb.name,
            b.id,
            sb.limit,
            sb.period.noun(),
            if sa.scope == sb.scope {
                format!("the same calls ({}) over a longer period", sa.scope)
            } else {
                format!("every call it governs ({} within {})", sa.scope, sb.scope)
            },
        )
    };
    Overlap {
        kind: if duplicate {
            OverlapKind::Duplicate
        } else {
            OverlapKind::Shadowed
        },
        cap: a.id,
        by: b.id,
        message,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;
    use crate::budget::eval::{CapLoad, evaluate};
    use crate::budget::{CallScope, CapScope, CapSpec};
    use crate::calendar::Day;
    use crate::money::Money;

    fn spec(name: &str, scope: CapScope, period: BudgetPeriod, dollars: i64) -> CapSpec {
        CapSpec {
            name: name.to_owned(),
            scope,
            period,
            limit: Money::from_nanos(dollars * 1_000_000_000),
            soft_pct: 80,
            enabled: true,
            provenance: Provenance::Platform,
            unpriced: UnpricedPolicy::FailOpen,
        }
    }

    fn scope(provider: Option<&str>, customer: Option<&str>) -> CapScope {
        CapScope::new(provider, None, None, customer, None).unwrap()
    }

    fn flagged(specs: &[CapSpec]) -> Vec<(OverlapKind, i64, i64)> {
        let caps: Vec<ExistingCap<'_>> = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| ExistingCap {
                id: i as i64 + 1,
                spec,
            })
            .collect();
        overlaps(&caps)
            .into_iter()
            .map(|o| (o.kind, o.cap, o.by))
            .collect()
    }

    #[test]
    fn duplicates_and_shadowed_caps_are_flagged_and_ordinary_nesting_is_not() {
        use BudgetPeriod::{Daily, Monthly, Weekly};
        use OverlapKind::{Duplicate, Shadowed};
        let org = CapScope::default();
        let openai = scope(Some("openai"), None);
        let specs = vec![
            spec("org monthly", org.clone(), Monthly, 1000),
            // Ordinary nesting: a tighter provider cap under the organization's.
            spec("openai monthly", openai.clone(), Monthly, 300),
            // The same scope and period as #2 with a higher limit: a duplicate.
            spec("openai monthly again", openai.clone(), Monthly, 400),
            // Daily OpenAI above the monthly organization limit: shadowed by #1? No —
            // #2 is tighter (300) and also covers it: flagged by the lowest limit.
            spec("openai daily", openai.clone(), Daily, 500),
            // Weekly under a monthly cap: a week is not inside a month, never compared.
            spec("openai weekly", openai.clone(), Weekly, 2000),
        ];
        assert_eq!(flagged(&specs), vec![(Duplicate, 3, 2), (Shadowed, 4, 2)],);
        // Twins: only the later one is flagged.
        let twins = vec![
            spec("a", openai.clone(), Daily, 10),
            spec("b", openai.clone(), Daily, 10),
        ];
        assert_eq!(flagged(&twins), vec![(Duplicate, 2, 1)]);
        // A fail-closed cap is not shadowed by a fail-open one (it denies unpriced calls).
        let mut closed = spec("closed", openai.clone(), Daily, 50);
        closed.unpriced = UnpricedPolicy::FailClosed;
        assert_eq!(
            flagged(&[spec("open", openai.clone(), Daily, 10), closed]),
            vec![]
        );
        // A platform cap above a tenant's cap is its ceiling, not redundant.
        let mut tenant = spec("acme own", openai.clone(), Daily, 9);
        tenant.provenance = Provenance::Tenant;
        assert_eq!(
            flagged(&[spec("acme ceiling", openai.clone(), Daily, 10), tenant]),
            vec![]
        );
        // Disabled caps are not compared; caps counting spend differently neither.
        let mut off = spec("off", openai.clone(), Daily, 5);
        off.enabled = false;
        assert_eq!(
            flagged(&[off, spec("on", openai.clone(), Daily, 10)]),
            vec![]
        );
        let customer = scope(Some("openai"), Some("acme"));
        assert_eq!(
            flagged(&[
                spec("org", org, Daily, 1),
                spec("acme", customer, Daily, 10)
            ]),
            vec![],
            "a customer cap counts metered calls, the organization cap the bill"
        );
    }

    #[test]
    fn the_message_names_both_caps() {
        let openai = scope(Some("openai"), None);
        let specs = [
            spec("team", openai.clone(), BudgetPeriod::Monthly, 100),
            spec("team daily", openai, BudgetPeriod::Daily, 200),
        ];
        let caps: Vec<ExistingCap<'_>> = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| ExistingCap {
                id: i as i64 + 1,
                spec,
            })
            .collect();
        let found = overlaps(&caps);
        assert_eq!(
            found[0].message,
            "\"team daily\" (#2, 200.00 USD per day) can never deny a call that \"team\" (#1, 100.00 USD per month) would allow: that cap governs the same calls (provider openai) over a longer period with a limit no higher"
        );
    }

    fn any_scope() -> impl Strategy<Value = CapScope> {
        (
            prop::option::of(Just("openai")),
            prop::option::of(prop::sample::select(vec!["acme", "globex"])),
            prop::option::of(Just("gpt-4o")),
        )
            .prop_map(|(p, c, m)| CapScope::call(p, None, None, c, m))
    }

    fn any_spec() -> impl Strategy<Value = CapSpec> {
        (
            prop::option::of(Just("openai")),
            prop::option::of(Just("gpt-4o")),
            prop::sample::select(BudgetPeriod::ALL.to_vec()),
            1i64..60,
            any::<bool>(),
        )
            .prop_map(|(p, m, period, dollars, closed)| {
                let mut s = spec(
                    "cap",
                    CapScope::new(p, None, None, None, m).unwrap(),
                    period,
                    dollars,
                );
                if closed {
                    s.unpriced = UnpricedPolicy::FailClosed;
                }
                s
            })
    }

    proptest! {
        /// Whatever the calls so far (spanning month and week boundaries), a cap flagged as
        /// redundant never denies a call that the cap flagging it would allow.
        #[test]
        fn a_redundant_cap_never_denies_what_its_cover_allows(
            specs in prop::collection::vec(any_spec(), 2..6),
            calls in prop::collection::vec((any_scope(), 0i64..45, 0i64..15), 0..40),
            now_offset in 0i64..20,
            next in any_scope(),
            estimate in prop::option::of(0i64..30),
        ) {
            let now = datetime!(2026-11-22 12:00 UTC) + time::Duration::days(now_offset);
            let today = Day::of(now);
            let caps: Vec<ExistingCap<'_>> = specs
                .iter()
                .enumerate()
                .map(|(i, spec)| ExistingCap { id: i as i64 + 1, spec })
                .collect();
            let load = |cap: &ExistingCap<'_>| {
                let days = cap.spec.period.days(now);
                let spend: Money = calls
                    .iter()
                    .filter(|(call, back, _)| {
                        let day = today.add_days(-back).unwrap();
                        cap.spec.scope.governs(call) && days.from() <= day && day <= days.to()
                    })
                    .map(|(_, _, dollars)| Money::from_nanos(dollars * 1_000_000_000))
                    .sum();
                CapLoad {
                    id: cap.id,
                    limit: cap.spec.limit,
                    spend,
                    enabled: true,
                    unpriced: cap.spec.unpriced,
                }
            };
            let estimate = estimate.map(|d| Money::from_nanos(d * 1_000_000_000));
            let call: CallScope = next;
            for overlap in overlaps(&caps) {
                let a = &caps[(overlap.cap - 1) as usize];
                let b = &caps[(overlap.by - 1) as usize];
                if !a.spec.scope.governs(&call) {
                    continue;
                }
                prop_assert!(b.spec.scope.governs(&call));
                let by_a = evaluate(&[load(a)], estimate);
                let by_b = evaluate(&[load(b)], estimate);
                prop_assert!(
                    by_a.allowed || !by_b.allowed,
                    "{} denies what {} allows: {:?} / {:?}",
                    overlap.cap,
                    overlap.by,
                    by_a,
                    by_b
                );
            }
        }
    }
}
