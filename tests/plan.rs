//! The resume-planning table, case by case, with synthetic cluster metadata (including cases
//! no broker here can produce: records deleted below the checkpoint, partitions added in
//! place, a recreated topic).

use tidemark::plan::{
    ClusterState, DropReason, OffsetTracker, OnAheadOfLog, OnDataLoss, PlanProblem, Reason,
    ResumePolicy, StartOffset, StartPosition, plan,
};
use tidemark::{Checkpoint, Offsets};

fn checkpoint(entries: &[(&str, i32, i64)]) -> Checkpoint {
    Checkpoint::new("s", entries.iter().map(|&(t, p, o)| (t, p, o)).collect()).with_id(7)
}

/// `orders` has 3 partitions whose logs start at 100 (retention deleted 0..100) and end at
/// 1,000; `clicks` has 2 partitions, 0..50.
fn cluster() -> ClusterState {
    let mut c = ClusterState::new();
    for p in 0..3 {
        c.add_partition("orders", p, 100, 1_000);
    }
    for p in 0..2 {
        c.add_partition("clicks", p, 0, 50);
    }
    c
}

fn starts(plan: &tidemark::plan::ResumePlan) -> Vec<(&str, i32, StartOffset, Reason)> {
    plan.starts
        .iter()
        .map(|s| (s.topic.as_str(), s.partition, s.start, s.reason))
        .collect()
}

#[test]
fn first_start_begins_at_the_log_start_not_at_zero() {
    let p = plan(None, ["orders"], &cluster(), &ResumePolicy::default()).unwrap();
    assert_eq!(p.checkpoint_id, None);
    assert_eq!(
        starts(&p),
        (0..3)
            .map(|i| ("orders", i, StartOffset::Offset(100), Reason::FirstStart))
            .collect::<Vec<_>>()
    );
}

#[test]
fn first_start_at_latest_or_at_a_time() {
    let latest = ResumePolicy {
        first_start: StartPosition::Latest,
        ..ResumePolicy::default()
    };
    let p = plan(None, ["clicks"], &cluster(), &latest).unwrap();
    assert!(p.starts.iter().all(|s| s.start == StartOffset::Offset(50)));
    let at = ResumePolicy {
        first_start: StartPosition::Timestamp(1_700_000_000_000),
        ..ResumePolicy::default()
    };
    let p = plan(None, ["clicks"], &cluster(), &at).unwrap();
    assert!(
        p.starts
            .iter()
            .all(|s| s.start == StartOffset::Timestamp(1_700_000_000_000))
    );
}

#[test]
fn resumed_partitions_start_at_their_checkpointed_offset() {
    let c = checkpoint(&[("orders", 0, 100), ("orders", 1, 555), ("orders", 2, 1_000)]);
    let p = plan(Some(&c), ["orders"], &cluster(), &ResumePolicy::default()).unwrap();
    assert_eq!(p.checkpoint_id, Some(7));
    assert_eq!(
        starts(&p),
        [
            ("orders", 0, StartOffset::Offset(100), Reason::Resumed), // exactly the log start
            ("orders", 1, StartOffset::Offset(555), Reason::Resumed),
            ("orders", 2, StartOffset::Offset(1_000), Reason::Resumed), // exactly the log end
        ]
    );
    assert_eq!(p.starts[1].checkpointed, Some(555));
    assert!(p.dropped.is_empty() && p.warnings().next().is_none());
}

#[test]
fn partitions_added_since_the_checkpoint_start_per_policy() {
    let c = checkpoint(&[("orders", 0, 500)]);
    let p = plan(Some(&c), ["orders"], &cluster(), &ResumePolicy::default()).unwrap();
    assert_eq!(
        starts(&p),
        [
            ("orders", 0, StartOffset::Offset(500), Reason::Resumed),
            ("orders", 1, StartOffset::Offset(100), Reason::NewPartition),
            ("orders", 2, StartOffset::Offset(100), Reason::NewPartition),
        ]
    );
    let latest = ResumePolicy {
        new_partitions: StartPosition::Latest,
        ..ResumePolicy::default()
    };
    let p = plan(Some(&c), ["orders"], &cluster(), &latest).unwrap();
    assert_eq!(p.starts[1].start, StartOffset::Offset(1_000));
}

