//! Alerts end to end through the real server on a random port (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`): a webhook receiver (a small axum server here) gets a signed
//! alert within 5 s of the event that crosses a rule, once per crossing until the value
//! recovers; a 500 is retried, a hanging URL times out and a redirect is logged, not followed,
//! without ever slowing ingest; email goes through a real SMTP server (PyPI's aiosmtpd, required
//! in CI with `SPENDLENS_REQUIRE_SMTP=1`), and an SMTP server that is down is logged and
//! retried; read-only tokens cannot change rules, and every change is audited.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use crate::alerts_browser as browser;
use crate::alerts_harness as harness;

use std::time::{Duration, Instant};

use browser::Browser;
use harness::{App, NOW, Receiver, SECRET, SmtpSink, eventually, smtp_python};
use serde_json::{Value, json};
use spendlens_domain::Scopes;
use spendlens_store::Role;
use spendlens_web::alerts::message::verify;

#[tokio::test]
async fn a_crossing_event_reaches_the_webhook_signed_within_5_seconds_once_until_it_recovers() {
    let app = App::start().await;
    let receiver = Receiver::start().await;
    let channel = app.channel("ops", &format!("{}/hook", receiver.base)).await;
    app.rule(json!({"name": "expensive calls", "kind": "avg_cost", "scope": "customer",
                    "scope_value": "cus_42", "period": "day", "threshold": "1.25", "channels": [channel]}))
        .await;

    // $1.00 a call: under the threshold, nothing fires.
    app.ingest("a", "cus_42", &["1.00"]).await;
    // Another customer's expensive call is out of scope.
    app.ingest("other", "cus_7", &["9.00"]).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(receiver.hits("/hook").is_empty());

    // The crossing event: the average becomes $1.50.
    let sent = Instant::now();
    app.ingest("b", "cus_42", &["2.00"]).await;
    assert!(
        eventually(Duration::from_secs(5), || receiver.hits("/hook").len() == 1).await,
        "no webhook within 5 s of the crossing event"
    );
    let hit = &receiver.hits("/hook")[0];
    let latency = hit.at - sent;
    assert!(latency < Duration::from_secs(5), "{latency:?}");
    eprintln!("alert latency: {latency:?} from the crossing event to the webhook");
    let timestamp: i64 = hit.headers["x-spendlens-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let signature = hit.headers["x-spendlens-signature"].to_str().unwrap();
    assert!(verify(SECRET, timestamp, &hit.body, signature));
    assert!(!verify(
        "another-secret-0123456789",
        timestamp,
        &hit.body,
        signature
    ));
    let body: Value = serde_json::from_slice(&hit.body).unwrap();
    assert_eq!(body["type"], "alert.fired");
    assert_eq!(body["value"], "1.5");
    assert_eq!(body["threshold"], "1.25");
    assert_eq!(body["subject"], "");
    assert_eq!(body["period"], "2026-12-04");
    assert!(body["message"].as_str().unwrap().contains("$1.5"), "{body}");

    // Still above: a second crossing event does not fire again.
    app.ingest("c", "cus_42", &["3.00"]).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(receiver.hits("/hook").len(), 1);
    assert_eq!(app.firings().await.len(), 1);

    // Recovery (cheap calls bring the average to $1.00) re-arms without sending anything…
    app.ingest("d", "cus_42", &["0", "0"]).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(receiver.hits("/hook").len(), 1);
    // …and the next crossing fires again.
    app.ingest("e", "cus_42", &["5.00"]).await;
    assert!(eventually(Duration::from_secs(5), || receiver.hits("/hook").len() == 2).await);
    let firings = app.firings().await;
    assert_eq!(firings.len(), 2, "{firings:?}");
    assert_eq!(firings[0]["value"], "1.833333333");
    assert_eq!(firings[0]["threshold"], "1.25");
    assert_eq!(firings[1]["value"], "1.5");
    let mut delivered = 0;
    for _ in 0..100 {
        delivered = app
            .deliveries()
            .await
            .iter()
            .filter(|d| d["outcome"] == "delivered" && d["http_status"] == 200)
            .count();
        if delivered == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(delivered, 2);
    app.test.teardown().await;
}

#[tokio::test]
async fn a_500_is_retried_a_hang_times_out_and_a_redirect_is_logged_without_slowing_ingest() {
    let app = App::start().await;
    let receiver = Receiver::start().await;
    let flaky = app
        .channel("flaky", &format!("{}/flaky", receiver.base))
        .await;
    let hang = app
        .channel("hang", &format!("{}/hang", receiver.base))
        .await;
    let redirect = app
        .channel("redirect", &format!("{}/redirect", receiver.base))
        .await;
    app.rule(
        json!({"name": "daily spend", "kind": "spend", "period": "day", "threshold": 1,
                    "channels": [flaky, hang, redirect]}),
    )
    .await;
    let took = app.ingest("x", "cus_1", &["2.50"]).await;
    assert!(took < Duration::from_secs(1), "ingest took {took:?}");
    // While the hanging URL holds its attempt, ingest stays fast.
    assert!(
        eventually(Duration::from_secs(5), || !receiver
            .hits("/hang")
            .is_empty())
        .await
    );
    let took = app.ingest("y", "cus_1", &["0.10"]).await;
    assert!(took < Duration::from_secs(1), "ingest took {took:?}");

    // flaky: 500, then delivered on the retry.
    assert!(
        eventually(Duration::from_secs(6), || receiver.hits("/flaky").len()
            == 2)
        .await
    );
    // hang: every attempt times out (3 attempts, 1 s each, backoff 0.2 s then 0.8 s).
    let mut log = Vec::new();
    for _ in 0..80 {
        log = app.deliveries().await;
        let finished = |channel: &str| {
            log.iter()
                .any(|d| d["channel_name"] == channel && d["outcome"] != "retrying")
        };
        if finished("flaky") && finished("hang") && finished("redirect") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let of = |channel: &str| -> Vec<Value> {
        let mut rows: Vec<Value> = log
            .iter()
            .filter(|d| d["channel_name"] == channel)
            .cloned()
            .collect();
        rows.sort_by_key(|d| d["attempt"].as_i64());
        rows
    };
    let flaky_log = of("flaky");
    assert_eq!(flaky_log.len(), 2, "{log:?}");
    assert_eq!(flaky_log[0]["outcome"], "retrying");
    assert_eq!(flaky_log[0]["http_status"], 500);
    assert!(flaky_log[0]["error"].as_str().unwrap().contains("500"));
    assert_eq!(flaky_log[1]["outcome"], "delivered");
    let hang_log = of("hang");
    assert_eq!(hang_log.len(), 3, "{log:?}");
    assert!(hang_log.iter().all(|d| {
        d["error"]
            .as_str()
            .unwrap_or_default()
            .contains("timed out")
    }));
    assert_eq!(hang_log[2]["outcome"], "failed");
    let redirect_log = of("redirect");
    assert_eq!(redirect_log.len(), 3, "{log:?}");
    assert_eq!(redirect_log[0]["http_status"], 302);
    assert!(
        redirect_log[0]["error"]
            .as_str()
            .unwrap()
            .contains("redirects are not followed")
    );
    // The redirect was not followed.
    assert!(receiver.hits("/hook").is_empty());
    let firing = &app.firings().await[0];
    assert_eq!(firing["delivered"], 1);
    assert_eq!(firing["failed"], 2);
    app.test.teardown().await;
}

#[tokio::test]
async fn read_only_tokens_cannot_change_alerts_and_every_change_is_audited() {
    let app = App::start().await;
    let viewer = app
        .store
        .create_scoped_api_token(
            app.org,
            "viewer",
            Scopes::READ,
            None,
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
        )
        .await
        .unwrap()
        .secret;
    let rule = json!({"name": "month", "kind": "spend", "period": "month", "threshold": "100"});
    let (status, body) = app
        .call_as(
            &viewer,
            reqwest::Method::POST,
            "/api/v1/alerts/rules",
            Some(rule.clone()),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = app
        .call_as(
            &viewer,
            reqwest::Method::PUT,
            "/api/v1/alerts/smtp",
            Some(json!({"host": "smtp.example.com", "from": "a@example.com"})),
        )
        .await;
    assert_eq!(status, 403);
    let created = app.rule(rule).await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["version"], 1);
    let (status, _) = app
        .call_as(
            &viewer,
            reqwest::Method::DELETE,
            &format!("/api/v1/alerts/rules/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = app
        .call_as(&viewer, reqwest::Method::GET, "/api/v1/alerts/rules", None)
        .await;
    assert_eq!((status, body["count"].as_i64()), (200, Some(1)));

    // Bad input is refused with a reason.
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/alerts/rules",
            Some(json!({"name": "neg", "kind": "spend", "threshold": "-5"})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("negative"),
        "{body}"
    );
    let (status, _) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/alerts/rules",
            Some(json!({"name": "month", "kind": "spend", "threshold": "1"})),
        )
        .await;
    assert_eq!(status, 409);

    let (status, body) = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/alerts/rules/{id}"),
            Some(json!({"name": "month", "kind": "spend", "period": "month", "threshold": "250"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rule"]["version"], 2);
    assert_eq!(body["rule"]["threshold"], "250");
    let (status, body) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/alerts/smtp",
            Some(
                json!({"host": "smtp.example.com", "port": 2525, "username": "mailer",
                        "password": "very-secret-smtp-password", "from": "alerts@example.com"}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["smtp"]["password_set"], true);
    let (_, body) = app
        .call(reqwest::Method::GET, "/api/v1/alerts/smtp", None)
        .await;
    assert!(!body.to_string().contains("very-secret"), "{body}");
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/alerts/channels",
            Some(json!({"name": "generated", "kind": "webhook", "url": "https://hooks.example.com/x/y"})),
        )
        .await;
    assert_eq!(status, 201);
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let (_, listed) = app
        .call(reqwest::Method::GET, "/api/v1/alerts/channels", None)
        .await;
    assert!(!listed.to_string().contains(&secret));
    assert_eq!(
        listed["channels"][0]["target"],
        "https://hooks.example.com/…"
    );
    let (status, _) = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/alerts/rules/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200);

    let audit = app.store.audit_entries(app.org, 100).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "alert_rule.add",
        "alert_rule.edit",
        "alert_rule.delete",
        "alert_smtp.set",
        "alert_channel.add",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    let edit = audit
        .iter()
        .find(|e| e.action == "alert_rule.edit")
        .unwrap();
    assert!(edit.detail.contains("threshold 100") && edit.detail.contains("threshold 250"));
    assert!(
        audit
            .iter()
            .all(|e| !e.detail.contains("very-secret") && !e.detail.contains(&secret))
    );
    app.test.teardown().await;
}

#[tokio::test]
async fn email_alerts_go_through_a_real_smtp_server_and_a_dead_one_is_retried_and_logged() {
    let Some(python) = smtp_python() else {
        assert!(
            std::env::var("SPENDLENS_REQUIRE_SMTP").is_err(),
            "SPENDLENS_REQUIRE_SMTP is set but no Python has aiosmtpd (pip install aiosmtpd==1.4.6)"
        );
        eprintln!("aiosmtpd is not installed: the SMTP test is skipped (CI requires it)");
        return;
    };
    let app = App::start().await;
    let mut sink = SmtpSink::start(&python).await;
    let (status, body) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/alerts/smtp",
            Some(
                json!({"host": "127.0.0.1", "port": sink.port, "security": "none",
                        "from": "spendlens <alerts@spendlens.test>"}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/alerts/channels",
            Some(json!({"name": "finance mail", "kind": "email", "to": "finops@example.com, cfo@example.com"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let channel = body["channel"]["id"].as_i64().unwrap();
    app.rule(
        json!({"name": "daily spend by email", "kind": "spend", "period": "day",
                    "threshold": "1", "channels": [channel]}),
    )
    .await;
    app.ingest("mail", "cus_1", &["2.00"]).await;
    assert!(
        eventually(Duration::from_secs(10), || sink
            .received()
            .contains("Subject: spendlens alert: daily spend by email"))
        .await,
        "no email reached the SMTP server: {}",
        sink.received()
    );
    let mail = sink.received();
    assert!(
        mail.contains("finops@example.com") && mail.contains("cfo@example.com"),
        "{mail}"
    );
    assert!(mail.contains("Threshold: 1"), "{mail}");

    // The SMTP server goes down: the next firing's delivery fails, is retried and logged as
    // failed, and ingest never waits for it.
    sink.child.kill().unwrap();
    sink.child.wait().unwrap();
    app.rule(
        json!({"name": "daily spend over 2", "kind": "spend", "period": "day",
                    "threshold": "2", "channels": [channel]}),
    )
    .await;
    let took = app.ingest("mail-2", "cus_1", &["1.00"]).await;
    assert!(took < Duration::from_secs(1), "ingest took {took:?}");
    let mut attempts = Vec::new();
    for _ in 0..150 {
        attempts = app
            .deliveries()
            .await
            .into_iter()
            .filter(|d| d["rule_name"] == "daily spend over 2")
            .collect();
        if attempts.iter().any(|d| d["outcome"] == "failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert!(attempts.iter().all(|d| {
        d["error"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("SMTP 127.0.0.1:{}", sink.port))
    }));
    let delivered = app.deliveries().await;
    assert!(
        delivered
            .iter()
            .any(|d| d["rule_name"] == "daily spend by email" && d["outcome"] == "delivered")
    );
    app.test.teardown().await;
}

#[tokio::test]
async fn the_alerts_page_shows_rules_history_and_log_and_viewers_cannot_change_anything() {
    let app = App::start().await;
    let receiver = Receiver::start().await;
    let admin = Browser::sign_in(
        &app.store,
        app.org,
        &app.base,
        "admin@example.com",
        Role::Admin,
    )
    .await;
    let viewer = Browser::sign_in(
        &app.store,
        app.org,
        &app.base,
        "viewer@example.com",
        Role::Viewer,
    )
    .await;
    let url = format!("{}/hook", receiver.base);
    let (status, page) = admin
        .post(
            "/cost/alerts/channels",
            &[("name", "ops"), ("kind", "webhook"), ("target", &url)],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("whsec_"),
        "the generated secret is shown once: {page}"
    );
    let channel = app.store.list_alert_channels(app.org).await.unwrap()[0]
        .id
        .to_string();
    let (_, again) = admin.get("/cost/alerts").await;
    assert!(!again.contains("whsec_"));
    assert!(again.contains("HMAC-SHA256"));

    // A bad rule keeps what was typed and says why.
    let (status, page) = admin
        .post(
            "/cost/alerts/rules",
            &[
                ("name", "typo"),
                ("kind", "spend"),
                ("scope", "org"),
                ("period", "day"),
                ("threshold", "-1"),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        page.contains("negative") && page.contains("value=\"typo\""),
        "{page}"
    );
    let (status, _) = admin
        .post(
            "/cost/alerts/rules",
            &[
                ("name", "daily spend"),
                ("kind", "spend"),
                ("scope", "org"),
                ("period", "day"),
                ("threshold", "1"),
                ("channel", &channel),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let rule = app.store.list_alert_rules(app.org).await.unwrap()[0].id;

    // Viewers read, never change.
    let rule_form = [("name", "x"), ("kind", "spend"), ("threshold", "1")];
    for (path, form) in [
        ("/cost/alerts/rules".to_owned(), &rule_form[..]),
        (format!("/cost/alerts/rules/{rule}/toggle"), &[][..]),
        (
            format!("/cost/alerts/rules/{rule}/delete"),
            &[("confirm", "delete")][..],
        ),
        (
            "/cost/alerts/channels".to_owned(),
            &[
                ("name", "x"),
                ("kind", "email"),
                ("target", "a@example.com"),
            ][..],
        ),
        (
            "/cost/alerts/smtp".to_owned(),
            &[("host", "smtp.example.com"), ("from", "a@example.com")][..],
        ),
    ] {
        let (status, _) = viewer.post(&path, form).await;
        assert_eq!(status, 403, "{path}");
    }
    let (status, _) = viewer
        .get(&format!("/cost/alerts/rules/{rule}/delete"))
        .await;
    assert_eq!(status, 403);
    let (status, page) = viewer.get("/cost/alerts").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("daily spend") && !page.contains("Add rule") && !page.contains("Delete…")
    );
    assert!(page.contains("Nothing has fired yet"));

    // A crossing shows in the history (value, threshold, delivered) and the delivery log.
    app.ingest("page", "cus_1", &["2.50"]).await;
    assert!(eventually(Duration::from_secs(5), || receiver.hits("/hook").len() == 1).await);
    let mut page = String::new();
    for _ in 0..50 {
        page = viewer.get("/cost/alerts").await.1;
        if page.contains("1 sent") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(page.contains("id=\"alert-history\""), "{page}");
    assert!(
        page.contains("<td class=\"num\">2.5</td><td class=\"num\">1</td>"),
        "{page}"
    );
    assert!(
        page.contains("1 sent") && page.contains("delivered"),
        "{page}"
    );
    assert!(
        page.contains("id=\"alerts-badge\""),
        "the layout's badge: {page}"
    );

    // Deleting asks first and names what goes.
    let (status, page) = admin
        .get(&format!("/cost/alerts/rules/{rule}/delete"))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("daily spend") && page.contains("past firings stay"));
    let (status, _) = admin
        .post(&format!("/cost/alerts/rules/{rule}/delete"), &[])
        .await;
    assert_eq!(status, 303);
    assert_eq!(app.store.list_alert_rules(app.org).await.unwrap().len(), 1);
    let (status, _) = admin
        .post(
            &format!("/cost/alerts/rules/{rule}/delete"),
            &[("confirm", "delete")],
        )
        .await;
    assert_eq!(status, 303);
    assert!(
        app.store
            .list_alert_rules(app.org)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(app.firings().await.len(), 1, "the history stays");
    let audit = app.store.audit_entries(app.org, 100).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "alert_rule.delete" && e.actor == "admin@example.com")
    );
    assert!(
        audit
            .iter()
            .any(|e| e.action == "alert_channel.add" && !e.detail.contains("whsec_"))
    );
    app.test.teardown().await;
}
