//! Backends for the store tests: where a test's store lives, and a wrapper that counts
//! requests and injects faults.
#![allow(dead_code, unreachable_pub)] // shared by several test crates, each using a part

use std::collections::VecDeque;
use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use tidemark::store::{Store, StoreOptions};

/// Where one test's stores live. Opening it twice gives two handles on the same data, like
/// two processes.
pub enum Location {
    Memory(Arc<object_store::memory::InMemory>),
    Local(tempfile::TempDir),
    S3 {
        url: String,
        options: Vec<(String, String)>,
    },
    Hdfs {
        url: String,
    },
}

impl Location {
    pub fn name(&self) -> &'static str {
        match self {
            Location::Memory(_) => "memory",
            Location::Local(_) => "local",
            Location::S3 { .. } => "s3",
            Location::Hdfs { .. } => "hdfs",
        }
    }

    pub fn open(&self) -> Store {
        self.open_with(StoreOptions::default())
    }

    pub fn open_with(&self, mut options: StoreOptions) -> Store {
        match self {
            Location::Memory(mem) => Store::from_object_store(mem.clone(), "root", options),
            Location::Local(dir) => Store::open_with(dir.path().to_str().unwrap(), options),
            Location::S3 { url, options: o } => {
                options.backend_options.extend(o.iter().cloned());
                Store::open_with(url, options)
            }
            Location::Hdfs { url } => Store::open_with(url, options),
        }
        .expect("open store")
    }

    /// The raw backend and the root inside it, to wrap.
    pub fn raw(&self) -> (Arc<dyn ObjectStore>, String) {
        match self {
            Location::Memory(mem) => (mem.clone(), "root".into()),
            Location::Local(dir) => (
                Arc::new(
                    object_store::local::LocalFileSystem::new_with_prefix(dir.path())
                        .unwrap()
                        .with_fsync(true),
                ),
                String::new(),
            ),
            Location::S3 { url, options } => {
                let parsed = url::Url::parse(url).unwrap();
                let mut b = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(parsed.host_str().unwrap());
                for (k, v) in options {
                    b = b.with_config(k.parse().unwrap(), v);
                }
                (
                    Arc::new(b.build().unwrap()),
                    parsed.path().trim_matches('/').to_owned(),
                )
            }
            Location::Hdfs { url } => hdfs_raw(url),
        }
    }

    /// A store over the raw backend wrapped in `wrapper`.
    pub fn wrapped(&self, wrapper: &Arc<FaultyStore>, options: StoreOptions) -> Store {
        let (_, root) = self.raw();
        Store::from_object_store(wrapper.clone(), &root, options).unwrap()
    }

    /// The folder of a local location.
    pub fn local_dir(&self) -> Option<&std::path::Path> {
        match self {
            Location::Local(dir) => Some(dir.path()),
            _ => None,
        }
    }
}

/// The raw HDFS object store of `url`'s cluster and the folder inside it.
#[cfg(feature = "hdfs")]
fn hdfs_raw(url: &str) -> (Arc<dyn ObjectStore>, String) {
    let parsed = url::Url::parse(url).unwrap();
    let mut base = parsed.clone();
    base.set_path("");
    let store = hdfs_native_object_store::HdfsObjectStoreBuilder::new()
        .with_url(base.as_str())
        .build()
        .unwrap();
    (Arc::new(store), parsed.path().trim_matches('/').to_owned())
}

#[cfg(not(feature = "hdfs"))]
fn hdfs_raw(_: &str) -> (Arc<dyn ObjectStore>, String) {
    unreachable!("hdfs locations exist only with the `hdfs` feature")
}

