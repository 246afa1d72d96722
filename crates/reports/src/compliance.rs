//! A compliance report (SOC 2 Type II, HIPAA, GDPR) as a document: the cover states both hash
//! chains' results — a broken one in red on the cover and in every page's footer — then the
//! sections each framework asks for, from the same evidence.

use spendlens_query::chargeback::table::{Align, Cell, Column, Table};
use spendlens_query::compliance::{ChainCheck, ComplianceReport};
use spendlens_store::{NamedCount, ReportKind};

use crate::RenderError;
use crate::doc::{Block, Doc};

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn opt_time(at: Option<time::OffsetDateTime>) -> String {
    at.map_or_else(|| "never".to_owned(), rfc3339)
}

fn chain_words(c: &ChainCheck) -> String {
    if c.intact {
        format!(
            "{}: verified intact ({} entries, each hashed with the one before it).",
            c.name,
            c.entries.unwrap_or(0)
        )
    } else {
        format!(
            "{}: BROKEN at entry {}: {}.",
            c.name,
            c.broken_at.unwrap_or(0),
            c.reason.as_deref().unwrap_or("it does not verify")
        )
    }
}

const fn col(key: &'static str, title: &'static str, align: Align, width: f32) -> Column {
    Column {
        key,
        title,
        align,
        width,
    }
}

fn counts(
    id: &'static str,
    title: &str,
    what: &'static str,
    rows: &[NamedCount],
    note: &str,
) -> Table {
    Table {
        id,
        title: title.to_owned(),
        note: format!("{title}: {note}"),
        columns: vec![
            col("name", what, Align::Left, 5.0),
            col("count", "Count", Align::Right, 1.0),
        ],
        rows: rows
            .iter()
            .map(|c| vec![Cell::Text(c.name.clone()), Cell::Count(Some(c.count))])
            .collect(),
        total: Some(vec![
            Cell::Text(format!("Total ({} rows)", rows.len())),
            Cell::Count(Some(rows.iter().map(|c| c.count).sum())),
        ]),
    }
}

fn integrity(r: &ComplianceReport, blocks: &mut Vec<Block>) {
    blocks.push(Block::Heading("Audit integrity".to_owned()));
    blocks.push(Block::Paragraph(
        "Both logs are append-only and hash-chained per organization; the checks below were run \
         when this report was generated, over every entry ever recorded."
            .to_owned(),
    ));
    for c in &r.chains {
        let words = chain_words(c);
        blocks.push(if c.intact {
            Block::Ok(words)
        } else {
            Block::Alert(words)
        });
    }
}

fn users(r: &ComplianceReport, blocks: &mut Vec<Block>) {
    blocks.push(Block::Heading("Access control".to_owned()));
    let admins = r
        .users
        .iter()
        .filter(|u| u.role == "admin" && u.status == "active")
        .count();
    blocks.push(Block::Facts(vec![
        (
            "Users".to_owned(),
            format!("{} ({admins} active admins)", r.users.len()),
        ),
        (
            "Roles".to_owned(),
            "admin (every change), viewer (reads only)".to_owned(),
        ),
        (
            "API tokens".to_owned(),
            format!(
                "{} ({} active)",
                r.tokens.len(),
                r.tokens.iter().filter(|t| t.state == "active").count()
            ),
        ),
        ("Live sessions".to_owned(), r.live_sessions.to_string()),
    ]));
    blocks.push(Block::Table(Table {
        id: "users",
        title: "Users".to_owned(),
        note: String::new(),
        columns: vec![
            col("email", "User", Align::Left, 4.0),
            col("role", "Role", Align::Left, 1.2),
            col("status", "Status", Align::Left, 1.2),
            col("last_sign_in", "Last sign-in", Align::Left, 2.4),
        ],
        rows: r
            .users
            .iter()
            .map(|u| {
                vec![
                    Cell::Text(u.email.clone()),
                    Cell::Text(u.role.clone()),
                    Cell::Text(u.status.to_owned()),
                    Cell::Text(opt_time(u.last_sign_in)),
                ]
            })
            .collect(),
        total: None,
    }));
    blocks.push(Block::Table(Table {
        id: "tokens",
        title: "API tokens".to_owned(),
        note: "Tokens are stored hashed; only their public prefix is shown.".to_owned(),
        columns: vec![
            col("name", "Token", Align::Left, 2.5),
            col("prefix", "Prefix", Align::Left, 1.5),
            col("scopes", "Scopes", Align::Left, 2.0),
            col("state", "State", Align::Left, 1.0),
            col("last_used", "Last used", Align::Left, 2.4),
        ],
        rows: r
            .tokens
            .iter()
            .map(|t| {
                vec![
                    Cell::Text(t.name.clone()),
                    Cell::Text(format!("{}…", t.prefix)),
                    Cell::Text(t.scopes.clone()),
                    Cell::Text(t.state.to_owned()),
                    Cell::Text(opt_time(t.last_used)),
                ]
            })
            .collect(),
        total: None,
    }));
}

