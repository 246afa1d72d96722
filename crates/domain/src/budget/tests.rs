//! Tests of budget periods, tightest-wins, the ceiling and the ledger (property tests and a
//! model of interleaved checks, reservations, events and reads).

use std::collections::BTreeMap;

use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::eval::{
    BudgetState, CapLoad, ExistingCap, check_ceiling, evaluate, state, utilization_pct,
};
use super::ledger::{Ledger, LedgerCap, Reserve, Snapshot};
use super::*;

fn usd(n: i64) -> Money {
    Money::from_nanos(n * NANOS_PER_UNIT)
}

fn spec(name: &str, scope: CapScope, period: BudgetPeriod, limit: Money) -> CapSpec {
    CapSpec {
        name: name.to_owned(),
        scope,
        period,
        limit,
        soft_pct: DEFAULT_SOFT_PCT,
        enabled: true,
        provenance: Provenance::Platform,
        unpriced: UnpricedPolicy::FailOpen,
    }
}

fn scope(provider: Option<&str>, customer: Option<&str>, model: Option<&str>) -> CapScope {
    CapScope::new(provider, None, None, customer, model).unwrap()
}

#[test]
fn a_call_at_23_59_59_999_and_one_at_midnight_fall_in_different_days() {
    let late = datetime!(2026-12-05 23:59:59.999 UTC);
    let midnight = datetime!(2026-12-06 00:00:00 UTC);
    let (start, end) = BudgetPeriod::Daily.bounds(late);
    assert_eq!(start, datetime!(2026-12-05 00:00 UTC));
    assert_eq!(end, midnight);
    assert!(late < end);
    assert_eq!(BudgetPeriod::Daily.bounds(midnight).0, midnight);
}

#[test]
fn weeks_start_on_monday_and_months_on_the_first() {
    // 2026-12-05 is a Saturday.
    let at = datetime!(2026-12-05 12:00 UTC);
    assert_eq!(
        BudgetPeriod::Weekly.bounds(at),
        (
            datetime!(2026-11-30 00:00 UTC),
            datetime!(2026-12-07 00:00 UTC)
        )
    );
    assert_eq!(
        BudgetPeriod::Monthly.bounds(at),
        (
            datetime!(2026-12-01 00:00 UTC),
            datetime!(2027-01-01 00:00 UTC)
        )
    );
    assert_eq!(
        BudgetPeriod::Monthly
            .bounds(datetime!(2028-02-29 23:59:59.999 UTC))
            .1,
        datetime!(2028-03-01 00:00 UTC)
    );
    let days = BudgetPeriod::Weekly.days(at);
    assert_eq!(days.len_days(), 7);
}

proptest! {
    #[test]
    fn every_instant_is_in_exactly_one_period(
        millis in 0i64..4_102_444_800_000, // 1970 .. 2100
        which in 0usize..3,
    ) {
        let period = BudgetPeriod::ALL[which];
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).unwrap();
        let (start, end) = period.bounds(at);
        prop_assert!(start <= at && at < end);
        // The period before ends where this one starts; the next starts where it ends.
        let before = period.bounds(start - Duration::milliseconds(1));
        prop_assert_eq!(before.1, start);
        let next = period.bounds(end);
        prop_assert_eq!(next.0, end);
        // Boundaries are midnights UTC.
        prop_assert_eq!(start.time(), time::Time::MIDNIGHT);
        if period == BudgetPeriod::Weekly {
            prop_assert_eq!(start.weekday(), time::Weekday::Monday);
        }
        if period == BudgetPeriod::Monthly {
            prop_assert_eq!(start.day(), 1);
        }
        let days = period.days(at);
        prop_assert_eq!(days.from().start(), start);
        prop_assert_eq!(days.to().add_days(1).unwrap().start(), end);
    }

    #[test]
    fn tightest_wins_for_any_set_of_caps(
        caps in proptest::collection::vec((1i64..1_000, 0i64..1_200, any::<bool>()), 0..12),
        estimate in 0i64..500,
    ) {
        let loads: Vec<CapLoad> = caps
            .iter()
            .enumerate()
            .map(|(i, (limit, spend, enabled))| CapLoad {
                id: i as i64,
                limit: usd(*limit),
                spend: usd(*spend),
                enabled: *enabled,
                unpriced: UnpricedPolicy::FailOpen,
            })
            .collect();
        let decision = evaluate(&loads, Some(usd(estimate)));
        let enabled: Vec<&CapLoad> = loads.iter().filter(|c| c.enabled).collect();
        // Allowed exactly when every enabled cap has room for the estimate.
        let fits_all = enabled.iter().all(|c| usd(estimate) <= c.remaining());
        prop_assert_eq!(decision.allowed, fits_all);
        match enabled.iter().map(|c| c.remaining()).min() {
            None => prop_assert!(decision.binding.is_none()),
            Some(least) => {
                prop_assert_eq!(decision.remaining, Some(least));
                let binding = loads.iter().find(|c| Some(c.id) == decision.binding).unwrap();
                prop_assert!(binding.enabled);
                prop_assert_eq!(binding.remaining(), least);
            }
        }
        // Adding a looser cap never changes the answer; a disabled one never either.
        let mut more = loads.clone();
        more.push(CapLoad { id: 99, limit: usd(100_000), spend: Money::ZERO, enabled: true, unpriced: UnpricedPolicy::FailOpen });
        more.push(CapLoad { id: 100, limit: usd(1), spend: usd(5), enabled: false, unpriced: UnpricedPolicy::FailClosed });
        prop_assert_eq!(evaluate(&more, Some(usd(estimate))).allowed, decision.allowed);
    }

    #[test]
    fn state_follows_the_soft_and_hard_limits(spend in 0i64..2_000, limit in 1i64..1_000, pct in 1u8..=100) {
        let s = state(usd(spend), usd(limit), pct);
        let expected = if spend >= limit {
            BudgetState::Hard
        } else if spend * 100 >= limit * i64::from(pct) {
            BudgetState::Soft
        } else {
            BudgetState::Ok
        };
        prop_assert_eq!(s, expected);
    }
}

