//! Distributed chunk proving through NATS JetStream: `zkroll prove --nats` and `zkroll serve
//! --nats` publish tasks, `zkroll worker` processes prove them. A `nats-server` (installed by scripts/setup.sh) is
//! started on a free loopback port per test, with its own storage, and killed at the end.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{run_ok, s, zkroll};

/// A `nats-server` with JetStream on a free loopback port; killed when dropped.
pub(crate) struct Nats {
    child: Child,
    pub(crate) url: String,
    port: u16,
    dir: PathBuf,
}

impl Nats {
    pub(crate) fn start(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("its address")
            .port();
        Self {
            child: Self::spawn(dir, port),
            url: format!("nats://127.0.0.1:{port}"),
            port,
            dir: dir.to_path_buf(),
        }
    }

    fn spawn(dir: &Path, port: u16) -> Child {
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir.join("jetstream"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server (scripts/setup.sh installs it)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nats-server did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }

    /// Kills the server (SIGKILL) and starts it again on the same port and storage.
    fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Self::spawn(&self.dir, self.port);
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `zkroll worker` with its own data directory (the test's parameters linked in, keys
/// generated there); killed (SIGKILL) when dropped. Its stderr goes to `<name>.log`.
pub(crate) struct Worker {
    child: Child,
    pub(crate) name: String,
    log: PathBuf,
}

impl Worker {
    pub(crate) fn start(root: &Path, nats: &Nats, name: &str, extra: &[&str]) -> Self {
        let data = root.join(name);
        std::fs::create_dir_all(data.join("params")).expect("worker params dir");
        for entry in std::fs::read_dir(root.join("d/params")).expect("params") {
            let path = entry.expect("entry").path();
            let link = data.join("params").join(path.file_name().expect("name"));
            std::os::unix::fs::symlink(&path, link).expect("link the parameters");
        }
        let log = root.join(format!("{name}.log"));
        let stderr = std::fs::File::create(&log).expect("log file");
        let child = zkroll()
            .args(["worker", "--nats", &nats.url, "--data-dir", s(&data)])
            .args(["--name", name])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn zkroll worker");
        let worker = Self {
            child,
            name: name.to_string(),
            log,
        };
        worker.wait_for("taking tasks", Duration::from_secs(30));
        worker
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_for(&self, needle: &str, limit: Duration) {
        let started = Instant::now();
        while !self.log().contains(needle) {
            assert!(
                started.elapsed() < limit,
                "worker {} never logged {needle:?}: {}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A state, a trace of `count` transactions, and development parameters for chunks of
/// `chunk_size` slots in `<root>/d`; returns the trace's path.
fn batch(root: &Path, count: usize, chunk_size: usize) -> PathBuf {
    let p = |n: &str| root.join(n).display().to_string();
    run_ok(&[
        "gen-txs",
        "--out",
        &p("w"),
        "--accounts",
        "4",
        "--count",
        &count.to_string(),
        "--depth",
        "6",
        "--seed",
        "11",
    ]);
    crate::service::init_state(root);
    run_ok(&[
        "execute",
        "--data-dir",
        &p("d"),
        "--txs",
        &p("w/txs.json"),
        "--l1-deposits",
        &p("w/l1-deposits.json"),
        "--trace",
        &p("t.json"),
    ]);
    let k = crate::service::chunk_k_of(chunk_size).to_string();
    run_ok(&["setup", "--data-dir", &p("d"), "--k", &k]);
    root.join("t.json")
}

/// `zkroll prove --nats` in the background; its stdout and stderr in `<root>/prove.log`.
fn prove(root: &Path, nats: &Nats, chunk_size: usize) -> Child {
    let log = std::fs::File::create(root.join("prove.log")).expect("log");
    let err = log.try_clone().expect("log");
    zkroll()
        .args(["prove", "--data-dir", s(&root.join("d")), "--trace"])
        .arg(root.join("t.json"))
        .args(["--chunk-size", &chunk_size.to_string(), "--nats", &nats.url])
        .stdout(log)
        .stderr(err)
        .spawn()
        .expect("spawn zkroll prove")
}

/// Waits for `child` (at most `limit`) and returns whether it succeeded and its log.
fn finish(root: &Path, mut child: Child, limit: Duration) -> (bool, String) {
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(root.join("prove.log")).unwrap_or_default();
    (status.is_some_and(|s| s.success()), log)
}

/// Three workers prove every chunk of a batch, each some of them; the proofs on disk are
/// valid (the coordinator checks each one); a second run finds them all and publishes nothing.
#[test]
fn three_workers_prove_a_batch_each_its_share() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    batch(root, 8, 1);
    let nats = Nats::start(root);
    let workers: Vec<Worker> = ["w1", "w2", "w3"]
        .iter()
        .map(|name| Worker::start(root, &nats, name, &[]))
        .collect();
    let (ok, log) = finish(root, prove(root, &nats, 1), Duration::from_secs(180));
    assert!(ok, "{log}");
    let line = log
        .lines()
        .find(|l| l.contains("chunks:"))
        .expect("summary line");
    let chunks: usize = line
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("chunk count");
    assert!(
        line.contains(&format!("{chunks} chunks: {chunks} proven by workers")),
        "{line}"
    );
    for w in &workers {
        assert!(
            line.contains(&format!("{}: ", w.name)),
            "worker {} proved nothing: {line}; {}",
            w.name,
            w.log()
        );
    }
    let proofs = std::fs::read_dir(root.join("d/proofs"))
        .expect("proofs")
        .flat_map(|e| std::fs::read_dir(e.expect("entry").path()).expect("dir"))
        .count();
    assert_eq!(proofs, chunks);
    let (ok, log) = finish(root, prove(root, &nats, 1), Duration::from_secs(60));
    assert!(ok, "{log}");
    assert!(
        log.contains("0 chunk tasks published")
            && log.contains(&format!("{chunks} already on disk")),
        "{log}"
    );
}

/// A worker killed (SIGKILL) in the middle of a proof: its task goes to another worker once
/// the ack wait (3 s) passes without its heartbeat, and the batch completes; no chunk is
/// proven twice.
#[test]
fn a_worker_killed_mid_proof_is_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    batch(root, 8, 4);
    let nats = Nats::start(root);
    let mut victim = Worker::start(root, &nats, "victim", &["--ack-wait", "3"]);
    let prover = prove(root, &nats, 4);
    victim.wait_for("proving chunk", Duration::from_secs(60));
    victim.child.kill().expect("kill -9 the worker");
    let _ = victim.child.wait();
    let killed_log = victim.log();
    let killed_line = killed_log
        .lines()
        .rev()
        .find(|l| l.contains("proving chunk"))
        .expect("the proof it was making")
        .to_string();
    let survivor = Worker::start(root, &nats, "survivor", &[]);
    let (ok, log) = finish(root, prover, Duration::from_secs(180));
    assert!(ok, "{log}\n{}", survivor.log());
    let chunk = killed_line
        .split("proving chunk ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("chunk index");
    assert!(
        log.contains(&format!("chunk {chunk}: proven by survivor")),
        "chunk {chunk} (the killed worker's) was not proven by the survivor: {log}"
    );
    // Each chunk proven once: by the victim before it died, or by the survivor.
    let all = format!("{killed_log}{}", survivor.log());
    let mut proven = proven_chunks(&all);
    let total = proven.len();
    proven.sort_unstable();
    proven.dedup();
    assert_eq!(proven.len(), total, "a chunk was proven twice: {all}");
}

/// A task that fails on every delivery (the worker has no parameters for it) goes to the
/// dead-letter stream after --max-deliver deliveries, and the coordinator stops with the
/// reason in one line and a non-zero exit.
#[test]
fn a_task_failing_every_time_is_a_dead_letter_with_its_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    batch(root, 2, 1);
    let nats = Nats::start(root);
    let worker = Worker::start(root, &nats, "solo", &["--max-deliver", "2"]);
    // This worker's parameters are gone: every delivery fails.
    std::fs::remove_dir_all(root.join("solo/params")).expect("remove the parameters");
    let (ok, log) = finish(root, prove(root, &nats, 1), Duration::from_secs(60));
    assert!(!ok, "the prover succeeded: {log}");
    let last = log.lines().last().unwrap_or_default();
    assert!(
        last.contains("given up after 2 deliveries (worker solo)") && last.contains("parameters"),
        "{last}\n{}",
        worker.log()
    );
    assert!(!log.contains("panicked"), "{log}");
}

/// Tasks go by memory class: a worker whose --memory-limit fits no class of the batch's tasks
/// takes none of them (a task it took and gave back would count as a delivery, and end as a
/// dead letter), and a worker with the memory proves them all.
#[test]
fn a_worker_takes_only_the_tasks_it_has_memory_for() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    batch(root, 4, 1);
    let nats = Nats::start(root);
    // 0.1 GiB: below the smallest class (256 MiB).
    let small = Worker::start(root, &nats, "small", &["--memory-limit", "0.1"]);
    assert!(
        small.log().contains("no memory class fits"),
        "{}",
        small.log()
    );
    let mut prover = prove(root, &nats, 1);
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        prover.try_wait().expect("wait").is_none(),
        "the coordinator stopped: {}",
        std::fs::read_to_string(root.join("prove.log")).unwrap_or_default()
    );
    let big = Worker::start(root, &nats, "big", &[]);
    let (ok, log) = finish(root, prover, Duration::from_secs(120));
    assert!(ok, "{log}\n{}", big.log());
    assert!(
        !small.log().contains("chunk") && proven_chunks(&big.log()).len() >= 2,
        "small: {}\nbig: {}",
        small.log(),
        big.log()
    );
}

/// The chunks a worker's log says it proved (not found proven), in order.
fn proven_chunks(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.ends_with(" s)") && l.contains(") proven ("))
        .filter_map(|l| Some(l.split("chunk ").nth(1)?.split(' ').next()?.to_string()))
        .collect()
}

/// The coordinator killed (SIGKILL) mid-job and started again: it takes the results already
/// on the bus and publishes the chunks still missing, which the server drops as duplicates
/// of the tasks still queued: every chunk is proven exactly once and no task is delivered
/// twice.
#[test]
fn a_killed_coordinator_resumes_with_no_task_lost_or_doubled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    // Chunks of 4 slots (~1 s a proof): most are still queued when the coordinator dies.
    batch(root, 24, 4);
    let nats = Nats::start(root);
    let worker = Worker::start(root, &nats, "w1", &[]);
    let mut first = prove(root, &nats, 4);
    let started = Instant::now();
    while !std::fs::read_to_string(root.join("prove.log"))
        .unwrap_or_default()
        .contains("proven by")
    {
        assert!(started.elapsed() < Duration::from_secs(60), "no result");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().expect("kill -9 the coordinator");
    let _ = first.wait();
    let (ok, log) = finish(root, prove(root, &nats, 4), Duration::from_secs(120));
    assert!(ok, "{log}\n{}", worker.log());
    let chunks: usize = log
        .lines()
        .find(|l| l.contains("chunks:"))
        .and_then(|l| l.split(' ').next()?.parse().ok())
        .expect("summary line");
    assert!(log.contains("found on the bus"), "{log}");
    let mut proven = proven_chunks(&worker.log());
    assert_eq!(proven.len(), chunks, "{}", worker.log());
    proven.sort_unstable();
    proven.dedup();
    assert_eq!(
        proven.len(),
        chunks,
        "a chunk proven twice: {}",
        worker.log()
    );
    // A task published twice would still be queued: the worker would take it within a few
    // seconds and find it proven.
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !worker.log().contains("was proven already"),
        "a task was delivered twice: {}",
        worker.log()
    );
}

/// nats-server killed and started again (file storage) while a worker proves: the worker
/// and the coordinator reconnect, and the job completes.
#[test]
fn the_job_completes_across_a_nats_server_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    batch(root, 8, 4);
    let mut nats = Nats::start(root);
    let worker = Worker::start(root, &nats, "w1", &["--ack-wait", "3"]);
    let prover = prove(root, &nats, 4);
    worker.wait_for("proving chunk", Duration::from_secs(60));
    nats.restart();
    let (ok, log) = finish(root, prover, Duration::from_secs(180));
    assert!(ok, "{log}\n{}", worker.log());
    assert!(log.contains("proven by workers"), "{log}");
}

/// `zkroll serve --nats` as the coordinator of three workers. A job whose tasks fail on every
/// delivery (the workers' parameters are gone) is failed with the dead letter's reason, and
/// the service goes on to the next job once the workers are whole again: its chunks are
/// proven by the workers, each some, and recorded with the worker's name in the job store. The
/// service is killed (-9) after the first of them and started again: it resumes from its
/// store and the stream, and no chunk is proven twice. (The job then fails at aggregation,
/// for want of its parameters: aggregation is the ignored end-to-end test's part.)
#[test]
fn serve_with_nats_fails_a_dead_job_alone_and_resumes_after_kill_9() {
    use crate::service::{state_of, Server};

    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    // Two batches of the same chain: A (2 transactions) and B (8, and the L1 deposits).
    let trace_a = batch(&root.join("a"), 2, 1);
    let trace_b = batch(root, 8, 1);
    let submission = |path: &Path| {
        let trace: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("trace")).expect("json");
        serde_json::json!({ "trace": trace }).to_string()
    };
    let nats = Nats::start(root);
    let workers: Vec<Worker> = ["w1", "w2", "w3"]
        .iter()
        .map(|name| Worker::start(root, &nats, name, &["--max-deliver", "2"]))
        .collect();
    let args = [
        "--chunk-size",
        "1",
        "--nats",
        &nats.url,
        "--max-deliver",
        "2",
    ];
    let data = root.join("d");
    let server = Server::start(&data, &args);

