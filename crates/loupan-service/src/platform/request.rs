//! The request an action belongs to: its id (`X-Request-Id`, taken from the
//! balancer or made by the instance) follows the work it causes, into the
//! jobs it queues (`jobs.request_id`), their log lines and the webhooks they
//! deliver (`Loupan-Request-Id`), so an operator can follow one click across
//! instances.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `work` as part of the request `id`.
pub async fn within<F: Future>(id: String, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// The id of the request this task works for, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// An id the caller may pass on: up to 64 letters, digits, `-`, `_` and `.`
/// (anything else could forge log lines or headers).
pub fn accepted(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// A new id for a request that came without one.
pub fn new_id() -> String {
    loupan_store::new_id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_follows_the_work_and_only_it() {
        assert_eq!(current(), None);
        let seen = within("req-1".into(), async { current() }).await;
        assert_eq!(seen.as_deref(), Some("req-1"));
        assert_eq!(current(), None);
        assert!(accepted("7f3e-01.ab_C"));
        assert!(!accepted("") && !accepted("a b") && !accepted("x\r\nfake: 1") && !accepted(&"a".repeat(65)));
    }
}