#[test]
fn a_newly_requested_topic_starts_as_a_first_start() {
    let c = checkpoint(&[("orders", 0, 500), ("orders", 1, 500), ("orders", 2, 500)]);
    let policy = ResumePolicy {
        first_start: StartPosition::Latest,
        ..ResumePolicy::default()
    };
    let p = plan(Some(&c), ["orders", "clicks"], &cluster(), &policy).unwrap();
    let clicks: Vec<_> = starts(&p).into_iter().filter(|s| s.0 == "clicks").collect();
    assert_eq!(
        clicks,
        [
            ("clicks", 0, StartOffset::Offset(50), Reason::NewTopic),
            ("clicks", 1, StartOffset::Offset(50), Reason::NewTopic),
        ]
    );
}

#[test]
fn an_offset_below_the_log_start_fails_by_default_naming_every_partition() {
    let c = checkpoint(&[("orders", 0, 40), ("orders", 1, 99), ("orders", 2, 500)]);
    let err = plan(Some(&c), ["orders"], &cluster(), &ResumePolicy::default()).unwrap_err();
    assert_eq!(
        err.problems,
        [
            PlanProblem::DataLoss {
                topic: "orders".into(),
                partition: 0,
                checkpointed: 40,
                log_start: 100
            },
            PlanProblem::DataLoss {
                topic: "orders".into(),
                partition: 1,
                checkpointed: 99,
                log_start: 100
            },
        ]
    );
    assert!(err.to_string().contains("below the log start"), "{err}");
}

#[test]
fn an_offset_below_the_log_start_can_start_at_earliest_with_a_warning() {
    let c = checkpoint(&[("orders", 0, 40), ("orders", 1, 500), ("orders", 2, 500)]);
    let policy = ResumePolicy {
        on_data_loss: OnDataLoss::Earliest,
        ..ResumePolicy::default()
    };
    let p = plan(Some(&c), ["orders"], &cluster(), &policy).unwrap();
    let lost = Reason::DataLoss {
        checkpointed: 40,
        log_start: 100,
    };
    assert_eq!(p.starts[0].start, StartOffset::Offset(100));
    assert_eq!(p.starts[0].reason, lost);
    assert_eq!(p.warnings().count(), 1);
    assert!(p.to_string().contains("DATA LOSS: offsets 40..100"), "{p}");
}

#[test]
fn an_offset_beyond_the_log_end_fails_or_resets_per_policy() {
    let c = checkpoint(&[
        ("orders", 0, 5_000),
        ("orders", 1, 500),
        ("orders", 2, 1_001),
    ]);
    let err = plan(Some(&c), ["orders"], &cluster(), &ResumePolicy::default()).unwrap_err();
    assert_eq!(err.problems.len(), 2);
    assert!(matches!(
        err.problems[0],
        PlanProblem::AheadOfLog {
            partition: 0,
            checkpointed: 5_000,
            log_end: 1_000,
            ..
        }
    ));
    for (position, expected) in [
        (StartPosition::Earliest, 100),
        (StartPosition::Latest, 1_000),
    ] {
        let policy = ResumePolicy {
            on_ahead_of_log: OnAheadOfLog::Reset(position),
            ..ResumePolicy::default()
        };
        let p = plan(Some(&c), ["orders"], &cluster(), &policy).unwrap();
        assert_eq!(p.starts[0].start, StartOffset::Offset(expected));
        assert_eq!(
            p.starts[0].reason,
            Reason::AheadOfLog {
                checkpointed: 5_000,
                log_end: 1_000
            }
        );
        assert_eq!(p.starts[1].reason, Reason::Resumed);
        assert_eq!(p.warnings().count(), 2);
    }
}

