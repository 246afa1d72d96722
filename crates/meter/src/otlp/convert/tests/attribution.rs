//! Attribution (customer, subscriber, product, agent, workflow, tags), reported cost, prompt
//! dropping and text bounds.

use super::*;

#[test]
fn resource_and_span_attributes_become_attribution() {
    let resource = vec![
        kv("service.name", s("support-bot")),
        kv("deployment.environment.name", s("prod")),
        kv("enduser.id", s("resource-user")),
    ];
    let mut batch = convert_with(
        resource.clone(),
        chat(vec![
            kv("gen_ai.agent.name", s("triage")),
            kv("gen_ai.workflow.name", s("ticket_reply")),
            kv("spendlens.tag.team", s("growth")),
            kv("spendlens.tag.tier", i(2)),
        ]),
    );
    let e = batch.items.remove(0).unwrap();
    assert_eq!(e.attribution.product.as_deref(), Some("support-bot"));
    assert_eq!(e.attribution.customer.as_deref(), Some("resource-user"));
    assert_eq!(e.attribution.agent.as_deref(), Some("triage"));
    assert_eq!(e.attribution.workflow.as_deref(), Some("ticket_reply"));
    assert_eq!(e.tags.get("environment").map(String::as_str), Some("prod"));
    assert_eq!(e.tags.get("team").map(String::as_str), Some("growth"));
    assert_eq!(e.tags.get("tier").map(String::as_str), Some("2"));

    // Span attributes win over resource attributes; explicit keys over conventions.
    let mut batch = convert_with(
        resource,
        chat(vec![
            kv("enduser.id", s("span-user")),
            kv("spendlens.product", s("billing")),
        ]),
    );
    let e = batch.items.remove(0).unwrap();
    assert_eq!(e.attribution.customer.as_deref(), Some("span-user"));
    assert_eq!(e.attribution.product.as_deref(), Some("billing"));
}

#[test]
fn every_customer_alias_in_order() {
    let keys = [
        "spendlens.customer",
        "customer",
        "customer.id",
        "traceloop.association.properties.customer_id",
        "litellm.end_user.id",
        "metadata.user_api_key_end_user_id",
        "user.id",
        "enduser.id",
        "gen_ai.user",
        "llm.user",
    ];
    for (n, key) in keys.iter().enumerate() {
        // Each key, alone, is read; with every later key present, it still wins.
        let attrs: Vec<KeyValue> = keys[n..]
            .iter()
            .rev()
            .map(|k| kv(k, s(&format!("from-{k}"))))
            .collect();
        let e = event_of(chat(attrs));
        assert_eq!(e.attribution.customer, Some(format!("from-{key}")), "{key}");
    }
}

#[test]
fn agent_workflow_and_subscriber_aliases() {
    for key in [
        "spendlens.agent",
        "gen_ai.agent.name",
        "gen_ai.agent.id",
        "agent.name",
    ] {
        assert_eq!(
            event_of(chat(vec![kv(key, s("a1"))]))
                .attribution
                .agent
                .as_deref(),
            Some("a1"),
            "{key}"
        );
    }
    for key in [
        "spendlens.workflow",
        "gen_ai.workflow.name",
        "traceloop.workflow.name",
    ] {
        assert_eq!(
            event_of(chat(vec![kv(key, s("w1"))]))
                .attribution
                .workflow
                .as_deref(),
            Some("w1"),
            "{key}"
        );
    }
    for key in [
        "spendlens.subscriber",
        "traceloop.association.properties.user_id",
        "langfuse.user.id",
        "user.id",
        "enduser.id",
    ] {
        assert_eq!(
            event_of(chat(vec![kv(key, s("u1"))]))
                .attribution
                .subscriber
                .as_deref(),
            Some("u1"),
            "{key}"
        );
    }
}

#[test]
fn the_sdk_default_service_name_is_no_product() {
    let mut batch = convert_with(
        vec![kv("service.name", s("unknown_service:python"))],
        chat(vec![]),
    );
    assert_eq!(batch.items.remove(0).unwrap().attribution.product, None);
}

fn cost_of(key: &str, value: Value) -> Result<Option<i64>, String> {
    let mut batch = convert_with(vec![], chat(vec![kv(key, value)]));
    batch
        .items
        .remove(0)
        .map(|e| e.reported_cost.map(Money::nanos))
        .map_err(|p| p.0)
}

