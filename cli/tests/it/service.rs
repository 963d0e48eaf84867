//! `zkroll serve` through the real binary and a real HTTP client: auth, bad requests,
//! backpressure, cancellation, concurrent submissions, SIGTERM and kill -9 with restarts,
//! and (ignored, run alone by scripts/test.sh) a job proven to its final proof across a
//! kill -9, then checked with `zkroll verify --evm`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{cache_dir, run_ok, s, zkroll};

/// A running `zkroll serve`; killed (SIGKILL) when dropped.
pub(crate) struct Server {
    child: Child,
    base: String,
    token: String,
    log: PathBuf,
}

impl Server {
    pub(crate) fn start(data_dir: &Path, extra: &[&str]) -> Self {
        let log = data_dir.with_extension(format!("serve-{}.log", std::process::id()));
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let mut child = zkroll()
            .args([
                "serve",
                "--data-dir",
                s(data_dir),
                "--listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn zkroll serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the address");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "zkroll serve did not start: {line:?}; {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .to_string();
        let token = std::fs::read_to_string(data_dir.join("service/token"))
            .expect("token file")
            .trim()
            .to_string();
        Self {
            child,
            base,
            token,
            log,
        }
    }

    /// `method path` with `body`, with the token when `auth`: (status, body, Retry-After).
    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        auth: bool,
        body: Option<&str>,
    ) -> (u16, String, Option<String>) {
        let token = auth.then_some(self.token.as_str());
        request(&self.base, token, method, path, body)
    }

    pub(crate) fn json(
        &self,
        method: &str,
        path: &str,
        auth: bool,
        body: Option<&str>,
    ) -> (u16, Value) {
        let (status, text, _) = self.call(method, path, auth, body);
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: {status} {text:?} is not JSON: {e}"));
        (status, value)
    }

    pub(crate) fn job(&self, id: u64) -> Value {
        let (status, job) = self.json("GET", &format!("/v1/jobs/{id}"), false, None);
        assert_eq!(status, 200, "{job}");
        job
    }

