//! The offsets of Kafka's old (ZooKeeper-based) consumers.
//!
//! Before Kafka 0.9 moved offsets into the `__consumer_offsets` topic, consumers kept them in
//! ZooKeeper, one node per partition, holding the next offset to consume as decimal text:
//!
//! ```text
//! /consumers/<group>/offsets/<topic>/<partition>   "74963"
//! ```
//!
//! Clusters often share one ZooKeeper ensemble under a chroot (`/kafka`), which prefixes every
//! path.

use std::future::Future;
use std::time::Duration;

use zookeeper_client::{Client, Error as ZkError};

use super::ImportError;
use crate::Offsets;

/// How long connecting, and then each ZooKeeper request, may take before the import fails with
/// [`ImportError::ZookeeperTimeout`].
pub const ZOOKEEPER_TIMEOUT: Duration = Duration::from_secs(10);

/// The offsets of one consumer group, as read by [`read_zookeeper`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ZookeeperImport {
    /// The consumer group.
    pub group: String,
    /// The node read, with the chroot: `<chroot>/consumers/<group>/offsets`.
    pub offsets_path: String,
    /// Next offset to consume for every partition of every topic under the group's offsets.
    pub offsets: Offsets,
}

/// Reads a consumer group's offsets from ZooKeeper's old-consumer layout,
/// `<chroot>/consumers/<group>/offsets/<topic>/<partition>`.
///
/// `connect` is a ZooKeeper connect string, `host:port` or several separated by commas.
/// `chroot` (e.g. `/kafka`) prefixes every path; it replaces a chroot written in `connect`.
/// Topics without partition nodes are skipped. Connecting, and each request, time out after
/// [`ZOOKEEPER_TIMEOUT`]. Only reads; the session is closed when the function returns.
///
/// Fails with [`ImportError::ZookeeperGroupNotFound`] when the group (or its `offsets` node)
/// does not exist, [`ImportError::ZookeeperBadPartition`] or
/// [`ImportError::ZookeeperBadOffset`] for a node that is not a partition offset, and
/// [`ImportError::ZookeeperConnect`] / [`ImportError::ZookeeperTimeout`] when ZooKeeper cannot
/// be reached.
///
/// Needs a Tokio runtime (for its timeouts).
pub async fn read_zookeeper(
    connect: &str,
    group: &str,
    chroot: Option<&str>,
) -> Result<ZookeeperImport, ImportError> {
    check_group(group)?;
    let chroot = match chroot {
        Some(c) => check_chroot(c)?,
        None => None,
    };
    let zk = Zk::connect(connect, chroot).await?;

    let group_path = format!("/consumers/{group}");
    let offsets_path = format!("{group_path}/offsets");
    let topics = match zk.list(&offsets_path).await? {
        Some(topics) => topics,
        None => {
            let missing = if zk.exists(&group_path).await? {
                &offsets_path
            } else {
                &group_path
            };
            return Err(ImportError::ZookeeperGroupNotFound {
                group: group.to_owned(),
                missing: zk.full(missing),
            });
        }
    };
    let mut offsets = Offsets::new();
    for topic in topics {
        let topic_path = format!("{offsets_path}/{topic}");
        // A topic deleted while we read has no partitions left to import.
        let partitions = zk.list(&topic_path).await?.unwrap_or_default();
        for name in partitions {
            let path = format!("{topic_path}/{name}");
            let partition =
                parse_partition(&name).ok_or_else(|| ImportError::ZookeeperBadPartition {
                    path: zk.full(&path),
                    name: name.clone(),
                })?;
            let Some(data) = zk.get(&path).await? else {
                continue; // deleted while we read
            };
            let offset = parse_offset(&data).ok_or_else(|| ImportError::ZookeeperBadOffset {
                path: zk.full(&path),
                value: String::from_utf8_lossy(&data).into_owned(),
            })?;
            offsets.insert(topic.clone(), partition, offset);
        }
    }
    Ok(ZookeeperImport {
        group: group.to_owned(),
        offsets_path: zk.full(&offsets_path),
        offsets,
    })
}

