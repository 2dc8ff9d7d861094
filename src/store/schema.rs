//! The tables, as diesel sees them. Private to `store`: nothing else can name a table, so
//! nothing else can query one. Only types both backends share.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        display_name -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        todo_count -> Integer,
        sync_version -> BigInt,
        sync_purged -> BigInt,
    }
}

diesel::table! {
    todos (id) {
        id -> Text,
        owner_id -> Text,
        title -> Text,
        notes -> Nullable<Text>,
        completed -> Bool,
        completed_at -> Nullable<Timestamp>,
        priority -> Integer,
        due_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        change_seq -> BigInt,
        created_seq -> BigInt,
        client_id -> Nullable<Text>,
        client_fingerprint -> Nullable<Text>,
    }
}

diesel::table! {
    todo_tombstones (owner_id, todo_id) {
        owner_id -> Text,
        todo_id -> Text,
        change_seq -> BigInt,
        deleted_at -> Timestamp,
        client_id -> Nullable<Text>,
        client_fingerprint -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        expires_at -> Timestamp,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    revoked_sessions (session_id) {
        session_id -> Text,
        until -> Timestamp,
    }
}

diesel::joinable!(todos -> users (owner_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    todos,
    todo_tombstones,
    sessions,
    refresh_tokens
);