    /// Polls job `id` until `done(job)`, at most `limit`.
    pub(crate) fn wait(&self, id: u64, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let job = self.job(id);
            if done(&job) {
                return job;
            }
            assert!(
                started.elapsed() < limit,
                "job {id} after {limit:?}: {job}\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// What it wrote on stderr (across restarts on the same data directory).
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("wait");
    }

    /// SIGTERM; the exit status.
    pub(crate) fn terminate(mut self, limit: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(zkroll_kill("-TERM", &pid), "kill -TERM {pid}");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "still running {limit:?} after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP request to the service at `base`: (status, body, Retry-After).
fn request(
    base: &str,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, String, Option<String>) {
    let mut request =
        ureq::request(method, &format!("{base}{path}")).timeout(Duration::from_secs(120));
    if let Some(token) = token {
        request = request.set("Authorization", &format!("Bearer {token}"));
    }
    let result = match body {
        Some(b) => request
            .set("Content-Type", "application/json")
            .send_string(b),
        None => request.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let status = response.status();
    let retry = response.header("Retry-After").map(str::to_string);
    (status, response.into_string().expect("body"), retry)
}

/// Sends only the headers of a submission announcing `length` body bytes; the raw answer.
fn announce_body(server: &Server, length: usize) -> String {
    use std::io::{Read, Write};
    let address = server.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "POST /v1/jobs HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n",
        server.token
    )
    .expect("write");
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // Until the body of the answer has arrived (it ends with the JSON's closing brace).
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.ends_with(b"}") {
            break;
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn zkroll_kill(signal: &str, pid: &str) -> bool {
    std::process::Command::new("kill")
        .args([signal, pid])
        .status()
        .is_ok_and(|s| s.success())
}

pub(crate) fn state_of(job: &Value) -> &str {
    job["state"].as_str().expect("state")
}

/// `zkroll gen-txs` into `root/w`: the end-to-end tests' workload (3 accounts, depth 6,
/// seed 9: two L1 deposits and no L2 transaction).
pub(crate) fn gen_workload(root: &Path) {
    gen_workload_of(root, 2);
}

/// As [`gen_workload`], with `count` slots (gen-txs: 4 are 3 L1 deposits and 1 transfer).
pub(crate) fn gen_workload_of(root: &Path, count: usize) {
    let out = root.join("w").display().to_string();
    run_ok(&[
        "gen-txs",
        "--out",
        &out,
        "--accounts",
        "3",
        "--count",
        &count.to_string(),
        "--depth",
        "6",
        "--seed",
        "9",
    ]);
}

/// A data directory `root/d` with a rollup state (3 accounts, depth 6) and two signed
/// transfers (`root/w/txs.json`), not executed yet.
pub(crate) fn fresh_state(root: &Path) -> PathBuf {
    gen_workload(root);
    init_state(root)
}

/// `zkroll state init` of `root/d` from `root/w/genesis.json`; returns `root/d`.
pub(crate) fn init_state(root: &Path) -> PathBuf {
    let p = |n: &str| root.join(n).display().to_string();
    run_ok(&[
        "state",
        "init",
        "--data-dir",
        &p("d"),
        "--genesis",
        &p("w/genesis.json"),
    ]);
    root.join("d")
}

/// Links `data`'s `params/` and `keys/` to the cache shared by the end-to-end tests
/// ([`cache_dir`]), with the parameters the chunk circuit of [`fresh_state`] (chunk size 1)
/// and the aggregation (k = 21 for Poseidon layers and a wrapper, k = 22 for the default
/// final node) need, made there when missing.
pub(crate) fn link_cached_params(data: &Path) {
    let cache = cache_dir();
    for sub in ["params", "keys"] {
        std::fs::create_dir_all(cache.join(sub)).expect("cache dir");
        std::os::unix::fs::symlink(cache.join(sub), data.join(sub)).expect("link the cache");
    }
    for k in [chunk_k(), 21, 22] {
        if !cache
            .join(format!("params/kzg_bn254_{k}.UNSAFE-dev.srs"))
            .exists()
        {
            run_ok(&["setup", "--data-dir", s(data), "--k", &k.to_string()]);
        }
    }
}

fn chunk_k() -> u32 {
    chunk_k_of(1)
}

pub(crate) fn chunk_k_of(chunk_size: usize) -> u32 {
    let info: Value = serde_json::from_str(&run_ok(&[
        "info",
        "--chunk-size",
        &chunk_size.to_string(),
        "--depth",
        "6",
        "--json",
    ]))
    .expect("json");
    info["k"].as_u64().expect("k") as u32
}

#[test]
fn service_auth_bad_requests_backpressure_cancel_and_restarts() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Without a rollup state the chain to prove must be given; with one, the flags must
    // agree with it: one line, exit 1, before listening.
    let empty = dir.path().join("empty");
    let serve = |data: &Path, extra: &[&str]| {
        zkroll()
            .args(["serve", "--data-dir", s(data), "--listen", "127.0.0.1:0"])
            .args(extra)
            .output()
            .expect("spawn")
    };
    let out = serve(&empty, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("give --chain-id, --operator and --depth"),
        "{stderr}"
    );
    let data = fresh_state(dir.path());
    let out = serve(
        &data,
        &["--chain-id", "77", "--operator", "0", "--depth", "6"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the state in"), "{stderr}");
    // A trace to submit (the state moves to batch 1; the service takes it as it is).
    let trace_path = dir.path().join("t.json");
    run_ok(&[
        "execute",
        "--data-dir",
        s(&data),
        "--txs",
        s(&dir.path().join("w/txs.json")),
        "--l1-deposits",
        s(&dir.path().join("w/l1-deposits.json")),
        "--trace",
        s(&trace_path),
    ]);
    // Chunk parameters only: jobs prove their chunks, then fail at aggregation (no k=21
    // parameters), which is the failure path to see.
    for k in [chunk_k(), chunk_k_of(2)] {
        run_ok(&["setup", "--data-dir", s(&data), "--k", &k.to_string()]);
    }
    let trace: Value =
        serde_json::from_str(&std::fs::read_to_string(&trace_path).expect("trace")).expect("json");
    let submission = serde_json::json!({ "trace": trace }).to_string();

    let server = Server::start(
        &data,
        &[
            "--chunk-size",
            "1",
            "--queue-capacity",
            "3",
            "--max-body-mib",
            "1",
            "--jobs",
            "1",
        ],
    );
    let (status, health) = server.json("GET", "/healthz", false, None);
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let (status, list) = server.json("GET", "/v1/jobs", false, None);
    assert_eq!(
        (status, list["jobs"].as_array().map(Vec::len)),
        (200, Some(0))
    );

    // Auth: mutations need the token; reads on loopback do not.
    let (status, body, _) = server.call("POST", "/v1/jobs", false, Some(&submission));
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("missing bearer token"), "{body}");
    let wrong = "0".repeat(64);
    let (status, body, _) = request(
        &server.base,
        Some(&wrong),
        "POST",
        "/v1/jobs",
        Some(&submission),
    );
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("wrong bearer token"), "{body}");

    // Bad requests: 400 (413 for size, 422 for a trace that does not check), the field named.
    let bad = |body: &str, code: u16, field: Option<&str>, needle: &str| {
        let (status, v) = server.json("POST", "/v1/jobs", true, Some(body));
        assert_eq!(status, code, "{body:.80}: {v}");
        assert_eq!(v["field"].as_str(), field, "{v}");
        assert!(
            v["error"].as_str().expect("error").contains(needle),
            "{v} lacks {needle}"
        );
    };
    bad("{\"trace\": ", 400, Some("trace"), "EOF while parsing");
    bad("not json", 400, None, "expected ident");
    bad(
        "{\"trace\": {\"header\": 5}}",
        400,
        Some("trace.header"),
        "invalid type",
    );
    bad(
        "{\"transactons\": []}",
        400,
        Some("transactons"),
        "unknown field `transactons`",
    );
    bad("{}", 400, None, "missing field `trace` or `transactions`");
    bad(
        "{\"trace\": null, \"chunk_size\": \"8\"}",
        400,
        Some("chunk_size"),
        "invalid type",
    );
    let zero = serde_json::json!({ "trace": trace, "chunk_size": 0 }).to_string();
    bad(&zero, 400, Some("chunk_size"), "must be 1..=4096");
    // Only the configured chunk size and chain: any other would have the service generate
    // keys for whatever a token holder asks.
    let other_size = serde_json::json!({ "trace": trace, "chunk_size": 2 }).to_string();
    bad(
        &other_size,
        400,
        Some("chunk_size"),
        "2: this service proves chunks of 1 slots",
    );
    for (field, value) in [("chain_id", 77), ("operator", 2), ("depth", 7)] {
        let mut foreign = trace.clone();
        foreign["header"]["config"][field] = value.into();
        let foreign = serde_json::json!({ "trace": foreign }).to_string();
        bad(
            &foreign,
            400,
            Some("trace.header.config"),
            "this service proves chain",
        );
    }
    let mut tampered = trace.clone();
    tampered["header"]["new_root"] = tampered["header"]["old_root"].clone();
    let tampered = serde_json::json!({ "trace": tampered }).to_string();
    bad(&tampered, 422, Some("trace"), "does not check");
    // Transactions of which none is accepted: no batch is recorded (L1 refuses an empty one).
    bad(
        r#"{"transactions": [{"transfer": {"from": 999, "to": 0, "amount": 5, "fee": 0, "nonce": 0, "signature": {"r8": {"x": "0x0", "y": "0x1"}, "s": "0x0"}}}]}"#,
        422,
        Some("transactions"),
        "no transaction accepted (1 submitted; tx 0 (transfer): account 999 is outside a tree of depth 6)",
    );
    // Over the size limit: refused from the announced length, before the body is read (a
    // client still sending would see the connection closed under it, so only the headers
    // are sent here).
    let response = announce_body(&server, 2 << 20);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("over 1048576 bytes"), "{response}");
    for (path, code, needle) in [
        ("/v1/jobs/abc", 400, "id: not a job number"),
        ("/v1/jobs/999", 404, "no job 999"),
        ("/v1/jobs?state=bogus", 400, "bogus: not one of"),
        ("/v2/anything", 404, "no such endpoint"),
    ] {
        let (status, v) = server.json("GET", path, false, None);
        assert_eq!(status, code, "{path}: {v}");
        assert!(
            v["error"].as_str().expect("error").contains(needle),
            "{path}: {v}"
        );
    }
    let (_, list) = server.json("GET", "/v1/jobs", false, None);
    assert_eq!(
        list["jobs"].as_array().map(Vec::len),
        Some(0),
        "a bad request made a job"
    );

    // Three jobs fill the queue (capacity 3): the fourth gets 429 with a retry hint.
    for expected in 1..=3u64 {
        let (status, v) = server.json("POST", "/v1/jobs", true, Some(&submission));
        assert_eq!((status, v["id"].as_u64()), (202, Some(expected)), "{v}");
        assert_eq!(v["chunks"].as_array().map(Vec::len), Some(2));
    }
    let (status, body, retry) = server.call("POST", "/v1/jobs", true, Some(&submission));
    assert_eq!(status, 429, "{body}");
    assert!(
        body.contains("queue full") && body.contains("retry_after_seconds"),
        "{body}"
    );
    assert_eq!(retry.as_deref(), Some("60"));
    let (status, v) = server.json("GET", "/v1/jobs/1/proof", false, None);
    assert_eq!(status, 409, "{v}");

    // Cancel a queued job: done at once, and its place is free again.
    let (status, _, _) = server.call("POST", "/v1/jobs/3/cancel", false, None);
    assert_eq!(status, 401);
    let (status, v) = server.json("POST", "/v1/jobs/3/cancel", true, None);
    assert_eq!((status, state_of(&v)), (200, "cancelled"), "{v}");
    let (status, v) = server.json("POST", "/v1/jobs/3/cancel", true, None);
    assert_eq!(status, 409, "{v}");
    let (status, v) = server.json("POST", "/v1/jobs", true, Some(&submission));
    assert_eq!((status, v["id"].as_u64()), (202, Some(4)), "{v}");

    // Job 1 proves its chunks, then fails at aggregation, naming the missing parameters.
    let failed = server.wait(1, Duration::from_secs(600), |j| state_of(j) == "failed");
    let error = failed["error"].as_str().expect("error");
    assert!(
        error.contains("aggregation") && error.contains("21"),
        "{failed}"
    );
    assert!(
        failed["chunks"]
            .as_array()
            .expect("chunks")
            .iter()
            .all(|c| c["state"] == "proven"),
        "{failed}"
    );
    // Job 2 has the same trace: its chunk proofs are on disk already and kept.
    let second = server.wait(2, Duration::from_secs(600), |j| {
        j["chunks"]
            .as_array()
            .expect("chunks")
            .iter()
            .all(|c| c["state"] == "kept")
    });
    assert_eq!(second["progress"]["chunks_done"], 2, "{second}");

    // kill -9, restart with room for more: 20 concurrent submissions, none lost.
    server.kill9();
    let server = Server::start(
        &data,
        &["--chunk-size", "1", "--queue-capacity", "40", "--jobs", "1"],
    );
    let (_, list) = server.json("GET", "/v1/jobs", false, None);
    assert_eq!(list["jobs"].as_array().map(Vec::len), Some(4), "{list}");
    let ids: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                scope.spawn(|| {
                    let (status, v) = server.json("POST", "/v1/jobs", true, Some(&submission));
                    assert_eq!(status, 202, "{v}");
                    v["id"].as_u64().expect("id")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, (5..=24).collect::<Vec<u64>>(), "ids {ids:?}");
    let (_, metrics, _) = server.call("GET", "/metrics", false, None);
    for needle in [
        "zkroll_jobs{state=\"queued\"}",
        "zkroll_proving_seconds_total{stage=\"chunk\"}",
        "zkroll_chunk_proofs_per_second",
        "zkroll_peak_memory_bytes",
        "zkroll_msm_backend{backend=\"cpu\"} 1",
        "zkroll_submissions_rejected_total 0",
    ] {
        assert!(
            metrics.contains(needle),
            "metrics lack {needle}:\n{metrics}"
        );
    }
    let total: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("zkroll_jobs{"))
        .map(|l| {
            l.rsplit(' ')
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .expect("count")
        })
        .sum();
    assert_eq!(total, 24, "{metrics}");

    // SIGTERM: stops taking work, exits 0; everything is there after the restart, and a
    // job whose cancellation was asked for stays cancelled.
    let (status, v) = server.json("POST", "/v1/jobs/24/cancel", true, None);
    assert_eq!(status, 200, "{v}");
    let status = server.terminate(Duration::from_secs(90));
    assert!(status.success(), "{status:?}");
    // Restarted for chunks of 2 slots: the jobs already accepted keep theirs.
    let server = Server::start(
        &data,
        &["--chunk-size", "2", "--queue-capacity", "40", "--jobs", "1"],
    );
    let (_, list) = server.json("GET", "/v1/jobs", false, None);
    let jobs = list["jobs"].as_array().expect("jobs");
    assert_eq!(jobs.len(), 24);
    assert_eq!(state_of(&jobs[23]), "cancelled");
    assert_eq!(state_of(&jobs[2]), "cancelled");
    let (_, queued) = server.json("GET", "/v1/jobs?state=queued", false, None);
    assert!(
        queued["jobs"].as_array().is_some_and(|q| !q.is_empty()),
        "{queued}"
    );

    // Cancel a running job: a chunk size of 2 is a new circuit (keys to make, a proof to
    // run), so the job is caught running; it stops before its next proof.
    let (status, v) = server.json("POST", "/v1/jobs", true, Some(&submission));
    assert_eq!(status, 202, "{v}");
    let id = v["id"].as_u64().expect("id");
    server.wait(id, Duration::from_secs(600), |j| state_of(j) == "running");
    let (status, v) = server.json("POST", &format!("/v1/jobs/{id}/cancel"), true, None);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["cancel_requested"], true, "{v}");
    let cancelled = server.wait(id, Duration::from_secs(600), |j| state_of(j).ne("running"));
    assert_eq!(state_of(&cancelled), "cancelled", "{cancelled}");
    assert!(cancelled["final_proof"].is_null());
}

/// The operator's path through the service: transactions submitted over HTTP, executed,
/// proven by three `zkroll worker` processes through NATS JetStream (`serve --nats`): a batch
/// of 4 chunks, then the node over the 4 chunk proofs (fan-in 4, the final EVM proof at
/// k = 21), checked by the service. The server is killed (-9) while a worker proves that node
/// and restarted: the job completes with the chunk proofs kept and the node proven once (the
/// task published again is the one still on the bus); each worker proved something. The final
/// proof is fetched, checked by `zkroll verify` and on the EVM, and the calldata the service
/// gives is the one for it. Parameters and keys come from the cache the end-to-end test uses.
#[test]
#[ignore = "an aggregation proof: ~5-10 min and ~10 GiB; run alone by scripts/test.sh"]
fn service_job_survives_kill_9_and_ends_in_a_proof_the_evm_accepts() {
    let dir = tempfile::tempdir().expect("temp dir");
    // 4 slots (3 L1 deposits, 1 transfer): 4 chunks of 1 slot.
    gen_workload_of(dir.path(), 4);
    let data = init_state(dir.path());
    link_cached_params(&data);
    let txs: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("w/txs.json")).expect("txs"))
            .expect("json");
    let submission = serde_json::json!({ "transactions": txs["transactions"] }).to_string();
    // The deposits come from L1's queue (exported by gen-txs, and queued on a devnet node),
    // the transfer over HTTP; each finished batch is submitted to the node.
    let queue = dir.path().join("w/l1-deposits.json");
    // One node over the 4 chunk proofs is the final proof (the end-to-end CLI test runs the
    // default shape over 2 chunks).
    let tree = [
        "--capacity",
        "4",
        "--fan-in",
        "4",
        "--final-node",
        "top",
        "--final-k",
        "21",
    ];
    let mut args = vec![
        "--chunk-size",
        "1",
        "--shutdown-grace",
        "5",
        "--l1-deposits",
        s(&queue),
    ];
    args.extend(tree);
    let p = |n: &str| dir.path().join(n).display().to_string();
    crate::devnet::gen_test_contracts(s(&data), &p("node-contracts"), &tree);
    let node = crate::devnet::Devnet::start();
    // Three workers on a NATS server; their keys are the cache's (keys are deterministic: a
    // new machine copies them, or generates them once).
    let nats = crate::farm::Nats::start(dir.path());
    let workers: Vec<crate::farm::Worker> = ["w1", "w2", "w3"]
        .iter()
        .map(|name| {
            std::fs::create_dir_all(dir.path().join(name)).expect("worker dir");
            std::os::unix::fs::symlink(
                cache_dir().join("keys"),
                dir.path().join(name).join("keys"),
            )
            .expect("link the keys");
            crate::farm::Worker::start(dir.path(), &nats, name, &[])
        })
        .collect();
    let logs = || -> String { workers.iter().map(crate::farm::Worker::log).collect() };
    let (operator, user) = (0, 1);
    let dep = p("deployment.json");
    crate::devnet::l1_ok(
        &node,
        operator,
        &[
            "deploy",
            "--data-dir",
            s(&data),
            "--contracts",
            &p("node-contracts"),
            "--out",
            &dep,
        ],
    );
    crate::devnet::l1_ok(
        &node,
        user,
        &["deposit", "--deployment", &dep, "--file", s(&queue)],
    );
    let mut submitting = args.clone();
    submitting.extend([
        "--l1-deployment",
        &dep,
        "--l1-rpc",
        &node.url,
        "--l1-key",
        crate::devnet::KEYS[operator].0,
        // A test chain: the development parameters' proofs are submitted and served.
        "--allow-unsafe-dev-params",
        "--nats",
        &nats.url,
    ]);

