//! Carrying out actions over Discord's REST API, resilient to a flaky network: retries with
//! backoff on rate limits (429), server errors and network failures, and recognises the errors
//! that retrying cannot fix (DMs closed: 50007; unknown channel or message).
//!
//! With `BEDSIDE_DISCORD_API` set, serenity's own rate limiter is off (the proxy owns rate limits)
//! and serenity drops a 429's headers, so the wait here is a capped exponential backoff.

use std::future::Future;
use std::time::Duration;

use serenity::http::{ErrorResponse, HttpError};

/// How many times one REST action is tried before it is given up.
pub const ATTEMPTS: u32 = 6;
const FIRST_WAIT: Duration = Duration::from_millis(100);
const MAX_WAIT: Duration = Duration::from_secs(5);

/// Discord's code for "Cannot send messages to this user" (DMs closed or no shared server).
pub const DMS_CLOSED: isize = 50007;

/// Discord's code for "Unknown Message".
pub const UNKNOWN_MESSAGE: isize = 10008;

/// Whether a request failed because its message no longer exists.
pub fn message_is_gone(error: &serenity::Error) -> bool {
    matches!(
        error,
        serenity::Error::Http(HttpError::UnsuccessfulRequest(ErrorResponse { error, .. })) if error.code == UNKNOWN_MESSAGE
    )
}

/// What a failed request means for the caller.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// Worth trying again (429, 5xx, a network error).
    Transient,
    /// The user does not accept DMs from Bedside.
    DmsClosed,
    /// The target is gone or forbidden; trying again will not help.
    Permanent,
}

pub fn classify(error: &serenity::Error) -> Failure {
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(ErrorResponse { status_code, error, .. })) => {
            if error.code == DMS_CLOSED {
                Failure::DmsClosed
            } else if status_code.as_u16() == 429 || status_code.is_server_error() {
                Failure::Transient
            } else {
                Failure::Permanent
            }
        }
        serenity::Error::Http(HttpError::Request(_)) | serenity::Error::Io(_) => Failure::Transient,
        _ => Failure::Permanent,
    }
}

/// Runs a REST call, retrying transient failures with backoff. `what` names the action in logs
/// (ids only, never content).
pub async fn with_retry<T, F, Fut>(what: &str, mut call: F) -> Result<T, serenity::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, serenity::Error>>,
{
    let mut wait = FIRST_WAIT;
    let mut attempt = 1;
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(e) if attempt < ATTEMPTS && classify(&e) == Failure::Transient => {
                tracing::warn!(
                    action = what,
                    attempt,
                    wait_ms = wait.as_millis() as u64,
                    "transient REST failure; retrying"
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_WAIT);
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
