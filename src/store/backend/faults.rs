//! Fault injection at the backend interface (cargo feature `fault-injection`, for tests): a
//! wrapper around any backend, local disk included, that fails, delays, loses or half-does
//! the operations it is told to, and counts what it saw and what it injected.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::path::Path;

use super::{Backend, Created, Listed, backend_error};
use crate::store::error::Result;

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Fail without doing anything.
    Fail,
    /// Do the operation, then report failure (a write that landed but timed out).
    FailAfter,
    /// Report success without doing anything (a write that never landed); for reads, the same
    /// as no fault.
    Lose,
    /// Wait, then do the operation.
    Delay(Duration),
    /// Wait, then fail without doing anything (a request that timed out).
    Timeout(Duration),
}

/// The backend operations a fault can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// A create-if-absent write (a checkpoint).
    Create,
    /// A read of an object's bytes.
    Read,
    /// An existence check.
    Exists,
    /// A listing.
    List,
    /// A bulk delete.
    Delete,
    /// A rewrite of the `_latest` hint.
    WriteHint,
}

const OPS: usize = 6;

/// Plans faults and counts operations for stores made with
/// [`Store::with_faults`](crate::store::Store::with_faults).
#[derive(Debug, Default)]
pub struct FaultInjector {
    planned: Mutex<VecDeque<(Op, Fault)>>,
    random: Mutex<Option<(u64, u32)>>,
    seen: [AtomicUsize; OPS],
    injected: [AtomicUsize; OPS],
}

impl FaultInjector {
    /// A new injector with no fault planned.
    pub fn new() -> Self {
        FaultInjector::default()
    }

    /// The next operation of kind `op` suffers `fault` (planned faults apply in order).
    pub fn plan(&self, op: Op, fault: Fault) {
        self.lock_planned().push_back((op, fault));
    }

    /// Drops every planned fault not yet injected and stops random faults: from now on the
    /// backend works (a test's "the faults stop").
    pub fn clear(&self) {
        self.lock_planned().clear();
        self.random_faults(None);
    }

    /// Faults planned but not yet injected.
    pub fn pending(&self) -> usize {
        self.lock_planned().len()
    }

    /// From now on each operation suffers a random fault with probability `percent`%,
    /// reproducibly from `seed`; `None` stops it.
    pub fn random_faults(&self, seed_and_percent: Option<(u64, u32)>) {
        *self.random.lock().unwrap_or_else(|e| e.into_inner()) = seed_and_percent;
    }

    /// How many operations of kind `op` the wrapped backend was asked for.
    pub fn seen(&self, op: Op) -> usize {
        self.seen[op as usize].load(Ordering::SeqCst)
    }

    /// How many faults were injected into operations of kind `op`.
    pub fn injected(&self, op: Op) -> usize {
        self.injected[op as usize].load(Ordering::SeqCst)
    }

    /// How many faults were injected in all.
    pub fn injected_total(&self) -> usize {
        self.injected.iter().map(|c| c.load(Ordering::SeqCst)).sum()
    }

    fn lock_planned(&self) -> std::sync::MutexGuard<'_, VecDeque<(Op, Fault)>> {
        self.planned.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fault_for(&self, op: Op) -> Option<Fault> {
        self.seen[op as usize].fetch_add(1, Ordering::SeqCst);
        let fault = self.next_fault(op);
        if fault.is_some() {
            self.injected[op as usize].fetch_add(1, Ordering::SeqCst);
        }
        fault
    }

