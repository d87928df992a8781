//! A warm thread for the local backend's file work.
//!
//! Async callers must not block their runtime on an fsync, so the local backend hands its
//! file work to another thread. Tokio's blocking pool costs more per hand-off than the
//! checkpoint's own work can afford: it allocates a task, and when a commit follows the
//! previous one before the pool's thread has gone back to waiting, it starts another thread
//! (BENCHMARKS.md, "Checkpoint store"). So each local store keeps one thread of its own,
//! started on first use, that waits on a channel: a commit hands its work over and awaits the
//! result. While that thread is busy (another writer of the same store is committing) the
//! work goes to the blocking pool, so that writers of different streams never wait on each
//! other. The thread ends when the store is dropped. Unlike the blocking pool, it does not
//! hold up a runtime's shutdown: a commit whose future was dropped unfinished may be cut short
//! when the process exits, which leaves at most a staging file (LAYOUT.md §1.2), as a crash
//! does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, OnceLock};

/// A unit of work for the thread.
type Job = Box<dyn FnOnce() + Send>;

/// One warm thread, started on first use, with the blocking pool as overflow.
#[derive(Debug, Default)]
pub(super) struct IoThread {
    /// The channel to the thread; `None` if it could not be started.
    jobs: OnceLock<Option<Sender<Job>>>,
    /// Whether a job is on the thread (set by the caller that hands it over, cleared by the
    /// job before it returns its result).
    busy: Arc<AtomicBool>,
}

impl IoThread {
    /// Runs `work` on another thread when inside a tokio runtime (on the calling thread when
    /// `inline` or outside a runtime): on this thread if it is free, else on tokio's blocking
    /// pool. A panic in `work` is returned as an error.
    pub(super) async fn run<T, E>(
        &self,
        inline: bool,
        work: impl FnOnce() -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<std::io::Error> + Send + 'static,
    {
        let runtime = match tokio::runtime::Handle::try_current() {
            Ok(runtime) if !inline => runtime,
            _ => return work(),
        };
        let Some(jobs) = self.claim() else {
            return runtime
                .spawn_blocking(work)
                .await
                .map_err(|e| E::from(std::io::Error::other(e)))
                .and_then(|r| r);
        };
        let (done, result) = tokio::sync::oneshot::channel();
        let busy = Arc::clone(&self.busy);
        let job: Job = Box::new(move || {
            let outcome = work();
            busy.store(false, Ordering::Release);
            let _ = done.send(outcome);
        });
        if let Err(returned) = jobs.send(job) {
            // The thread has ended (a job panicked): the blocking pool runs the job. The
            // flag stays set, so later work goes straight to the pool.
            drop(runtime.spawn_blocking(returned.0));
        }
        result.await.unwrap_or_else(|_| {
            Err(E::from(std::io::Error::other(
                "the local store's I/O thread stopped before finishing its work",
            )))
        })
    }

    /// The thread's channel, if the thread is running and free (then marked busy).
    fn claim(&self) -> Option<&Sender<Job>> {
        let jobs = self.jobs.get_or_init(start).as_ref()?;
        self.busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
            .then_some(jobs)
    }
}

/// Starts the thread; `None` if the system refuses a thread (the blocking pool does the work).
fn start() -> Option<Sender<Job>> {
    let (jobs, queue) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("tidemark-local-io".into())
        .spawn(move || {
            // Ends when the store, which holds the sender, is dropped.
            while let Ok(job) = queue.recv() {
                job();
            }
        })
        .ok()
        .map(|_| jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn thread_name() -> Result<Option<String>, std::io::Error> {
        Ok(std::thread::current().name().map(str::to_owned))
    }

    #[test]
    fn work_runs_on_the_warm_thread_inside_a_runtime_and_inline_otherwise() {
        let io = IoThread::default();
        let rt = runtime();
        for _ in 0..3 {
            let name = rt.block_on(io.run(false, thread_name)).unwrap();
            assert_eq!(name.as_deref(), Some("tidemark-local-io"));
        }
        let here = std::thread::current().name().map(str::to_owned);
        assert_eq!(rt.block_on(io.run(true, thread_name)).unwrap(), here);
        assert_eq!(
            poll_once(|| io.run(false, thread_name)),
            here,
            "outside a runtime the work runs on the calling thread"
        );
    }

    /// Polls `future` once without a runtime (its work never awaits outside a runtime).
    fn poll_once<F: std::future::Future<Output = Result<Option<String>, std::io::Error>>>(
        future: impl FnOnce() -> F,
    ) -> Option<String> {
        let mut future = std::pin::pin!(future());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(result) => result.unwrap(),
            std::task::Poll::Pending => panic!("work outside a runtime must not wait"),
        }
    }

    #[test]
    fn work_handed_over_while_the_thread_is_busy_goes_to_the_blocking_pool() {
        let io = Arc::new(IoThread::default());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let first = {
            let io = Arc::clone(&io);
            rt.spawn(async move {
                io.run(false, move || {
                    wait.recv().unwrap();
                    thread_name()
                })
                .await
            })
        };
        // The first job holds the warm thread until released.
        while !io.busy.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
        // Were it queued behind the first job, it would wait for ever: bounded, it fails.
        let second = rt
            .block_on(async {
                let handed = io.run(false, thread_name);
                tokio::time::timeout(std::time::Duration::from_secs(30), handed).await
            })
            .expect("work handed over while the thread is busy waited for it")
            .unwrap();
        assert_ne!(second.as_deref(), Some("tidemark-local-io"));
        release.send(()).unwrap();
        let first = rt.block_on(first).unwrap().unwrap();
        assert_eq!(first.as_deref(), Some("tidemark-local-io"));
        // Free again: the next job is the warm thread's.
        let third = rt.block_on(io.run(false, thread_name)).unwrap();
        assert_eq!(third.as_deref(), Some("tidemark-local-io"));
    }

    #[test]
    fn a_panicking_job_is_an_error_and_later_work_still_runs() {
        let io = IoThread::default();
        let rt = runtime();
        let failed = rt.block_on(io.run(false, || -> Result<(), std::io::Error> {
            panic!("injected")
        }));
        assert!(failed.is_err());
        for _ in 0..2 {
            let name = rt.block_on(io.run(false, thread_name)).unwrap();
            assert_ne!(name.as_deref(), Some("tidemark-local-io"));
        }
    }
}
