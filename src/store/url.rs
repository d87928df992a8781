//! Opening a backend from a store URL. Secrets in URLs and options are never printed.

use std::path::PathBuf;
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
use std::str::FromStr;
use std::sync::Arc;

use object_store::path::Path;
use url::Url;

use super::Timeouts;
use super::backend::Backend;
use super::backend::local::LocalBackend;
use super::backend::object::ObjectBackend;
use super::error::{Result, StoreError};

/// Which kind of backend a store URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendKind {
    /// In-process memory (`memory://`): tests and demos; gone when the process ends.
    Memory,
    /// Local disk (a path or `file:///...`), with fsync.
    Local,
    /// Amazon S3 or an S3-compatible server (`s3://bucket/prefix`).
    S3,
    /// Google Cloud Storage (`gs://bucket/prefix`).
    Gcs,
    /// Azure Blob Storage (`az://container/prefix` and the other Azure schemes).
    Azure,
    /// HDFS (`hdfs://namenode:port/path`, cargo feature `hdfs`).
    Hdfs,
    /// A store handed over with [`Store::from_object_store`](super::Store::from_object_store).
    Custom,
}

/// A backend opened from a URL.
pub(crate) struct Opened {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) root: Path,
    pub(crate) kind: BackendKind,
    /// The URL with secrets removed.
    pub(crate) display: String,
}

/// The URL with user information and query values removed, safe to print.
pub(crate) fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.scheme().len() > 1 => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            if let Some(query) = u.query() {
                let keys: Vec<String> = query
                    .split('&')
                    .filter(|kv| !kv.is_empty())
                    .map(|kv| format!("{}=***", kv.split('=').next().unwrap_or("")))
                    .collect();
                u.set_query(Some(&keys.join("&")));
            }
            u.to_string()
        }
        // A plain path holds no secrets.
        _ => url.to_owned(),
    }
}

fn invalid(url: &str, reason: impl Into<String>) -> StoreError {
    StoreError::InvalidUrl {
        url: redact(url),
        reason: reason.into(),
    }
}

/// The store locations `open` accepts, as an error message lists them.
pub(crate) const ACCEPTED_FORMS: &str = "a path, file:///path, memory://, s3://bucket/prefix, \
    gs://bucket/prefix, az://container/prefix or hdfs://namenode:port/path";

