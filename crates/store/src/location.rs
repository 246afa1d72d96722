//! Where the database lives: a SQLite file in the data directory, or a PostgreSQL URL.

use std::fmt;
use std::path::{Path, PathBuf};

use url::Url;

use crate::StoreError;

/// A database location, chosen from a URL or the data directory.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    Sqlite { path: PathBuf },
    Postgres { url: String },
}

impl DatabaseLocation {
    /// The embedded default: `spendlens.db` in the data directory.
    pub fn in_data_dir(data_dir: &Path) -> DatabaseLocation {
        DatabaseLocation::Sqlite {
            path: data_dir.join("spendlens.db"),
        }
    }

    /// `postgres://…`, `postgresql://…` or `sqlite://path` (also `sqlite:path`).
    pub fn parse(url: &str) -> Result<DatabaseLocation, StoreError> {
        let trimmed = url.trim();
        if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
            Url::parse(trimmed).map_err(|err| {
                StoreError::Location(format!("the database URL is not a valid URL: {err}"))
            })?;
            return Ok(DatabaseLocation::Postgres {
                url: trimmed.to_owned(),
            });
        }
        if let Some(path) = trimmed
            .strip_prefix("sqlite://")
            .or_else(|| trimmed.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err(StoreError::Location(
                    "a sqlite:// URL needs a file path, e.g. sqlite://./spendlens-data/spendlens.db"
                        .to_owned(),
                ));
            }
            return Ok(DatabaseLocation::Sqlite {
                path: PathBuf::from(path),
            });
        }
        let scheme = trimmed.split(':').next().unwrap_or("");
        Err(StoreError::Location(format!(
            "unsupported database URL scheme \"{scheme}\"; use postgres://user@host/db, or sqlite://path (or leave it unset for the embedded SQLite database)"
        )))
    }

    /// The location with any password replaced by `***`, safe to print and log.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseLocation::Sqlite { path } => format!("sqlite://{}", path.display()),
            DatabaseLocation::Postgres { url } => match Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("***"));
                    }
                    // Query parameters may carry a password too.
                    let pairs: Vec<(String, String)> = parsed
                        .query_pairs()
                        .map(|(k, v)| {
                            let hidden = k.eq_ignore_ascii_case("password");
                            (
                                k.into_owned(),
                                if hidden { "***".into() } else { v.into_owned() },
                            )
                        })
                        .collect();
                    if !pairs.is_empty() {
                        parsed.query_pairs_mut().clear().extend_pairs(pairs);
                    }
                    parsed.to_string()
                }
                Err(_) => "postgres://(unparsable URL)".to_owned(),
            },
        }
    }
}

impl fmt::Debug for DatabaseLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for DatabaseLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_print() {
        let location =
            DatabaseLocation::parse("postgres://app:hunter2@db:5432/spend?password=x").unwrap();
        let shown = location.to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("=x"), "{shown}");
        assert!(format!("{location:?}").contains("***"));
    }

    #[test]
    fn an_unknown_scheme_says_what_is_supported() {
        let err = DatabaseLocation::parse("mysql://localhost/db")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mysql") && err.contains("postgres://"),
            "{err}"
        );
    }

    #[test]
    fn sqlite_urls_become_paths() {
        assert_eq!(
            DatabaseLocation::parse("sqlite://data/x.db").unwrap(),
            DatabaseLocation::Sqlite {
                path: PathBuf::from("data/x.db")
            }
        );
    }
}
