//! `docket token create|ls|revoke`: administration straight on the database (whoever can
//! reach the database is the administrator).

use docket_core::now_millis;
use serde_json::json;

use crate::config::Config;

pub async fn create(
    config: &Config,
    user: &str,
    label: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        !user.is_empty()
            && user.len() <= 64
            && user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c)),
        "a user name is 1–64 characters of letters, digits and - _ . @"
    );
    let store = docket_store::connect(&config.database_url).await?;
    let token = docket_api::new_token();
    let info = store
        .create_token(user, &docket_api::hash_token(&token), label, now_millis())
        .await?;
    if json {
        println!("{}", json!({"user": user, "token": token, "id": info.id}));
    } else {
        println!(
            "token for {user} (shown once, keep it safe):\n{token}\nid: {}",
            info.id
        );
    }
    Ok(())
}

pub async fn ls(config: &Config, json: bool) -> anyhow::Result<()> {
    let store = docket_store::connect(&config.database_url).await?;
    let tokens = store.list_tokens().await?;
    if json {
        println!("{}", serde_json::to_string(&tokens)?);
        return Ok(());
    }
    for t in tokens {
        let state = if t.revoked_at.is_some() {
            "revoked"
        } else {
            "active"
        };
        println!(
            "{:<18} {:<16} {:<8} {:<24} {}",
            t.id,
            t.user,
            state,
            docket_core::rfc3339(t.created_at),
            t.label.unwrap_or_default()
        );
    }
    Ok(())
}

pub async fn revoke(config: &Config, id: &str, json: bool) -> anyhow::Result<()> {
    let store = docket_store::connect(&config.database_url).await?;
    let revoked = store.revoke_token(id, now_millis()).await?;
    anyhow::ensure!(revoked, "no active token with id {id}");
    if json {
        println!("{}", json!({"id": id, "revoked": true}));
    } else {
        println!("revoked {id}");
    }
    Ok(())
}