#[test]
fn utilization_never_reads_100_before_the_limit() {
    assert_eq!(
        utilization_pct(usd(100) - Money::from_nanos(1), usd(100)).to_string(),
        "99.99"
    );
    assert_eq!(utilization_pct(usd(50), usd(100)).to_string(), "50.00");
    assert_eq!(utilization_pct(usd(150), usd(100)).to_string(), "150.00");
}

#[test]
fn limits_refuse_zero_negative_and_absurd_amounts() {
    assert!(parse_limit("0").is_err());
    assert!(parse_limit("-5").is_err());
    assert!(parse_limit("10000000.01").is_err());
    assert!(parse_limit("ten").is_err());
    assert_eq!(
        parse_limit("$12.50").unwrap(),
        Money::parse_units("12.5").unwrap()
    );
    assert_eq!(parse_limit("10000000").unwrap(), MAX_LIMIT);
    assert!(parse_soft_pct("0").is_err());
    assert!(parse_soft_pct("101").is_err());
    assert_eq!(parse_soft_pct("75%").unwrap(), 75);
}

#[test]
fn scopes_combine_and_govern_only_matching_calls() {
    let acme_gpt = scope(None, Some("acme"), Some("gpt-4o"));
    assert_eq!(acme_gpt.to_string(), "customer acme × model gpt-4o");
    let call = CapScope::call(
        Some("OpenAI"),
        None,
        Some("sk-1"),
        Some("acme"),
        Some("gpt-4o"),
    );
    assert!(acme_gpt.governs(&call));
    assert!(CapScope::default().governs(&call));
    assert!(scope(Some("openai"), None, None).governs(&call));
    assert!(!scope(Some("anthropic"), None, None).governs(&call));
    let other = CapScope::call(None, None, None, Some("initech"), Some("gpt-4o"));
    assert!(!acme_gpt.governs(&other));
    assert!(CapScope::new(Some("nosuch"), None, None, None, None).is_err());
    assert!(acme_gpt.metered_only());
    assert!(!scope(Some("openai"), None, Some("gpt-4o")).metered_only());
}

#[test]
fn a_tenant_cap_above_its_platform_ceiling_is_refused_naming_the_ceiling() {
    let platform = spec(
        "acme monthly",
        scope(None, Some("acme"), None),
        BudgetPeriod::Monthly,
        usd(500),
    );
    let looser = spec(
        "all monthly",
        CapScope::default(),
        BudgetPeriod::Monthly,
        usd(5_000),
    );
    let existing = [
        ExistingCap {
            id: 7,
            spec: &platform,
        },
        ExistingCap {
            id: 8,
            spec: &looser,
        },
    ];
    let mut tenant = spec(
        "acme gpt",
        scope(None, Some("acme"), Some("gpt-4o")),
        BudgetPeriod::Daily,
        usd(600),
    );
    tenant.provenance = Provenance::Tenant;
    let err = check_ceiling(&tenant, &existing, None).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("\"acme monthly\"") && text.contains("id 7"),
        "{text}"
    );
    tenant.limit = usd(500);
    check_ceiling(&tenant, &existing, None).unwrap();
    // Another customer's cap is no ceiling for acme.
    let mut other = tenant.clone();
    other.scope = scope(None, Some("initech"), None);
    other.limit = usd(4_000);
    check_ceiling(&other, &existing, None).unwrap();
    other.limit = usd(6_000);
    assert!(check_ceiling(&other, &existing, None).is_err());
}

