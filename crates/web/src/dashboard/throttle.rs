//! Sign-in throttling, per account and per client address, in this process's memory.
//!
//! An account may fail [`ACCOUNT_FREE`] times; each further failure makes it wait twice as long
//! as the last (1 s, 2 s, 4 s, …), and at [`ACCOUNT_LOCK_AT`] failures it is locked for
//! [`LOCKOUT`] — the right password does not work until then, and the caller writes the lockout
//! to the audit log. A client address may fail [`CLIENT_FREE`] times before the same doubling
//! applies to it (at most [`LOCKOUT`]). Unknown emails are tracked like real ones, so answers do
//! not tell which accounts exist. Failures are forgotten after [`FORGET_AFTER`] without one, or
//! at a successful sign-in of the account. The table holds at most [`MAX_ENTRIES`] entries
//! (stale ones go first, then the oldest), so a flood of invented emails cannot grow it.
//!
//! The state is per process: a restart forgets it, and servers sharing a database throttle
//! separately.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

pub const ACCOUNT_FREE: u32 = 5;
pub const ACCOUNT_LOCK_AT: u32 = 10;
pub const CLIENT_FREE: u32 = 20;
pub const LOCKOUT: Duration = Duration::minutes(15);
pub const FORGET_AFTER: Duration = Duration::hours(1);
pub const MAX_ENTRIES: usize = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Client(IpAddr),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last_failure: OffsetDateTime,
    blocked_until: OffsetDateTime,
}

/// Whether a sign-in attempt may be checked now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Not before `until`; `locked` when the account itself is locked out.
    Wait {
        until: OffsetDateTime,
        locked: bool,
    },
}

/// What a recorded failure led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The account's failures in a row.
    pub failures: u32,
    /// The account was locked by this failure, until then.
    pub locked_until: Option<OffsetDateTime>,
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<Key, Entry>>,
}

fn account(email: &str) -> Key {
    Key::Account(email.trim().to_lowercase())
}

/// How long to wait after `failures` failures, the first `free` of them costing nothing.
fn backoff(failures: u32, free: u32) -> Duration {
    if failures < free {
        return Duration::ZERO;
    }
    let doublings = (failures - free).min(20);
    let seconds = 1i64 << doublings;
    Duration::seconds(seconds).min(LOCKOUT)
}

impl LoginThrottle {
    /// Whether an attempt on `email` from `client` may be checked at `now`.
    pub fn check(&self, email: &str, client: Option<IpAddr>, now: OffsetDateTime) -> Verdict {
        let Ok(entries) = self.entries.lock() else {
            return Verdict::Allowed;
        };
        let mut verdict = Verdict::Allowed;
        let keys = std::iter::once(account(email)).chain(client.map(Key::Client));
        for key in keys {
            let Some(entry) = entries.get(&key) else {
                continue;
            };
            if entry.blocked_until > now {
                let locked = matches!(key, Key::Account(_)) && entry.failures >= ACCOUNT_LOCK_AT;
                verdict = match verdict {
                    Verdict::Wait { until, locked: l } if until >= entry.blocked_until => {
                        Verdict::Wait {
                            until,
                            locked: l || locked,
                        }
                    }
                    Verdict::Wait { locked: l, .. } => Verdict::Wait {
                        until: entry.blocked_until,
                        locked: l || locked,
                    },
                    Verdict::Allowed => Verdict::Wait {
                        until: entry.blocked_until,
                        locked,
                    },
                };
            }
        }
        verdict
    }

    /// Records a failed attempt.
    pub fn record_failure(
        &self,
        email: &str,
        client: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> Failure {
        let Ok(mut entries) = self.entries.lock() else {
            return Failure {
                failures: 0,
                locked_until: None,
            };
        };
        make_room(&mut entries, now);
        let mut bump = |key: Key, free: u32, lock_at: Option<u32>| -> (u32, bool) {
            let entry = entries.entry(key).or_insert(Entry {
                failures: 0,
                last_failure: now,
                blocked_until: now,
            });
            if now - entry.last_failure > FORGET_AFTER {
                entry.failures = 0;
            }
            entry.failures = entry.failures.saturating_add(1);
            entry.last_failure = now;
            let locks = lock_at.is_some_and(|at| entry.failures >= at);
            let wait = if locks {
                LOCKOUT
            } else {
                backoff(entry.failures, free)
            };
            entry.blocked_until = now + wait;
            (entry.failures, locks)
        };
        let (failures, locked) = bump(account(email), ACCOUNT_FREE, Some(ACCOUNT_LOCK_AT));
        if let Some(ip) = client {
            bump(Key::Client(ip), CLIENT_FREE, None);
        }
        Failure {
            failures,
            locked_until: locked.then_some(now + LOCKOUT),
        }
    }

    /// Forgets an account's failures after it signed in.
    pub fn record_success(&self, email: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&account(email));
        }
    }
}

