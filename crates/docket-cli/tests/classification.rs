//! Classification end to end against a real `docket serve`: rules, hand labels, the `auto`
//! model retrained in the background, `POST /v1/classify`, deduplication and `reindex`.
//! Every test runs on SQLite and on PostgreSQL (`…_sqlite`, `…_postgres`), each on a fresh
//! database.

mod support;

use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use support::{on_both_backends, Backend, Server};

const INVOICE: &str = "Invoice 2231 from Acme Supplies. Amount payable within 30 days: 1,200 EUR. Bank transfer to the account below.";

fn letter(i: usize) -> String {
    format!("Dear Mrs Miller, I write to thank you for your kind letter of March {i}. My family and I send warm wishes and hope to visit you soon. Yours sincerely, Anna")
}

fn report(i: usize) -> String {
    format!("Quarterly report {i}: revenue grew by {i} percent; operating costs fell; the analysis of regional sales figures and the forecast table follow in section two.")
}

async fn post_json(server: &Server, path: &str, body: Value) -> reqwest::Response {
    server.post(path).json(&body).send().await.expect("request")
}

async fn upload(server: &Server, files: &[(String, String)]) -> String {
    let mut form = Form::new();
    for (name, text) in files {
        form = form.part(
            "files",
            Part::bytes(text.clone().into_bytes()).file_name(name.clone()),
        );
    }
    let r = server
        .post("/v1/jobs")
        .multipart(form)
        .send()
        .await
        .expect("submit");
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    server
        .wait(&id, Duration::from_secs(60), "job completed", |j| {
            j["state"] == "completed"
        })
        .await;
    id
}

