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
    }
}

diesel::joinable!(todos -> users (owner_id));
diesel::allow_tables_to_appear_in_same_query!(users, todos);