/// Writes `offsets` where Kafka's old consumers kept them and Burrow and other monitors read
/// them, `/consumers/<group>/offsets/<topic>/<partition>` (decimal text, the next offset to
/// consume; under `chroot` when given, created if missing), creating the nodes that are
/// missing and overwriting the others. Returns the offsets folder's full path. Each node is written on its own (no
/// ZooKeeper transaction): a failure part way leaves the nodes before it written.
pub async fn write_zookeeper(
    connect: &str,
    group: &str,
    chroot: Option<&str>,
    offsets: &Offsets,
) -> Result<String, ImportError> {
    check_group(group)?;
    let chroot = match chroot {
        Some(c) => check_chroot(c)?,
        None => None,
    };
    for (topic, _) in offsets.topics() {
        check_topic(topic)?;
    }
    if let Some(root) = &chroot {
        Zk::connect(connect, None)
            .await?
            .create_path(root, None)
            .await?;
    }
    let zk = Zk::connect(connect, chroot).await?;
    let offsets_path = format!("/consumers/{group}/offsets");
    for (topic, partition, offset) in offsets.iter() {
        let path = format!("{offsets_path}/{topic}/{partition}");
        zk.put(&path, offset.to_string().as_bytes()).await?;
    }
    Ok(zk.full(&offsets_path))
}

/// A topic name that is one ZooKeeper path segment.
fn check_topic(topic: &str) -> Result<(), ImportError> {
    if topic.contains('/') || topic == "." || topic == ".." || topic.chars().any(char::is_control) {
        return Err(ImportError::InvalidArgument {
            what: "topic",
            value: topic.to_owned(),
            reason: "cannot be a zookeeper path segment",
        });
    }
    Ok(())
}

fn check_group(group: &str) -> Result<(), ImportError> {
    let reason = if group.is_empty() {
        "is empty"
    } else if group.contains('/') {
        "contains '/'"
    } else if group == "." || group == ".." {
        "is a relative path segment"
    } else if group.chars().any(char::is_control) {
        "contains control characters"
    } else {
        return Ok(());
    };
    Err(ImportError::InvalidArgument {
        what: "group",
        value: group.to_owned(),
        reason,
    })
}

/// The chroot without a trailing `/`, or `None` for `/`.
fn check_chroot(chroot: &str) -> Result<Option<String>, ImportError> {
    let invalid = |reason| ImportError::InvalidArgument {
        what: "chroot",
        value: chroot.to_owned(),
        reason,
    };
    let Some(rest) = chroot.strip_prefix('/') else {
        return Err(invalid("must start with '/'"));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Ok(None);
    }
    for segment in rest.split('/') {
        if segment.is_empty() {
            return Err(invalid("has an empty path segment"));
        }
        if segment == "." || segment == ".." {
            return Err(invalid("has a relative path segment"));
        }
        if segment.chars().any(char::is_control) {
            return Err(invalid("contains control characters"));
        }
    }
    Ok(Some(format!("/{rest}")))
}

