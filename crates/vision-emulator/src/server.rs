//! Accepting connections and serving HTTP/1.1 on each, one request per connection so that
//! an outage applies to every request from the moment it starts: while down, a connection is
//! reset as soon as it is accepted (`SO_LINGER` 0: a TCP RST, no answer), or nothing listens.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::faults::DownMode;
use crate::{admin, annotate, Site};

/// Google's limit on a request's size.
const BODY_LIMIT: usize = 40 * 1024 * 1024;

fn router(site: Arc<Site>) -> Router {
    Router::new()
        .route("/v1/images:annotate", post(annotate::annotate))
        .merge(admin::router())
        .fallback(|| async {
            annotate::google_error(axum::http::StatusCode::NOT_FOUND, "Method not found.")
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(site)
}

pub(crate) async fn accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    site: Arc<Site>,
    shutdown: CancellationToken,
) {
    let router = router(site.clone());
    let mut listener = Some(listener);
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        if let Some((until, DownMode::Refuse)) = site.faults.down() {
            // Nothing listens until the outage ends: connections are refused.
            drop(listener.take());
            tokio::select! {
                _ = tokio::time::sleep_until(until.into()) => {}
                _ = shutdown.cancelled() => return,
            }
            continue;
        }
        let Some(open) = listener.as_ref() else {
            match TcpListener::bind(addr).await {
                Ok(l) => listener = Some(l),
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
            continue;
        };
        // Woken now and then, so that a refusing outage starts without a connection.
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = open.accept() => accepted,
            _ = tokio::time::sleep(Duration::from_millis(50)) => continue,
        };
        let Ok((stream, _peer)) = accepted else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if site.faults.down().is_some() {
            let _ = stream.set_zero_linger();
            drop(stream);
            site.record.lock().refused_connections += 1;
            continue;
        }
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let cancel = shutdown.child_token();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                router.clone().oneshot(request)
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = connection => {}
            }
        });
    }
}
