//! The limits, one refusal reason at a time.

use super::*;

/// A chain of `n` fragments on `on`, each spreading the next twice, the last selecting
/// `a`: 2^n fields once inlined.
pub(super) fn doubling_chain(n: usize, on: &str) -> String {
    let mut query = String::from("{ ...F0 }");
    for i in 0..n {
        query.push_str(&format!(
            " fragment F{i} on {on} {{ ...F{} ...F{} }}",
            i + 1,
            i + 1
        ));
    }
    query.push_str(&format!(" fragment F{n} on {on} {{ a }}"));
    query
}

pub(super) const LIMITS: Limits = Limits {
    depth: 3,
    introspection_depth: 6,
    aliases: 2,
    selections: 6,
    fields: 12,
    directives: 1,
    bytes: 1000,
    tokens: 100,
    introspection: false,
};

fn reason_with(limits: &Limits, query: &str) -> Option<String> {
    let inspection = limits.inspect(&mut Request::new(query));
    let ext = inspection.refusal?.extensions?;
    Some(ext.get("reason")?.to_string().trim_matches('"').to_owned())
}

fn reason(query: &str) -> Option<String> {
    reason_with(&LIMITS, query)
}

#[test]
fn the_selected_operation_is_named_and_classified() {
    let mut request =
        Request::new("query A { me { id } } mutation B { login { x } }").operation_name("B");
    let inspection = LIMITS.inspect(&mut request);
    let operation = inspection.operation.unwrap_or_default();
    assert_eq!(operation.name.as_deref(), Some("B"));
    assert!(operation.writes);
    assert_eq!(operation.auth, Some("login"));
    let mut spread = Request::new("mutation { ...M } fragment M on Mutation { login }");
    let operation = LIMITS.inspect(&mut spread).operation.unwrap_or_default();
    assert_eq!(operation.auth, Some("login"));
    let mut anonymous = Request::new("{ me { id } }");
    let operation = LIMITS.inspect(&mut anonymous).operation.unwrap_or_default();
    assert!(operation.name.is_none() && !operation.writes);
    let mut broken = Request::new("{ me {");
    let inspection = LIMITS.inspect(&mut broken);
    assert!(inspection.operation.is_none() && inspection.refusal.is_some());
}

#[test]
fn each_limit_names_its_reason() {
    assert_eq!(reason("{ a b c }"), None);
    assert_eq!(
        reason("{ x: a y: b z: c }").as_deref(),
        Some("TOO_MANY_ALIASES")
    );
    assert_eq!(
        reason("{ a b c d e f g }").as_deref(),
        Some("TOO_MANY_SELECTIONS")
    );
    assert_eq!(
        reason("{ a @skip(if: true) b @skip(if: true) }").as_deref(),
        Some("TOO_MANY_DIRECTIVES")
    );
    assert_eq!(
        reason("{ a { b { c { d } } } }").as_deref(),
        Some("QUERY_TOO_DEEP")
    );
    assert_eq!(
        reason("mutation { login signup }").as_deref(),
        Some("TOO_MANY_AUTH_OPERATIONS")
    );
    assert_eq!(
        reason("mutation { changePassword deleteAccount }").as_deref(),
        Some("TOO_MANY_AUTH_OPERATIONS")
    );
    assert_eq!(
        reason(&format!("{{ a{} }}", " b".repeat(200))).as_deref(),
        Some("TOO_MANY_TOKENS")
    );
    assert_eq!(
        reason(&"x".repeat(1001)).as_deref(),
        Some("DOCUMENT_TOO_LARGE")
    );
}

#[test]
fn fragments_count_as_inlined_and_cycles_are_refused() {
    assert_eq!(
        reason("{ a { ...F } } fragment F on T { b { c { d } } }").as_deref(),
        Some("QUERY_TOO_DEEP")
    );
    assert_eq!(
        reason("{ a { ...F } } fragment F on T { b { ...F } }").as_deref(),
        Some("FRAGMENT_CYCLE")
    );
    assert_eq!(
        reason("{ ...F } fragment F on Q { ...F }").as_deref(),
        Some("FRAGMENT_CYCLE")
    );
    assert_eq!(
        reason("{ a { ...G } }").as_deref(),
        Some("UNKNOWN_FRAGMENT")
    );
    // Four fields as written, 16 once inlined.
    assert_eq!(
        reason(
            "{ ...A } fragment A on Q { ...B ...B } fragment B on Q { ...C ...C } \
             fragment C on Q { ...D ...D } fragment D on Q { a b }"
        )
        .as_deref(),
        Some("TOO_MANY_SELECTIONS")
    );
    assert_eq!(
        reason("mutation { ...M ...N } fragment M on Mutation { login } fragment N on Mutation { a: login }")
            .as_deref(),
        Some("TOO_MANY_AUTH_OPERATIONS")
    );
}

#[test]
fn brackets_are_bounded_before_parsing() {
    let deep = format!("{{ a(x: {}1{}) }}", "[".repeat(70), "]".repeat(70));
    let wide = Limits {
        tokens: 10_000,
        ..LIMITS
    };
    assert_eq!(reason_with(&wide, &deep).as_deref(), Some("QUERY_TOO_DEEP"));
}

#[test]
fn the_deepest_document_allowed_parses_on_a_worker_sized_stack() {
    let open = Limits {
        tokens: 10_000,
        depth: 48,
        ..LIMITS
    };
    let half = MAX_NESTING / 2;
    let selections = format!(
        "{}x{}",
        "{ a ".repeat(MAX_NESTING),
        " }".repeat(MAX_NESTING)
    );
    let mixed = format!(
        "{}b(v: {}1{}){}",
        "{ a ".repeat(half),
        "[{ x: ".repeat(half / 2 - 1),
        " }]".repeat(half / 2 - 1),
        " }".repeat(half)
    );
    // Tokio's workers have 2 MiB stacks; this thread has no more.
    let parsed = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let inspect = |q: &str| open.inspect(&mut Request::new(q)).operation.is_some();
            (inspect(&selections), inspect(&mixed))
        })
        .map(|thread| thread.join().ok());
    assert!(matches!(parsed, Ok(Some((true, true)))), "{parsed:?}");
}

#[test]
fn introspection_has_its_own_depth_and_list_bounds() {
    let open = Limits {
        introspection: true,
        selections: 100,
        fields: 100,
        ..LIMITS
    };
    let deep = "{ __schema { types { fields { type { name } } } } }";
    assert_eq!(reason_with(&open, deep), None);
    let deeper = "{ __schema { types { fields { type { ofType { ofType { name } } } } } } }";
    assert_eq!(
        reason_with(&open, deeper).as_deref(),
        Some("QUERY_TOO_DEEP")
    );
    let lists =
        "{ __type(name: \"Node\") { possibleTypes { interfaces { possibleTypes { name } } } } }";
    assert_eq!(reason_with(&open, lists).as_deref(), Some("QUERY_TOO_DEEP"));
    assert_eq!(
        reason("{ __type(name: \"Todo\") { name } }").as_deref(),
        Some("INTROSPECTION_DISABLED")
    );
}