/// Whether a text that is not a URL starts like one (`s3:/bucket`, `s3:bucket`, `hdfs:/x`):
/// a scheme of two or more characters and a colon. A one-letter scheme is a Windows drive.
fn looks_like_broken_url(url: &str) -> bool {
    let Some((scheme, _)) = url.split_once(':') else {
        return false;
    };
    scheme.len() >= 2
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// Opens the backend a URL names. `options` are backend configuration keys (for S3 the
/// `AmazonS3ConfigKey` names, e.g. `endpoint`, `region`, `allow_http`), added to those in the
/// URL's query string and, for cloud stores, to the standard environment variables, with
/// `timeouts` for the object stores' requests. With `create`, a local folder is created when
/// missing; without it, a missing one is [`StoreError::StoreNotFound`].
pub(crate) fn open(
    url: &str,
    options: &[(String, String)],
    timeouts: &Timeouts,
    create: bool,
) -> Result<Opened> {
    if url.trim().is_empty() {
        return Err(invalid(url, "empty url"));
    }
    let looks_like_url = url.contains("://");
    if !looks_like_url {
        if looks_like_broken_url(url) {
            return Err(invalid(
                url,
                format!(
                    "not a path nor a URL (a URL has `://`; write ./{url} for a local folder); use {ACCEPTED_FORMS}"
                ),
            ));
        }
        return open_local(url, PathBuf::from(url), create);
    }
    let parsed = Url::parse(url).map_err(|e| invalid(url, e.to_string()))?;
    let mut all_options: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    all_options.extend(options.iter().cloned());
    let prefix = |u: &Url| -> Result<Path> {
        let path = u.path().trim_matches('/');
        let decoded =
            percent_decode(path).ok_or_else(|| invalid(url, "path is not valid UTF-8"))?;
        Path::parse(&decoded).map_err(|e| invalid(url, format!("bad path: {e}")))
    };
    match parsed.scheme() {
        "memory" => {
            reject_options(url, &all_options)?;
            let root = Path::parse(
                format!("{}{}", parsed.host_str().unwrap_or(""), parsed.path()).trim_matches('/'),
            )
            .map_err(|e| invalid(url, format!("bad path: {e}")))?;
            Ok(Opened {
                backend: Arc::new(ObjectBackend::new(Arc::new(
                    object_store::memory::InMemory::new(),
                ))),
                root,
                kind: BackendKind::Memory,
                display: redact(url),
            })
        }
        "file" => {
            reject_options(url, &all_options)?;
            if parsed
                .host_str()
                .is_some_and(|h| !h.is_empty() && h != "localhost")
            {
                return Err(invalid(
                    url,
                    "file urls must not name a host (use file:///path)",
                ));
            }
            let path = parsed
                .to_file_path()
                .map_err(|_| invalid(url, "not a local file path"))?;
            open_local(url, path, create)
        }
        "s3" | "s3a" => open_s3(url, &parsed, &all_options, timeouts, prefix(&parsed)?),
        "gs" => open_gcs(url, &parsed, &all_options, timeouts, prefix(&parsed)?),
        "az" | "adl" | "azure" | "abfs" | "abfss" => {
            open_azure(url, &parsed, &all_options, timeouts, prefix(&parsed)?)
        }
        "hdfs" | "viewfs" => open_hdfs(url, &parsed, &all_options, prefix(&parsed)?),
        other => Err(invalid(
            url,
            format!("unsupported scheme {other:?}; use {ACCEPTED_FORMS}"),
        )),
    }
}

#[allow(dead_code)] // unused when no cloud backend is compiled in
fn cloud(url: &str, backend: ObjectBackend, root: Path, kind: BackendKind) -> Result<Opened> {
    Ok(Opened {
        backend: Arc::new(backend),
        root,
        kind,
        display: redact(url),
    })
}

/// Applies configuration keys, naming (never printing the value of) an unknown key.
#[allow(dead_code)] // unused when no cloud backend is compiled in
fn configure<B>(
    url: &str,
    builder: B,
    options: &[(String, String)],
    apply: impl Fn(B, &str, String) -> std::result::Result<B, object_store::Error>,
) -> Result<B> {
    let mut builder = builder;
    for (key, value) in options {
        builder = apply(builder, &key.to_ascii_lowercase(), value.clone())
            .map_err(|_| invalid(url, format!("unknown option {key:?}")))?;
    }
    Ok(builder)
}

/// Takes the timeout keys (`timeout`, `connect_timeout`, `retries`, `retry_timeout`) out of
/// `options`, over `defaults`: the timeouts, and the other options with the two client
/// timeouts in the form `object_store`'s client keys take.
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
fn timeouts(
    url: &str,
    options: &[(String, String)],
    defaults: &Timeouts,
) -> Result<(Timeouts, Vec<(String, String)>)> {
    let mut timeouts = defaults.clone();
    let mut rest = Vec::new();
    let duration = |key: &str, value: &str| {
        parse_duration(value).ok_or_else(|| {
            invalid(
                url,
                format!("option {key:?}: cannot read {value:?} as a duration (500ms, 5s, 2m)"),
            )
        })
    };
    for (key, value) in options {
        match key.to_ascii_lowercase().as_str() {
            "timeout" => timeouts.request = duration(key, value)?,
            "connect_timeout" => timeouts.connect = duration(key, value)?,
            "retry_timeout" => timeouts.retry_timeout = duration(key, value)?,
            "retries" => {
                timeouts.retries = value.parse().map_err(|_| {
                    invalid(url, format!("option {key:?}: {value:?} is not a number"))
                })?
            }
            _ => rest.push((key.clone(), value.clone())),
        }
    }
    let ms = |d: std::time::Duration| format!("{}ms", d.as_millis());
    rest.push(("timeout".into(), ms(timeouts.request)));
    rest.push(("connect_timeout".into(), ms(timeouts.connect)));
    Ok((timeouts, rest))
}

/// `object_store`'s retry policy for these timeouts (its default backoff: 100 ms doubling
/// up to 15 s).
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
fn retry_config(timeouts: &Timeouts) -> object_store::RetryConfig {
    object_store::RetryConfig {
        max_retries: timeouts.retries,
        retry_timeout: timeouts.retry_timeout,
        ..object_store::RetryConfig::default()
    }
}

/// A duration written as whole milliseconds, seconds, minutes or hours (`500ms`, `5s`, `2m`,
/// `1h`; a bare number is seconds).
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let ms = match unit {
        "ms" => n,
        "" | "s" => n.checked_mul(1000)?,
        "m" | "min" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        _ => return None,
    };
    Some(std::time::Duration::from_millis(ms))
}

