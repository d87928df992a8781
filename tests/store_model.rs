//! The store as a state machine, model-checked with proptest (issue 11): writers against the
//! fault-injecting backend, in random interleavings of commits, claims by other writers,
//! compactions, injected faults, commits cut off mid-way (the writer crashed, or the commit's
//! future dropped and the writer kept), and objects planted at any id behind the store's back
//! (damaged files, directories, staging leftovers, wrong hints). After every step:
//!
//! - no acknowledged commit is lost or changed (only compaction may delete one, and only one
//!   its report names, or any below the newest valid one when compaction failed mid-way);
//! - no writer gets `Ok` once a newer claim exists (a known claim, or one a `Fenced` error
//!   names), and a fenced writer stays fenced;
//! - a new claim's epoch is above every id acknowledged so far;
//! - `latest()` returns the newest valid checkpoint, as a full listing finds it;
//! - once the faults stop, the newest writer's commits succeed (and any writer that opens then
//!   commits).
//!
//! Runs on memory (2,000 cases by default) and local disk (200: each case there waits for
//! real fsyncs); `TIDEMARK_MODEL_CASES=N` runs N on each, `TIDEMARK_LONG=1` the long run of the
//! README (100,000 in memory, 10,000 on local disk). The default cases are the same on every
//! run (a fixed seed); the long run and `TIDEMARK_MODEL_SEED=random` draw new ones. A failure
//! prints the shrunk sequence of steps.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use object_store::ObjectStoreExt;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tidemark::Offsets;
use tidemark::store::{
    Fault, FaultInjector, ManualClock, NewCheckpoint, Op, RetentionPolicy, Store, StoreError,
    StoreOptions, StreamWriter, WriterConfig,
};
use tidemark_testkit::stores::Location;

const STREAM: &str = "m";
const SLOTS: usize = 3;
/// At most this many objects are planted per case: a writer moves past up to 16 ids per commit
/// (then it reports contention), and a directory costs it two.
const MAX_PLANTS: usize = 6;

/// One step of a case.
#[derive(Debug, Clone)]
enum Step {
    /// A writer opens in this slot (claiming the stream); the slot's old writer is dropped.
    Open(usize),
    /// The slot's writer commits.
    Commit(usize),
    /// The next backend operation of this kind suffers this fault, whichever step makes it.
    Fault(Op, Fault),
    /// From now on, a random fault in `percent`% of operations (0 stops them).
    Noise(u64, u32),
    /// The slot's writer commits, and the commit is cut off before or after its create landed;
    /// the writer is then dropped (a crash) or kept (a cancelled commit).
    Cut {
        slot: usize,
        after_write: bool,
        keep_writer: bool,
    },
    /// An object is put `above` ids past the highest id present, behind the store's back.
    Plant { above: u64, what: Plant },
    /// Compaction, with the clock two hours later: every checkpoint but the newest `keep` is
    /// old enough to go.
    Compact { keep: usize },
}

/// What [`Step::Plant`] puts.
#[derive(Debug, Clone, Copy)]
enum Plant {
    /// A zero-byte object (a cut upload).
    Empty,
    /// Bytes that are no checkpoint.
    Garbage,
    /// A valid checkpoint of another stream.
    OtherStream,
    /// A directory (local disk) or key prefix (object stores) with a checkpoint name.
    Directory,
    /// A staging file of an interrupted write of that id.
    Staging,
    /// A `_latest` hint naming that id, where nothing is.
    HintAhead,
    /// A `_latest` hint that is not one.
    HintGarbage,
}