#[test]
fn every_cost_alias_is_the_reported_cost() {
    for key in [
        "litellm.cost.total",
        "gen_ai.cost.total_cost",
        "llm.cost.total",
        "gen_ai.usage.cost",
        "operation.cost",
    ] {
        assert_eq!(
            cost_of(key, s("0.012345678")),
            Ok(Some(12_345_678)),
            "{key}"
        );
    }
    // LiteLLM's own total wins over a per-part key or another emitter's.
    let e = event_of(chat(vec![
        kv("gen_ai.usage.cost", s("9")),
        kv("litellm.cost.total", s("0.5")),
        kv("gen_ai.cost.input_cost", s("0.1")),
    ]));
    assert_eq!(e.reported_cost.map(Money::nanos), Some(500_000_000));
}

#[test]
fn a_double_cost_is_read_without_binary_float_artifacts() {
    // 0.1 as a double is 0.1000000000000000055…; its shortest text is "0.1".
    assert_eq!(cost_of("llm.cost.total", d(0.1)), Ok(Some(100_000_000)));
    assert_eq!(
        cost_of("llm.cost.total", d(12.34)),
        Ok(Some(12_340_000_000))
    );
    // 2.5e-9 is exactly half a nano as a decimal: banker's rounding gives 2. The double's exact
    // binary value is a hair above, which would round to 3.
    assert_eq!(cost_of("llm.cost.total", d(2.5e-9)), Ok(Some(2)));
    assert_eq!(cost_of("llm.cost.total", i(3)), Ok(Some(3_000_000_000)));
}

#[test]
fn zero_and_bad_costs() {
    // OpenLIT writes 0 for a model it cannot price: that is unknown, never $0.
    assert_eq!(cost_of("gen_ai.usage.cost", d(0.0)), Ok(None));
    // A gateway's 0 (a cache hit) is a real $0.
    assert_eq!(cost_of("litellm.cost.total", d(0.0)), Ok(Some(0)));
    let msg = cost_of("llm.cost.total", s("-0.5")).unwrap_err();
    assert!(msg.contains("llm.cost.total must not be negative"), "{msg}");
    let msg = cost_of("llm.cost.total", s("cheap")).unwrap_err();
    assert!(msg.contains("must be a decimal amount"), "{msg}");
    let msg = cost_of("llm.cost.total", d(f64::NAN)).unwrap_err();
    assert!(msg.contains("must be a decimal amount"), "{msg}");
}

#[test]
fn prompts_and_completions_are_dropped_at_the_edge() {
    let secret = "PROMPT-TEXT-do-not-store";
    let reply = "COMPLETION-TEXT-do-not-store";
    let sp = chat(vec![
        kv(
            "gen_ai.input.messages",
            s(&format!("[{{\"role\":\"user\",\"content\":\"{secret}\"}}]")),
        ),
        kv("gen_ai.output.messages", s(reply)),
        kv("gen_ai.system_instructions", s(secret)),
        kv("gen_ai.prompt.0.content", s(secret)),
        kv("gen_ai.completion.0.content", s(reply)),
        kv("llm.input_messages.0.message.content", s(secret)),
        kv("input.value", s(secret)),
        kv("output.value", s(reply)),
        kv("traceloop.entity.input", s(secret)),
        kv("gen_ai.usage.input_tokens", i(10)),
    ]);
    let batch = convert_with(vec![], sp);
    assert_eq!(batch.content_attributes_dropped, 9);
    let e = batch.items[0].as_ref().unwrap();
    let everything = format!("{e:?} {}", serde_json::to_string(e).unwrap());
    assert!(!everything.contains("PROMPT-TEXT") && !everything.contains("COMPLETION-TEXT"));
    assert_eq!(e.input_tokens(), Some(10));
}

#[test]
fn a_provider_key_is_kept_as_a_hint_only() {
    let e = event_of(chat(vec![kv(
        "spendlens.api_key",
        s("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"),
    )]));
    let hint = e.api_key.unwrap();
    assert!(!hint.contains("ghijklmnopqrstuvwxyz0123"), "{hint}");
    assert!(hint.ends_with("6789"), "{hint}");
}

#[test]
fn over_long_or_control_text_rejects_the_span() {
    let msg = rejection_of(chat(vec![kv("enduser.id", s(&"x".repeat(300)))]));
    assert!(msg.contains("enduser.id is longer than 256"), "{msg}");
    let msg = rejection_of(chat(vec![kv("gen_ai.agent.name", s("a\u{7}b"))]));
    assert!(msg.contains("control characters"), "{msg}");
}