fn policy(r: &ComplianceReport, blocks: &mut Vec<Block>, title: &str) {
    blocks.push(Block::Heading(title.to_owned()));
    blocks.push(Block::Facts(vec![
        ("Budgets".to_owned(), r.budgets.clone()),
        (
            "Alert rules".to_owned(),
            format!("{} ({} enabled)", r.alert_rules, r.alert_rules_enabled),
        ),
        (
            "Alerts fired in the period".to_owned(),
            r.alert_firings.to_string(),
        ),
        (
            "Anomaly thresholds".to_owned(),
            format!("{} set for single scopes", r.anomaly_thresholds),
        ),
    ]));
}

fn residency(r: &ComplianceReport, blocks: &mut Vec<Block>) {
    blocks.push(Block::Heading("Data residency".to_owned()));
    blocks.push(Block::Facts(vec![
        ("Database".to_owned(), r.database.to_owned()),
        ("Location".to_owned(), r.database_location.clone()),
        (
            "Where".to_owned(),
            "Self-hosted: every record is in this database on the operator's own machines; \
             spendlens sends data to no third party (it only calls the providers' billing APIs \
             with the credentials it was given)."
                .to_owned(),
        ),
    ]));
}

fn retention(r: &ComplianceReport, blocks: &mut Vec<Block>) {
    let o = &r.oldest;
    let day = |d: Option<spendlens_domain::Day>| {
        d.map_or_else(|| "none held".to_owned(), |d| d.to_string())
    };
    blocks.push(Block::Heading("Data retention".to_owned()));
    blocks.push(Block::Facts(vec![
        (
            "Raw metered events".to_owned(),
            match r.meter_retention_days {
                Some(days) => format!("deleted after {days} days (serve --meter-retention-days); daily totals are kept"),
                None => "kept until deleted (no retention set on this server: serve --meter-retention-days N)".to_owned(),
            },
        ),
        ("Oldest billed day".to_owned(), format!("{} ({} cost lines)", day(o.cost_line_day), o.cost_lines)),
        ("Oldest raw metered event".to_owned(), format!("{} ({} events)", day(o.metered_event_day), o.metered_events)),
        ("Oldest metered day (totals)".to_owned(), day(o.metered_rollup_day)),
        ("Oldest audit entry".to_owned(), format!("{} ({} entries)", opt_time(o.audit_entry_at), o.audit_entries)),
        ("Oldest access-log entry".to_owned(), format!("{} ({} entries)", opt_time(o.access_entry_at), o.access_entries)),
        (
            "Logs".to_owned(),
            "the audit and access logs are append-only and kept for good".to_owned(),
        ),
    ]));
}

fn events(r: &ComplianceReport, blocks: &mut Vec<Block>) {
    blocks.push(Block::Heading("Event counts by type".to_owned()));
    blocks.push(Block::Table(counts(
        "access_events",
        "Access log",
        "Kind",
        &r.access_events,
        "Access-log entries in the period, per kind (token use: at most one entry per token and minute).",
    )));
    blocks.push(Block::Table(counts(
        "audit_events",
        "Audit log",
        "Action",
        &r.audit_events,
        "Audit entries in the period, per action.",
    )));
}

fn sign_ins(r: &ComplianceReport, blocks: &mut Vec<Block>, title: &str) {
    blocks.push(Block::Heading(title.to_owned()));
    blocks.push(Block::Table(counts(
        "sign_ins",
        "Sign-ins",
        "User",
        &r.sign_ins,
        "Dashboard sign-ins that started a session.",
    )));
    blocks.push(Block::Table(counts(
        "failed_sign_ins",
        "Failed sign-ins",
        "Email tried",
        &r.failed_sign_ins,
        "A wrong email or password.",
    )));
    blocks.push(Block::Table(counts(
        "refused_sign_ins",
        "Refused sign-ins",
        "Email tried",
        &r.refused_sign_ins,
        "Throttled, locked or disabled accounts.",
    )));
}

fn tokens_used(r: &ComplianceReport, blocks: &mut Vec<Block>, title: &str) {
    blocks.push(Block::Heading(title.to_owned()));
    blocks.push(Block::Table(counts(
        "token_use",
        "API token use",
        "Token",
        &r.token_use,
        "Minutes in which each token was used.",
    )));
}

fn denied(r: &ComplianceReport, blocks: &mut Vec<Block>, title: &str) {
    blocks.push(Block::Heading(title.to_owned()));
    blocks.push(Block::Table(counts(
        "denied_requests",
        "Denied requests",
        "Request",
        &r.denied_requests,
        "Requests answered 401 or 403, per request line.",
    )));
    blocks.push(Block::Table(counts(
        "denied_actors",
        "Denied requests by actor",
        "Actor",
        &r.denied_actors,
        "Who was denied (an unknown credential shows as its client).",
    )));
}

