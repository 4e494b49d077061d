//! `docket remotes`: every configured remote (OCR providers, publish targets), up or down.

use serde_json::Value;

use crate::client::Client;

pub async fn ls(c: &Client, json: bool) -> anyhow::Result<()> {
    let answer = c.get_json("/v1/remotes").await?;
    if json {
        println!("{answer}");
        return Ok(());
    }
    let empty = Vec::new();
    let remotes = answer["remotes"].as_array().unwrap_or(&empty);
    if remotes.is_empty() {
        println!("no remotes configured");
        return Ok(());
    }
    println!(
        "{:<20} {:<8} {:<5} {:<25} LAST ERROR",
        "NAME", "KIND", "STATE", "SINCE"
    );
    for r in remotes {
        let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
        println!(
            "{:<20} {:<8} {:<5} {:<25} {}",
            text(&r["name"]),
            text(&r["kind"]),
            text(&r["state"]),
            text(&r["since"]),
            text(&r["last_error"]),
        );
    }
    Ok(())
}
