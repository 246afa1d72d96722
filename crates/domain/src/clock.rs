//! Time as an input: code that needs the time asks a [`Clock`]; servers and the CLI pass the
//! system's, tests and benchmarks a fixed one.
//!
//! This module holds the one place in the workspace that reads the system clock
//! ([`SystemClock`]); clippy's `disallowed-methods` keeps `now_utc()` and `SystemTime::now()`
//! out of every other module.

use std::sync::Mutex;

use time::OffsetDateTime;

/// Where the current time comes from.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The system's UTC clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(
        clippy::disallowed_methods,
        reason = "the one reader of the system time"
    )]
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that says what it is told (for tests and benchmarks).
#[derive(Debug)]
pub struct FixedClock(Mutex<OffsetDateTime>);

impl FixedClock {
    pub fn new(at: OffsetDateTime) -> FixedClock {
        FixedClock(Mutex::new(at))
    }

    pub fn set(&self, at: OffsetDateTime) {
        if let Ok(mut now) = self.0.lock() {
            *now = at;
        }
    }

    /// Moves the clock forward (or back, for a negative duration).
    pub fn advance(&self, by: time::Duration) {
        if let Ok(mut now) = self.0.lock() {
            *now += by;
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
            .lock()
            .map(|now| *now)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_says_what_it_is_told() {
        let at = time::macros::datetime!(2026-12-04 12:00 UTC);
        let clock = FixedClock::new(at);
        assert_eq!(clock.now(), at);
        clock.advance(time::Duration::hours(1));
        assert_eq!(clock.now(), at + time::Duration::hours(1));
        clock.set(at);
        assert_eq!(clock.now(), at);
    }
}
