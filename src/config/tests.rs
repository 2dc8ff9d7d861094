//! Parsing the settings: rates, defaults, secrets and addresses.

use super::*;

#[test]
fn rates_parse_or_turn_off() {
    let rate = parse_rate("30/5m").ok().and_then(|r| r.0);
    assert_eq!(
        rate,
        Some(Rate {
            count: 30,
            period: Duration::from_secs(300)
        })
    );
    assert_eq!(parse_rate("off"), Ok(RateLimit(None)));
    assert!(parse_rate("30").is_err());
    assert!(parse_rate("0/5m").is_err());
}

#[test]
fn defaults_need_no_configuration() {
    let settings = Settings::try_parse_from(["todo-graphql"]).map_err(|e| e.to_string());
    let settings = settings.unwrap_or_else(|e| panic!("{e}"));
    assert!(!settings.production);
    assert_eq!(settings.graphql_batch_max, 0);
    assert!(settings.cors_allowed_origins.iter().all(String::is_empty));
    assert!(settings.trusted_proxies.0.is_empty());
    assert_eq!(settings.database_url(), "sqlite://data/todo.db");
}

#[test]
fn the_sqlite_file_follows_data_dir_and_secrets_stay_out_of_debug() {
    let parsed = Settings::try_parse_from([
        "todo-graphql",
        "--data-dir",
        "/var/lib/todo",
        "--jwt-secret",
        "a-secret-that-is-long-enough-0123456789",
        "--trusted-proxies",
        "10.0.0.1,::1",
    ])
    .map_err(|e| e.to_string());
    let settings = parsed.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(settings.database_url(), "sqlite:///var/lib/todo/todo.db");
    assert!(!format!("{settings:?}").contains("a-secret"));
    assert_eq!(settings.trusted_proxies.0.len(), 2);
    assert!(Settings::try_parse_from(["todo-graphql", "--trusted-proxies", "nope"]).is_err());
}

#[test]
fn websocket_settings_have_the_contract_defaults() {
    let settings = Settings::try_parse_from(["todo-graphql"]).map_err(|e| e.to_string());
    let settings = settings.unwrap_or_else(|e| panic!("{e}"));
    assert!(!settings.ws_legacy_protocol);
    assert_eq!(settings.ws_init_timeout, Duration::from_secs(3));
    assert_eq!(settings.ws_ping_interval, Duration::from_secs(25));
    assert_eq!(settings.ws_idle_timeout, Duration::from_secs(60));
    assert_eq!(settings.ws_max_message_bytes, 65_536);
    assert_eq!(settings.ws_max_subscriptions, 16);
    assert_eq!(settings.ws_max_sockets_per_session, 5);
    assert_eq!(settings.ws_max_sockets_per_user, 20);
    let legacy = Settings::try_parse_from(["todo-graphql", "--ws-legacy-protocol"])
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(legacy.ws_legacy_protocol);
    assert!(Settings::try_parse_from(["todo-graphql", "--ws-max-message-bytes", "10"]).is_err());
}

#[test]
fn pooler_settings_default_to_a_direct_connection() {
    let settings =
        Settings::try_parse_from(["todo-graphql", "--database-url", "postgres://u@h/db"])
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(settings.database_prepared_statements);
    assert_eq!(settings.database_listen_url(), "postgres://u@h/db");
    let pooled = Settings::try_parse_from([
        "todo-graphql",
        "--database-url",
        "postgres://u@pooler/db",
        "--database-listen-url",
        "postgres://u@direct/db",
        "--database-prepared-statements",
        "false",
    ])
    .map_err(|e| e.to_string())
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!pooled.database_prepared_statements);
    assert_eq!(pooled.database_listen_url(), "postgres://u@direct/db");
}

#[test]
fn the_document_cache_is_bounded_by_entries_and_bytes() {
    let settings = Settings::try_parse_from(["todo-graphql"]).map_err(|e| e.to_string());
    let settings = settings.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(settings.document_cache_entries, 1000);
    assert_eq!(settings.document_cache_bytes, 4 * 1024 * 1024);
    for (flag, value) in [
        ("--document-cache-entries", "0"),
        ("--document-cache-bytes", "100"),
    ] {
        assert!(
            Settings::try_parse_from(["todo-graphql", flag, value]).is_err(),
            "{flag} {value}"
        );
    }
}