fn step() -> impl Strategy<Value = Step> {
    let slot = 0..SLOTS;
    let fault = prop_oneof![
        Just(Fault::Fail),
        Just(Fault::FailAfter),
        Just(Fault::Lose),
        Just(Fault::Timeout(Duration::from_millis(1))),
        Just(Fault::Delay(Duration::from_millis(1))),
    ];
    let op = prop_oneof![
        Just(Op::Create),
        Just(Op::Read),
        Just(Op::Exists),
        Just(Op::List),
        Just(Op::Delete),
        Just(Op::WriteHint),
    ];
    let plant = prop_oneof![
        Just(Plant::Empty),
        Just(Plant::Garbage),
        Just(Plant::OtherStream),
        Just(Plant::Directory),
        Just(Plant::Staging),
        Just(Plant::HintAhead),
        Just(Plant::HintGarbage),
    ];
    prop_oneof![
        3 => slot.clone().prop_map(Step::Open),
        8 => slot.clone().prop_map(Step::Commit),
        3 => (op, fault).prop_map(|(op, fault)| Step::Fault(op, fault)),
        1 => (any::<u64>(), prop_oneof![Just(0u32), 5u32..30]).prop_map(|(s, p)| Step::Noise(s, p)),
        2 => (slot, any::<bool>(), any::<bool>()).prop_map(|(slot, after_write, keep_writer)| {
            Step::Cut { slot, after_write, keep_writer }
        }),
        2 => (1u64..4, plant).prop_map(|(above, what)| Step::Plant { above, what }),
        1 => (1usize..4).prop_map(|keep| Step::Compact { keep }),
    ]
}

/// A writer the model holds.
struct Held {
    writer: StreamWriter,
    /// It has been told it is fenced.
    fenced: bool,
}

/// The model: what the store must hold, whatever happened.
struct Model<'a> {
    loc: &'a Location,
    /// The store the steps use (faults injected) and one to check with (no faults).
    faulty: Store,
    clean: Store,
    injector: Arc<FaultInjector>,
    clock: Arc<ManualClock>,
    writers: Vec<Option<Held>>,
    /// Every acknowledged commit (and claim): id → (epoch, offsets).
    acked: BTreeMap<u64, (u64, Offsets)>,
    /// Acknowledged ids compaction may have deleted.
    may_be_gone: BTreeSet<u64>,
    /// The highest epoch of a claim known to exist (acknowledged, or named by a `Fenced`).
    newest_claim: u64,
    /// A claim may have landed without being acknowledged (an open failed under faults): a
    /// writer may then be fenced by an epoch the model has not seen.
    unseen_claims: bool,
    plants: usize,
    counter: i64,
}

type Checked = Result<(), TestCaseError>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(TestCaseError::fail(format!($($msg)+)));
        }
    };
}

impl<'a> Model<'a> {
    fn new(loc: &'a Location) -> Self {
        let clock = Arc::new(ManualClock::new(SystemTime::now()));
        let options = StoreOptions {
            verify_writes: Some(true),
            clock: clock.clone(),
            ..StoreOptions::default()
        };
        let clean = loc.open_with(options);
        let injector = Arc::new(FaultInjector::new());
        Model {
            loc,
            faulty: clean.with_faults(injector.clone()),
            clean,
            injector,
            clock,
            writers: (0..SLOTS).map(|_| None).collect(),
            acked: BTreeMap::new(),
            may_be_gone: BTreeSet::new(),
            newest_claim: 0,
            unseen_claims: false,
            plants: 0,
            counter: 0,
        }
    }

    fn next_offsets(&mut self) -> Offsets {
        self.counter += 1;
        [("t", 0, self.counter), ("t", 1, self.counter * 2)]
            .into_iter()
            .collect()
    }

    async fn run(&mut self, step: &Step) -> Checked {
        match step {
            Step::Open(slot) => self.open(*slot).await?,
            Step::Commit(slot) => self.commit(*slot).await?,
            Step::Fault(op, fault) => self.injector.plan(*op, *fault),
            Step::Noise(seed, percent) => self
                .injector
                .random_faults((*percent > 0).then_some((*seed, *percent))),
            Step::Cut {
                slot,
                after_write,
                keep_writer,
            } => self.cut(*slot, *after_write, *keep_writer).await?,
            Step::Plant { above, what } => self.plant(*above, *what).await,
            Step::Compact { keep } => self.compact(*keep).await?,
        }
        self.check().await
    }

    async fn open(&mut self, slot: usize) -> Checked {
        let faults = self.injector.injected_total();
        match self
            .faulty
            .writer(STREAM, WriterConfig::new("model", "1").with_host("h"))
            .await
        {
            Ok(writer) => {
                let epoch = writer.epoch();
                let top_acked = self.acked.keys().next_back().copied().unwrap_or(0);
                ensure!(
                    epoch > self.newest_claim && epoch > top_acked,
                    "claim {epoch} not above claim {} and acknowledged id {top_acked}",
                    self.newest_claim
                );
                let claim = self.clean.get(STREAM, epoch).await;
                let claim = claim.map_err(|e| TestCaseError::fail(format!("claim: {e}")))?;
                self.acked.insert(epoch, (epoch, claim.offsets));
                self.newest_claim = epoch;
                self.writers[slot] = Some(Held {
                    writer,
                    fenced: false,
                });
            }
            Err(e) => {
                ensure!(
                    self.injector.injected_total() > faults,
                    "opening failed with no fault injected: {e}"
                );
                self.unseen_claims = true;
                // The slot's writer is replaced either way: the process restarted.
                self.writers[slot] = None;
            }
        }
        Ok(())
    }