fn reject_options(url: &str, options: &[(String, String)]) -> Result<()> {
    match options.first() {
        Some((key, _)) => Err(invalid(
            url,
            format!("option {key:?} does not apply to this backend"),
        )),
        None => Ok(()),
    }
}

fn open_local(url: &str, dir: PathBuf, create: bool) -> Result<Opened> {
    if create {
        std::fs::create_dir_all(&dir)
            .map_err(|e| invalid(url, format!("cannot create folder {}: {e}", dir.display())))?;
    } else if !dir.is_dir() {
        return Err(StoreError::StoreNotFound {
            store: dir.display().to_string(),
            reason: if dir.exists() {
                "not a folder"
            } else {
                "no such folder"
            },
        });
    }
    let dir = dir
        .canonicalize()
        .map_err(|e| invalid(url, format!("cannot open folder {}: {e}", dir.display())))?;
    Ok(Opened {
        display: dir.display().to_string(),
        backend: Arc::new(LocalBackend::new(dir)),
        root: Path::default(),
        kind: BackendKind::Local,
    })
}

/// The error for a URL whose backend was left out of this build.
#[allow(dead_code)] // unused when every backend is compiled in
fn not_compiled(url: &str, scheme: &str, feature: &str) -> StoreError {
    invalid(
        url,
        format!(
            "{scheme} support is not compiled in; build tidemark with the cargo feature `{feature}`"
        ),
    )
}

/// The bucket (or container) a cloud URL names in its host part.
#[allow(dead_code)] // unused when no cloud backend is compiled in
fn bucket<'u>(url: &str, parsed: &'u Url, form: &str) -> Result<&'u str> {
    parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| invalid(url, format!("missing bucket name ({form})")))
}

#[cfg(feature = "s3")]
fn open_s3(
    url: &str,
    parsed: &Url,
    options: &[(String, String)],
    timeouts: &Timeouts,
    root: Path,
) -> Result<Opened> {
    let bucket = bucket(url, parsed, "s3://bucket/prefix")?;
    let (timeouts, options) = self::timeouts(url, options, timeouts)?;
    let builder = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_retry(retry_config(&timeouts));
    let builder = configure(url, builder, &options, |b, k, v| {
        object_store::aws::AmazonS3ConfigKey::from_str(k).map(|key| b.with_config(key, v))
    })?;
    let store = builder.build().map_err(|e| invalid(url, e.to_string()))?;
    cloud(
        url,
        ObjectBackend::new(Arc::new(store)),
        root,
        BackendKind::S3,
    )
}

#[cfg(not(feature = "s3"))]
fn open_s3(url: &str, _: &Url, _: &[(String, String)], _: &Timeouts, _: Path) -> Result<Opened> {
    Err(not_compiled(url, "s3", "s3"))
}

