//! The cursor's round trip and refusals, and properties of the decoder over arbitrary
//! client input: it never panics, and only a cursor this deployment sealed for this viewer
//! opens.

use proptest::prelude::*;

use super::*;

fn keys() -> CursorKeys {
    CursorKeys::derive(b"a test secret of at least 32 bytes!!", &[]).expect("keys")
}

fn owner() -> UserId {
    UserId::for_tests("0b0e4f3c-4a3f-4d55-9a4b-2d7c1e9f6a10")
}

fn todo_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn samples() -> Vec<Since> {
    let p = Position {
        seq: 42,
        id: todo_id(),
    };
    vec![
        Since::at(&p),
        Since::Changes {
            todos: p.clone(),
            tombstones: Position {
                seq: 7,
                id: String::new(),
            },
        },
        Since::start(),
        Since::FullPass {
            after: Some(p.clone()),
            head: 40,
        },
        Since::at(&Position {
            seq: i64::MAX,
            id: "not-a-uuid".into(),
        }),
    ]
}

#[test]
fn every_shape_round_trips() {
    let keys = keys();
    for since in samples() {
        let cursor = encode(&keys, &owner(), &since);
        assert!(cursor.len() < 100, "compact: {cursor}");
        assert_eq!(
            decode(&keys, &owner(), &cursor, "since").ok(),
            Some(since.clone())
        );
    }
}

#[test]
fn another_viewer_an_altered_or_cut_cursor_is_bad_input() {
    let keys = keys();
    let cursor = encode(&keys, &owner(), &samples()[1]);
    let other = UserId::for_tests("another user");
    assert!(matches!(
        decode(&keys, &other, &cursor, "since"),
        Err(AppError::BadUserInput { field, .. }) if field == "since"
    ));
    let bytes = URL_SAFE_NO_PAD.decode(&cursor).expect("base64");
    for i in 0..bytes.len() {
        let mut altered = bytes.clone();
        altered[i] ^= 0x01;
        let result = decode(&keys, &owner(), &URL_SAFE_NO_PAD.encode(&altered), "since");
        let in_key_id = (1..=KEY_ID_LEN).contains(&i);
        match result {
            Ok(Since::Foreign) => assert!(in_key_id, "byte {i}"),
            Err(AppError::BadUserInput { .. }) => assert!(!in_key_id, "byte {i}"),
            other => panic!("byte {i} altered: {other:?}"),
        }
        let cut = URL_SAFE_NO_PAD.encode(&bytes[..i]);
        assert!(
            decode(&keys, &owner(), &cut, "since").is_err(),
            "cut at {i}"
        );
    }
}

#[test]
fn another_deployments_cursor_is_foreign_and_a_retired_secret_still_opens() {
    let since = samples().remove(0);
    let old_secret = b"another deployment's secret, 32+ bytes".to_vec();
    let theirs = CursorKeys::derive(&old_secret, &[]).expect("keys");
    let cursor = encode(&theirs, &owner(), &since);
    assert_eq!(
        decode(&keys(), &owner(), &cursor, "since").ok(),
        Some(Since::Foreign)
    );
    let rotated =
        CursorKeys::derive(b"the new secret, also 32 bytes or more", &[old_secret]).expect("keys");
    assert_eq!(
        decode(&rotated, &owner(), &cursor, "since").ok(),
        Some(since)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn arbitrary_text_never_panics_and_never_opens(text in ".{0,120}") {
        let result = decode(&keys(), &owner(), &text, "since");
        prop_assert!(matches!(result, Err(AppError::BadUserInput { .. })), "{result:?}");
    }

    #[test]
    fn arbitrary_bytes_behind_our_key_id_never_open(body in proptest::collection::vec(any::<u8>(), 0..80)) {
        let keys = keys();
        let sealed = URL_SAFE_NO_PAD.decode(encode(&keys, &owner(), &Since::start())).expect("b64");
        let mut forged = sealed[..=KEY_ID_LEN].to_vec();
        forged.extend_from_slice(&body);
        let result = decode(&keys, &owner(), &URL_SAFE_NO_PAD.encode(&forged), "since");
        prop_assert!(matches!(result, Err(AppError::BadUserInput { .. })), "{result:?}");
    }

    #[test]
    fn positions_round_trip(seq in 0..i64::MAX, head in 0..i64::MAX, uuid in any::<u128>(), full in any::<bool>()) {
        let keys = keys();
        let position = Position { seq, id: uuid::Uuid::from_u128(uuid).hyphenated().to_string() };
        let since = if full {
            Since::FullPass { after: Some(position), head }
        } else {
            Since::at(&position)
        };
        let cursor = encode(&keys, &owner(), &since);
        prop_assert_eq!(decode(&keys, &owner(), &cursor, "since").ok(), Some(since));
    }
}