async fn rules_labels_auto_classify_dedup_and_reindex(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;

    // Rules: validated when created.
    let r = post_json(
        &server,
        "/v1/categories",
        json!({"name": "invoices", "algorithm": "any", "pattern": "invoice payable"}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let invoices: Value = r.json().await.unwrap();
    for bad in [
        json!({"name": "x", "algorithm": "regex", "pattern": "(unclosed"}),
        json!({"name": "x", "algorithm": "telepathy"}),
        json!({"name": "", "algorithm": "auto"}),
        json!({"name": "x", "algorithm": "any"}),
        json!({"name": "x", "algorithm": "auto", "colour": "red"}),
    ] {
        let r = post_json(&server, "/v1/categories", bad.clone()).await;
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    let dup = post_json(
        &server,
        "/v1/categories",
        json!({"name": "invoices", "algorithm": "auto"}),
    )
    .await;
    assert_eq!(dup.status(), 409);
    for name in ["letters", "reports"] {
        let r = post_json(
            &server,
            "/v1/categories",
            json!({"name": name, "algorithm": "auto"}),
        )
        .await;
        assert_eq!(r.status(), 201);
    }
    let listed: Value = server
        .get("/v1/categories")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<_> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(
        names,
        vec![json!("invoices"), json!("letters"), json!("reports")]
    );

    // A job: rule matches are classified at once; auto has nothing to learn from yet.
    let mut files = vec![("invoice.txt".to_string(), INVOICE.to_string())];
    for i in 1..=5 {
        files.push((format!("letter-{i}.txt"), letter(i)));
        files.push((format!("report-{i}.txt"), report(i)));
    }
    let job = upload(&server, &files).await;
    let results = server.results(&job).await;
    let by_name = |name: &str| {
        results
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} in results"))["output"]
            .clone()
    };
    assert_eq!(by_name("invoice.txt")["category"], "invoices");
    assert_eq!(by_name("invoice.txt")["matched_by"], "any");
    assert!(by_name("letter-1.txt")["category"].is_null());
    let doc = |name: &str| by_name(name)["document_id"].as_str().unwrap().to_string();

    // Hand labels: what auto learns from.
    let unknown = server
        .http
        .patch(format!(
            "{}/v1/documents/{}",
            server.url,
            doc("letter-1.txt")
        ))
        .bearer_auth(&server.token)
        .json(&json!({"category": "poems"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    let other = server.token_for("mallory");
    let foreign = server
        .http
        .patch(format!(
            "{}/v1/documents/{}",
            server.url,
            doc("letter-1.txt")
        ))
        .bearer_auth(other)
        .json(&json!({"category": "letters"}))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404);
    for i in 1..=4 {
        for (kind, category) in [("letter", "letters"), ("report", "reports")] {
            let r = server
                .http
                .patch(format!(
                    "{}/v1/documents/{}",
                    server.url,
                    doc(&format!("{kind}-{i}.txt"))
                ))
                .bearer_auth(&server.token)
                .json(&json!({"category": category}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let d: Value = r.json().await.unwrap();
            assert_eq!(
                (d["category"].clone(), d["confidence"].clone()),
                (json!(category), json!(1.0))
            );
        }
    }

    // The model is retrained in the background; POST /v1/classify answers with it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let answer = loop {
        let r = post_json(&server, "/v1/classify", json!({"text": "Dear Mr Brown, thank you for your letter; we send our warm wishes. Yours sincerely"})).await;
        assert_eq!(r.status(), 200);
        let a: Value = r.json().await.unwrap();
        if a["matched_by"] == "auto" || Instant::now() > deadline {
            break a;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(answer["category"], "letters", "{answer}");
    let confidence = answer["confidence"].as_f64().unwrap();
    assert!(confidence > 0.5 && confidence <= 1.0, "{answer}");

    // A file, extracted by the extractor processes, matched by a rule.
    let form = Form::new().part(
        "file",
        Part::bytes(INVOICE.as_bytes().to_vec()).file_name("bill.txt"),
    );
    let r = server
        .post("/v1/classify")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let a: Value = r.json().await.unwrap();
    assert_eq!(
        (
            a["category"].clone(),
            a["matched_by"].clone(),
            a["confidence"].clone()
        ),
        (json!("invoices"), json!("any"), json!(1.0))
    );
    let empty = server
        .post("/v1/classify")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 400);

    // The same file again: its stored results are reused, not processed again.
    let again = upload(
        &server,
        &[("invoice-copy.txt".to_string(), INVOICE.to_string())],
    )
    .await;
    let copy = &server.results(&again).await[0]["output"];
    assert_eq!(copy["reused_from"], doc("invoice.txt").as_str());
    assert_eq!(copy["category"], "invoices");

    // Reindex: unlabelled documents get the model's category; labels stay.
    let r = server.post("/v1/reindex").send().await.unwrap();
    assert_eq!(r.status(), 202);
    let reindex: Value = r.json().await.unwrap();
    assert_eq!(reindex["kind"], "reindex");
    let id = reindex["id"].as_str().unwrap();
    let done = server
        .wait(id, Duration::from_secs(60), "reindex completed", |j| {
            j["state"] == "completed"
        })
        .await;
    assert_eq!(done["counts"]["succeeded"], done["counts"]["total"]);
    assert!(done["counts"]["total"].as_i64().unwrap() >= 12);
    let fifth: Value = server
        .get(&format!("/v1/documents/{}", doc("letter-5.txt")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fifth["category"], "letters", "{fifth}");
    let labelled: Value = server
        .get(&format!("/v1/documents/{}", doc("report-1.txt")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (labelled["category"].clone(), labelled["confidence"].clone()),
        (json!("reports"), json!(1.0))
    );
    let found: Value = server
        .get("/v1/search?q=quarterly&category=reports")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 5, "{found}");

    // Replace and delete a rule.
    let id = invoices["id"].as_str().unwrap();
    let r = server
        .http
        .put(format!("{}/v1/categories/{id}", server.url))
        .bearer_auth(&server.token)
        .json(&json!({"name": "bills", "algorithm": "literal", "pattern": "amount payable"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["name"], "bills");
    let r = server
        .http
        .delete(format!("{}/v1/categories/{id}", server.url))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        server
            .get(&format!("/v1/categories/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

on_both_backends!(rules_labels_auto_classify_dedup_and_reindex,);
