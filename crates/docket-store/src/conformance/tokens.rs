//! Conformance: API tokens.

use super::*;

pub async fn tokens_are_stored_hashed_and_revocable(store: Arc<dyn Store>) {
    let hash = "a".repeat(64);
    let t = store
        .create_token("alice", &hash, Some("laptop"), 5)
        .await
        .unwrap();
    assert!(t.id.starts_with("tok_"));
    assert!(!t.id.contains(&hash), "the id does not reveal the hash");
    assert_eq!(
        store.token_user(&hash).await.unwrap().as_deref(),
        Some("alice")
    );
    assert_eq!(store.token_user(&"b".repeat(64)).await.unwrap(), None);
    assert_eq!(store.list_tokens().await.unwrap(), vec![t.clone()]);
    assert!(store.revoke_token(&t.id, 6).await.unwrap());
    assert!(
        !store.revoke_token(&t.id, 7).await.unwrap(),
        "already revoked"
    );
    assert_eq!(store.token_user(&hash).await.unwrap(), None);
    assert_eq!(store.list_tokens().await.unwrap()[0].revoked_at, Some(6));
}