#[test]
fn unpriced_calls_follow_each_caps_policy() {
    let open = CapLoad {
        id: 1,
        limit: usd(10),
        spend: usd(2),
        enabled: true,
        unpriced: UnpricedPolicy::FailOpen,
    };
    assert!(evaluate(std::slice::from_ref(&open), None).allowed);
    let closed = CapLoad {
        id: 2,
        unpriced: UnpricedPolicy::FailClosed,
        ..open.clone()
    };
    let d = evaluate(&[open.clone(), closed], None);
    assert!(!d.allowed);
    assert_eq!(d.binding, Some(2));
    let full = CapLoad {
        spend: usd(10),
        ..open
    };
    assert!(!evaluate(&[full], None).allowed);
}

// ---- The ledger model -------------------------------------------------------------------

const T0: OffsetDateTime = datetime!(2026-12-05 10:00 UTC);

fn snapshot_with(base: Money, seq: u64, limit: Money, at: OffsetDateTime) -> Snapshot {
    let cap_spec = spec("hard", CapScope::default(), BudgetPeriod::Daily, limit);
    let (start, end) = cap_spec.period.bounds(at);
    Snapshot {
        caps: vec![LedgerCap {
            id: 1,
            spec: cap_spec,
            start,
            end,
            base,
        }],
        watermarks: BTreeMap::new(),
        seq,
        taken_at: at,
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// A call checks with an estimate (cents), reserving or not.
    Check { estimate: i64, reserve: bool },
    /// The oldest allowed call still running finishes: its event arrives with this actual
    /// cost (cents).
    Event { actual: i64 },
    /// A read of the store installs a snapshot that began `lag` settles ago.
    Read { lag: u64 },
    /// Time passes (seconds): reservations may lapse.
    Wait { seconds: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0i64..400, prop::bool::weighted(0.9)).prop_map(|(estimate, reserve)| Op::Check { estimate, reserve }),
        3 => (0i64..500).prop_map(|actual| Op::Event { actual }),
        1 => (0u64..4).prop_map(|lag| Op::Read { lag }),
        1 => (0i64..40).prop_map(|seconds| Op::Wait { seconds }),
    ]
}

