//! An instance's way out: on SIGTERM it first says it is draining (`/readyz`
//! answers 503, so a balancer sends no new work) while it still serves, then
//! it stops: open event streams end, the job worker finishes the job it is
//! running and takes no other, and requests in flight are answered.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

#[derive(Debug)]
pub struct Lifecycle {
    draining: AtomicBool,
    stopping: watch::Sender<bool>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle { draining: AtomicBool::new(false), stopping: watch::channel(false).0 }
    }
}

impl Lifecycle {
    /// From now on the instance is not ready for new work (it still serves).
    pub fn begin_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Streams end and the job worker stops after its current job.
    pub fn stop(&self) {
        self.begin_draining();
        self.stopping.send_replace(true);
    }

    pub fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// `true` once `stop` was called, for streams to end on.
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Resolves when `stop` is called (at once if it was).
    pub async fn stopped(&self) {
        let mut rx = self.stopping.subscribe();
        // The sender lives as long as `self`, so this cannot fail while awaited.
        let _ = rx.wait_for(|stopping| *stopping).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stopping_drains_and_wakes_the_waiters() {
        let life = std::sync::Arc::new(Lifecycle::default());
        assert!(!life.is_draining() && !life.is_stopping());
        let waiter = tokio::spawn({
            let life = life.clone();
            async move { life.stopped().await }
        });
        life.begin_draining();
        assert!(life.is_draining() && !life.is_stopping());
        life.stop();
        tokio::time::timeout(std::time::Duration::from_secs(1), waiter).await.unwrap().unwrap();
        assert!(life.is_stopping());
        // Asked again after the fact, it answers at once.
        tokio::time::timeout(std::time::Duration::from_secs(1), life.stopped()).await.unwrap();
    }
}
