//! The configuration file (`--config FILE` or `SPENDLENS_CONFIG`): TOML, layered between the
//! built-in defaults and the environment. A flag beats its `SPENDLENS_*` variable, which beats
//! the file, which beats the default. Unknown keys, wrong types and out-of-range values are
//! refused with the file, the key and the reason; the same checks as the flags apply.
//!
//! ```toml
//! data_dir = "/var/lib/spendlens"
//! log = "info"
//!
//! [serve]
//! listen = "0.0.0.0:8080"
//! meter_retention_days = 90
//! ```

use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory as _};
use serde::Deserialize;

use crate::cli::{Cli, Command};

/// Why a configuration file was not used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("the configuration file {path} sets {key} = {value}, which is not accepted: {reason}")]
    Value {
        path: PathBuf,
        key: String,
        value: String,
        reason: String,
    },
}

/// The file's top level: the global options.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub base_url_hosts: Option<Vec<String>>,
    pub log: Option<String>,
    /// `[serve]`: read by `spendlens serve` only.
    pub serve: Option<ServeFile>,
}

/// The `[serve]` table.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServeFile {
    pub listen: Option<String>,
    pub no_scheduler: Option<bool>,
    pub trust_forwarded_for: Option<bool>,
    pub secure_cookies: Option<bool>,
    pub session_hours: Option<i64>,
    pub session_idle_minutes: Option<i64>,
    pub meter_retention_days: Option<u32>,
    pub max_connections: Option<usize>,
}

/// One setting the file holds, for `spendlens config check`.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    /// `log`, `serve.listen`…
    pub key: String,
    /// As the file gives it; a database URL's password is masked.
    pub value: String,
    /// The variable that would override it (`None`: only the flag does).
    pub env: Option<&'static str>,
}

