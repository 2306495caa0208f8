//! Server-sent event streams of open pages (the 销控图, a workbench's
//! visitors): counted for `/metrics`, and ended when the instance stops, so
//! that a chart left open on a screen does not hold a graceful shutdown open.
//! The browser's `EventSource` reconnects, through the balancer, elsewhere.

use std::convert::Infallible;
use std::sync::atomic::Ordering;

use axum::response::sse::{Event, KeepAlive, Sse};
use tokio_stream::{Stream, StreamExt};

use crate::AppState;

/// One open stream, for the gauge: counted while it lives.
struct Open(AppState);

impl Open {
    fn new(state: &AppState) -> Open {
        state.metrics.sse_clients.fetch_add(1, Ordering::Relaxed);
        Open(state.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.metrics.sse_clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `events` as a response that ends when the instance stops.
pub fn stream<S>(state: &AppState, events: S) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<S>>
where
    S: Stream<Item = Event> + Send + 'static,
{
    let open = Open::new(state);
    let stop = tokio_stream::wrappers::WatchStream::new(state.services.lifecycle.watch())
        .filter(|stopping| *stopping)
        .map(|_| None);
    let events = events.map(Some).merge(stop).take_while(Option::is_some).filter_map(move |event| {
        let _counted = &open;
        event.map(Ok)
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}