/// A fresh location of every backend available. S3 runs when `TIDEMARK_TEST_S3_ENDPOINT`
/// names an S3-compatible server with a bucket `TIDEMARK_TEST_S3_BUCKET` (default
/// `tidemark-test`); under `CI=true` its absence is an error, never a silent skip. HDFS runs
/// when `TIDEMARK_TEST_HDFS` names a NameNode URL (see [`hdfs_url`]).
pub fn locations(test: &str) -> Vec<Location> {
    let mut out = vec![
        Location::Memory(Arc::new(object_store::memory::InMemory::new())),
        Location::Local(tempfile::tempdir().unwrap()),
    ];
    match std::env::var("TIDEMARK_TEST_S3_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => {
            let bucket =
                std::env::var("TIDEMARK_TEST_S3_BUCKET").unwrap_or_else(|_| "tidemark-test".into());
            let prefix = format!("{test}-{}-{}", std::process::id(), unique());
            out.push(Location::S3 {
                url: format!("s3://{bucket}/{prefix}"),
                options: vec![
                    ("endpoint".into(), endpoint),
                    ("allow_http".into(), "true".into()),
                    ("region".into(), "us-east-1".into()),
                    ("access_key_id".into(), "testing".into()),
                    ("secret_access_key".into(), "testing".into()),
                ],
            });
        }
        _ => assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but TIDEMARK_TEST_S3_ENDPOINT is not set: the S3 conformance tests need the \
             moto server that scripts/test.sh starts"
        ),
    }
    if let Some(url) = hdfs_url(test) {
        out.push(Location::Hdfs { url });
    }
    out
}

/// A fresh folder URL on the HDFS cluster `TIDEMARK_TEST_HDFS` names
/// (`hdfs://127.0.0.1:<port>`, the MiniDFSCluster scripts/test.sh starts), or `None` when the
/// variable is unset outside CI. Under `CI=true` a missing variable, or a build without the
/// `hdfs` feature, is an error, never a silent skip.
pub fn hdfs_url(test: &str) -> Option<String> {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    match std::env::var("TIDEMARK_TEST_HDFS") {
        Ok(url) if !url.is_empty() => {
            if !cfg!(feature = "hdfs") {
                panic!(
                    "TIDEMARK_TEST_HDFS is set but the tests were built without the `hdfs` \
                     feature: run them with `--features hdfs`"
                );
            }
            Some(format!(
                "{}/tidemark-test/{test}-{}-{}",
                url.trim_end_matches('/'),
                std::process::id(),
                unique()
            ))
        }
        _ => {
            assert!(
                !ci,
                "CI=true but TIDEMARK_TEST_HDFS is not set: the HDFS store tests need the \
                 MiniDFSCluster that scripts/test.sh starts"
            );
            None
        }
    }
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fail without doing anything.
    Fail,
    /// Do the operation, then report failure (a put that landed but timed out).
    FailAfter,
    /// Report success without doing anything (a put that never landed).
    Lose,
    /// Wait, then do the operation.
    Delay(Duration),
    /// Wait, then fail without doing anything (a request that timed out).
    Timeout(Duration),
}

/// Operations a fault can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Put,
    Get,
    Head,
    List,
    Delete,
}

/// Wraps a backend: counts requests, injects planned or random faults, and can ignore
/// create-if-absent (like a server that ignores `If-None-Match`).
#[derive(Debug)]
pub struct FaultyStore {
    inner: Arc<dyn ObjectStore>,
    pub ignore_conditional: AtomicBool,
    planned: Mutex<VecDeque<(Op, Fault)>>,
    random: Mutex<Option<(u64, u32)>>,
    counts: [AtomicUsize; 5],
}

