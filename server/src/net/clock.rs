//! The clock task: calls [`Server::tick`](crate::core::Server::tick) when the core's next deadline
//! comes, logs connection totals when they are due, and notices when the server falls quiet — no
//! periodic wake-ups, so an idle server uses no CPU.

use std::rc::Rc;

use tokio::time::Instant as TokioInstant;

use super::{Shared, now};

pub(super) async fn run(shared: Rc<Shared>) {
    loop {
        let core_deadline = shared.core.borrow().next_deadline();
        let deadline =
            [core_deadline, shared.totals_due.get(), shared.quiet_check_due.get()].into_iter().flatten().min();
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
        if shared.quiet_check_due.get().is_some_and(|due| due <= now) {
            shared.check_quiet(now);
        }
    }
}

async fn sleep(until: Option<TokioInstant>) {
    match until {
        Some(until) => tokio::time::sleep_until(until).await,
        None => std::future::pending().await,
    }
}
