//! Whether a scheduler has an executor: Ballista queues a query on a cluster without one for
//! ever, which would hang a nightly run, so a run asks the scheduler's REST API
//! (`/api/executors`, on the scheduler's port) first.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{Error, Result};

/// How long a run waits for a scheduler's first executor to register.
const EXECUTOR_WAIT: Duration = Duration::from_secs(30);

/// How long one look at the scheduler's executor list may take.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// Waits until the scheduler at `url` (`df://host:port`) lists an executor, up to
/// [`EXECUTOR_WAIT`]; then an error saying how to start one. A scheduler whose list cannot be
/// read (no REST API) is not held up.
pub async fn wait_for_executor(url: &str) -> Result<()> {
    let address = url.strip_prefix("df://").unwrap_or(url);
    let started = Instant::now();
    loop {
        match executors(address).await {
            Ok(0) => {}
            Ok(_) => return Ok(()),
            Err(e) => {
                tracing::debug!(error = %e, "the scheduler's executor list could not be read");
                return Ok(());
            }
        }
        if started.elapsed() >= EXECUTOR_WAIT {
            return Err(Error::Usage(format!(
                "the Ballista scheduler at {url} has no executor after {} s; start one with \
                 `golden executor --scheduler {address}`",
                EXECUTOR_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// How many executors the scheduler at `address` (`host:port`) lists.
async fn executors(address: &str) -> std::io::Result<usize> {
    let timed_out = |_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer");
    let connect = tokio::net::TcpStream::connect(address);
    let mut stream = tokio::time::timeout(ASK_TIMEOUT, connect)
        .await
        .map_err(timed_out)??;
    let request = format!(
        "GET /api/executors HTTP/1.1\r\nHost: {address}\r\nAccept: application/json\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    tokio::time::timeout(ASK_TIMEOUT, stream.read_to_end(&mut response))
        .await
        .map_err(timed_out)??;
    let text = String::from_utf8_lossy(&response);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    let listed: Vec<serde_json::Value> =
        serde_json::from_str(body).map_err(std::io::Error::other)?;
    Ok(listed.len())
}