impl fmt::Display for FaultyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultyStore({})", self.inner)
    }
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn ObjectStore>) -> Arc<Self> {
        Arc::new(FaultyStore {
            inner,
            ignore_conditional: AtomicBool::new(false),
            planned: Mutex::new(VecDeque::new()),
            random: Mutex::new(None),
            counts: Default::default(),
        })
    }

    /// The next operation of kind `op` suffers `fault`.
    pub fn plan(&self, op: Op, fault: Fault) {
        self.planned.lock().unwrap().push_back((op, fault));
    }

    /// From now on each operation fails in a random way with probability `percent`%,
    /// reproducibly from `seed`; `None` stops it.
    pub fn random_faults(&self, seed_and_percent: Option<(u64, u32)>) {
        *self.random.lock().unwrap() = seed_and_percent;
    }

    pub fn count(&self, op: Op) -> usize {
        self.counts[op as usize].load(Ordering::SeqCst)
    }

    pub fn total(&self) -> usize {
        self.counts.iter().map(|c| c.load(Ordering::SeqCst)).sum()
    }

    pub fn reset_counts(&self) {
        for c in &self.counts {
            c.store(0, Ordering::SeqCst);
        }
    }

    fn fault_for(&self, op: Op) -> Option<Fault> {
        self.counts[op as usize].fetch_add(1, Ordering::SeqCst);
        let mut planned = self.planned.lock().unwrap();
        if let Some(i) = planned.iter().position(|(o, _)| *o == op) {
            return planned.remove(i).map(|(_, f)| f);
        }
        drop(planned);
        let mut random = self.random.lock().unwrap();
        let (seed, percent) = random.as_mut()?;
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let roll = (*seed >> 33) as u32;
        if roll % 100 >= *percent {
            return None;
        }
        let faults = match op {
            Op::Put => &[
                Fault::Fail,
                Fault::FailAfter,
                Fault::Lose,
                Fault::Timeout(Duration::from_millis(2)),
            ][..],
            Op::Delete => &[Fault::Fail, Fault::FailAfter, Fault::Lose][..],
            _ => &[
                Fault::Fail,
                Fault::Timeout(Duration::from_millis(2)),
                Fault::Delay(Duration::from_millis(2)),
            ][..],
        };
        Some(faults[(roll / 100) as usize % faults.len()])
    }
}

fn injected(what: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "FaultyStore",
        source: format!("injected fault: {what}").into(),
    }
}

/// Applies `fault` around `op`; `lost` is what to return for a write that "succeeds" without
/// landing.
async fn apply<T>(
    fault: Option<Fault>,
    op: impl std::future::Future<Output = object_store::Result<T>>,
    lost: impl FnOnce() -> Option<T>,
) -> object_store::Result<T> {
    match fault {
        None => op.await,
        Some(Fault::Fail) => Err(injected("fail")),
        Some(Fault::FailAfter) => {
            let _ = op.await;
            Err(injected("failed after the operation was done"))
        }
        Some(Fault::Lose) => match lost() {
            Some(v) => Ok(v),
            None => op.await,
        },
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            op.await
        }
        Some(Fault::Timeout(d)) => {
            tokio::time::sleep(d).await;
            Err(injected("timeout"))
        }
    }
}

#[async_trait]
impl ObjectStore for FaultyStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        mut opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if self.ignore_conditional.load(Ordering::SeqCst) && opts.mode == PutMode::Create {
            opts.mode = PutMode::Overwrite;
        }
        let fault = self.fault_for(Op::Put);
        apply(fault, self.inner.put_opts(location, payload, opts), || {
            Some(PutResult {
                e_tag: None,
                version: None,
                extensions: Default::default(),
            })
        })
        .await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let op = if options.head { Op::Head } else { Op::Get };
        let fault = self.fault_for(op);
        apply(fault, self.inner.get_opts(location, options), || None).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let fault = self.fault_for(Op::Delete);
        match fault {
            Some(Fault::Fail) | Some(Fault::Timeout(_)) => locations
                .map(|p| p.and(Err(injected("delete failed"))))
                .boxed(),
            Some(Fault::Lose) => locations.boxed(),
            Some(Fault::FailAfter) => {
                let inner = self.inner.delete_stream(locations);
                inner
                    .map(|r| r.and(Err(injected("delete failed after deleting"))))
                    .boxed()
            }
            _ => self.inner.delete_stream(locations),
        }
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        match self.fault_for(Op::List) {
            Some(Fault::Fail) | Some(Fault::Timeout(_)) => {
                futures::stream::once(async { Err(injected("list failed")) }).boxed()
            }
            _ => self.inner.list(prefix),
        }
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let fault = self.fault_for(Op::List);
        apply(fault, self.inner.list_with_delimiter(prefix), || None).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
