//! The states things are in: a connection's status, a sync run's status and trigger, a user's
//! role. Each has one text form (stored and shown) and parses back from it.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Text that names none of an enum's values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} \"{value}\"; use {expected}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

macro_rules! text_enum {
    (
        $(#[$doc:meta])* $name:ident, $what:literal, $expected:literal {
            $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(text: &str) -> Result<$name, UnknownValue> {
                match text.trim() {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownValue {
                        what: $what,
                        value: other.chars().take(64).collect(),
                        expected: $expected,
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// Where a connection stands.
    ConnectionStatus, "connection status", "pending, connected, error or disconnected" {
        /// Saved, never synced.
        Pending => "pending",
        /// The last sync succeeded.
        Connected => "connected",
        /// The last sync failed; the message says what to do.
        Error => "error",
        /// The credential was removed or repeatedly rejected.
        Disconnected => "disconnected",
    }
);

text_enum!(
    /// What started a sync run.
    SyncTrigger, "sync trigger", "initial, scheduled or manual" {
        /// The first sync of a connection: the backfill.
        Initial => "initial",
        /// The scheduler's periodic run.
        Scheduled => "scheduled",
        /// A person asked for it.
        Manual => "manual",
    }
);

text_enum!(
    /// How a sync run stands or ended.
    SyncRunStatus, "sync status", "running, success, partial or failed" {
        Running => "running",
        Success => "success",
        /// Data was stored but something the user should know about went wrong.
        Partial => "partial",
        Failed => "failed",
    }
);

text_enum!(
    /// What a user may do.
    Role, "role", "admin, viewer or tenant" {
        /// Everything.
        Admin => "admin",
        /// Read and export only.
        Viewer => "viewer",
        /// One customer's portal only: that customer's metered spend and budgets, and its own
        /// caps under the platform's ceiling (the customer is kept beside the role).
        Tenant => "tenant",
    }
);

/// Who asked for a sync: a person (now, whatever the schedule says) or the scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncRequest {
    /// A person asked ("Refresh now", `spendlens sync`, the API).
    Manual,
    /// The scheduler found the connection due.
    Scheduled,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_parses_back_from_its_text() {
        for status in ConnectionStatus::ALL {
            assert_eq!(status.as_str().parse::<ConnectionStatus>(), Ok(*status));
        }
        for status in SyncRunStatus::ALL {
            assert_eq!(status.as_str().parse::<SyncRunStatus>(), Ok(*status));
        }
        for trigger in SyncTrigger::ALL {
            assert_eq!(trigger.as_str().parse::<SyncTrigger>(), Ok(*trigger));
        }
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
        }
    }

    #[test]
    fn unknown_text_says_what_is_expected() {
        let err = "owner".parse::<Role>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown role \"owner\"; use admin, viewer or tenant"
        );
    }
}
