//! The clock task: calls [`Server::tick`](crate::core::Server::tick) when the core's next deadline
//! comes, and logs connection totals when they are due — no periodic wake-ups, so an idle server
//! uses no CPU.

use std::rc::Rc;

use tokio::time::Instant as TokioInstant;

use super::{Shared, now};

pub(super) async fn run(shared: Rc<Shared>) {
    loop {
        let core_deadline = shared.core.borrow().next_deadline();
        let deadline = match (core_deadline, shared.totals_due.get()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        shared.clock_target.set(deadline);
        tokio::select! {
            () = shared.clock_wake.notified() => continue,
            () = sleep(deadline.map(TokioInstant::from_std)) => {}
        }
        let now = now();
        shared.core.borrow_mut().tick(now);
        shared.dispatch();
        if shared.totals_due.get().is_some_and(|due| due <= now) {
            shared.log_totals(now);
        }
    }
}

async fn sleep(until: Option<TokioInstant>) {
    match until {
        Some(until) => tokio::time::sleep_until(until).await,
        None => std::future::pending().await,
    }
}
