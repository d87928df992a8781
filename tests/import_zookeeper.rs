//! Importing old consumers' offsets from a real ZooKeeper (Debian's package, started by
//! scripts/test.sh, which sets `TIDEMARK_TEST_ZOOKEEPER=host:port`; without it the tests that
//! need a server are skipped with a notice, and fail when `CI=true`). The layout is written with
//! the same client crate: `/consumers/<group>/offsets/<topic>/<partition>` holding decimal text.
#![cfg(feature = "zookeeper")]

use std::time::{Duration, Instant};

use tidemark::Offsets;
use tidemark::import::{ImportError, ZOOKEEPER_TIMEOUT, read_zookeeper};
use tidemark_testkit::fixtures::unique;
use zookeeper_client::{Acls, Client, CreateMode, Error as ZkError};

/// The server's address, or `None` (after a notice) when none is configured outside CI.
fn server() -> Option<String> {
    match std::env::var("TIDEMARK_TEST_ZOOKEEPER") {
        Ok(s) if !s.is_empty() => Some(s),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but TIDEMARK_TEST_ZOOKEEPER is not set: these tests need the ZooKeeper \
                 that scripts/test.sh starts"
            );
            eprintln!(
                "skipping: TIDEMARK_TEST_ZOOKEEPER (host:port) is not set; scripts/test.sh starts \
                 a ZooKeeper and sets it"
            );
            None
        }
    }
}

async fn client(server: &str) -> Client {
    Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .connect(server)
        .await
        .unwrap()
}

/// Creates `path` with `data`, and its missing parents (empty).
async fn put(client: &Client, path: &str, data: &[u8]) {
    let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
    let parent = &path[..path.rfind('/').unwrap()];
    if !parent.is_empty() {
        client.mkdir(parent, &options).await.unwrap();
    }
    match client.create(path, data, &options).await {
        Ok(_) => {}
        Err(ZkError::NodeExists) => {
            client.set_data(path, data, None).await.unwrap();
        }
        Err(e) => panic!("create {path}: {e}"),
    }
}

/// Writes an old consumer's offsets for `group` under `root` (`""` for none), with the other
/// nodes such a consumer leaves next to them.
async fn write_group(client: &Client, root: &str, group: &str, offsets: &Offsets) {
    for (topic, partition, offset) in offsets.iter() {
        let path = format!("{root}/consumers/{group}/offsets/{topic}/{partition}");
        put(client, &path, offset.to_string().as_bytes()).await;
    }
    put(client, &format!("{root}/consumers/{group}/ids/c-1"), b"{}").await;
    put(
        client,
        &format!("{root}/consumers/{group}/owners/orders/0"),
        b"c-1",
    )
    .await;
}

fn two_topics(base: i64) -> Offsets {
    [
        ("orders", 0, base + 74_963),
        ("orders", 1, base + 74_960),
        ("orders", 2, base),
        ("payments", 0, base + 12),
        ("payments", 1, base + 7),
    ]
    .into_iter()
    .collect()
}

#[tokio::test]
async fn imports_a_group_with_two_topics() {
    let Some(server) = server() else { return };
    let zk = client(&server).await;
    let group = unique("billing");
    write_group(&zk, "", &group, &two_topics(0)).await;
    // Another group's offsets are not read.
    write_group(&zk, "", &unique("other"), &two_topics(5)).await;

    let import = read_zookeeper(&server, &group, None).await.unwrap();
    assert_eq!(import.offsets, two_topics(0));
    assert_eq!(import.group, group);
    assert_eq!(import.offsets_path, format!("/consumers/{group}/offsets"));
}

#[tokio::test]
async fn imports_under_a_chroot() {
    let Some(server) = server() else { return };
    let zk = client(&server).await;
    let chroot = format!("/{}/kafka", unique("tidemark"));
    let group = unique("billing");
    write_group(&zk, &chroot, &group, &two_topics(1_000)).await;

    let import = read_zookeeper(&server, &group, Some(&chroot))
        .await
        .unwrap();
    assert_eq!(import.offsets, two_topics(1_000));
    assert_eq!(
        import.offsets_path,
        format!("{chroot}/consumers/{group}/offsets")
    );
    // A trailing slash names the same chroot.
    let import = read_zookeeper(&server, &group, Some(&format!("{chroot}/")))
        .await
        .unwrap();
    assert_eq!(import.offsets, two_topics(1_000));

    // The same group at the root (no chroot) is another group: absent there.
    match read_zookeeper(&server, &group, None).await {
        Err(ImportError::ZookeeperGroupNotFound { missing, .. }) => {
            assert_eq!(missing, format!("/consumers/{group}"))
        }
        other => panic!("expected a missing group, got {other:?}"),
    }
}