    fn next_fault(&self, op: Op) -> Option<Fault> {
        let mut planned = self.lock_planned();
        if let Some(i) = planned.iter().position(|(o, _)| *o == op) {
            return planned.remove(i).map(|(_, f)| f);
        }
        drop(planned);
        let mut random = self.random.lock().unwrap_or_else(|e| e.into_inner());
        let (seed, percent) = random.as_mut()?;
        // A linear congruential generator: reproducible from the seed, good enough here.
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let roll = (*seed >> 33) as u32;
        if roll % 100 >= *percent {
            return None;
        }
        let short = Duration::from_millis(2);
        let faults = match op {
            Op::Create | Op::WriteHint => &[
                Fault::Fail,
                Fault::FailAfter,
                Fault::Lose,
                Fault::Timeout(short),
            ][..],
            Op::Delete => &[Fault::Fail, Fault::FailAfter, Fault::Lose][..],
            Op::Read | Op::Exists | Op::List => {
                &[Fault::Fail, Fault::Timeout(short), Fault::Delay(short)][..]
            }
        };
        Some(faults[(roll / 100) as usize % faults.len()])
    }
}

/// A backend whose operations suffer the faults an injector plans.
#[derive(Debug)]
pub(crate) struct FaultyBackend {
    inner: std::sync::Arc<dyn Backend>,
    injector: std::sync::Arc<FaultInjector>,
}

impl FaultyBackend {
    pub(crate) fn new(
        inner: std::sync::Arc<dyn Backend>,
        injector: std::sync::Arc<FaultInjector>,
    ) -> Self {
        FaultyBackend { inner, injector }
    }

    /// Applies the next fault for `op` around `work`; `lost` is what a write that "succeeds"
    /// without landing returns (`None`: do the operation).
    async fn apply<T: Send>(
        &self,
        op: Op,
        path: &Path,
        work: impl std::future::Future<Output = Result<T>> + Send,
        lost: impl FnOnce() -> Option<T> + Send,
    ) -> Result<T> {
        let injected = |what: &'static str| {
            backend_error(
                "injected",
                path,
                object_store::Error::Generic {
                    store: "FaultyBackend",
                    source: format!("injected fault: {what}").into(),
                },
            )
        };
        match self.injector.fault_for(op) {
            None => work.await,
            Some(Fault::Fail) => Err(injected("fail")),
            Some(Fault::FailAfter) => {
                let _ = work.await;
                Err(injected("failed after the operation was done"))
            }
            Some(Fault::Lose) => match lost() {
                Some(v) => Ok(v),
                None => work.await,
            },
            Some(Fault::Delay(d)) => {
                tokio::time::sleep(d).await;
                work.await
            }
            Some(Fault::Timeout(d)) => {
                tokio::time::sleep(d).await;
                Err(injected("timeout"))
            }
        }
    }
}

#[async_trait]
impl Backend for FaultyBackend {
    async fn create(&self, path: &Path, bytes: Bytes) -> Result<Created> {
        self.apply(Op::Create, path, self.inner.create(path, bytes), || {
            Some(Created::Yes)
        })
        .await
    }

    async fn read(&self, path: &Path) -> Result<Option<Bytes>> {
        self.apply(Op::Read, path, self.inner.read(path), || None)
            .await
    }

    async fn exists(&self, path: &Path) -> Result<bool> {
        self.apply(Op::Exists, path, self.inner.exists(path), || None)
            .await
    }

    async fn list(&self, dir: &Path) -> Result<Vec<Listed>> {
        self.apply(Op::List, dir, self.inner.list(dir), || None)
            .await
    }

    async fn list_folders(&self, dir: &Path) -> Result<Vec<Path>> {
        self.apply(Op::List, dir, self.inner.list_folders(dir), || None)
            .await
    }

    async fn delete(&self, paths: Vec<Path>) -> Result<()> {
        let first = paths.first().cloned().unwrap_or_default();
        self.apply(Op::Delete, &first, self.inner.delete(paths), || Some(()))
            .await
    }

    async fn remove_empty_folder(&self, dir: &Path) -> Result<()> {
        self.apply(Op::Delete, dir, self.inner.remove_empty_folder(dir), || {
            Some(())
        })
        .await
    }

    async fn write_hint(&self, path: &Path, contents: Bytes) -> Result<()> {
        self.apply(
            Op::WriteHint,
            path,
            self.inner.write_hint(path, contents),
            || Some(()),
        )
        .await
    }

    // `attempt` is the composed default on purpose: every step of a commit goes through the
    // faulty operations above, whatever fast path the wrapped backend has.
}
