//! `spendlens demo`: start local stand-ins for the providers' billing APIs, connect them
//! through the real connectors (shape check, live check, encrypted credentials), sync, and
//! serve — so a new user sees real numbers in one command.
//!
//! The demo keeps its own database in `<data-dir>/demo/`, recreated at every start, so it
//! never touches a real install's data.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use spendlens_domain::ProviderKind;
use spendlens_fakes::anthropic::AnthropicFake;
use spendlens_fakes::openai::OpenAiFake;
use spendlens_store::{DatabaseLocation, SyncRunStatus};
use spendlens_sync::connections::AddConnection;

use crate::cli::{Cli, DemoArgs};
use crate::commands::serve::{bind, serve_until_ctrl_c};
use crate::commands::sync::{print_report, sync_with_progress};
use crate::context::Context;

pub async fn run(cli: &Cli, args: &DemoArgs) -> anyhow::Result<ExitCode> {
    if cli.database_url.is_some() {
        eprintln!("note: the demo always uses its own SQLite database; --database-url is ignored.");
    }
    // Bind first: a taken port should fail before any work.
    let listener = if args.no_serve {
        None
    } else {
        Some(bind(&args.listen).await?)
    };

    let demo_dir = cli.data_dir.join("demo");
    reset_demo_database(&demo_dir)?;
    let context = Context::open_at(&DatabaseLocation::in_data_dir(&demo_dir), &demo_dir).await?;
    let today = context.engine.today().date();

    let openai = OpenAiFake::builder().seed(args.seed).today(today).build();
    let openai_key = openai.admin_key().to_owned();
    let openai = openai
        .spawn()
        .await
        .context("starting the OpenAI stand-in")?;
    let anthropic = AnthropicFake::builder()
        .seed(args.seed)
        .today(today)
        .build();
    let anthropic_key = anthropic.admin_key().to_owned();
    let anthropic = anthropic
        .spawn()
        .await
        .context("starting the Anthropic stand-in")?;
    println!(
        "Started local stand-ins: OpenAI Admin API at {}, Anthropic Admin API at {}",
        openai.base_url(),
        anthropic.base_url()
    );

    let mut failed = false;
    for (provider, name, key, base_url) in [
        (
            ProviderKind::OpenAi,
            "OpenAI (demo)",
            openai_key.as_str(),
            openai.base_url(),
        ),
        (
            ProviderKind::Anthropic,
            "Anthropic (demo)",
            anthropic_key.as_str(),
            anthropic.base_url(),
        ),
    ] {
        let (row, check) = context
            .engine
            .add_connection(
                context.org,
                AddConnection {
                    provider,
                    name,
                    secret: key,
                    base_url: Some(base_url),
                    skip_check: false,
                    sync_interval_secs: 3600,
                    backfill_days: 90,
                    lookback_days: 3,
                },
            )
            .await
            .with_context(|| format!("connecting {name}"))?;
        if let Some(check) = check {
            println!("Connected {name}: {}", check.summary);
        }
        let report = sync_with_progress(&context.engine, context.org, &row, None).await?;
        print_report(&report);
        failed |= report.status == SyncRunStatus::Failed;
    }
    if failed {
        eprintln!("A demo sync failed; see the messages above.");
        return Ok(ExitCode::FAILURE);
    }

    let token = context
        .store()
        .create_api_token(context.org, "demo", context.engine.now())
        .await?;
    let admin_email = "admin@demo.spendlens.local";
    let admin_password = crate::commands::users::generate_password();
    crate::commands::users::add_user(
        context.store(),
        context.org,
        admin_email,
        spendlens_store::Role::Admin,
        &admin_password,
        context.engine.now(),
    )
    .await?;
    let data_dir = demo_dir.display();
    let Some(listener) = listener else {
        println!(
            "Demo data is in {data_dir}. Dashboard login: {admin_email} / {admin_password}. API token: {}",
            token.secret
        );
        return Ok(ExitCode::SUCCESS);
    };
    let url = format!("http://{}", listener.local_addr()?);
    println!();
    println!("spendlens demo is ready at {url}");
    println!("  Sign in:     {admin_email} / {admin_password}");
    println!("  API token:   {}", token.secret);
    println!(
        "  Try:         curl -H 'Authorization: Bearer {}' '{url}/api/v1/reports/providers?period=last-30-days'",
        token.secret
    );
    println!("  OpenAPI:     {url}/api/v1/openapi.json");
    println!("  CLI:         cargo run --release -- --data-dir {data_dir} report models");
    println!("Press Ctrl-C to stop.");
    serve_until_ctrl_c(&context, listener, true).await?;
    openai.shutdown().await;
    anthropic.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Removes the previous demo's database files (and nothing else).
fn reset_demo_database(demo_dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(demo_dir)
        .with_context(|| format!("creating {}", demo_dir.display()))?;
    for name in ["spendlens.db", "spendlens.db-wal", "spendlens.db-shm"] {
        let path = demo_dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err).with_context(|| format!("removing {}", path.display())),
        }
    }
    Ok(())
}
