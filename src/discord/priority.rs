//! Which of Bedside's threads the operating system runs first when the cores are busy.
//!
//! A burst's work — its analysis on the bulk analysis thread (`analyst.rs`), its handling and
//! delivery on the overflow runtime (`overflow.rs`) — runs on threads of its own at a lower
//! priority (nice +10). When the cores are busy, the main runtime's threads then go first: reading
//! the gateway (heartbeats, other guilds' events) and every quiet guild's handling. A burst loses
//! little by it, since it is not waiting for the cores alone; a quiet guild's message is a few
//! short steps, and each step that waits for a core behind a burst's thread adds to its latency.
//!
//! # Layout
//! - [`yield_to_others`]: lowers the calling thread's priority.

/// How much lower than the process's other threads a burst's threads run.
const NICER_BY: i32 = 10;

/// Lowers the calling thread's scheduling priority by [`NICER_BY`] (up to nice 19, the lowest).
/// A failure (a sandbox refusing it) leaves the thread as it was, which is only slower under load.
#[cfg(target_os = "linux")]
pub fn yield_to_others() {
    // getpriority returns -1 both for nice -1 and for an error; errno tells them apart, but nice -1
    // is as good a start as any, so it is not checked.
    let lowered = (niceness() + NICER_BY).min(19);
    // SAFETY: a plain syscall about the calling thread.
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, this_thread(), lowered) };
}

#[cfg(not(target_os = "linux"))]
pub fn yield_to_others() {}

/// The calling thread's nice value.
#[cfg(target_os = "linux")]
pub fn niceness() -> i32 {
    // SAFETY: a plain syscall about the calling thread.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, this_thread()) }
}

/// The calling thread, as PRIO_PROCESS names it: on Linux a thread id names just that thread.
#[cfg(target_os = "linux")]
fn this_thread() -> libc::id_t {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as libc::id_t }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn lowers_only_the_calling_thread() {
        let before = niceness();
        let lowered = std::thread::spawn(|| {
            yield_to_others();
            niceness()
        })
        .join()
        .expect("thread");
        assert_eq!(lowered, (before + NICER_BY).min(19));
        assert_eq!(niceness(), before, "the caller's own thread is left as it was");
    }
}
