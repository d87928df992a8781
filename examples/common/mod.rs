//! Helpers shared by the Kafka examples: command-line options and the sink file.
#![allow(dead_code, unreachable_pub)] // shared by several test crates, each using a part

use std::time::Duration;

/// Options of the examples:
///
/// ```text
/// --brokers HOST:PORT   Kafka bootstrap servers           (default 127.0.0.1:9092)
/// --topic NAME          topic to consume                  (default orders)
/// --group NAME          consumer group, for mirroring      (default tidemark-example)
/// --store URL           checkpoint store: folder or URL   (default ./checkpoints)
/// --stream NAME         checkpoint stream                 (default the group)
/// --sink FILE           output file                       (default ./sink.txt)
/// --batch N             messages per batch                (default 500)
/// --group-protocol P    classic or consumer (KIP-848)     (default librdkafka's: classic)
/// --exit-at-end         stop once every partition is read to the end it had at start
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    pub brokers: String,
    pub topic: String,
    pub group: String,
    pub store: String,
    pub stream: String,
    pub sink: String,
    pub batch: usize,
    pub exit_at_end: bool,
    pub group_protocol: Option<String>,
}

impl Options {
    pub fn from_args() -> Options {
        let mut o = Options {
            brokers: "127.0.0.1:9092".into(),
            topic: "orders".into(),
            group: "tidemark-example".into(),
            store: "./checkpoints".into(),
            stream: String::new(),
            sink: "./sink.txt".into(),
            batch: 500,
            exit_at_end: false,
            group_protocol: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let mut value = || {
                args.next().unwrap_or_else(|| {
                    eprintln!("{flag} needs a value");
                    std::process::exit(2)
                })
            };
            match flag.as_str() {
                "--brokers" => o.brokers = value(),
                "--topic" => o.topic = value(),
                "--group" => o.group = value(),
                "--store" => o.store = value(),
                "--stream" => o.stream = value(),
                "--sink" => o.sink = value(),
                "--batch" => {
                    o.batch = value().parse().unwrap_or_else(|_| {
                        eprintln!("--batch needs a positive number");
                        std::process::exit(2)
                    })
                }
                "--exit-at-end" => o.exit_at_end = true,
                "--group-protocol" => o.group_protocol = Some(value()),
                other => {
                    eprintln!("unknown option {other}; see the comment at the top of the example");
                    std::process::exit(2)
                }
            }
        }
        if o.stream.is_empty() {
            o.stream = o.group.clone();
        }
        o
    }

    pub fn consumer_config(&self) -> rdkafka::ClientConfig {
        let mut c = rdkafka::ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("group.id", &self.group)
            // tidemark decides where to start and when offsets are committed.
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "error");
        if let Some(protocol) = &self.group_protocol {
            c.set("group.protocol", protocol);
        }
        c
    }
}

pub const TIMEOUT: Duration = Duration::from_secs(10);

/// One sink line per message: `<topic> <partition> <offset> <payload>`.
pub fn sink_line(topic: &str, partition: i32, offset: i64, payload: &[u8]) -> String {
    format!(
        "{topic} {partition} {offset} {}\n",
        String::from_utf8_lossy(payload)
    )
}

/// Whether every partition has reached the end it had when we started.
pub fn at_end(next: &tidemark::Offsets, ends: &tidemark::Offsets) -> bool {
    ends.iter()
        .all(|(t, p, end)| next.get(t, p).unwrap_or(0) >= end)
}

/// Plans where `topic` resumes from `latest` (the default policy), assigns the partitions,
/// prints the plan on stderr, and returns the offset tracker with the log end every planned
/// partition had at the start (see [`at_end`]).
pub fn resume_topic<K, C>(
    consumer: &K,
    latest: Option<&tidemark::Checkpoint>,
    topic: &str,
) -> Result<(tidemark::plan::OffsetTracker, tidemark::Offsets), Box<dyn std::error::Error>>
where
    K: rdkafka::consumer::Consumer<C>,
    C: rdkafka::consumer::ConsumerContext,
{
    let (plan, tracker) = tidemark::kafka::resume(
        consumer,
        latest,
        &[topic],
        &tidemark::plan::ResumePolicy::default(),
        TIMEOUT,
    )?;
    eprint!("{plan}");
    Ok((tracker, ends(&plan)))
}

/// The log end of every planned partition, from the plan's watermarks.
pub fn ends(plan: &tidemark::plan::ResumePlan) -> tidemark::Offsets {
    plan.starts
        .iter()
        .map(|s| (s.topic.clone(), s.partition, s.watermarks.high))
        .collect()
}
