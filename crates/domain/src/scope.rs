//! What an API token may do. Every token reads reports; the other scopes add writing:
//! `connections` (add, test and remove connections), `sync` (start syncs) and `admin`
//! (everything, including base-URL overrides that make the server call another host).

use std::fmt;
use std::str::FromStr;

/// One permission of an API token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Reports, connections, sync runs, workspaces and keys: read only.
    Read,
    /// Add, test and remove connections (without base-URL overrides).
    Connections,
    /// Start syncs.
    Sync,
    /// Everything.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Connections, Scope::Sync, Scope::Admin];

    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Connections => "connections",
            Scope::Sync => "sync",
            Scope::Admin => "admin",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Scope::Read => 1,
            Scope::Connections => 2,
            Scope::Sync => 4,
            Scope::Admin => 8,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a scope; the message lists the ones there are.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a token scope; use read, connections, sync or admin (comma-separated)")]
pub struct ScopeError(pub String);

impl FromStr for Scope {
    type Err = ScopeError;

    fn from_str(text: &str) -> Result<Scope, ScopeError> {
        Scope::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| ScopeError(text.trim().to_owned()))
    }
}

/// The scopes of one token (never empty: every token reads).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scopes(u8);

impl Scopes {
    /// Read only.
    pub const READ: Scopes = Scopes(1);
    /// Everything.
    pub const ADMIN: Scopes = Scopes(1 | 8);

    pub fn of(scopes: impl IntoIterator<Item = Scope>) -> Scopes {
        Scopes(
            scopes
                .into_iter()
                .fold(Scope::Read.bit(), |bits, s| bits | s.bit()),
        )
    }

    /// Whether a caller with these scopes may do what `needed` covers (admin covers all).
    pub fn allows(self, needed: Scope) -> bool {
        self.0 & Scope::Admin.bit() != 0 || self.0 & needed.bit() != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL
            .into_iter()
            .filter(move |s| self.0 & s.bit() != 0)
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scopes({self})")
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Scope::as_str).collect();
        f.write_str(&names.join(","))
    }
}

impl FromStr for Scopes {
    type Err = ScopeError;

    /// `read,sync` (comma-separated, any case; `read` is implied).
    fn from_str(text: &str) -> Result<Scopes, ScopeError> {
        let scopes = text
            .split(',')
            .filter(|part| !part.trim().is_empty())
            .map(str::parse)
            .collect::<Result<Vec<Scope>, _>>()?;
        Ok(Scopes::of(scopes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_reads_and_admin_covers_everything() {
        let read: Scopes = "read".parse().unwrap_or(Scopes::ADMIN);
        assert!(read.allows(Scope::Read));
        assert!(!read.allows(Scope::Sync));
        assert!(!read.allows(Scope::Connections));
        assert!(!read.allows(Scope::Admin));
        let sync: Scopes = "sync".parse().unwrap_or(Scopes::ADMIN);
        assert!(sync.allows(Scope::Read) && sync.allows(Scope::Sync));
        assert!(!sync.allows(Scope::Connections) && !sync.allows(Scope::Admin));
        for scope in Scope::ALL {
            assert!(Scopes::ADMIN.allows(scope));
        }
    }

    #[test]
    fn scopes_round_trip_through_text_and_refuse_unknown_names() {
        let scopes: Result<Scopes, _> = " Sync, connections ".parse();
        assert_eq!(
            scopes.map(|s| s.to_string()).as_deref(),
            Ok("read,connections,sync")
        );
        let bad: Result<Scopes, _> = "read,root".parse();
        assert_eq!(bad, Err(ScopeError("root".to_owned())));
        assert_eq!(Scopes::ADMIN.to_string(), "read,admin");
    }
}