fn processing(r: &ComplianceReport, blocks: &mut Vec<Block>) {
    blocks.push(Block::Heading("Data processing activities".to_owned()));
    blocks.push(Block::Table(Table {
        id: "processing",
        title: "Provider connections".to_owned(),
        note: "Each connection reads its provider's billing API on a schedule.".to_owned(),
        columns: vec![
            col("provider", "Provider", Align::Left, 1.5),
            col("connection", "Connection", Align::Left, 1.8),
            col("status", "Status", Align::Left, 1.1),
            col("data", "Data read and kept", Align::Left, 6.0),
        ],
        rows: r
            .processing
            .iter()
            .map(|p| {
                vec![
                    Cell::Text(p.provider.clone()),
                    Cell::Text(p.connection.clone()),
                    Cell::Text(p.status.clone()),
                    Cell::Text(p.data.to_owned()),
                ]
            })
            .collect(),
        total: None,
    }));
    blocks.push(Block::Facts(vec![
        (
            "Metered calls".to_owned(),
            if r.metered_providers.is_empty() {
                "none received".to_owned()
            } else {
                format!(
                    "from applications, for {}: time, model, token counts, cost, latency, status and the attribution the application chooses (customer, product, agent, workflow, tags)",
                    r.metered_providers.join(", ")
                )
            },
        ),
        ("Prompts and completions".to_owned(), "never stored: the ingest API refuses fields that would carry them".to_owned()),
        ("People".to_owned(), "dashboard users' emails and sign-in times; the access log's client addresses".to_owned()),
    ]));
}

fn consent(r: &ComplianceReport, blocks: &mut Vec<Block>) {
    blocks.push(Block::Heading("Consent and policy status".to_owned()));
    blocks.push(Block::Facts(vec![
        (
            "Lawful basis".to_owned(),
            "the operator's: spendlens processes its own users' and API callers' records to \
             account for spend; it collects no end-user content and needs no end-user consent \
             of its own. Customer ids are whatever the operator's applications send."
                .to_owned(),
        ),
        ("Budgets".to_owned(), r.budgets.clone()),
        (
            "Alert rules".to_owned(),
            format!("{} ({} enabled)", r.alert_rules, r.alert_rules_enabled),
        ),
    ]));
}

/// The report as a document; `id` names the stored document on the cover.
pub fn document(r: &ComplianceReport, id: &str) -> Doc {
    let period = format!("{} to {} (UTC, inclusive)", r.period.from(), r.period.to());
    let broken: Vec<String> = r
        .chains
        .iter()
        .filter(|c| !c.intact)
        .map(chain_words)
        .collect();
    let alert = (!broken.is_empty()).then(|| format!("AUDIT CHAIN BROKEN — {}", broken.join(" ")));
    let mut blocks = Vec::new();
    match r.kind {
        ReportKind::Hipaa => {
            integrity(r, &mut blocks);
            sign_ins(r, &mut blocks, "Access log");
            denied(r, &mut blocks, "Authorization log");
            policy(r, &mut blocks, "Policy violations");
            tokens_used(r, &mut blocks, "Data access patterns");
            users(r, &mut blocks);
            events(r, &mut blocks);
        }
        ReportKind::Gdpr => {
            processing(r, &mut blocks);
            residency(r, &mut blocks);
            consent(r, &mut blocks);
            retention(r, &mut blocks);
            integrity(r, &mut blocks);
            events(r, &mut blocks);
        }
        ReportKind::Soc2 | ReportKind::Chargeback => {
            integrity(r, &mut blocks);
            users(r, &mut blocks);
            policy(r, &mut blocks, "Policy enforcement");
            residency(r, &mut blocks);
            tokens_used(r, &mut blocks, "Token usage");
            sign_ins(r, &mut blocks, "Sign-ins");
            denied(r, &mut blocks, "Denied requests");
            events(r, &mut blocks);
        }
    }
    blocks.push(Block::Heading("Notes".to_owned()));
    for note in &r.notes {
        blocks.push(Block::Paragraph(note.clone()));
    }
    let mut cover = vec![
        ("Document".to_owned(), id.to_owned()),
        ("Period".to_owned(), period.clone()),
        ("Scope".to_owned(), "The whole organization".to_owned()),
    ];
    for c in &r.chains {
        cover.push((c.name.to_owned(), chain_words(c)));
    }
    cover.push(("Generated by".to_owned(), r.generated_by.clone()));
    cover.push(("Generated at".to_owned(), rfc3339(r.generated_at)));
    Doc {
        title: format!("{} report", r.title),
        subtitle: format!("spendlens · {period}"),
        cover,
        alert,
        footer: format!("spendlens {} {id} · {period}", r.kind.as_str()),
        author: r.generated_by.clone(),
        generated_at: r.generated_at,
        blocks,
    }
}

/// The report as PDF bytes.
pub fn pdf(r: &ComplianceReport, id: &str) -> Result<Vec<u8>, RenderError> {
    crate::pdf::render(&document(r, id))
}