#[cfg(feature = "gcs")]
fn open_gcs(
    url: &str,
    parsed: &Url,
    options: &[(String, String)],
    timeouts: &Timeouts,
    root: Path,
) -> Result<Opened> {
    let bucket = bucket(url, parsed, "gs://bucket/prefix")?;
    let (timeouts, options) = self::timeouts(url, options, timeouts)?;
    let builder = object_store::gcp::GoogleCloudStorageBuilder::from_env()
        .with_bucket_name(bucket)
        .with_retry(retry_config(&timeouts));
    let builder = configure(url, builder, &options, |b, k, v| {
        object_store::gcp::GoogleConfigKey::from_str(k).map(|key| b.with_config(key, v))
    })?;
    let store = builder.build().map_err(|e| invalid(url, e.to_string()))?;
    cloud(
        url,
        ObjectBackend::new(Arc::new(store)),
        root,
        BackendKind::Gcs,
    )
}

#[cfg(not(feature = "gcs"))]
fn open_gcs(url: &str, _: &Url, _: &[(String, String)], _: &Timeouts, _: Path) -> Result<Opened> {
    Err(not_compiled(url, "gcs", "gcs"))
}

#[cfg(feature = "azure")]
fn open_azure(
    url: &str,
    parsed: &Url,
    options: &[(String, String)],
    timeouts: &Timeouts,
    root: Path,
) -> Result<Opened> {
    let mut no_query = parsed.clone();
    no_query.set_query(None);
    let (timeouts, options) = self::timeouts(url, options, timeouts)?;
    let builder = object_store::azure::MicrosoftAzureBuilder::from_env()
        .with_url(no_query.as_str())
        .with_retry(retry_config(&timeouts));
    let builder = configure(url, builder, &options, |b, k, v| {
        object_store::azure::AzureConfigKey::from_str(k).map(|key| b.with_config(key, v))
    })?;
    let store = builder.build().map_err(|e| invalid(url, e.to_string()))?;
    // For az://container/prefix the container is the host; abfs urls keep it too.
    cloud(
        url,
        ObjectBackend::new(Arc::new(store)),
        root,
        BackendKind::Azure,
    )
}

#[cfg(not(feature = "azure"))]
fn open_azure(url: &str, _: &Url, _: &[(String, String)], _: &Timeouts, _: Path) -> Result<Opened> {
    Err(not_compiled(url, "azure", "azure"))
}

#[cfg(feature = "hdfs")]
fn open_hdfs(url: &str, parsed: &Url, options: &[(String, String)], root: Path) -> Result<Opened> {
    let mut base = parsed.clone();
    base.set_path("");
    base.set_query(None);
    let store = hdfs_native_object_store::HdfsObjectStoreBuilder::new()
        .with_url(base.as_str())
        .with_config(options.iter().cloned())
        .build()
        .map_err(|e| invalid(url, e.to_string()))?;
    // A writer that crashed mid-write left a temporary file under its lease; once the lease
    // expires, a write that picks that file's name is refused until the NameNode has
    // recovered it.
    let backend = ObjectBackend::new(Arc::new(store)).retrying(hdfs_recovery_in_progress);
    cloud(url, backend, root, BackendKind::Hdfs)
}

/// Whether HDFS refused because it is recovering the lease of the file (a crashed writer's
/// temporary file, with the name object_store picked for this write): that clears by itself.
#[cfg(feature = "hdfs")]
fn hdfs_recovery_in_progress(e: &object_store::Error) -> bool {
    const RECOVERY_IN_PROGRESS: &str =
        "org.apache.hadoop.hdfs.protocol.RecoveryInProgressException";
    let object_store::Error::Generic { source, .. } = e else {
        return false;
    };
    matches!(
        source.downcast_ref::<hdfs_native::HdfsError>(),
        Some(hdfs_native::HdfsError::RPCError(class, _)) if class == RECOVERY_IN_PROGRESS
    )
}

#[cfg(not(feature = "hdfs"))]
fn open_hdfs(url: &str, _: &Url, _: &[(String, String)], _: Path) -> Result<Opened> {
    Err(not_compiled(url, "hdfs", "hdfs"))
}

