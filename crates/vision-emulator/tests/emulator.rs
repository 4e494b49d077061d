//! The emulator answers as Google's `images:annotate` does: key, shape, base64 and size
//! checks, real text from tesseract, per-image errors, and the faults it is told to inject.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use vision_emulator::{DownMode, Emulator, EmulatorConfig, FailRule, ImageErrorRule};

/// A PNG of a typeset line of text (groff, then pdftoppm).
fn text_png(words: &str) -> Vec<u8> {
    let dir = tempfile_dir();
    std::fs::write(dir.join("t.roff"), format!(".ps 24\n.nf\n{words}\n")).unwrap();
    let status = Command::new("sh")
        .current_dir(&dir)
        .arg("-c")
        .arg("groff -Tpdf t.roff > t.pdf && pdftoppm -r 150 -gray -png -singlefile t.pdf t")
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(dir.join("t.png")).unwrap()
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "vision-emulator-{}-{:?}",
        std::process::id(),
        Instant::now()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn request(images: &[&[u8]]) -> Value {
    let requests: Vec<Value> = images
        .iter()
        .map(|png| {
            json!({
                "image": {"content": base64::engine::general_purpose::STANDARD.encode(png)},
                "features": [{"type": "DOCUMENT_TEXT_DETECTION"}],
                "imageContext": {"languageHints": ["en"]},
            })
        })
        .collect();
    json!({ "requests": requests })
}

async fn annotate(emulator: &Emulator, key: Option<&str>, body: &Value) -> reqwest::Response {
    let mut url = format!("{}/v1/images:annotate", emulator.url());
    if let Some(key) = key {
        url.push_str(&format!("?key={key}"));
    }
    reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn start() -> Emulator {
    Emulator::start(EmulatorConfig::default()).await.unwrap()
}

#[tokio::test]
async fn images_are_read_with_real_text_and_recorded() {
    let emulator = start().await;
    let png = text_png("Harbour master ledger");
    let r = annotate(&emulator, Some("test-key"), &request(&[&png, &png[..]])).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let responses = body["responses"].as_array().unwrap();
    assert_eq!(responses.len(), 2);
    let text = responses[0]["fullTextAnnotation"]["text"].as_str().unwrap();
    // Real OCR: the words as tesseract reads them (it may miss a letter of the first).
    assert!(text.to_lowercase().contains("ledger"), "{text:?}");
    let record = emulator.record();
    assert_eq!(record.pages_read(), 2);
    assert_eq!(record.requests.len(), 1);
    assert_eq!(record.requests[0].images, 2);
}

#[tokio::test]
async fn keys_shapes_base64_and_the_image_cap_are_checked_as_google_does() {
    let emulator = start().await;
    let png = text_png("x");
    let body = request(&[&png]);
    let r = annotate(&emulator, None, &body).await;
    assert_eq!(r.status(), 403);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["status"], "PERMISSION_DENIED");

    let r = annotate(&emulator, Some("nope"), &body).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(
        e["error"],
        json!({"code": 400, "message": "API key not valid. Please pass a valid API key.",
               "status": "INVALID_ARGUMENT"})
    );

    let bad64 = json!({"requests": [{"image": {"content": "@@not base64@@"},
                                      "features": [{"type": "DOCUMENT_TEXT_DETECTION"}]}]});
    let r = annotate(&emulator, Some("test-key"), &bad64).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Base64 decoding failed"));

    let seventeen: Vec<&[u8]> = (0..17).map(|_| &png[..]).collect();
    let r = annotate(&emulator, Some("test-key"), &request(&seventeen)).await;
    assert_eq!(r.status(), 400);

    let unknown =
        json!({"requests": [{"image": {"content": ""}, "features": [{"type": "READ_MINDS"}]}]});
    assert_eq!(
        annotate(&emulator, Some("test-key"), &unknown)
            .await
            .status(),
        400
    );

    // Not an image: that image fails, not the request.
    let r = annotate(
        &emulator,
        Some("test-key"),
        &request(&[b"plain text", &png]),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["responses"][0]["error"]["code"], 3);
    assert!(body["responses"][1].get("error").is_none());
    assert_eq!(
        emulator.record().pages_read(),
        1,
        "nothing read for refused requests"
    );
}

#[tokio::test]
async fn faults_fail_requests_and_images_and_slow_answers() {
    let emulator = start().await;
    let png = text_png("y");
    let body = request(&[&png]);
    emulator.faults().fail(FailRule {
        count: 1,
        status: 429,
        retry_after_secs: Some(7),
    });
    let r = annotate(&emulator, Some("test-key"), &body).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["status"], "RESOURCE_EXHAUSTED");

    emulator
        .faults()
        .image_errors(ImageErrorRule { count: 1, code: 14 });
    let r = annotate(&emulator, Some("test-key"), &request(&[&png, &png])).await;
    let body2: Value = r.json().await.unwrap();
    assert_eq!(body2["responses"][0]["error"]["code"], 14);
    assert!(
        body2["responses"][1]["fullTextAnnotation"].is_object()
            || body2["responses"][1] == json!({})
    );

    emulator.faults().set_delay(Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(
        annotate(&emulator, Some("test-key"), &body).await.status(),
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn down_resets_or_refuses_connections_until_it_is_back() {
    let emulator = start().await;
    let png = text_png("z");
    let body = request(&[&png]);
    let client = reqwest::Client::new();
    let url = format!("{}/v1/images:annotate?key=test-key", emulator.url());
    for mode in [DownMode::Reset, DownMode::Refuse] {
        emulator.faults().down_for(Duration::from_millis(600), mode);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let e = client.post(&url).json(&body).send().await.unwrap_err();
        assert!(e.status().is_none(), "{mode:?}: no HTTP answer while down");
        tokio::time::sleep(Duration::from_millis(700)).await;
        let r = client.post(&url).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200, "{mode:?}: back");
    }
    assert!(emulator.record().refused_connections >= 1);
}

#[tokio::test]
async fn faults_are_driven_over_http_too() {
    let emulator = start().await;
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{}/_emulator/faults/fail", emulator.url()))
        .json(&json!({"count": 2, "status": 500}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let snapshot: Value = r.json().await.unwrap();
    assert_eq!(snapshot["fail"][0]["count"], 2);
    let record: Value = client
        .get(format!("{}/_emulator/record", emulator.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(record["read"], json!([]));
}