    let started = Instant::now();
    let server = Server::start(&data, &submitting);
    let (status, job) = server.json("POST", "/v1/jobs", true, Some(&submission));
    assert_eq!(status, 202, "{job}");
    assert_eq!(job["source"]["kind"], "transactions", "{job}");
    assert_eq!(job["source"]["accepted"], 4, "{job}");
    let id = job["id"].as_u64().expect("id");
    // The chunks were the workers'.
    let chunks_done = server.wait(id, Duration::from_secs(1800), |j| {
        j["chunks"]
            .as_array()
            .is_some_and(|c| c.len() == 4 && c.iter().all(|c| c["state"] == "proven"))
    });
    for chunk in chunks_done["chunks"].as_array().expect("chunks") {
        let worker = chunk["worker"].as_str().unwrap_or_default();
        assert!(workers.iter().any(|w| w.name == worker), "{chunks_done}");
    }
    // Killed while a worker proves the node.
    let proving = "proving layer 1 node 0 of job";
    let waiting = Instant::now();
    while !logs().contains(proving) {
        assert!(
            waiting.elapsed() < Duration::from_secs(1800),
            "no worker took the node:\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "a worker proves the node after {:.0} s: {chunks_done}",
        started.elapsed().as_secs_f64()
    );
    let proofs = zkroll_prover::chunks::proofs_dir(
        &data,
        job["trace_id"].as_str().expect("trace id"),
        job["chunk_size"].as_u64().expect("chunk size") as usize,
    );
    let mtime = |name: &str| {
        std::fs::metadata(proofs.join(name))
            .and_then(|m| m.modified())
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let chunk_files = [
        "chunk-0.json",
        "chunk-1.json",
        "chunk-2.json",
        "chunk-3.json",
    ];
    let before = chunk_files.map(mtime);
    server.kill9();

    let server = Server::start(&data, &submitting);
    let done = server.wait(id, Duration::from_secs(1800), |j| {
        state_of(j).ne("running") && state_of(j).ne("queued")
    });
    assert_eq!(state_of(&done), "done", "{done}");
    eprintln!(
        "done after {:.0} s: {done}",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(done["attempts"], 2, "{done}");
    assert!(
        done["chunks"]
            .as_array()
            .expect("chunks")
            .iter()
            .all(|c| c["state"] == "kept"),
        "{done}"
    );
    assert_eq!(done["layers"][0]["proven"], 1, "{done}");
    assert_eq!(
        before,
        chunk_files.map(mtime),
        "finished proofs were redone"
    );
    // The node was delivered once (the restarted service's task was the same message) and
    // proven by a worker; each worker proved something.
    let logs = logs();
    eprintln!("{logs}");
    assert_eq!(logs.matches(proving).count(), 1, "{logs}");
    assert!(
        logs.lines()
            .any(|l| l.contains("layer 1 node 0") && l.contains(") proven (")),
        "the node was not proven by a worker:\n{logs}"
    );
    for worker in &workers {
        assert!(
            worker.log().contains(") proven ("),
            "{} proved nothing:\n{logs}",
            worker.name
        );
    }
    // On L1: submitted by the service once proven (after the restart).
    let submitted = server.wait(id, Duration::from_secs(120), |j| {
        j.get("l1_tx").is_some() || j.get("l1_error").is_some()
    });
    assert!(submitted["l1_tx"].is_string(), "{submitted}");
    let status = crate::devnet::l1_ok(&node, operator, &["status", "--deployment", &dep]);
    let status: Value = serde_json::from_str(&status).expect("status");
    assert_eq!(status["batch_number"], "1", "{status}");
    assert_eq!(status["deposit_head"], "3", "{status}");

    // The proof and its calldata, over HTTP.
    let (status, bytes, _) = server.call("GET", &format!("/v1/jobs/{id}/proof"), false, None);
    assert_eq!(status, 200);
    let fetched = dir.path().join("fetched-final.json");
    std::fs::write(&fetched, &bytes).expect("write");
    assert!(run_ok(&["verify", s(&fetched), "--data-dir", s(&data)]).contains("valid final proof"));
    let evm = zkroll()
        .args(["verify", s(&fetched), "--data-dir", s(&data), "--evm"])
        .output()
        .expect("spawn");
    assert!(
        evm.status.success(),
        "{}",
        String::from_utf8_lossy(&evm.stderr)
    );
    assert!(String::from_utf8_lossy(&evm.stdout).contains("accepted on the EVM"));
    let (_, metrics, _) = server.call("GET", "/metrics", false, None);
    eprintln!("{metrics}");
    assert!(
        metrics.contains("zkroll_jobs{state=\"done\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("zkroll_proofs_total{stage=\"aggregation\"} 1"),
        "{metrics}"
    );
    // This service allows the development parameters (a test chain): their proof's calldata.
    let (status, calldata) = server.json("GET", &format!("/v1/jobs/{id}/calldata"), false, None);
    assert_eq!(status, 200, "{calldata}");
    assert_eq!(calldata["unsafe_dev_params"], true, "{calldata}");
    let file = zkroll_prover::proof_file::ProofFile::decode(bytes.as_bytes()).expect("decode");
    let expected = zkroll_verifier_contract::submit_batch_calldata(
        &file.circuit_instances(),
        &file.pubdata,
        &file.proof,
    )
    .expect("pubdata");
    assert_eq!(
        calldata["calldata"].as_str(),
        Some(format!("0x{}", hex::encode(expected)).as_str())
    );
    let status = server.terminate(Duration::from_secs(60));
    assert!(status.success(), "{status:?}");
    // Without --allow-unsafe-dev-params: no calldata for a proof made with them.
    let server = Server::start(&data, &args);
    let (status, refused) = server.json("GET", &format!("/v1/jobs/{id}/calldata"), false, None);
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("UNSAFE development parameters")),
        "{refused}"
    );
    let status = server.terminate(Duration::from_secs(60));
    assert!(status.success(), "{status:?}");
}