impl FileConfig {
    /// Parses the file's text and checks every value as the flags would.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|err| ConfigError::Parse {
            path: path.to_owned(),
            message: err.to_string().trim_end().to_owned(),
        })?;
        file.check(path)?;
        Ok(file)
    }

    /// Reads and parses the file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Every value through the command line's own parser for the flag it stands for, so a
    /// range or format is defined in one place (the flag's definition).
    fn check(&self, path: &Path) -> Result<(), ConfigError> {
        let command = Cli::command();
        for entry in self.entries() {
            let (section, id) = match entry.key.split_once('.') {
                Some((section, id)) => (Some(section), id),
                None => (None, entry.key.as_str()),
            };
            let owner = match section {
                Some(section) => command.find_subcommand(section),
                None => Some(&command),
            };
            let Some(arg) = owner.and_then(|o| o.get_arguments().find(|a| a.get_id() == id)) else {
                continue;
            };
            let (Some(long), true) = (arg.get_long(), arg.get_action().takes_values()) else {
                continue; // a switch: the file's `true`/`false` was typed by the parser above
            };
            for raw in self.raw_values(&entry.key) {
                let flag = format!("--{long}={raw}");
                let argv: Vec<&str> = match section {
                    Some(section) => vec!["spendlens", section, &flag],
                    None => vec!["spendlens", &flag, "migrate"],
                };
                if let Err(err) = command.clone().try_get_matches_from(argv) {
                    let reason = err.to_string();
                    let reason = reason.lines().next().unwrap_or_default();
                    return Err(ConfigError::Value {
                        path: path.to_owned(),
                        key: entry.key,
                        value: entry.value,
                        reason: reason.trim_start_matches("error: ").to_owned(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The unmasked text of a key's value(s), as a flag would receive them.
    fn raw_values(&self, key: &str) -> Vec<String> {
        let serve = self.serve.as_ref();
        let one = |v: Option<String>| v.into_iter().collect();
        match key {
            "data_dir" => one(self.data_dir.as_ref().map(|p| p.display().to_string())),
            "database_url" => one(self.database_url.clone()),
            "base_url_hosts" => self.base_url_hosts.clone().unwrap_or_default(),
            "log" => one(self.log.clone()),
            "serve.listen" => one(serve.and_then(|s| s.listen.clone())),
            "serve.no_scheduler" => one(serve.and_then(|s| s.no_scheduler).map(|v| v.to_string())),
            "serve.trust_forwarded_for" => one(serve
                .and_then(|s| s.trust_forwarded_for)
                .map(|v| v.to_string())),
            "serve.secure_cookies" => {
                one(serve.and_then(|s| s.secure_cookies).map(|v| v.to_string()))
            }
            "serve.session_hours" => {
                one(serve.and_then(|s| s.session_hours).map(|v| v.to_string()))
            }
            "serve.session_idle_minutes" => one(serve
                .and_then(|s| s.session_idle_minutes)
                .map(|v| v.to_string())),
            "serve.meter_retention_days" => one(serve
                .and_then(|s| s.meter_retention_days)
                .map(|v| v.to_string())),
            "serve.max_connections" => {
                one(serve.and_then(|s| s.max_connections).map(|v| v.to_string()))
            }
            _ => Vec::new(),
        }
    }

    /// The settings the file holds, in the order of the documentation.
    pub fn entries(&self) -> Vec<Entry> {
        let mut out = Vec::new();
        let mut push = |key: &str, value: Option<String>, env: Option<&'static str>| {
            if let Some(value) = value {
                out.push(Entry {
                    key: key.to_owned(),
                    value,
                    env,
                });
            }
        };
        push(
            "data_dir",
            self.data_dir.as_ref().map(|p| p.display().to_string()),
            Some("SPENDLENS_DATA_DIR"),
        );
        push(
            "database_url",
            self.database_url.as_deref().map(mask_password),
            Some("SPENDLENS_DATABASE_URL"),
        );
        push(
            "base_url_hosts",
            self.base_url_hosts.as_ref().map(|h| h.join(",")),
            Some("SPENDLENS_BASE_URL_HOSTS"),
        );
        push("log", self.log.clone(), Some("SPENDLENS_LOG"));
        if let Some(s) = &self.serve {
            push("serve.listen", s.listen.clone(), Some("SPENDLENS_LISTEN"));
            push(
                "serve.no_scheduler",
                s.no_scheduler.map(|v| v.to_string()),
                None,
            );
            push(
                "serve.trust_forwarded_for",
                s.trust_forwarded_for.map(|v| v.to_string()),
                Some("SPENDLENS_TRUST_FORWARDED_FOR"),
            );
            push(
                "serve.secure_cookies",
                s.secure_cookies.map(|v| v.to_string()),
                Some("SPENDLENS_SECURE_COOKIES"),
            );
            push(
                "serve.session_hours",
                s.session_hours.map(|v| v.to_string()),
                Some("SPENDLENS_SESSION_HOURS"),
            );
            push(
                "serve.session_idle_minutes",
                s.session_idle_minutes.map(|v| v.to_string()),
                Some("SPENDLENS_SESSION_IDLE_MINUTES"),
            );
            push(
                "serve.meter_retention_days",
                s.meter_retention_days.map(|v| v.to_string()),
                Some("SPENDLENS_METER_RETENTION_DAYS"),
            );
            push(
                "serve.max_connections",
                s.max_connections.map(|v| v.to_string()),
                Some("SPENDLENS_MAX_CONNECTIONS"),
            );
        }
        out
    }

    /// Fills every option the command line and the environment left at its default.
    pub fn apply(self, cli: &mut Cli, matches: &ArgMatches) {
        let unset = |m: &ArgMatches, id: &str| {
            !matches!(
                m.value_source(id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        };
        // Global options are propagated to the subcommand's matches; either may hold the source.
        let sub = matches.subcommand().map(|(_, m)| m);
        let global_unset = |id: &str| unset(matches, id) && sub.is_none_or(|m| unset(m, id));
        if let Some(v) = self.data_dir.filter(|_| global_unset("data_dir")) {
            cli.data_dir = v;
        }
        if let Some(v) = self.database_url.filter(|_| global_unset("database_url")) {
            cli.database_url = Some(v);
        }
        if let Some(v) = self
            .base_url_hosts
            .filter(|_| global_unset("base_url_hosts"))
        {
            cli.base_url_hosts = v;
        }
        if let Some(v) = self.log.filter(|_| global_unset("log")) {
            cli.log = v;
        }
        let (Command::Serve(args), Some(("serve", m)), Some(s)) =
            (&mut cli.command, matches.subcommand(), self.serve)
        else {
            return;
        };
        if let Some(v) = s.listen.filter(|_| unset(m, "listen")) {
            args.listen = v;
        }
        if let Some(v) = s.no_scheduler.filter(|_| unset(m, "no_scheduler")) {
            args.no_scheduler = v;
        }
        if let Some(v) = s
            .trust_forwarded_for
            .filter(|_| unset(m, "trust_forwarded_for"))
        {
            args.trust_forwarded_for = v;
        }
        if let Some(v) = s.secure_cookies.filter(|_| unset(m, "secure_cookies")) {
            args.secure_cookies = v;
        }
        if let Some(v) = s.session_hours.filter(|_| unset(m, "session_hours")) {
            args.session_hours = v;
        }
        if let Some(v) = s
            .session_idle_minutes
            .filter(|_| unset(m, "session_idle_minutes"))
        {
            args.session_idle_minutes = v;
        }
        if let Some(v) = s
            .meter_retention_days
            .filter(|_| unset(m, "meter_retention_days"))
        {
            args.meter_retention_days = Some(v);
        }
        if let Some(v) = s.max_connections.filter(|_| unset(m, "max_connections")) {
            args.max_connections = v;
        }
    }
}

/// A URL with its password replaced by `***` (for output; the file keeps it).
pub fn mask_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "(not a URL)".to_owned(),
    }
}

/// A warning when the file holds a database password and other users may read it.
pub fn permission_warning(path: &Path, file: &FileConfig) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let has_password = file
        .database_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .is_some_and(|u| u.password().is_some());
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (has_password && mode & 0o077 != 0).then(|| {
        format!(
            "warning: {} holds a database password and other users can read it (mode {:o}); run `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        )
    })
}

/// Parses the command line, then layers the configuration file under it.
pub fn parse_command_line() -> Result<Cli, ConfigError> {
    let matches = Cli::command().get_matches();
    let mut cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    if let Some(path) = cli.config.clone() {
        let file = FileConfig::load(&path)?;
        if let Some(warning) = permission_warning(&path, &file) {
            eprintln!("{warning}");
        }
        file.apply(&mut cli, &matches);
    }
    Ok(cli)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli_with(args: &[&str], file: &str) -> Cli {
        let matches = Cli::command().try_get_matches_from(args).unwrap();
        let mut cli = <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap();
        FileConfig::parse(Path::new("t.toml"), file)
            .unwrap()
            .apply(&mut cli, &matches);
        cli
    }

    #[test]
    fn the_file_fills_defaults_and_a_flag_beats_it() {
        let file = "data_dir = \"/srv/sl\"\nlog = \"info\"\n[serve]\nlisten = \"0.0.0.0:9000\"\nsession_hours = 24\nmeter_retention_days = 30\n";
        let cli = cli_with(&["spendlens", "serve", "--session-hours", "48"], file);
        assert_eq!(cli.data_dir, PathBuf::from("/srv/sl"));
        assert_eq!(cli.log, "info");
        let Command::Serve(args) = &cli.command else {
            panic!("serve")
        };
        assert_eq!(args.listen, "0.0.0.0:9000");
        assert_eq!(args.session_hours, 48, "the flag wins");
        assert_eq!(args.meter_retention_days, Some(30));
        assert_eq!(args.session_idle_minutes, 720, "the default stays");
        assert!(!args.secure_cookies, "off unless asked");
        let cli = cli_with(&["spendlens", "serve"], "[serve]\nsecure_cookies = true\n");
        let Command::Serve(args) = &cli.command else {
            panic!("serve")
        };
        assert!(args.secure_cookies);

        // A global flag given after the subcommand still beats the file.
        let cli = cli_with(&["spendlens", "serve", "--data-dir", "/here"], file);
        assert_eq!(cli.data_dir, PathBuf::from("/here"));
        let cli = cli_with(&["spendlens", "--log", "debug", "migrate"], file);
        assert_eq!(cli.log, "debug");
        assert_eq!(cli.data_dir, PathBuf::from("/srv/sl"));
    }

    #[test]
    fn unknown_keys_wrong_types_and_ranges_are_refused_with_the_key() {
        let err = FileConfig::parse(Path::new("t.toml"), "[serve]\nlisten_on = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("t.toml") && err.contains("listen_on"), "{err}");
        assert!(err.contains("listen"), "names the keys it knows: {err}");

        let err = FileConfig::parse(Path::new("t.toml"), "[serve]\nsession_hours = \"many\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("session_hours"), "{err}");

        let err = FileConfig::parse(Path::new("t.toml"), "[serve]\nsession_hours = 5000\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("serve.session_hours = 5000") && err.contains("1..=2160"),
            "{err}"
        );

        let err = FileConfig::parse(Path::new("t.toml"), "[serve]\nmax_connections = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("serve.max_connections = 3"), "{err}");

        let err = FileConfig::parse(Path::new("t.toml"), "data_dir = ").unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
    }

    #[test]
    fn entries_mask_the_database_password() {
        let file = FileConfig::parse(
            Path::new("t.toml"),
            "database_url = \"postgres://app:s3cret@db/spend\"\n",
        )
        .unwrap();
        let entries = file.entries();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].value, "postgres://app:***@db/spend");
        assert!(!format!("{entries:?}").contains("s3cret"));
    }
}
