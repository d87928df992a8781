//! Backends for the store tests: where a test's store lives, and a wrapper that counts
//! requests and injects faults.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
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
        server: crate::s3::S3Server,
        url: String,
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
            Location::S3 { server, url } => {
                options.backend_options.extend(server.options());
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
            Location::S3 { server, url } => {
                let parsed = url::Url::parse(url).unwrap();
                (
                    Arc::new(server.bucket_store()),
                    parsed.path().trim_matches('/').to_owned(),
                )
            }
            Location::Hdfs { url } => hdfs_raw(url),
        }
    }

    /// A store over the raw backend wrapped in `wrapper`.
    pub fn wrapped(&self, wrapper: &Arc<CountingStore>, options: StoreOptions) -> Store {
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

/// Leaves the file `name` in `stream`'s folder of the HDFS store at `url` as a writer that
/// crashed mid-write leaves it once the NameNode starts recovering it (a minute after the
/// writer died): created under another client's lease, data written and synced, never closed,
/// lease recovery started. Until the recovery ends (at the DataNode's next heartbeats), a
/// create of that name is refused with `RecoveryInProgressException`; this checks that it is.
/// Returns the abandoned writer: keep it until the recovery is no longer needed.
pub async fn hdfs_file_under_recovery(
    url: &str,
    stream: &str,
    name: &str,
) -> hdfs_native::file::FileWriter {
    let parsed = url::Url::parse(url).unwrap();
    let mut base = parsed.clone();
    base.set_path("");
    let client = || {
        hdfs_native::ClientBuilder::new()
            .with_url(base.as_str())
            .build()
            .unwrap()
    };
    let path = format!(
        "/{}/streams/{stream}/{name}",
        parsed.path().trim_matches('/')
    );
    let options = hdfs_native::WriteOptions::default();
    let mut crashed = client().create(&path, &options).await.unwrap();
    crashed
        .write_bytes(Bytes::from_static(b"cut off"))
        .await
        .unwrap();
    crashed.hsync().await.unwrap();
    let closed = client().recover_lease(&path).await.unwrap();
    assert!(!closed, "{path}: closed at once, nothing left to recover");
    match client().create(&path, &options).await {
        Err(hdfs_native::HdfsError::RPCError(class, _))
            if class.ends_with(".RecoveryInProgressException") => {}
        Err(other) => panic!("{path}: not under recovery: {other}"),
        Ok(_) => panic!("{path}: created again"),
    }
    crashed
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
    if let Some(server) = crate::s3::server() {
        out.push(Location::S3 {
            url: server.url(test),
            server,
        });
    }
    if let Some(url) = hdfs_url(test) {
        out.push(Location::Hdfs { url });
    }
    out
}

/// A fresh folder URL on the HDFS cluster `TIDEMARK_TEST_HDFS` names
/// (`hdfs://127.0.0.1:<port>`, the MiniDFSCluster scripts/test.sh starts), or `None` when the
/// variable is unset outside CI. Under `CI=true` a missing variable is an error, never a silent
/// skip. (This crate turns on the library's `hdfs` feature for every test.)
pub fn hdfs_url(test: &str) -> Option<String> {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    match std::env::var("TIDEMARK_TEST_HDFS") {
        Ok(url) if !url.is_empty() => Some(format!(
            "{}/tidemark-test/{test}-{}-{}",
            url.trim_end_matches('/'),
            std::process::id(),
            unique()
        )),
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

/// Requests a [`CountingStore`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Put,
    Get,
    Head,
    List,
    Delete,
}

/// Wraps an `object_store` store: counts requests by kind, and can ignore create-if-absent
/// (like a server that ignores `If-None-Match`). Faults are injected at the store's backend
/// interface instead (`Store::with_faults`, feature `fault-injection`).
#[derive(Debug)]
pub struct CountingStore {
    inner: Arc<dyn ObjectStore>,
    pub ignore_conditional: AtomicBool,
    counts: [AtomicUsize; 5],
}

impl fmt::Display for CountingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountingStore({})", self.inner)
    }
}

impl CountingStore {
    pub fn new(inner: Arc<dyn ObjectStore>) -> Arc<Self> {
        Arc::new(CountingStore {
            inner,
            ignore_conditional: AtomicBool::new(false),
            counts: Default::default(),
        })
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

    fn counted(&self, op: Op) {
        self.counts[op as usize].fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl ObjectStore for CountingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        mut opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if self.ignore_conditional.load(Ordering::SeqCst) && opts.mode == PutMode::Create {
            opts.mode = PutMode::Overwrite;
        }
        self.counted(Op::Put);
        self.inner.put_opts(location, payload, opts).await
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
        self.counted(if options.head { Op::Head } else { Op::Get });
        self.inner.get_opts(location, options).await
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
        self.counted(Op::Delete);
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.counted(Op::List);
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.counted(Op::List);
        self.inner.list_with_delimiter(prefix).await
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
