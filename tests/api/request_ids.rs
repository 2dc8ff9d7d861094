//! `X-Request-Id`: a client's well-formed id (1 to 64 of `[A-Za-z0-9._-]`) is echoed; any
//! other is replaced by a fresh UUID, so it never reaches a log line or a response.

backend_tests!(only_well_formed_request_ids_are_kept, |app| {
    let echo = |sent: String| async move {
        let response = app.at("/healthz").header("x-request-id", &sent).get().await;
        let id = response.header("x-request-id");
        id.unwrap_or_else(|| panic!("no x-request-id for {sent:?}"))
            .to_owned()
    };
    for good in [
        "trace-4711.from_the-caller",
        "a",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ] {
        assert_eq!(echo(good.to_owned()).await, good);
    }
    let long = "x".repeat(65);
    let huge = "y".repeat(6000);
    for bad in ["two words", "a\"quote", "", &long, &huge] {
        let fresh = echo(bad.to_owned()).await;
        assert!(
            uuid::Uuid::parse_str(&fresh).is_ok(),
            "{bad:?} became {fresh:?}"
        );
    }
});
