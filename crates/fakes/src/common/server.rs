//! Serving a fake: bind, serve on a tokio task, and the handle tests hold while it runs.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::faults::Faults;
use super::log::RequestLog;

/// The switches and records a running fake shares with its handle.
#[derive(Debug, Clone, Default)]
pub(crate) struct Controls {
    pub(crate) faults: Faults,
    pub(crate) log: RequestLog,
    /// When set, the admin key is treated as revoked (401).
    pub(crate) revoked: Arc<AtomicBool>,
}

impl Controls {
    pub(crate) fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::Relaxed)
    }
}

/// A fake serving on a local port. `T` is the provider's ground truth. Dropping it stops the
/// server; [`RunningFake::shutdown`] stops it and waits.
#[derive(Debug)]
pub struct RunningFake<T> {
    base_url: String,
    addr: SocketAddr,
    admin_key: String,
    controls: Controls,
    truth: Arc<T>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl<T> RunningFake<T> {
    /// The base URL a connector is configured with; it appends the documented paths.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The one key that is accepted as an organization admin key.
    pub fn admin_key(&self) -> &str {
        &self.admin_key
    }

    /// Fault rules; add or clear them while the server runs.
    pub fn faults(&self) -> &Faults {
        &self.controls.faults
    }

    /// Every request received.
    pub fn log(&self) -> &RequestLog {
        &self.controls.log
    }

    /// Number of requests received per exact path.
    pub fn requests_served(&self) -> BTreeMap<String, u64> {
        self.controls.log.served()
    }

    /// The exact data the fake serves, for assertions.
    pub fn truth(&self) -> &T {
        &self.truth
    }

    /// Revokes (true) or restores (false) the admin key: a revoked key gets the provider's 401.
    pub fn set_revoked(&self, revoked: bool) {
        self.controls.revoked.store(revoked, Ordering::Relaxed);
    }

    /// Stops accepting connections and waits (up to five seconds) for requests in flight.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl<T> Drop for RunningFake<T> {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// What a provider's `spawn` hands over to be served.
pub(crate) struct Served<T> {
    pub(crate) router: Router,
    /// Appended to `http://ADDR` to make the base URL (`/v1` for OpenAI, empty for Anthropic).
    pub(crate) base_path: &'static str,
    pub(crate) admin_key: String,
    pub(crate) controls: Controls,
    pub(crate) truth: Arc<T>,
}

/// Binds `addr` (use port 0 for any free port) and serves on a new tokio task.
pub(crate) async fn serve<T>(
    addr: SocketAddr,
    served: Served<T>,
) -> std::io::Result<RunningFake<T>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = served.router;
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "fake provider server stopped with an error");
        }
    });
    Ok(RunningFake {
        base_url: format!("http://{addr}{}", served.base_path),
        addr,
        admin_key: served.admin_key,
        controls: served.controls,
        truth: served.truth,
        stop: Some(stop),
        task: Some(task),
    })
}