fn parse_partition(name: &str) -> Option<i32> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// Decimal text, surrounding whitespace allowed (values set by hand often end in a newline).
fn parse_offset(data: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(data).ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A connected client with the connect string and chroot, for timeouts and error paths.
struct Zk {
    client: Client,
    connect: String,
    chroot: String,
}

impl Zk {
    async fn connect(connect: &str, chroot: Option<String>) -> Result<Zk, ImportError> {
        let connecting = Client::connector()
            .with_session_timeout(ZOOKEEPER_TIMEOUT)
            .with_fail_eagerly()
            .connect(connect);
        let client = tokio::time::timeout(ZOOKEEPER_TIMEOUT, connecting)
            .await
            .map_err(|_| ImportError::ZookeeperTimeout {
                connect: connect.to_owned(),
                operation: "connect",
                path: "/".to_owned(),
                after: ZOOKEEPER_TIMEOUT,
            })?
            .map_err(|source| ImportError::ZookeeperConnect {
                connect: connect.to_owned(),
                source,
            })?;
        let client = match &chroot {
            Some(c) => client
                .chroot(c.as_str())
                .map_err(|_| ImportError::InvalidArgument {
                    what: "chroot",
                    value: c.clone(),
                    reason: "is not a valid zookeeper path",
                })?,
            None => client,
        };
        Ok(Zk {
            client,
            connect: connect.to_owned(),
            chroot: chroot.unwrap_or_default(),
        })
    }

    /// `path` with the chroot, as ZooKeeper's other tools show it.
    fn full(&self, path: &str) -> String {
        format!("{}{path}", self.chroot)
    }

    /// Runs one request with the timeout; `Ok(None)` when the node does not exist.
    async fn call<T>(
        &self,
        operation: &'static str,
        path: &str,
        request: impl Future<Output = Result<T, ZkError>>,
    ) -> Result<Option<T>, ImportError> {
        match tokio::time::timeout(ZOOKEEPER_TIMEOUT, request).await {
            Err(_) => Err(ImportError::ZookeeperTimeout {
                connect: self.connect.clone(),
                operation,
                path: self.full(path),
                after: ZOOKEEPER_TIMEOUT,
            }),
            Ok(Ok(value)) => Ok(Some(value)),
            Ok(Err(ZkError::NoNode)) => Ok(None),
            Ok(Err(source)) => Err(ImportError::Zookeeper {
                operation,
                path: self.full(path),
                source,
            }),
        }
    }

    /// The children of a node, sorted.
    async fn list(&self, path: &str) -> Result<Option<Vec<String>>, ImportError> {
        let children = self
            .call("list", path, self.client.list_children(path))
            .await?;
        Ok(children.map(|mut c| {
            c.sort();
            c
        }))
    }

    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, ImportError> {
        let data = self.call("get", path, self.client.get_data(path)).await?;
        Ok(data.map(|(data, _stat)| data))
    }

    /// Sets a node's data, creating it and its missing parents (persistent, open ACL).
    async fn put(&self, path: &str, data: &[u8]) -> Result<(), ImportError> {
        let set = self.client.set_data(path, data, None);
        if self.call("set", path, set).await?.is_some() {
            return Ok(());
        }
        self.create_path(path, Some(data)).await
    }

    /// Creates the missing nodes of `path` (persistent, open ACL), the last one holding `data`
    /// (set when it exists already); with no data, an existing node is left as it is.
    async fn create_path(&self, path: &str, data: Option<&[u8]>) -> Result<(), ImportError> {
        use zookeeper_client::{Acls, CreateMode};
        let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
        let mut parent = String::new();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        for (i, segment) in segments.iter().enumerate() {
            parent.push('/');
            parent.push_str(segment);
            let last = i + 1 == segments.len();
            let bytes: &[u8] = if last { data.unwrap_or_default() } else { b"" };
            match tokio::time::timeout(
                ZOOKEEPER_TIMEOUT,
                self.client.create(&parent, bytes, &options),
            )
            .await
            {
                Err(_) => {
                    return Err(ImportError::ZookeeperTimeout {
                        connect: self.connect.clone(),
                        operation: "create",
                        path: self.full(&parent),
                        after: ZOOKEEPER_TIMEOUT,
                    });
                }
                Ok(Ok(_)) => {}
                Ok(Err(ZkError::NodeExists)) => {
                    // Created by someone else in between: set it.
                    if let (true, Some(data)) = (last, data) {
                        let set = self.client.set_data(path, data, None);
                        self.call("set", path, set).await?;
                    }
                }
                Ok(Err(source)) => {
                    return Err(ImportError::Zookeeper {
                        operation: "create",
                        path: self.full(&parent),
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    async fn exists(&self, path: &str) -> Result<bool, ImportError> {
        let stat = self
            .call("exists", path, self.client.check_stat(path))
            .await?;
        Ok(stat.flatten().is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_groups_and_chroots() {
        assert!(check_group("billing.v2-x_y").is_ok());
        for bad in ["", "a/b", ".", "..", "a\nb"] {
            assert!(
                matches!(
                    check_group(bad),
                    Err(ImportError::InvalidArgument { what: "group", .. })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(check_chroot("/kafka").unwrap().as_deref(), Some("/kafka"));
        assert_eq!(check_chroot("/a/b/").unwrap().as_deref(), Some("/a/b"));
        assert_eq!(check_chroot("/").unwrap(), None);
        for bad in ["kafka", "", "/a//b", "/a/../b", "/./a"] {
            assert!(
                matches!(
                    check_chroot(bad),
                    Err(ImportError::InvalidArgument { what: "chroot", .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn parses_partitions_and_offsets() {
        assert_eq!(parse_partition("0"), Some(0));
        assert_eq!(parse_partition("12"), Some(12));
        for bad in ["", "-1", "+1", "x", "2147483648", " 1"] {
            assert_eq!(parse_partition(bad), None, "{bad:?}");
        }
        assert_eq!(parse_offset(b"74963"), Some(74_963));
        assert_eq!(parse_offset(b" 5\n"), Some(5));
        assert_eq!(parse_offset(b"0"), Some(0));
        for bad in [
            &b""[..],
            b"-1",
            b"1.5",
            b"abc",
            b"\xff",
            b"9223372036854775808",
        ] {
            assert_eq!(parse_offset(bad), None, "{bad:?}");
        }
    }
}
