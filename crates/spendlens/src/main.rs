//! `spendlens`: the one binary. A thin edge: parse the command line, set up logging and TLS,
//! run the command, and turn errors into a message and an exit code.

mod cli;
mod commands;
mod config;
mod context;
mod render;

use crate::cli::{Cli, Command};

/// The log filter from `--log`. sqlx's slow-statement warning prints the whole statement (a
/// batch insert is a line of hundreds of kilobytes), so `sqlx::query` logs errors only unless
/// the filter names sqlx itself. A filter that does not parse is said, not silently replaced.
fn log_filter(spec: &str) -> tracing_subscriber::EnvFilter {
    let spec = if spec.contains("sqlx") {
        spec.to_owned()
    } else {
        format!("{spec},sqlx::query=error")
    };
    tracing_subscriber::EnvFilter::try_new(&spec).unwrap_or_else(|err| {
        eprintln!("warning: the log filter {spec:?} is not valid ({err}); logging warnings only");
        tracing_subscriber::EnvFilter::new("warn,sqlx::query=error")
    })
}

fn main() -> std::process::ExitCode {
    let cli = match config::parse_command_line() {
        Ok(cli) => cli,
        Err(err) => {
            eprintln!("error: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    let filter = log_filter(&cli.log);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    // One TLS crypto provider for every HTTPS client (reqwest, sqlx).
    let _ = rustls::crypto::ring::default_provider().install_default();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match &cli.command {
        Command::Demo(args) => commands::demo::run(&cli, args).await,
        Command::Serve(args) => commands::serve::run(&cli, args).await,
        Command::Connections(command) => commands::connections::run(&cli, command).await,
        Command::Sync(args) => commands::sync::run(&cli, args).await,
        Command::Report(args) => commands::report::run(&cli, args).await,
        Command::Export(command) => commands::export::run(&cli, command).await,
        Command::Tokens(command) => commands::tokens::run(&cli, command).await,
        Command::Keys(command) => commands::keys::run(&cli, command).await,
        Command::Meter(command) => commands::keys::meter(&cli, command).await,
        Command::Users(command) => commands::users::run(&cli, command).await,
        Command::Audit(command) => commands::audit::run(&cli, command).await,
        Command::Prices(command) => commands::prices::run(&cli, command).await,
        Command::Alerts(command) => commands::alerts::run(&cli, command).await,
        Command::Budgets(command) => commands::budgets::run(&cli, command).await,
        Command::Reports(command) => commands::reports::run(&cli, command).await,
        Command::Forecast(args) => commands::forecast::run_forecast(&cli, args).await,
        Command::Anomalies(command) => commands::forecast::run_anomalies(&cli, command).await,
        Command::Migrate => commands::migrate(&cli).await,
        Command::Config(command) => commands::config_check(&cli, command),
        Command::Bench(args) => commands::bench::run(&cli, args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::log_filter;

    #[test]
    fn sqlx_statements_are_quiet_unless_the_filter_names_sqlx() {
        let default = log_filter("warn").to_string();
        assert!(default.contains("sqlx::query=error"), "{default}");
        let asked = log_filter("info,sqlx=debug").to_string();
        assert!(!asked.contains("sqlx::query=error"), "{asked}");
        let broken = log_filter("spendlens=[").to_string();
        assert!(broken.contains("warn"), "{broken}");
    }
}