    // Job A: every delivery fails; the job fails with the reason, in the store.
    for w in &workers {
        std::fs::rename(
            root.join(&w.name).join("params"),
            root.join(&w.name).join("off"),
        )
        .expect("hide the parameters");
    }
    let (status, job) = server.json("POST", "/v1/jobs", true, Some(&submission(&trace_a)));
    assert_eq!(status, 202, "{job}");
    let a = job["id"].as_u64().expect("id");
    let failed = server.wait(a, Duration::from_secs(120), |j| state_of(j) == "failed");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("given up after 2 deliveries") && error.contains("parameters"),
        "{failed}"
    );

    // Job B: proven by the workers, across a kill -9 of the service.
    for w in &workers {
        std::fs::rename(
            root.join(&w.name).join("off"),
            root.join(&w.name).join("params"),
        )
        .expect("restore the parameters");
    }
    let (status, job) = server.json("POST", "/v1/jobs", true, Some(&submission(&trace_b)));
    assert_eq!(status, 202, "{job}");
    let b = job["id"].as_u64().expect("id");
    let trace_id = job["trace_id"].as_str().expect("trace id").to_string();
    server.wait(b, Duration::from_secs(120), |j| {
        j["chunks"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["state"] == "proven"))
    });
    server.kill9();
    let server = Server::start(&data, &args);
    let done = server.wait(b, Duration::from_secs(180), |j| state_of(j) == "failed");
    let log = server.log();
    assert!(
        done["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("aggregation")),
        "{done}\n{log}"
    );
    assert_eq!(done["attempts"], 2, "{done}");
    let chunks = done["chunks"].as_array().expect("chunks");
    assert_eq!(
        chunks.len() as u64,
        done["steps"].as_u64().expect("steps"),
        "{done}"
    );
    let mut by_worker = std::collections::BTreeMap::<String, usize>::new();
    for chunk in chunks {
        match chunk["state"].as_str() {
            Some("proven") => {
                *by_worker
                    .entry(chunk["worker"].as_str().expect("worker").to_string())
                    .or_default() += 1
            }
            // Proven before the kill and checked on disk after the restart.
            Some("kept") => {}
            _ => panic!("chunk not proven: {done}"),
        }
    }
    let logs: String = workers.iter().map(Worker::log).collect();
    for w in &workers {
        assert!(
            w.log()
                .lines()
                .any(|l| l.contains(&trace_id) && l.contains(") proven (")),
            "worker {} proved nothing of job B (in the store: {by_worker:?}):\n{logs}",
            w.name
        );
    }
    // Each chunk of B proven once, by whichever worker took it.
    let of_b: String = logs
        .lines()
        .filter(|l| l.contains(&trace_id))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut proven = proven_chunks(&of_b);
    assert_eq!(proven.len(), chunks.len(), "{of_b}");
    proven.sort_unstable();
    proven.dedup();
    assert_eq!(proven.len(), chunks.len(), "a chunk proven twice: {of_b}");
}
