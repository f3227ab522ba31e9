//! Hold barriers: requests wait until a group is complete or released, then go through one at
//! a time.

use std::collections::HashMap;

use tokio::sync::oneshot;

use super::action::HoldOrder;

/// A request waiting at a hold barrier. It receives a "done" sender when released and fires
/// it once it has been processed, so the next one starts only after it.
pub(crate) type Ticket = oneshot::Sender<oneshot::Sender<()>>;

/// Waiting requests of every hold rule.
#[derive(Debug, Default)]
pub(crate) struct Holds {
    groups: std::sync::Mutex<HashMap<String, Vec<Ticket>>>,
}

impl Holds {
    /// Joins the barrier of `rule`; returns the receiver that says "go", and the whole group
    /// when this arrival completes it.
    pub(crate) fn join(
        &self,
        rule: &str,
        count: usize,
    ) -> (oneshot::Receiver<oneshot::Sender<()>>, Option<Vec<Ticket>>) {
        let (tx, rx) = oneshot::channel();
        let mut groups = self.lock();
        let group = groups.entry(rule.to_owned()).or_default();
        group.push(tx);
        let full = (group.len() >= count).then(|| std::mem::take(group));
        (rx, full)
    }

    /// How many requests wait at `rule`'s barrier.
    pub(crate) fn waiting(&self, rule: &str) -> usize {
        self.lock().get(rule).map_or(0, Vec::len)
    }

    /// Takes every request waiting at `rule`'s barrier.
    pub(crate) fn take(&self, rule: &str) -> Vec<Ticket> {
        self.lock().remove(rule).unwrap_or_default()
    }

    /// Takes every waiting request of every barrier.
    pub(crate) fn take_all(&self) -> Vec<Vec<Ticket>> {
        self.lock().drain().map(|(_, v)| v).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Ticket>>> {
        // A poisoned lock only means another request panicked while pushing to a Vec; the
        // map itself is still consistent, so keep serving.
        self.groups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Lets held requests through one at a time, in `order`.
pub(crate) async fn release(mut tickets: Vec<Ticket>, order: HoldOrder) {
    if order == HoldOrder::Reverse {
        tickets.reverse();
    }
    for ticket in tickets {
        let (done_tx, done_rx) = oneshot::channel();
        if ticket.send(done_tx).is_err() {
            // The held request's connection went away; nothing waits for this ticket.
            tracing::debug!("held request vanished before release");
            continue;
        }
        if let Err(e) = done_rx.await {
            // The released request ended without reporting (its connection was cut); move on.
            tracing::debug!(error = %e, "released request ended without reporting");
        }
    }
}
