//! `spendlens demo`: start local stand-ins for the providers' billing APIs, connect them
//! through the real connectors (shape check, live check, encrypted credentials), sync, and
//! serve — so a new user sees real numbers in one command.
//!
//! Then it meters traffic consistent with the stand-ins' bills through the real ingest API
//! and OTLP receiver (`demo_traffic`): a 30-day backfill, then a few calls every few seconds.
//!
//! The demo keeps its own database in `<data-dir>/demo/`, recreated at every start, so it
//! never touches a real install's data.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use spendlens_domain::ProviderKind;
use spendlens_fakes::anthropic::AnthropicFake;
use spendlens_fakes::azure::AzureFake;
use spendlens_fakes::bedrock::BedrockFake;
use spendlens_fakes::fal::FalFake;
use spendlens_fakes::litellm::LiteLlmFake;
use spendlens_fakes::openai::OpenAiFake;
use spendlens_fakes::openrouter::OpenRouterFake;
use spendlens_fakes::piapi::PiApiFake;
use spendlens_fakes::runway::RunwayFake;
use spendlens_fakes::vertex::VertexFake;
use spendlens_store::{DatabaseLocation, SyncRunStatus};
use spendlens_sync::connections::AddConnection;

use crate::cli::{Cli, DemoArgs};
use crate::commands::demo_traffic::DemoTraffic;
use crate::commands::serve::{bind, serve_until_ctrl_c};
use crate::commands::sync::{print_report, sync_with_progress};
use crate::context::Context;