    async fn commit(&mut self, slot: usize) -> Checked {
        let offsets = self.next_offsets();
        let Some(held) = self.writers[slot].as_mut() else {
            return Ok(());
        };
        let newest_claim = self.newest_claim;
        let faults = self.injector.injected_total();
        let result = held
            .writer
            .commit(NewCheckpoint::new(offsets.clone()))
            .await;
        let faulted = self.injector.injected_total() > faults;
        self.judge(slot, offsets, newest_claim, faulted, result)
    }

    /// Checks a commit's result against the model and records it.
    fn judge(
        &mut self,
        slot: usize,
        offsets: Offsets,
        newest_claim: u64,
        faulted: bool,
        result: Result<tidemark::store::Committed, StoreError>,
    ) -> Checked {
        let held = self.writers[slot].as_mut().expect("a writer");
        let epoch = held.writer.epoch();
        match result {
            Ok(c) => {
                ensure!(
                    !held.fenced,
                    "Ok after Fenced: writer {epoch} committed {}",
                    c.id
                );
                ensure!(
                    epoch >= newest_claim,
                    "Ok after a newer claim: writer {epoch} committed {} after claim {newest_claim}",
                    c.id
                );
                ensure!(
                    !self.acked.contains_key(&c.id),
                    "id {} acknowledged twice",
                    c.id
                );
                self.acked.insert(c.id, (epoch, offsets));
            }
            Err(StoreError::Fenced { by, .. }) => {
                ensure!(
                    by.epoch > epoch,
                    "writer {epoch} fenced by epoch {} (not newer)",
                    by.epoch
                );
                ensure!(
                    by.epoch <= newest_claim || self.unseen_claims,
                    "fenced by epoch {} that no claim made",
                    by.epoch
                );
                held.fenced = true;
                self.newest_claim = self.newest_claim.max(by.epoch);
            }
            Err(e) => {
                ensure!(!held.fenced, "a fenced writer got another error: {e}");
                ensure!(
                    faulted,
                    "writer {epoch} (newest claim {newest_claim}) failed with no fault injected: {e}"
                );
            }
        }
        Ok(())
    }

    /// A commit cut off before its create (a delay there, the future dropped while it waits)
    /// or after it (the create lands but fails; or the read-back waits and is dropped).
    async fn cut(&mut self, slot: usize, after_write: bool, keep_writer: bool) -> Checked {
        let offsets = self.next_offsets();
        if self.writers[slot].is_none() {
            return Ok(());
        }
        self.injector.clear();
        let long = Duration::from_secs(3600);
        let (op, reached) = if after_write && !keep_writer {
            // The create lands, then reports failure; the process dies.
            self.injector.plan(Op::Create, Fault::FailAfter);
            (Op::Create, usize::MAX)
        } else if after_write {
            // The hint read, the create, then the read-back waits: dropped there.
            self.injector.plan(Op::Read, Fault::Delay(Duration::ZERO));
            self.injector.plan(Op::Read, Fault::Delay(long));
            (Op::Read, self.injector.seen(Op::Read) + 2)
        } else {
            self.injector.plan(Op::Create, Fault::Delay(long));
            (Op::Create, self.injector.seen(Op::Create) + 1)
        };
        let newest_claim = self.newest_claim;
        let held = self.writers[slot].as_mut().expect("a writer");
        let result = {
            let mut commit = Box::pin(held.writer.commit(NewCheckpoint::new(offsets.clone())));
            loop {
                tokio::select! {
                    result = &mut commit => break Some(result),
                    () = tokio::time::sleep(Duration::from_millis(1)) => {
                        if self.injector.seen(op) >= reached {
                            break None; // dropped mid-commit
                        }
                    }
                }
            }
        };
        self.injector.clear();
        if let Some(result) = result {
            // It finished before the cut (fenced first, say): judge it as any commit.
            self.judge(slot, offsets, newest_claim, true, result)?;
        }
        if !keep_writer {
            self.writers[slot] = None;
        }
        Ok(())
    }