#[test]
fn checkpointed_partitions_gone_or_no_longer_requested_are_dropped_and_reported() {
    let c = checkpoint(&[
        ("orders", 0, 500),
        ("orders", 7, 42), // partition gone (topic recreated with fewer)
        ("legacy", 0, 9),  // topic gone from the cluster, still requested
        ("clicks", 1, 30), // no longer requested
    ]);
    let p = plan(
        Some(&c),
        ["orders", "legacy"],
        &cluster(),
        &ResumePolicy::default(),
    )
    .unwrap();
    let dropped: Vec<_> = p
        .dropped
        .iter()
        .map(|d| (d.topic.as_str(), d.partition, d.offset, d.reason))
        .collect();
    assert_eq!(
        dropped,
        [
            ("clicks", 1, 30, DropReason::NoLongerRequested),
            ("legacy", 0, 9, DropReason::GoneFromCluster),
            ("orders", 7, 42, DropReason::GoneFromCluster),
        ]
    );
    assert_eq!(p.missing_topics, ["legacy"]);
    assert!(p.carried_over().is_empty());
    assert!(!p.starts.iter().any(|s| s.partition == 7));
    let text = p.to_string();
    assert!(
        text.contains("dropped clicks/1 at offset 30: no longer requested"),
        "{text}"
    );
    assert!(text.contains("missing topic \"legacy\""), "{text}");

    let keep = ResumePolicy {
        keep_dropped: true,
        ..ResumePolicy::default()
    };
    let p = plan(Some(&c), ["orders", "legacy"], &cluster(), &keep).unwrap();
    let carried: Offsets = [("clicks", 1, 30), ("legacy", 0, 9), ("orders", 7, 42)]
        .into_iter()
        .collect();
    assert_eq!(p.carried_over(), carried);
    // The tracker puts them in every checkpoint.
    let tracker = OffsetTracker::from_plan(&p);
    assert_eq!(tracker.offsets().get("clicks", 1), Some(30));
    assert_eq!(tracker.offsets().get("orders", 0), Some(500));
}

#[test]
fn topics_are_matched_by_name_never_by_position() {
    // The checkpoint's first topic is "clicks"; the request lists "orders" first.
    let c = checkpoint(&[("clicks", 0, 10), ("clicks", 1, 20), ("orders", 0, 300)]);
    let p = plan(
        Some(&c),
        ["orders", "clicks"],
        &cluster(),
        &ResumePolicy::default(),
    )
    .unwrap();
    let get = |t: &str, part: i32| {
        p.starts
            .iter()
            .find(|s| s.topic == t && s.partition == part)
            .unwrap()
            .start
    };
    assert_eq!(get("clicks", 0), StartOffset::Offset(10));
    assert_eq!(get("clicks", 1), StartOffset::Offset(20));
    assert_eq!(get("orders", 0), StartOffset::Offset(300));
}

#[test]
fn an_upgraded_consumer_resumes_every_still_requested_partition_exactly() {
    // Version 1 consumed orders and legacy; version 2 drops legacy and adds clicks.
    let v1 = checkpoint(&[
        ("orders", 0, 111),
        ("orders", 1, 222),
        ("orders", 2, 333),
        ("legacy", 0, 9),
    ])
    .with_writer(tidemark::Writer::new(3, "app", "1.0"));
    let p = plan(
        Some(&v1),
        ["clicks", "orders"],
        &cluster(),
        &ResumePolicy::default(),
    )
    .unwrap();
    for (partition, offset) in [(0, 111), (1, 222), (2, 333)] {
        let s = p
            .starts
            .iter()
            .find(|s| s.topic == "orders" && s.partition == partition)
            .unwrap();
        assert_eq!(
            (s.start, s.reason),
            (StartOffset::Offset(offset), Reason::Resumed)
        );
    }
    assert!(
        p.starts
            .iter()
            .filter(|s| s.topic == "clicks")
            .all(|s| s.reason == Reason::NewTopic)
    );
    assert_eq!(p.dropped.len(), 1);
}

#[test]
fn the_plan_prints_as_a_table() {
    let c = checkpoint(&[("orders", 0, 500)]);
    let text = plan(Some(&c), ["orders"], &cluster(), &ResumePolicy::default())
        .unwrap()
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "resume plan from checkpoint 7:");
    assert!(lines[1].contains("topic") && lines[1].contains("reason"));
    assert!(
        lines[2].contains("orders") && lines[2].ends_with("resumed"),
        "{text}"
    );
    assert!(lines[3].ends_with("new partition"), "{text}");
}

#[test]
fn the_tracker_records_next_offsets_not_processed_ones() {
    let mut t = OffsetTracker::new([("t", 0, 5)].into_iter().collect());
    assert_eq!(t.offsets().get("t", 0), Some(5));
    t.processed("t", 0, 5);
    assert_eq!(t.offsets().get("t", 0), Some(6));
    t.processed("t", 1, 0);
    assert_eq!(t.offsets().get("t", 1), Some(1));
    t.set_next("t", 0, 100);
    t.remove("t", 1);
    assert_eq!(t.offsets(), [("t", 0, 100)].into_iter().collect());
}