/// Decodes `%XX` escapes; `None` when an escape is malformed or the result is not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_removed_from_printed_urls() {
        let shown = redact("s3://AKIA:SECRET@bucket/p?aws_secret_access_key=hunter2&region=x");
        assert!(!shown.contains("SECRET") && !shown.contains("hunter2") && !shown.contains("AKIA"));
        assert!(shown.contains("aws_secret_access_key=***"), "{shown}");
        assert_eq!(redact("/data/ckpt"), "/data/ckpt");
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let reason = |url: &str| match open(url, &[], &Timeouts::default(), true) {
            Err(StoreError::InvalidUrl { reason, .. }) => reason,
            Err(other) => panic!("{url}: {other}"),
            Ok(_) => panic!("{url} opened"),
        };
        assert!(reason("ftp://x/y").contains("unsupported scheme"));
        #[cfg(feature = "s3")]
        assert!(reason("s3:///prefix").contains("missing bucket"));
        assert!(reason("").contains("empty"));
        for broken in ["s3:/bucket/x", "s3:bucket", "hdfs:/nn/x", "gs:b"] {
            let r = reason(broken);
            assert!(
                r.contains("s3://bucket/prefix") && r.contains("./"),
                "{broken}: {r}"
            );
        }
        assert!(reason("ftp://x/y").contains("s3://bucket/prefix"));
        assert!(reason("memory://?region=x").contains("does not apply"));
        #[cfg(feature = "s3")]
        {
            let r = reason("s3://b/p?aws_secret_access_key=hunter2&bogus_key=hunter3");
            assert!(r.contains("bogus_key") && !r.contains("hunter"), "{r}");
        }
        #[cfg(feature = "s3")]
        {
            let r = reason("s3://b/p?timeout=fast");
            assert!(r.contains("\"timeout\"") && r.contains("duration"), "{r}");
            let r = reason("s3://b/p?retries=-1");
            assert!(
                r.contains("\"retries\"") && r.contains("not a number"),
                "{r}"
            );
            assert!(reason("memory://?timeout=5s").contains("does not apply"));
        }
        #[cfg(not(feature = "s3"))]
        assert!(reason("s3://b/p").contains("feature `s3`"));
        #[cfg(not(feature = "hdfs"))]
        assert!(reason("hdfs://nn:8020/x").contains("feature `hdfs`"));
    }

    #[cfg(feature = "s3")]
    #[test]
    fn durations_read_as_the_docs_say() {
        let ms = |t: &str| parse_duration(t).map(|d| d.as_millis());
        assert_eq!(ms("500ms"), Some(500));
        assert_eq!(ms("5s"), Some(5000));
        assert_eq!(ms("5"), Some(5000));
        assert_eq!(ms("2m"), Some(120_000));
        assert_eq!(ms("1h"), Some(3_600_000));
        for bad in ["", "s", "5 s", "-1s", "1.5s", "5d", "99999999999999999999h"] {
            assert_eq!(ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn urls_open_the_right_backend() {
        let o = open("memory://", &[], &Timeouts::default(), true).unwrap();
        assert_eq!(o.kind, BackendKind::Memory);
        let o = open("memory://a/b", &[], &Timeouts::default(), true).unwrap();
        assert_eq!(o.root.as_ref(), "a/b");
        #[cfg(feature = "s3")]
        {
            let o = open(
                "s3://bucket/some/prefix?endpoint=http://127.0.0.1:1&allow_http=true&region=us-east-1",
                &[],
                &Timeouts::default(),
                true,
            )
            .unwrap();
            assert_eq!((o.kind, o.root.as_ref()), (BackendKind::S3, "some/prefix"));
        }
        let dir = std::env::temp_dir().join(format!("tidemark-url-{}", std::process::id()));
        assert!(matches!(
            open(dir.to_str().unwrap(), &[], &Timeouts::default(), false),
            Err(StoreError::StoreNotFound { .. })
        ));
        assert!(!dir.exists(), "a read-only open created the folder");
        let o = open(dir.to_str().unwrap(), &[], &Timeouts::default(), true).unwrap();
        assert_eq!(o.kind, BackendKind::Local);
        let o = open(
            &format!("file://{}", dir.display()),
            &[],
            &Timeouts::default(),
            false,
        )
        .unwrap();
        assert_eq!(o.kind, BackendKind::Local);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
