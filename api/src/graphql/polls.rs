//! A request's execution, as its loaders and its first read see it: the gate that tells
//! loaders when a poll of the request has ended (so a level of fields is one batch), and the
//! transaction its identity was read in, held for its first read of the school's data.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context as TaskContext, Poll, Wake, Waker},
};

use entity::{ids::SchoolId, tenant::TenantTx};
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::Notify;

/// A read transaction already bound to the request's school, begun while the request's
/// identity was read (see `tenant::resolve_binding`): a root field that reads the school's data
/// during the request's first poll takes it (see `scoped`); after that poll it is given back
/// (see [`PollGate::release_after_first_poll`]), so loaders' batches, which start later, and
/// everything else begin their own. Given back unused, it is rolled back as its connection
/// returns to the pool.
#[derive(Debug, Default)]
pub struct FirstTx(std::sync::Mutex<Option<TenantTx>>);

impl FirstTx {
    /// Holds `tx` (if any) for the request's first read.
    pub fn new(tx: Option<TenantTx>) -> Self {
        Self(std::sync::Mutex::new(tx))
    }

    /// The held transaction if it is bound to `school` and nobody took it yet, else a new read
    /// transaction for `school` (a held transaction of another school is given back first).
    pub async fn begin(
        &self,
        db: &DatabaseConnection,
        school: SchoolId,
    ) -> Result<TenantTx, DbErr> {
        let held = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        match held {
            Some(tx) if tx.school_id() == school => Ok(tx),
            other => {
                drop(other);
                TenantTx::begin(db, school).await
            }
        }
    }

    /// Gives the held transaction (if any) back: it is rolled back as its connection returns
    /// to the pool.
    pub fn release(&self) {
        drop(self.0.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
}

/// Tells loaders when the request's execution is between polls.
///
/// Every field of one level registers its key during one poll of the request's execution
/// future, and a batch must not start before that poll ends, or the level is split into several
/// queries. A timer cannot promise that (a level of 40,000 fields takes longer to resolve than
/// any sensible delay, and a timer fires on another worker thread): measured on the demo data, a
/// 1 ms delay cost 34 statements per request instead of 8. So the execution future is wrapped in
/// [`Gated`], which marks each poll, and a batch waits for the poll in progress to end.
#[derive(Debug, Default)]
pub struct PollGate {
    polling: AtomicBool,
    idle: Notify,
    /// Given back after the first poll (see [`PollGate::release_after_first_poll`]).
    first: std::sync::Mutex<Option<Arc<FirstTx>>>,
}

impl PollGate {
    /// Gives `first`'s transaction back to the pool once the first poll of the request ends,
    /// if no root field took it by then. A request never holds an idle connection while it
    /// waits for anything (another connection, a permit, a loader's batch).
    pub fn release_after_first_poll(&self, first: Arc<FirstTx>) {
        *self.first.lock().unwrap_or_else(|p| p.into_inner()) = Some(first);
    }

    /// Waits until no poll of the request is in progress.
    pub(crate) async fn wait_idle(&self) {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if !self.polling.load(Ordering::SeqCst) {
                return;
            }
            idle.await;
        }
    }
}

pin_project_lite::pin_project! {
    /// A request's execution future, marking its polls for the loaders.
    #[derive(Debug)]
    pub struct Gated<F> {
        #[pin]
        inner: F,
        gate: GateGuard,
    }
}

impl<F> Gated<F> {
    /// Wraps `inner`.
    pub fn new(inner: F, gate: Arc<PollGate>) -> Self {
        Self {
            inner,
            gate: GateGuard(gate),
        }
    }
}

/// Opens the gate when the request is dropped (a client that went away), so batches waiting on
/// it finish instead of waiting forever.
#[derive(Debug)]
struct GateGuard(Arc<PollGate>);

impl Drop for GateGuard {
    fn drop(&mut self) {
        self.0.polling.store(false, Ordering::SeqCst);
        self.0.idle.notify_waiters();
    }
}

/// A waker that remembers whether it was woken, so the gate can tell a future that yields to
/// continue at once (a big list resolved over several polls) from one that waits.
struct WakeFlag {
    inner: Waker,
    woken: AtomicBool,
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.inner.wake_by_ref();
    }
}

impl<F: Future> Future for Gated<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        this.gate.0.polling.store(true, Ordering::SeqCst);
        let flag = Arc::new(WakeFlag {
            inner: cx.waker().clone(),
            woken: AtomicBool::new(false),
        });
        let waker = Waker::from(flag.clone());
        let result = this.inner.poll(&mut TaskContext::from_waker(&waker));
        let first = this
            .gate
            .0
            .first
            .lock()
            .map(|mut f| f.take())
            .ok()
            .flatten();
        if let Some(first) = first {
            first.release();
        }
        // Woken during its own poll: it will be polled again at once, so the level is not
        // finished; stay closed.
        if result.is_ready() || !flag.woken.load(Ordering::SeqCst) {
            this.gate.0.polling.store(false, Ordering::SeqCst);
            this.gate.0.idle.notify_waiters();
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut TaskContext::from_waker(Waker::noop()))
    }

    #[tokio::test]
    async fn the_gate_stays_closed_while_the_request_keeps_working_and_opens_when_it_waits() {
        let gate = Arc::new(PollGate::default());
        let mut turns = 0;
        // Wakes itself twice (a long list resolved over several polls), then waits.
        let mut request = Box::pin(Gated::new(
            std::future::poll_fn(move |cx| {
                turns += 1;
                if turns <= 2 {
                    cx.waker().wake_by_ref();
                }
                Poll::<()>::Pending
            }),
            gate.clone(),
        ));
        assert!(poll_once(request.as_mut()).is_pending());
        assert!(
            gate.polling.load(Ordering::SeqCst),
            "closed: the request woke itself"
        );
        assert!(poll_once(request.as_mut()).is_pending());
        assert!(gate.polling.load(Ordering::SeqCst));
        assert!(poll_once(request.as_mut()).is_pending());
        assert!(
            !gate.polling.load(Ordering::SeqCst),
            "open: the request now waits"
        );
    }

    #[tokio::test]
    async fn a_dropped_request_opens_the_gate_for_waiting_batches() {
        let gate = Arc::new(PollGate::default());
        let mut request = Box::pin(Gated::new(
            std::future::poll_fn(|cx| {
                cx.waker().wake_by_ref();
                Poll::<()>::Pending
            }),
            gate.clone(),
        ));
        assert!(poll_once(request.as_mut()).is_pending());
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.wait_idle().await }
        });
        drop(request);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the batch goes ahead")
            .expect("no panic");
    }
}
