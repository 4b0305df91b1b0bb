//! What Bedside has done since it started, for `/bedside status`: counted where it happens (the
//! handlers, the outbox), read by the status command.

use std::sync::atomic::AtomicU64;

#[derive(Debug, Default)]
pub struct Counters {
    pub messages: AtomicU64,
    pub flags: AtomicU64,
    pub dms_closed: AtomicU64,
    pub removed: AtomicU64,
    pub resolved_by_edit: AtomicU64,
    pub acknowledgements: AtomicU64,
    pub feedback_shared: AtomicU64,
    pub checks: AtomicU64,
    pub failures: AtomicU64,
}