    async fn plant(&mut self, above: u64, what: Plant) {
        if self.plants >= MAX_PLANTS {
            return;
        }
        self.plants += 1;
        let listing = self.clean.list(STREAM).await.expect("list");
        let top = listing.checkpoints.iter().map(|c| c.id).max().unwrap_or(0);
        let id = top + above;
        let name = format!("{id:020}.tdm");
        let bytes: Vec<u8> = match what {
            Plant::Empty => Vec::new(),
            Plant::Garbage => b"not a checkpoint".to_vec(),
            Plant::OtherStream => {
                let other = tidemark::Checkpoint::new("other", Offsets::new()).with_id(id);
                tidemark::format::encode(&other).unwrap()
            }
            Plant::Directory => {
                if let Some(dir) = self.loc.local_dir() {
                    let path = dir.join("streams").join(STREAM).join(&name);
                    if !path.exists() {
                        std::fs::create_dir_all(path).unwrap();
                    }
                    return;
                }
                return self.put(&format!("{name}/x"), b"x".to_vec()).await;
            }
            Plant::Staging => {
                let staging = match self.loc.local_dir() {
                    Some(_) => format!("{name}#1"),
                    None => format!(".{name}.tmp.1"),
                };
                return self.put(&staging, b"torn".to_vec()).await;
            }
            Plant::HintAhead => return self.put("_latest", format!("{id}\n").into_bytes()).await,
            Plant::HintGarbage => return self.put("_latest", b"x\n".to_vec()).await,
        };
        self.put(&name, bytes).await;
    }

    /// Puts an object in the stream's folder behind the store's back.
    async fn put(&self, name: &str, bytes: Vec<u8>) {
        if let Some(dir) = self.loc.local_dir() {
            let folder = dir.join("streams").join(STREAM);
            std::fs::create_dir_all(&folder).unwrap();
            // Not where a directory was planted.
            if !folder.join(name).is_dir() {
                std::fs::write(folder.join(name), bytes).unwrap();
            }
            return;
        }
        let (raw, root) = self.loc.raw();
        let path = object_store::path::Path::from(format!("{root}/streams/{STREAM}/{name}"));
        raw.put(&path, bytes.into()).await.unwrap();
    }

    async fn compact(&mut self, keep: usize) -> Checked {
        self.clock.advance(Duration::from_secs(7200));
        let newest_valid = self.newest_valid().await?;
        let mut policy = RetentionPolicy::new(Duration::from_secs(3600), keep);
        policy.temporary_grace = Duration::ZERO;
        match self.faulty.compact(STREAM, &policy, false).await {
            Ok(report) => {
                let newest = newest_valid.map(|(id, _)| id);
                ensure!(
                    report.newest_valid == newest,
                    "compaction's newest valid {:?}, the listing's {newest:?}",
                    report.newest_valid
                );
                for id in &report.deleted {
                    ensure!(
                        Some(*id) < newest,
                        "compaction deleted {id}, newest valid {newest:?}"
                    );
                    self.may_be_gone.insert(*id);
                }
            }
            // Failed mid-way (a delete done but reported failed): any checkpoint below the
            // newest valid one may be gone.
            Err(_) => {
                if let Some((newest, _)) = newest_valid {
                    self.may_be_gone
                        .extend(self.acked.range(..newest).map(|(id, _)| *id));
                }
            }
        }
        Ok(())
    }

    /// The newest valid checkpoint, by a full listing and a read of every checkpoint.
    async fn newest_valid(&self) -> Result<Option<(u64, Offsets)>, TestCaseError> {
        let listing = self.clean.list(STREAM).await;
        let listing = listing.map_err(|e| TestCaseError::fail(format!("list: {e}")))?;
        let mut ids: Vec<u64> = listing.checkpoints.iter().map(|c| c.id).collect();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        for id in ids {
            if let Ok(c) = self.clean.get(STREAM, id).await {
                return Ok(Some((id, c.offsets)));
            }
        }
        Ok(None)
    }

