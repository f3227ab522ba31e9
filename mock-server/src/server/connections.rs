//! Bounded connections: a cap on open connections, and an idle / header-read timeout.
//!
//! A test suite that leaks keep-alive connections, or a client that opens a socket and never
//! sends a request, must not stop the server answering the next request. So every connection
//! registers here; at the cap (or when `accept` runs out of file descriptors) the oldest idle
//! connection, one with no request in flight, is asked to close, and the new one is served.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::model::lock;

/// Default cap on open connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Default idle and header-read timeout.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How many connections the server keeps and for how long an idle one may stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Open connections at most; at the cap the oldest idle one is closed for a new one.
    pub(crate) max_connections: usize,
    /// A connection that sends no complete request head for this long (before its first
    /// request, while sending headers, or between keep-alive requests) is closed.
    pub(crate) idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// One open connection as the registry sees it.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    /// Requests being served on it now.
    in_flight: AtomicUsize,
    /// Notified when the registry wants it closed.
    pub(crate) evict: Notify,
}

impl Slot {
    /// Marks a request in flight until the guard is dropped.
    pub(crate) fn busy(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(Arc::clone(self))
    }
}

/// A request in flight on a connection.
#[derive(Debug)]
pub(crate) struct Busy(Arc<Slot>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The open connections, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    open: BTreeMap<u64, Arc<Slot>>,
}

impl Registry {
    /// Registers a new connection; at `max` open ones it first asks the oldest idle one to
    /// close. `None` when every open connection is busy: the caller closes the new one.
    pub(crate) fn admit(self: &Arc<Self>, max: usize) -> Option<Registered> {
        let mut inner = lock(&self.inner);
        if inner.open.len() >= max && !evict_oldest_idle(&mut inner) {
            return None;
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let slot = Arc::new(Slot::default());
        inner.open.insert(id, Arc::clone(&slot));
        Some(Registered {
            registry: Arc::clone(self),
            id,
            slot,
        })
    }

    /// Asks the oldest idle connection to close (to free a file descriptor); false if none.
    pub(crate) fn evict_one(&self) -> bool {
        evict_oldest_idle(&mut lock(&self.inner))
    }

    /// Connections open now.
    #[cfg(test)]
    pub(crate) fn open(&self) -> usize {
        lock(&self.inner).open.len()
    }
}

/// Removes the oldest connection with no request in flight from the registry and tells it to
/// close. Removing it at once keeps a burst of new connections from picking the same one.
fn evict_oldest_idle(inner: &mut Inner) -> bool {
    let victim = inner
        .open
        .iter()
        .find(|(_, slot)| slot.in_flight.load(Ordering::Acquire) == 0)
        .map(|(id, _)| *id);
    match victim.and_then(|id| inner.open.remove(&id)) {
        Some(slot) => {
            // `notify_one` stores the wake-up if the connection is not waiting yet.
            slot.evict.notify_one();
            true
        }
        None => false,
    }
}

/// A registered connection; dropping it unregisters it.
#[derive(Debug)]
pub(crate) struct Registered {
    registry: Arc<Registry>,
    id: u64,
    pub(crate) slot: Arc<Slot>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        lock(&self.registry.inner).open.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_oldest_idle_connection_is_evicted() {
        let registry = Arc::new(Registry::default());
        let first = registry.admit(2).unwrap();
        let second = registry.admit(2).unwrap();
        let busy = first.slot.busy();
        let third = registry
            .admit(2)
            .expect("the idle second connection makes room");
        assert_eq!(registry.open(), 2);
        // The second was told to close; the busy first was not.
        assert!(futures_util::FutureExt::now_or_never(second.slot.evict.notified()).is_some());
        assert!(futures_util::FutureExt::now_or_never(first.slot.evict.notified()).is_none());
        let _busy_third = third.slot.busy();
        assert!(registry.admit(2).is_none(), "every open connection is busy");
        drop(busy);
        assert!(registry.evict_one());
        drop((first, second, third));
        assert_eq!(registry.open(), 0);
    }
}
