//! Accepting connections, serving HTTP/1.1 on each, and resetting one on request.
//!
//! A reset is real: the handler marks its connection, the connection task drops hyper's
//! connection (and with it the handler), and the socket is closed with `SO_LINGER` 0, so the
//! kernel sends a TCP RST instead of an answer.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Put into every request's extensions: lets a handler reset its own connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionHandle {
    reset: Arc<AtomicBool>,
    cancel: CancellationToken,
}

impl ConnectionHandle {
    /// Close the connection with a TCP reset; the caller's future is dropped with it.
    pub fn reset(&self) {
        self.reset.store(true, Ordering::SeqCst);
        self.cancel.cancel();
    }
}

/// A TCP stream that is closed with a reset instead of a FIN once its connection is marked.
struct ResettableStream {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst) {
            // Best effort: if it fails the peer sees a plain close, still without an answer.
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Accept until `shutdown` is cancelled; every connection task is tracked by `tasks`.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _peer)) = accepted else {
            // Out of descriptors or similar: wait a moment instead of spinning.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        tasks.spawn(serve_connection(
            stream,
            router.clone(),
            shutdown.child_token(),
        ));
    }
}

async fn serve_connection(stream: TcpStream, router: Router, cancel: CancellationToken) {
    let handle = ConnectionHandle {
        reset: Arc::new(AtomicBool::new(false)),
        cancel: cancel.clone(),
    };
    let io = ResettableStream {
        stream,
        reset: handle.reset.clone(),
    };
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(handle.clone());
        router.clone().oneshot(request)
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = connection => {}
    }
}