    /// The invariants, on the store without faults.
    async fn check(&self) -> Checked {
        for (id, (epoch, offsets)) in &self.acked {
            match self.clean.get(STREAM, *id).await {
                Ok(c) => ensure!(
                    c.writer.epoch == *epoch && &c.offsets == offsets,
                    "acknowledged checkpoint {id} changed"
                ),
                Err(StoreError::NotFound { .. }) if self.may_be_gone.contains(id) => {}
                Err(e) => return Err(TestCaseError::fail(format!("acknowledged {id}: {e}"))),
            }
        }
        let newest = self.newest_valid().await?;
        let latest = self.clean.latest(STREAM).await;
        let latest = latest.map_err(|e| TestCaseError::fail(format!("latest: {e}")))?;
        ensure!(
            latest.as_ref().map(|c| (c.id, c.offsets.clone())) == newest,
            "latest() is {:?}, the newest valid checkpoint {:?}",
            latest.map(|c| c.id),
            newest.map(|n| n.0)
        );
        if let Some(top) = self.acked.keys().next_back() {
            ensure!(
                newest.as_ref().is_some_and(|(id, _)| id >= top),
                "newest valid {newest:?} below acknowledged {top}"
            );
        }
        Ok(())
    }

    /// Once the faults stop, the newest writer commits, and so does a writer opening then;
    /// every other writer is fenced.
    async fn progress(&mut self) -> Checked {
        self.injector.clear();
        let top = (0..SLOTS)
            .filter(|&s| self.writers[s].as_ref().is_some_and(|h| !h.fenced))
            .max_by_key(|&s| self.writers[s].as_ref().map(|h| h.writer.epoch()));
        if let Some(slot) = top {
            // `judge` fails the case unless it is `Ok`, or `Fenced` by a newer claim.
            self.commit(slot).await?;
            self.check().await?;
        }
        self.open(0).await?;
        ensure!(
            self.writers[0].is_some(),
            "no writer could open once faults stopped"
        );
        self.commit(0).await?;
        let last = self.writers[0].as_ref().unwrap().writer.last_id();
        ensure!(
            self.acked.contains_key(&last),
            "a new writer could not commit"
        );
        for slot in 1..SLOTS {
            if self.writers[slot].is_some() {
                self.commit(slot).await?;
                ensure!(
                    self.writers[slot].as_ref().unwrap().fenced,
                    "an older writer was not fenced"
                );
            }
        }
        self.check().await
    }
}

/// How many cases to run: `TIDEMARK_MODEL_CASES`, else the long run's or the default count.
fn cases(default: u32, long: u32) -> u32 {
    if let Some(n) = std::env::var("TIDEMARK_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    if std::env::var("TIDEMARK_LONG").as_deref() == Ok("1") {
        long
    } else {
        default
    }
}

fn run_model(name: &str, cases: u32, location: fn() -> Location) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    // The same cases on every run of the test command (a red CI run can be repeated); the long
    // run, and `TIDEMARK_MODEL_SEED=random`, draws new ones.
    let random = std::env::var("TIDEMARK_LONG").as_deref() == Ok("1")
        || std::env::var("TIDEMARK_MODEL_SEED").as_deref() == Ok("random");
    let mut runner = if random {
        TestRunner::new(config)
    } else {
        TestRunner::new_with_rng(
            config,
            proptest::test_runner::TestRng::deterministic_rng(
                proptest::test_runner::RngAlgorithm::ChaCha,
            ),
        )
    };
    let started = Instant::now();
    let steps = proptest::collection::vec(step(), 1..40);
    let result = runner.run(&steps, |steps| {
        runtime.block_on(async {
            let loc = location();
            let mut model = Model::new(&loc);
            for step in &steps {
                model.run(step).await?;
            }
            model.progress().await
        })
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "{name}: {cases} cases in {elapsed:.1} s ({:.0} cases/s)",
        f64::from(cases) / elapsed
    );
}

#[test]
fn the_store_as_a_state_machine_in_memory() {
    run_model("memory", cases(2_000, 100_000), || {
        Location::Memory(Arc::new(object_store::memory::InMemory::new()))
    });
}

#[test]
fn the_store_as_a_state_machine_on_local_disk() {
    run_model("local disk", cases(200, 10_000), || {
        Location::Local(tempfile::tempdir().unwrap())
    });
}