pub async fn run(cli: &Cli, args: &DemoArgs) -> anyhow::Result<ExitCode> {
    if cli.database_url.is_some() {
        eprintln!("note: the demo always uses its own SQLite database; --database-url is ignored.");
    }
    // Bind first: a taken port should fail before any work. Without serving, the traffic's
    // backfill still goes through a server, on a port of its own for the time it takes.
    let listener = if args.no_serve {
        bind("127.0.0.1:0").await?
    } else {
        bind(&args.listen).await?
    };

    let demo_dir = cli.data_dir.join("demo");
    reset_demo_database(&demo_dir)?;
    let context = Context::open_at(&DatabaseLocation::in_data_dir(&demo_dir), &demo_dir).await?;
    let today = context.engine.today().date();

    let stand_ins = StandIns::start(args.seed, today).await?;
    println!(
        "Started local stand-ins for the billing APIs of {} providers.",
        stand_ins.connections.len()
    );

    let mut failed = false;
    for stand_in in &stand_ins.connections {
        let (row, check) = context
            .engine
            .add_connection(
                context.org,
                AddConnection {
                    provider: stand_in.provider,
                    name: &stand_in.name,
                    secret: &stand_in.secret,
                    base_url: Some(&stand_in.base_url),
                    skip_check: false,
                    sync_interval_secs: 3600,
                    backfill_days: 90,
                    lookback_days: None,
                },
            )
            .await
            .with_context(|| format!("connecting {}", stand_in.name))?;
        if let Some(check) = check {
            println!("Connected {}: {}", stand_in.name, check.summary);
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
    crate::commands::alerts::demo_rules(context.store(), context.org, context.engine.now()).await?;
    let traffic = DemoTraffic::prepare(&context, &stand_ins.sources, args.seed, today).await?;
    let data_dir = demo_dir.display();
    let url = format!("http://{}", listener.local_addr()?);
    if args.no_serve {
        let counts = backfill_then_stop(&context, &traffic, listener, &url).await?;
        let customer = crate::commands::budgets::demo_budgets(
            context.store(),
            context.org,
            context.engine.now(),
        )
        .await?;
        let tenant = demo_tenant(&context, customer.as_deref()).await?;
        println!(
            "Demo data is in {data_dir}. Dashboard login: {admin_email} / {admin_password}. API token: {}",
            token.secret
        );
        if let Some(line) = tenant_line(tenant.as_ref()) {
            println!("{line}");
        }
        for line in traffic.banner(Some(&counts)) {
            println!("{line}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let serving = serve_until_ctrl_c(
        &context,
        listener,
        true,
        spendlens_web::WebSettings::default(),
        spendlens_web::server::ServeLimits::default(),
    );
    let metering = async {
        let counts = match traffic.backfill(&context, &url).await {
            Ok(counts) => Some(counts),
            Err(err) => {
                eprintln!("The demo traffic's backfill failed: {err:#}");
                None
            }
        };
        let customer = match crate::commands::budgets::demo_budgets(
            context.store(),
            context.org,
            context.engine.now(),
        )
        .await
        {
            Ok(customer) => customer,
            Err(err) => {
                eprintln!("The demo's budgets could not be added: {err:#}");
                None
            }
        };
        let tenant = match demo_tenant(&context, customer.as_deref()).await {
            Ok(tenant) => tenant,
            Err(err) => {
                eprintln!("The demo's tenant user could not be added: {err:#}");
                None
            }
        };
        println!();
        println!("spendlens demo is ready at {url}");
        println!("  Sign in:     {admin_email} / {admin_password}");
        if let Some(line) = tenant_line(tenant.as_ref()) {
            println!("{line}");
        }
        println!("  API token:   {}", token.secret);
        println!(
            "  Try:         curl -H 'Authorization: Bearer {}' '{url}/api/v1/reports/providers?period=last-30-days'",
            token.secret
        );
        println!("  OpenAPI:     {url}/api/v1/openapi.json");
        println!("  CLI:         cargo run --release -- --data-dir {data_dir} report models");
        for line in traffic.banner(counts.as_ref()) {
            println!("{line}");
        }
        println!("Press Ctrl-C to stop.");
        traffic.live(&context, &url).await;
    };
    tokio::select! {
        served = serving => served?,
        () = metering => {}
    }
    drop(stand_ins);
    Ok(ExitCode::SUCCESS)
}

/// The demo's tenant user: bound to `customer` (the one with a platform cap and its own tenant
/// cap), so the customer portal shows spend and budgets. Returns (email, password, customer).
async fn demo_tenant(
    context: &Context,
    customer: Option<&str>,
) -> anyhow::Result<Option<(String, String, String)>> {
    let Some(customer) = customer else {
        return Ok(None);
    };
    let email = "tenant@demo.spendlens.local".to_owned();
    let password = crate::commands::users::generate_password();
    crate::commands::users::add_user_bound(
        context.store(),
        context.org,
        &email,
        spendlens_store::Role::Tenant,
        Some(customer),
        &password,
        context.engine.now(),
    )
    .await?;
    Ok(Some((email, password, customer.to_owned())))
}

fn tenant_line(tenant: Option<&(String, String, String)>) -> Option<String> {
    tenant.map(|(email, password, customer)| {
        format!("  Portal:      {email} / {password} (tenant of customer {customer}: sees only its spend and budgets at /portal)")
    })
}

/// Serves on `listener` only while the backfill is sent, then stops.
async fn backfill_then_stop(
    context: &Context,
    traffic: &DemoTraffic,
    listener: tokio::net::TcpListener,
    url: &str,
) -> anyhow::Result<spendlens_demo::Counts> {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let router = spendlens_web::router(spendlens_web::AppState::new(context.engine.clone()));
    let server = tokio::spawn(spendlens_web::serve(listener, router, async move {
        let _ = stop_rx.await;
    }));
    let counts = traffic.backfill(context, url).await;
    let _ = stop_tx.send(());
    let _ = server.await;
    counts
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

/// One stand-in's connection: what a user would paste, and where to reach it.
struct StandIn {
    provider: ProviderKind,
    name: String,
    secret: String,
    base_url: String,
}

/// The running stand-ins (kept alive while the demo serves), their connections, and the
/// ground truth the demo traffic follows.
struct StandIns {
    connections: Vec<StandIn>,
    sources: spendlens_demo::Sources,
    _running: Vec<Box<dyn std::any::Any + Send>>,
}

impl StandIns {
    /// Starts a stand-in for every provider, each with its own seeded organization.
    async fn start(seed: u64, today: time::Date) -> anyhow::Result<StandIns> {
        let mut connections = Vec::new();
        let mut running: Vec<Box<dyn std::any::Any + Send>> = Vec::new();
        let mut add = |provider: ProviderKind, secret: String, base_url: String| {
            connections.push(StandIn {
                provider,
                name: format!("{} (demo)", provider.display_name()),
                secret,
                base_url,
            });
        };

        let spike = spendlens_demo::SPIKE;
        let openai = OpenAiFake::builder()
            .seed(seed)
            .today(today)
            .spike(spendlens_fakes::openai::Spike {
                key: spike.key.to_owned(),
                model: spike.model.to_owned(),
                days: spike.days,
                factor: spike.factor,
            })
            .build()
            .spawn()
            .await
            .context("starting the OpenAI stand-in")?;
        add(
            ProviderKind::OpenAi,
            openai.admin_key().to_owned(),
            openai.base_url().to_owned(),
        );
        let mut sources = spendlens_demo::Sources {
            openai: Some(openai.truth().clone()),
            ..Default::default()
        };
        running.push(Box::new(openai));

        let anthropic = AnthropicFake::builder()
            .seed(seed)
            .today(today)
            .build()
            .spawn()
            .await
            .context("starting the Anthropic stand-in")?;
        add(
            ProviderKind::Anthropic,
            anthropic.admin_key().to_owned(),
            anthropic.base_url().to_owned(),
        );
        sources.anthropic = Some(anthropic.truth().clone());
        running.push(Box::new(anthropic));

        let bedrock = BedrockFake::builder()
            .seed(seed)
            .today(today)
            .build()
            .spawn()
            .await
            .context("starting the Cost Explorer stand-in")?;
        let aws = serde_json::json!({
            "accessKeyId": bedrock.access_key_id(),
            "secretAccessKey": bedrock.secret_access_key(),
            "region": "us-east-1",
        });
        add(
            ProviderKind::Bedrock,
            aws.to_string(),
            bedrock.endpoint_url().to_owned(),
        );
        running.push(Box::new(bedrock));

        // A service-account key made now, for this run only: the stand-in checks its signature.
        let (private_pem, public_pem) = demo_key_pair()?;
        // The Google billing account bills in euros at the export's rate of 0.92 EUR per USD.
        let vertex = VertexFake::builder()
            .seed(seed)
            .today(today)
            .public_key_pem(public_pem)
            .billing_currency("EUR", 920_000)
            .build()
            .spawn()
            .await
            .context("starting the BigQuery stand-in")?;
        add(
            ProviderKind::Vertex,
            vertex.service_account_key_json(&private_pem),
            vertex.base_url().to_owned(),
        );
        running.push(Box::new(vertex));

        let fal = FalFake::builder()
            .seed(seed)
            .today(today)
            .build()
            .spawn()
            .await
            .context("starting the fal.ai stand-in")?;
        add(
            ProviderKind::Fal,
            fal.admin_key().to_owned(),
            fal.base_url().to_owned(),
        );
        running.push(Box::new(fal));

        let runway = RunwayFake::builder()
            .seed(seed)
            .today(today)
            .build()
            .spawn()
            .await
            .context("starting the Runway stand-in")?;
        add(
            ProviderKind::Runway,
            runway.admin_key().to_owned(),
            runway.base_url().to_owned(),
        );
        running.push(Box::new(runway));

        let openrouter = OpenRouterFake::builder()
            .seed(seed)
            .today(today)
            .build()
            .spawn()
            .await
            .context("starting the OpenRouter stand-in")?;
        let key = serde_json::json!({ "provisioningKey": openrouter.management_key() });
        add(
            ProviderKind::OpenRouter,
            key.to_string(),
            openrouter.base_url().to_owned(),
        );
        running.push(Box::new(openrouter));

        let litellm = LiteLlmFake::builder()
            .seed(seed)
            .today(today)
            .build()
            .spawn()
            .await
            .context("starting the LiteLLM stand-in")?;
        let key =
            serde_json::json!({ "apiKey": litellm.master_key(), "baseUrl": litellm.base_url() });
        add(
            ProviderKind::LiteLlm,
            key.to_string(),
            litellm.base_url().to_owned(),
        );
        running.push(Box::new(litellm));

        // One stand-in host for both Entra ID (the token) and Cost Management (the query):
        // the connection's base URL points both there.
        let azure = AzureFake::builder()
            .seed(seed)
            .today(today)
            .build()
            .spawn()
            .await
            .context("starting the Azure Cost Management stand-in")?;
        let principal = serde_json::json!({
            "tenantId": spendlens_fakes::azure::TENANT_ID,
            "clientId": spendlens_fakes::azure::CLIENT_ID,
            "clientSecret": azure.admin_key(),
            "subscriptionId": spendlens_fakes::azure::USD_SUBSCRIPTION,
        });
        add(
            ProviderKind::AzureOpenAi,
            principal.to_string(),
            azure.base_url().to_owned(),
        );
        running.push(Box::new(azure));

        let piapi = PiApiFake::builder()
            .seed(seed)
            .today(today)
            .build()
            .spawn()
            .await
            .context("starting the PiAPI stand-in")?;
        let key = serde_json::json!({"apiKey": piapi.admin_key(), "environment": "production"});
        add(
            ProviderKind::PiApi,
            key.to_string(),
            piapi.base_url().to_owned(),
        );
        running.push(Box::new(piapi));

        Ok(StandIns {
            connections,
            sources,
            _running: running,
        })
    }
}

/// A fresh RSA key pair (PKCS#8 private PEM, SPKI public PEM) for the demo's service account.
fn demo_key_pair() -> anyhow::Result<(String, String)> {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let mut rng = rsa::rand_core::OsRng;
    let key = rsa::RsaPrivateKey::new(&mut rng, 2048)
        .context("generating the demo service-account key")?;
    let private = key
        .to_pkcs8_pem(LineEnding::LF)
        .context("encoding the demo key")?
        .to_string();
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .context("encoding the demo key")?;
    Ok((private, public))
}
