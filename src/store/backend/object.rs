//! The backend over any `object_store` store: S3, GCS, Azure, HDFS, memory and stores handed
//! over with `Store::from_object_store`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::{Backend, Created, Listed, backend_error};
use crate::store::error::Result;

/// Tells a refusal that clears by itself (HDFS recovering a crashed writer's file) from one
/// that does not.
pub(crate) type IsTransient = fn(&object_store::Error) -> bool;

/// How long a write refused for a transient reason is tried again. HDFS recovers a crashed
/// writer's file at its DataNodes' next heartbeats: seconds.
const TRANSIENT_RETRY_FOR: Duration = Duration::from_secs(30);
/// The first pause before trying again; each next one doubles, up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(100);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(2);

/// An `object_store` store as a [`Backend`].
#[derive(Debug)]
pub(crate) struct ObjectBackend {
    store: Arc<dyn ObjectStore>,
    /// Writes refused with an error this accepts are tried again, for a while.
    transient: Option<IsTransient>,
}

impl ObjectBackend {
    pub(crate) fn new(store: Arc<dyn ObjectStore>) -> Self {
        ObjectBackend {
            store,
            transient: None,
        }
    }

    /// Tries writes refused with an error `transient` accepts again, for up to
    /// [`TRANSIENT_RETRY_FOR`].
    #[cfg_attr(not(feature = "hdfs"), allow(dead_code))] // HDFS is the one backend that needs it
    pub(crate) fn retrying(self, transient: IsTransient) -> Self {
        ObjectBackend {
            transient: Some(transient),
            ..self
        }
    }

    /// Writes `bytes` at `path` in `mode`, trying again while the store refuses for a
    /// transient reason.
    async fn put(&self, path: &Path, bytes: Bytes, mode: PutMode) -> object_store::Result<()> {
        let started = Instant::now();
        let mut delay = FIRST_RETRY_DELAY;
        loop {
            let options = PutOptions {
                mode: mode.clone(),
                ..PutOptions::default()
            };
            match self
                .store
                .put_opts(path, PutPayload::from(bytes.clone()), options)
                .await
            {
                Err(e)
                    if self.transient.is_some_and(|transient| transient(&e))
                        && started.elapsed() + delay <= TRANSIENT_RETRY_FOR =>
                {
                    tracing::info!(%path, error = %e, retry_in = ?delay,
                        "write refused for now, trying again");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                }
                result => return result.map(|_| ()),
            }
        }
    }
}

#[async_trait]
impl Backend for ObjectBackend {
    async fn create(&self, path: &Path, bytes: Bytes) -> Result<Created> {
        match self.put(path, bytes, PutMode::Create).await {
            Ok(_) => Ok(Created::Yes),
            Err(object_store::Error::AlreadyExists { .. }) => {
                Ok(Created::Taken(self.read(path).await?))
            }
            Err(e) => Err(backend_error("put", path, e)),
        }
    }

    async fn read(&self, path: &Path) -> Result<Option<Bytes>> {
        let result = match self.store.get(path).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(backend_error("get", path, e)),
        };
        match result.bytes().await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(backend_error("get", path, e)),
        }
    }

    async fn exists(&self, path: &Path) -> Result<bool> {
        match self.store.head(path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(backend_error("head", path, e)),
        }
    }

    async fn list(&self, dir: &Path) -> Result<Vec<Listed>> {
        let mut out = Vec::new();
        let mut objects = self.store.list(Some(dir));
        while let Some(meta) = objects
            .try_next()
            .await
            .map_err(|e| backend_error("list", dir, e))?
        {
            let Some(parts) = meta.location.prefix_match(dir) else {
                continue;
            };
            let name = parts
                .map(|p| p.as_ref().to_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push(Listed {
                name,
                modified: meta.last_modified.into(),
                size: meta.size,
            });
        }
        Ok(out)
    }

    async fn list_folders(&self, dir: &Path) -> Result<Vec<Path>> {
        let listed = self
            .store
            .list_with_delimiter(Some(dir))
            .await
            .map_err(|e| backend_error("list", dir, e))?;
        Ok(listed.common_prefixes)
    }

    async fn delete(&self, paths: Vec<Path>) -> Result<()> {
        let Some(first) = paths.first().cloned() else {
            return Ok(());
        };
        let input = futures::stream::iter(paths.into_iter().map(Ok)).boxed();
        let mut results = self.store.delete_stream(input);
        while let Some(result) = results.next().await {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(backend_error("delete", &first, e)),
            }
        }
        Ok(())
    }

    async fn write_hint(&self, path: &Path, contents: Bytes) -> Result<()> {
        self.put(path, contents, PutMode::Overwrite)
            .await
            .map_err(|e| backend_error("put", path, e))
    }
}
