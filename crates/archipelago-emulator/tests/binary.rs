//! The binary: started as a process, driven only over HTTP.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{json, Value};

/// Kills the child (by its own handle) however the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_prints_its_url_and_serves_faults_and_the_record_over_http() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_archipelago-emulator"))
        .args(["--bind", "127.0.0.1:0", "--user", "U", "--password", "P"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("prints a line");
    let url = line.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let http = reqwest::Client::new();
    let node = format!("{url}/jsonapi/node/digital_object/6f1c2a52-3b1e-4c1d-9a0e-2f4b5c6d7e8f");
    let missing = http
        .get(&node)
        .basic_auth("U", Some("P"))
        .send()
        .await
        .expect("answers");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let default_user = http
        .get(&node)
        .basic_auth("jsonapi", Some("secret"))
        .send()
        .await
        .expect("answers");
    assert_eq!(default_user.status(), StatusCode::FORBIDDEN);

    http.post(format!("{url}/_emulator/faults/fail"))
        .json(&json!({"count": 1, "status": 500}))
        .send()
        .await
        .expect("answers");
    let failed = http
        .get(&node)
        .basic_auth("U", Some("P"))
        .send()
        .await
        .expect("answers");
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);

    let record: Value = http
        .get(format!("{url}/_emulator/record"))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    let statuses: Vec<u64> = record["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter_map(|request| request["status"].as_u64())
        .collect();
    assert_eq!(statuses, [404, 403, 500]);
    drop(running);
}