fn cents(n: i64) -> Money {
    Money::from_nanos(n * 10_000_000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// Whatever the interleaving, the spend stored ends at most the limit plus the calls'
    /// estimate errors: what each call cost beyond what it had reserved when its event came
    /// (its whole cost when it reserved nothing or its reservation lapsed). With exact or high
    /// estimates and no lapses that is zero: the cap holds.
    #[test]
    fn no_interleaving_ends_above_a_hard_cap_by_more_than_the_estimate_errors(
        ops in proptest::collection::vec(op(), 1..120),
        limit in 1i64..3_000,
    ) {
        let limit = cents(limit);
        let mut now = T0;
        let mut ledger = Ledger::default();
        ledger.install(snapshot_with(Money::ZERO, 0, limit, now));
        // The store: every stored event's sequence number and cost.
        let mut stored: Vec<(u64, Money)> = Vec::new();
        // Calls allowed and still running: id, estimate, whether they reserved.
        let mut running: Vec<(String, Money)> = Vec::new();
        let mut errors = Money::ZERO;
        let mut next_id = 0;
        for op in ops {
            match op {
                Op::Check { estimate, reserve } => {
                    next_id += 1;
                    let id = format!("call-{next_id}");
                    let reservation = reserve.then(|| Reserve { id: id.clone(), expires: now + Duration::seconds(30) });
                    let outcome = ledger.check(&CapScope::default(), Some(cents(estimate)), reservation, now).unwrap();
                    if outcome.decision.allowed {
                        running.push((id, cents(estimate)));
                    }
                }
                Op::Event { actual } => {
                    if running.is_empty() { continue; }
                    let (id, _estimate) = running.remove(0);
                    let held = ledger_holds(&ledger, &id);
                    let actual = cents(actual);
                    errors += (actual - held).max(Money::ZERO);
                    ledger.settle(&id, CapScope::default(), now, Some(actual), true);
                    stored.push((ledger.sequence(), actual));
                }
                Op::Read { lag } => {
                    let seq = ledger.sequence().saturating_sub(lag);
                    let base: Money = stored.iter().filter(|(s, _)| *s <= seq).map(|(_, c)| *c).sum();
                    ledger.install(snapshot_with(base, seq, limit, now));
                }
                Op::Wait { seconds } => {
                    now += Duration::seconds(seconds);
                    ledger.expire(now);
                }
            }
            let total: Money = stored.iter().map(|(_, c)| *c).sum();
            prop_assert!(total <= limit + errors, "stored {total} > limit {limit} + errors {errors}");
        }
    }

    /// With estimates that are exact or high, reservations that never lapse and reads at any
    /// lag, the stored spend never passes the limit.
    #[test]
    fn exact_estimates_never_pass_the_cap(
        calls in proptest::collection::vec((1i64..300, 0i64..=100, any::<bool>(), 0u64..5), 1..150),
        limit in 1i64..5_000,
    ) {
        let limit = cents(limit);
        let mut ledger = Ledger::default();
        ledger.install(snapshot_with(Money::ZERO, 0, limit, T0));
        let mut stored: Vec<(u64, Money)> = Vec::new();
        let mut running: Vec<(String, Money)> = Vec::new();
        for (i, (estimate, pct_used, finish_one, lag)) in calls.into_iter().enumerate() {
            let id = format!("c{i}");
            let outcome = ledger.check(&CapScope::default(), Some(cents(estimate)), Some(Reserve { id: id.clone(), expires: T0 + Duration::hours(1) }), T0).unwrap();
            if outcome.decision.allowed {
                running.push((id, cents(estimate)));
            }
            if finish_one && !running.is_empty() {
                let (id, estimate) = running.remove(0);
                let actual = estimate.scaled(i128::from(pct_used), 100).unwrap();
                ledger.settle(&id, CapScope::default(), T0, Some(actual), true);
                stored.push((ledger.sequence(), actual));
            }
            let seq = ledger.sequence().saturating_sub(lag);
            let base: Money = stored.iter().filter(|(s, _)| *s <= seq).map(|(_, c)| *c).sum();
            ledger.install(snapshot_with(base, seq, limit, T0));
            let total: Money = stored.iter().map(|(_, c)| *c).sum();
            let held: Money = running.iter().map(|(_, e)| *e).sum();
            prop_assert!(total + held <= limit);
        }
    }
}

/// What the ledger holds for a call (its estimate while its reservation is open).
fn ledger_holds(ledger: &Ledger, id: &str) -> Money {
    let mut probe = ledger.clone();
    let before = probe.spend_of(0).unwrap().1;
    if probe.release(id) {
        before - probe.spend_of(0).unwrap().1
    } else {
        Money::ZERO
    }
}

#[test]
fn a_duplicate_event_is_not_counted_twice_and_a_settled_call_survives_a_stale_read() {
    let mut ledger = Ledger::default();
    ledger.install(snapshot_with(Money::ZERO, 0, usd(10), T0));
    let read_began = ledger.sequence();
    ledger.settle("a", CapScope::default(), T0, Some(usd(4)), true);
    ledger.settle("a", CapScope::default(), T0, Some(usd(4)), false);
    assert_eq!(ledger.spend_of(0).unwrap().0, usd(4));
    // A read that began before the event was stored does not see it: the ledger keeps it.
    ledger.install(snapshot_with(Money::ZERO, read_began, usd(10), T0));
    assert_eq!(ledger.spend_of(0).unwrap().0, usd(4));
    // A read that began after sees it: counted once.
    ledger.install(snapshot_with(usd(4), ledger.sequence(), usd(10), T0));
    assert_eq!(ledger.spend_of(0).unwrap().0, usd(4));
}

#[test]
fn metered_calls_on_billed_days_count_only_for_metered_caps() {
    let mut snapshot = snapshot_with(Money::ZERO, 0, usd(100), T0);
    let mut customer_cap = snapshot.caps[0].clone();
    customer_cap.id = 2;
    customer_cap.spec.scope = scope(None, Some("acme"), None);
    snapshot.caps.push(customer_cap);
    snapshot.watermarks.insert("openai".to_owned(), Day::of(T0));
    let mut ledger = Ledger::default();
    ledger.install(snapshot);
    let call = CapScope::call(Some("openai"), None, None, Some("acme"), Some("gpt-4o"));
    ledger.settle("x", call, T0, Some(usd(3)), true);
    // The organization's cap reads the bill for today (complete): the call is in it.
    assert_eq!(ledger.spend_of(0).unwrap().0, Money::ZERO);
    assert_eq!(ledger.spend_of(1).unwrap().0, usd(3));
}