/// Keeps the table under [`MAX_ENTRIES`]: stale entries go first, then the oldest failure.
fn make_room(entries: &mut HashMap<Key, Entry>, now: OffsetDateTime) {
    if entries.len() < MAX_ENTRIES {
        return;
    }
    entries.retain(|_, e| e.blocked_until > now || now - e.last_failure <= FORGET_AFTER);
    while entries.len() >= MAX_ENTRIES {
        let oldest = entries
            .iter()
            .filter(|(_, e)| e.blocked_until <= now)
            .min_by_key(|(_, e)| e.last_failure)
            .or_else(|| entries.iter().min_by_key(|(_, e)| e.last_failure))
            .map(|(k, _)| k.clone());
        match oldest {
            Some(key) => {
                entries.remove(&key);
            }
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn an_account_backs_off_then_locks_and_the_lock_ends() {
        let throttle = LoginThrottle::default();
        let mut now = T0;
        for n in 1..ACCOUNT_FREE {
            assert_eq!(throttle.check("a@b.c", ip(n as u8), now), Verdict::Allowed);
            let failure = throttle.record_failure("A@b.c", ip(n as u8), now);
            assert_eq!(failure.failures, n);
            assert_eq!(failure.locked_until, None);
        }
        // The fifth failure costs a second, the sixth two, …
        throttle.record_failure("a@b.c", ip(50), now);
        assert_eq!(
            throttle.check("a@b.c", ip(51), now),
            Verdict::Wait {
                until: now + Duration::seconds(1),
                locked: false
            }
        );
        now += Duration::seconds(1);
        assert_eq!(throttle.check("a@b.c", ip(51), now), Verdict::Allowed);
        throttle.record_failure("a@b.c", ip(52), now);
        assert_eq!(
            throttle.check("a@b.c", ip(53), now),
            Verdict::Wait {
                until: now + Duration::seconds(2),
                locked: false
            }
        );
        for n in 7..ACCOUNT_LOCK_AT {
            now += Duration::minutes(1);
            let failure = throttle.record_failure("a@b.c", ip(60 + n as u8), now);
            assert_eq!(failure.locked_until, None, "failure {n}");
        }
        now += Duration::minutes(1);
        let failure = throttle.record_failure("a@b.c", ip(99), now);
        assert_eq!(failure.failures, ACCOUNT_LOCK_AT);
        assert_eq!(failure.locked_until, Some(now + LOCKOUT));
        assert_eq!(
            throttle.check("a@b.c", ip(100), now + Duration::minutes(14)),
            Verdict::Wait {
                until: now + LOCKOUT,
                locked: true
            }
        );
        // Other accounts are not affected; the lock ends on time.
        assert_eq!(throttle.check("x@b.c", ip(100), now), Verdict::Allowed);
        assert_eq!(
            throttle.check("a@b.c", ip(100), now + LOCKOUT),
            Verdict::Allowed
        );
        throttle.record_success("a@b.c");
        let failure = throttle.record_failure("a@b.c", ip(100), now + LOCKOUT);
        assert_eq!(failure.failures, 1);
    }

    #[test]
    fn one_address_trying_many_accounts_is_slowed_down() {
        let throttle = LoginThrottle::default();
        for n in 0..CLIENT_FREE {
            assert_eq!(
                throttle.check(&format!("user{n}@b.c"), ip(1), T0),
                Verdict::Allowed
            );
            throttle.record_failure(&format!("user{n}@b.c"), ip(1), T0);
        }
        assert_eq!(
            throttle.check("fresh@b.c", ip(1), T0),
            Verdict::Wait {
                until: T0 + Duration::seconds(1),
                locked: false
            }
        );
        assert_eq!(throttle.check("fresh@b.c", ip(2), T0), Verdict::Allowed);
    }

    #[test]
    fn failures_are_forgotten_after_an_hour_without_one() {
        let throttle = LoginThrottle::default();
        for _ in 0..ACCOUNT_FREE + 2 {
            throttle.record_failure("a@b.c", None, T0);
        }
        let later = T0 + FORGET_AFTER + Duration::seconds(1);
        assert_eq!(throttle.check("a@b.c", None, later), Verdict::Allowed);
        assert_eq!(throttle.record_failure("a@b.c", None, later).failures, 1);
    }

    #[test]
    fn the_table_never_grows_past_its_cap() {
        let throttle = LoginThrottle::default();
        for n in 0..MAX_ENTRIES + 500 {
            throttle.record_failure(&format!("u{n}@b.c"), None, T0);
        }
        assert!(throttle.entries.lock().unwrap().len() <= MAX_ENTRIES);
    }

    #[test]
    fn backoff_doubles_from_the_free_attempts_and_is_capped() {
        assert_eq!(backoff(4, 5), Duration::ZERO);
        assert_eq!(backoff(5, 5), Duration::seconds(1));
        assert_eq!(backoff(8, 5), Duration::seconds(8));
        assert_eq!(backoff(200, 5), LOCKOUT);
    }
}