#[tokio::test]
async fn a_missing_group_is_an_error() {
    let Some(server) = server() else { return };
    let zk = client(&server).await;
    let group = unique("never-committed");
    let err = read_zookeeper(&server, &group, None).await.unwrap_err();
    match &err {
        ImportError::ZookeeperGroupNotFound { group: g, missing } => {
            assert_eq!(g, &group);
            assert_eq!(missing, &format!("/consumers/{group}"));
        }
        other => panic!("expected a missing group, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!("consumer group {group} not found in zookeeper: /consumers/{group} does not exist")
    );

    // A group that registered consumers but never committed an offset.
    put(&zk, &format!("/consumers/{group}/ids/c-1"), b"{}").await;
    match read_zookeeper(&server, &group, None).await {
        Err(ImportError::ZookeeperGroupNotFound { missing, .. }) => {
            assert_eq!(missing, format!("/consumers/{group}/offsets"))
        }
        other => panic!("expected a missing group, got {other:?}"),
    }

    // Under a chroot that does not exist at all.
    let chroot = format!("/{}", unique("nowhere"));
    match read_zookeeper(&server, &group, Some(&chroot)).await {
        Err(ImportError::ZookeeperGroupNotFound { missing, .. }) => {
            assert_eq!(missing, format!("{chroot}/consumers/{group}"))
        }
        other => panic!("expected a missing group, got {other:?}"),
    }
}

#[tokio::test]
async fn a_non_numeric_value_is_an_error() {
    let Some(server) = server() else { return };
    let zk = client(&server).await;
    let chroot = format!("/{}", unique("tidemark"));
    let group = unique("billing");
    write_group(&zk, &chroot, &group, &two_topics(0)).await;
    let bad = format!("{chroot}/consumers/{group}/offsets/payments/1");
    put(&zk, &bad, b"74963x").await;
    match read_zookeeper(&server, &group, Some(&chroot)).await {
        Err(ImportError::ZookeeperBadOffset { path, value }) => {
            assert_eq!(path, bad);
            assert_eq!(value, "74963x");
        }
        other => panic!("expected a bad offset, got {other:?}"),
    }
    put(&zk, &bad, b"-1").await;
    assert!(matches!(
        read_zookeeper(&server, &group, Some(&chroot)).await,
        Err(ImportError::ZookeeperBadOffset { .. })
    ));
    // Surrounding whitespace (a value set by hand) is fine.
    put(&zk, &bad, b"8\n").await;
    let import = read_zookeeper(&server, &group, Some(&chroot))
        .await
        .unwrap();
    assert_eq!(import.offsets.get("payments", 1), Some(8));

    // A node under a topic that is not a partition number.
    let odd = format!("{chroot}/consumers/{group}/offsets/orders/leader");
    put(&zk, &odd, b"5").await;
    match read_zookeeper(&server, &group, Some(&chroot)).await {
        Err(ImportError::ZookeeperBadPartition { path, name }) => {
            assert_eq!(path, odd);
            assert_eq!(name, "leader");
        }
        other => panic!("expected a bad partition, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_arguments_are_refused_before_connecting() {
    // Port 1 of 127.0.0.1: nothing should be contacted for these.
    for (group, chroot, what) in [
        ("a/b", None, "group"),
        ("", None, "group"),
        ("g", Some("kafka"), "chroot"),
        ("g", Some("/a//b"), "chroot"),
    ] {
        match read_zookeeper("127.0.0.1:1", group, chroot).await {
            Err(ImportError::InvalidArgument { what: w, .. }) => assert_eq!(w, what),
            other => panic!("{group:?} {chroot:?}: expected an invalid argument, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn connection_failure_is_an_error_within_the_timeout() {
    // A port nothing listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let connect = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let err = read_zookeeper(&connect, "g", None).await.unwrap_err();
    assert!(
        started.elapsed() < ZOOKEEPER_TIMEOUT + Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    match &err {
        ImportError::ZookeeperConnect { connect: c, .. }
        | ImportError::ZookeeperTimeout { connect: c, .. } => assert_eq!(c, &connect),
        other => panic!("expected a connection failure, got {other:?}"),
    }
    assert!(err.to_string().contains(&connect), "{err}");
}
