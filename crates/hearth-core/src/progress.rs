//! "Something the progress bars show has changed": a change counter that model downloads and
//! the enrichment pipeline bump, and that the faces (the desktop window's events, browser
//! mode's server-sent events) wait on, so the UI is told instead of asking.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// A shared change counter; clone it freely.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    inner: Arc<(Mutex<u64>, Condvar)>,
}

impl Changes {
    /// Records a change and wakes every waiter.
    pub fn bump(&self) {
        let (count, changed) = &*self.inner;
        *count.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
        changed.notify_all();
    }

    /// The number of changes so far.
    pub fn current(&self) -> u64 {
        *self.inner.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until the count differs from `seen`, or `timeout` passes; returns the count.
    pub fn wait_after(&self, seen: u64, timeout: Duration) -> u64 {
        let (count, changed) = &*self.inner;
        let guard = count.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (guard, _) = changed
            .wait_timeout_while(guard, timeout, |count| *count == seen)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiter_wakes_on_a_change_and_times_out_without_one() {
        let changes = Changes::default();
        let seen = changes.current();
        assert_eq!(changes.wait_after(seen, Duration::from_millis(20)), seen, "no change: times out");
        let bumper = changes.clone();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            bumper.bump();
        });
        let started = std::time::Instant::now();
        assert_eq!(changes.wait_after(seen, Duration::from_secs(10)), seen + 1);
        assert!(started.elapsed() < Duration::from_secs(5), "woken by the change, not the timeout");
        thread.join().unwrap();
        assert_eq!(changes.wait_after(seen, Duration::from_secs(10)), seen + 1, "an older count returns at once");
    }
}
