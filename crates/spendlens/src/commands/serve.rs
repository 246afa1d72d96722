//! `spendlens serve`: the JSON API plus the scheduler, until Ctrl-C.

use std::process::ExitCode;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cli::{Cli, ServeArgs};
use crate::context::Context;

pub async fn run(cli: &Cli, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let context = Context::open(cli).await?;
    let listener = bind(&args.listen).await?;
    let url = format!("http://{}", listener.local_addr()?);
    println!(
        "spendlens is serving {url} (database: {})",
        context.store().location()
    );
    println!("API: {url}/api/v1/openapi.json · create a token with `spendlens tokens create`");
    let settings = spendlens_web::WebSettings {
        trust_forwarded_for: args.trust_forwarded_for,
        secure_cookies: args.secure_cookies,
        session_lifetime: time::Duration::hours(args.session_hours),
        session_idle: time::Duration::minutes(args.session_idle_minutes),
        alerts: spendlens_web::alerts::AlertSettings::default(),
        meter_retention_days: args.meter_retention_days,
        ..spendlens_web::WebSettings::default()
    };
    let retention = args
        .meter_retention_days
        .map(|days| super::keys::spawn_retention(&context, days));
    let limits = spendlens_web::server::ServeLimits {
        max_connections: args.max_connections,
        ..spendlens_web::server::ServeLimits::default()
    };
    serve_until_ctrl_c(&context, listener, !args.no_scheduler, settings, limits).await?;
    if let Some(task) = retention {
        task.abort();
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn bind(listen: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(listen).await.with_context(|| {
        format!("cannot listen on {listen}; is another program using it? Choose another with --listen 127.0.0.1:PORT")
    })
}

/// Serves (and schedules syncs, when asked) until Ctrl-C or SIGTERM.
pub async fn serve_until_ctrl_c(
    context: &Context,
    listener: TcpListener,
    scheduler: bool,
    settings: spendlens_web::WebSettings,
    limits: spendlens_web::server::ServeLimits,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let scheduler_task = scheduler.then(|| {
        tokio::spawn(spendlens_sync::scheduler::run(
            context.engine.clone(),
            stop_rx.clone(),
        ))
    });
    let state = spendlens_web::AppState::with_settings(context.engine.clone(), settings);
    // The first Providers page after a start would read the whole bill, every metered day of
    // the last 41 and the coverage join; they are read now, in the background, and kept.
    let warming = state.clone();
    let org = context.org;
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        match warming.reports.warm(org, warming.now()).await {
            Ok(()) => tracing::info!(
                elapsed_ms = started.elapsed().as_millis(),
                "reports read and kept for the first page loads"
            ),
            Err(err) => tracing::warn!(error = %err, "reports could not be read ahead at start"),
        }
    });
    let router = spendlens_web::router(state.clone());
    let shutdown = async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    };
    spendlens_web::server::serve_with_limits(listener, router, shutdown, limits).await?;
    // Budget denials tallied since the last flush go to the store before the process ends.
    if let Err(err) = state.budgets.denials.flush(state.store()).await {
        tracing::error!(error = %err, "budget denials of the last second could not be written");
    }
    if let Some(task) = scheduler_task {
        let _ = task.await;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
