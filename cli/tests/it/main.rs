//! End-to-end tests of the `zkroll` binary: the command flow, bad inputs (one-line errors,
//! non-zero exit, state untouched), and crash safety under `kill -9`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod devnet;
mod farm;
mod service;

fn zkroll() -> Command {
    Command::new(env!("CARGO_BIN_EXE_zkroll"))
}

fn run_ok(args: &[&str]) -> String {
    let out = zkroll().args(args).output().expect("spawn zkroll");
    assert!(
        out.status.success(),
        "zkroll {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command expected to fail: non-zero exit, exactly one line on stderr that contains
/// every `needles`, no panic.
fn run_err(args: &[&str], needles: &[&str]) -> Output {
    let out = zkroll().args(args).output().expect("spawn zkroll");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "zkroll {args:?} succeeded");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "zkroll {args:?} panicked: {stderr}"
    );
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{args:?}: {stderr:?} lacks {needle:?}"
        );
    }
    out
}

struct Demo {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Demo {
    fn new(count: usize, invalid: usize) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_path_buf();
        let (count, invalid) = (count.to_string(), invalid.to_string());
        run_ok(&[
            "gen-txs",
            "--out",
            s(&root),
            "--accounts",
            "8",
            "--count",
            &count,
            "--invalid",
            &invalid,
            "--seed",
            "3",
        ]);
        Self { _dir: dir, root }
    }

    fn path(&self, name: &str) -> String {
        self.root.join(name).display().to_string()
    }

    fn init(&self, data_dir: &str) {
        run_ok(&[
            "state",
            "init",
            "--data-dir",
            data_dir,
            "--genesis",
            &self.path("genesis.json"),
        ]);
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn root_of(data_dir: &str) -> String {
    let out = run_ok(&["state", "show", "--data-dir", data_dir, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    v["root"].as_str().expect("root").to_string()
}

#[test]
fn init_execute_check_flow() {
    let demo = Demo::new(40, 3);
    let data = demo.path("state");
    demo.init(&data);
    let out = run_ok(&[
        "execute",
        "--data-dir",
        &data,
        "--txs",
        &demo.path("txs.json"),
        "--l1-deposits",
        &demo.path("l1-deposits.json"),
        "--trace",
        &demo.path("t.json"),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(report["accepted"], 40);
    assert_eq!(report["rejected"].as_array().expect("array").len(), 3);
    assert!(run_ok(&["trace", "check", &demo.path("t.json")]).contains("trace OK"));
    // The stored copy exports to the same trace, and the binary form checks as well.
    run_ok(&[
        "trace",
        "export",
        "--data-dir",
        &data,
        "--batch",
        "0",
        "--out",
        &demo.path("t.bin"),
        "--format",
        "bin",
    ]);
    assert!(run_ok(&["trace", "check", &demo.path("t.bin")]).contains("trace OK"));
    assert_eq!(report["new_root"].as_str(), Some(root_of(&data).as_str()));
    run_ok(&["state", "check", "--data-dir", &data]);
}

#[test]
fn wallet_keys_sign_transactions_the_engine_accepts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = |n: &str| dir.path().join(n).display().to_string();
    run_ok(&["wallet", "new", "--out", &p("op.json")]);
    run_ok(&[
        "wallet",
        "new",
        "--out",
        &p("alice.json"),
        "--private-key",
        "0001020304050607080900010203040506070809000102030405060708090001",
    ]);
    let alice: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("alice.json")).expect("read"))
            .expect("json");
    // The key zk-kit derives from this private key (engine/tests/vectors/eddsa.json).
    assert_eq!(
        alice["public_key"]["x"].as_str(),
        Some("0x1d5ac1f31407018b7d413a4f52c8f74463b30e6ac2238220ad8b254de4eaa3a2")
    );
    run_ok(&[
        "state",
        "init",
        "--data-dir",
        &p("state"),
        "--operator-key",
        &p("op.json"),
        "--chain-id",
        "5",
    ]);
    let pk = &alice["public_key"];
    // A deposit sent to the operator is refused (deposits come only from L1's queue), the
    // state untouched; the same deposit queued on L1 is executed.
    let deposit = serde_json::json!({"transactions": [{"deposit": {"account": 7, "public_key": pk, "amount": 1000}}]});
    std::fs::write(p("dep.json"), deposit.to_string()).expect("write");
    run_err(
        &[
            "execute",
            "--data-dir",
            &p("state"),
            "--txs",
            &p("dep.json"),
        ],
        &["dep.json", "transaction 0 is a deposit", "L1 queue"],
    );
    let queue = serde_json::json!({"deposits": [{"index": 0, "account": 7, "public_key": pk, "amount": 1000}]});
    std::fs::write(p("queue.json"), queue.to_string()).expect("write");
    std::fs::write(p("none.json"), r#"{"transactions": []}"#).expect("write");
    let out = run_ok(&[
        "execute",
        "--data-dir",
        &p("state"),
        "--txs",
        &p("none.json"),
        "--l1-deposits",
        &p("queue.json"),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(report["l1_deposits"], 1, "{out}");
    std::fs::write(
        p("unsigned.json"),
        r#"{"withdraw": {"from": 7, "amount": 300, "fee": 2, "nonce": 0, "recipient": "0x00000000000000000000000000000000000000aa"}}"#,
    )
    .expect("write");
    run_ok(&[
        "wallet",
        "sign",
        "--key",
        &p("alice.json"),
        "--tx",
        &p("unsigned.json"),
        "--chain-id",
        "5",
        "--out",
        &p("signed.json"),
    ]);
    let signed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("signed.json")).expect("read"))
            .expect("json");
    std::fs::write(
        p("batch.json"),
        serde_json::json!({"transactions": [signed]}).to_string(),
    )
    .expect("write");
    // The whole queue again: its entry 0 is consumed already, so skipped.
    let out = run_ok(&[
        "execute",
        "--data-dir",
        &p("state"),
        "--txs",
        &p("batch.json"),
        "--l1-deposits",
        &p("queue.json"),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(report["accepted"], 1, "{out}");
    assert_eq!(report["l1_deposits"], 0, "{out}");
    assert_eq!(report["withdrawals"], 1);
    // A queue export that skips an entry is refused, naming the file.
    let gap = serde_json::json!({"deposits": [{"index": 2, "account": 7, "public_key": pk, "amount": 5}]});
    std::fs::write(p("gap.json"), gap.to_string()).expect("write");
    run_err(
        &[
            "execute",
            "--data-dir",
            &p("state"),
            "--txs",
            &p("none.json"),
            "--l1-deposits",
            &p("gap.json"),
        ],
        &["gap.json", "entry 2 where entry 1 was expected"],
    );
}

#[test]
fn bad_inputs_are_one_line_errors_and_leave_the_state_alone() {
    let demo = Demo::new(10, 0);
    let data = demo.path("state");
    demo.init(&data);
    let root = root_of(&data);
    let write = |name: &str, text: &str| {
        std::fs::write(demo.root.join(name), text).expect("write");
        demo.path(name)
    };
    let malformed = write("malformed.json", "{\"transactions\": [");
    run_err(
        &["execute", "--data-dir", &data, "--txs", &malformed],
        &["malformed.json", "EOF"],
    );
    let wrong_field = write(
        "wrong.json",
        r#"{"transactions": [{"deposit": {"account": 1, "amount": 5, "pubkey": 1}}]}"#,
    );
    run_err(
        &["execute", "--data-dir", &data, "--txs", &wrong_field],
        &["wrong.json", "pubkey"],
    );
    let bad_number = write(
        "neg.json",
        r#"{"transactions": [{"transfer": {"from": 1, "to": 2, "amount": -5, "fee": 0, "nonce": 0, "signature": {"r8": {"x": "0x0", "y": "0x1"}, "s": "0x0"}}}]}"#,
    );
    run_err(
        &["execute", "--data-dir", &data, "--txs", &bad_number],
        &["neg.json", "-5"],
    );
    let big_s = write(
        "bigs.json",
        r#"{"transactions": [{"transfer": {"from": 1, "to": 2, "amount": 5, "fee": 0, "nonce": 0, "signature": {"r8": {"x": "0x0", "y": "0x1"}, "s": "0x060c89ce5c263405370a08b6d0302b0bab3eedb83920ee0a677297dc392126f1"}}}]}"#,
    );
    run_err(
        &["execute", "--data-dir", &data, "--txs", &big_s],
        &["bigs.json", "modulus"],
    );
    run_err(
        &[
            "execute",
            "--data-dir",
            &data,
            "--txs",
            &demo.path("missing.json"),
        ],
        &["missing.json"],
    );
    run_err(
        &[
            "execute",
            "--data-dir",
            &demo.path("nostate"),
            "--txs",
            &demo.path("txs.json"),
            "--l1-deposits",
            &demo.path("l1-deposits.json"),
        ],
        &["nostate", "state init"],
    );
    run_err(&["trace", "check", &malformed], &["malformed.json"]);
    run_err(
        &[
            "trace",
            "check",
            &write("garbage.bin", "ZKRT\x01\0\0\0garbage"),
        ],
        &["garbage.bin"],
    );
    run_err(
        &[
            "state",
            "init",
            "--data-dir",
            &data,
            "--genesis",
            &demo.path("genesis.json"),
        ],
        &["already holds a state"],
    );
    run_err(
        &["wallet", "sign", "--key", &malformed, "--tx", &malformed],
        &["malformed.json"],
    );
    // An unknown account is a rejected transaction, not a failure of the command; a batch
    // in which nothing is accepted is not recorded (L1 refuses an empty batch): the
    // rejections on stdout, one line naming the file on stderr, exit 1.
    let unknown = write(
        "unknown.json",
        r#"{"transactions": [{"transfer": {"from": 999, "to": 0, "amount": 5, "fee": 0, "nonce": 0, "signature": {"r8": {"x": "0x0", "y": "0x1"}, "s": "0x0"}}}]}"#,
    );
    let batches = |data: &str| {
        let out = run_ok(&["state", "show", "--data-dir", data, "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        v["batches"].as_u64().expect("batches")
    };
    let before = batches(&data);
    let out = run_err(
        &["execute", "--data-dir", &data, "--txs", &unknown],
        &[
            "unknown.json",
            "no transaction accepted",
            "nothing recorded",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("account 999 does not exist"), "{stdout}");
    assert_eq!(batches(&data), before, "an empty batch was recorded");
    run_err(
        &["state", "show", "--data-dir", &data, "--account", "999"],
        &["--account 999", "no such account"],
    );
    assert!(
        run_ok(&["state", "show", "--data-dir", &data, "--account", "0"]).contains("balance 0")
    );
    assert_eq!(root_of(&data), root);
    run_ok(&["state", "check", "--data-dir", &data]);
    // Tree shapes that cannot be built are refused before anything is read.
    for (extra, expected) in [
        (&["--capacity", "8", "--fan-in", "4"][..], "--capacity 8"),
        (&["--capacity", "2", "--fan-in", "4"][..], "fan-in 4"),
        (&["--fan-in", "1"][..], "--fan-in 1"),
    ] {
        let mut args = vec!["aggregate", "--data-dir", &data, "--proofs", &data];
        args.extend_from_slice(extra);
        run_err(&args, &[expected]);
    }
}

/// A reader of stdout that has gone (`zkroll ... | head -1`) ends the output quietly in
/// every subcommand that prints: exit 0, nothing on stderr, no panic, and the command's work
/// done all the same (the batch is recorded, the file written).
#[test]
fn a_closed_stdout_ends_the_output_quietly() {
    let demo = Demo::new(6, 1);
    let data = demo.path("state");
    let closed = |args: &[&str]| {
        // A pipe whose read end is closed before zkroll starts: its first write fails.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = zkroll()
            .args(args)
            .stdout(writer)
            .output()
            .expect("spawn zkroll");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "zkroll {args:?} with stdout closed: {:?}, stderr {stderr:?}",
            out.status
        );
    };
    closed(&[
        "gen-txs",
        "--out",
        &demo.path("more"),
        "--accounts",
        "2",
        "--count",
        "2",
    ]);
    closed(&[
        "state",
        "init",
        "--data-dir",
        &data,
        "--genesis",
        &demo.path("genesis.json"),
    ]);
    let txs = demo.path("txs.json");
    closed(&[
        "execute",
        "--data-dir",
        &data,
        "--txs",
        &txs,
        "--l1-deposits",
        &demo.path("l1-deposits.json"),
        "--trace",
        &demo.path("t.json"),
    ]);
    closed(&["trace", "check", &demo.path("t.json")]);
    closed(&["trace", "check", &demo.path("t.json"), "--json"]);
    closed(&["state", "show", "--data-dir", &data]);
    closed(&["state", "show", "--data-dir", &data, "--account", "0"]);
    closed(&["state", "check", "--data-dir", &data]);
    closed(&["wallet", "new", "--out", &demo.path("w.json")]);
    closed(&["info", "--chunk-size", "1"]);
    // The work was done although nobody read the report.
    assert!(run_ok(&["state", "show", "--data-dir", &data]).contains("batches   1"));
    assert!(run_ok(&["trace", "check", &demo.path("t.json")]).contains("trace OK"));
    assert!(Path::new(&demo.path("w.json")).exists());
}

/// `kill -9` at many moments of a batch: reopening always finds the old or the new state,
/// never a half-applied one, and re-running the batch after an interrupted run gives the
/// same root as an uninterrupted one.
#[test]
fn killed_mid_batch_the_state_is_the_previous_or_the_next() {
    let demo = Demo::new(1500, 0);
    let reference = demo.path("reference");
    demo.init(&reference);
    let old_root = root_of(&reference);
    let started = std::time::Instant::now();
    run_ok(&[
        "execute",
        "--data-dir",
        &reference,
        "--txs",
        &demo.path("txs.json"),
        "--l1-deposits",
        &demo.path("l1-deposits.json"),
    ]);
    let full = started.elapsed();
    let new_root = root_of(&reference);
    assert_ne!(old_root, new_root);

    let (mut saw_old, mut saw_new) = (0, 0);
    for attempt in 0..8u32 {
        let data = demo.path(&format!("state{attempt}"));
        demo.init(&data);
        let mut child = zkroll()
            .args([
                "execute",
                "--data-dir",
                &data,
                "--txs",
                &demo.path("txs.json"),
                "--l1-deposits",
                &demo.path("l1-deposits.json"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        // Spread the kills over the whole run, including its very end (the commit).
        std::thread::sleep(full.mul_f64(0.05 + 0.12 * attempt as f64));
        let _ = child.kill();
        let _ = child.wait();
        run_ok(&["state", "check", "--data-dir", &data]);
        let root = root_of(&data);
        if root == old_root {
            saw_old += 1;
            run_ok(&[
                "execute",
                "--data-dir",
                &data,
                "--txs",
                &demo.path("txs.json"),
                "--l1-deposits",
                &demo.path("l1-deposits.json"),
            ]);
            assert_eq!(root_of(&data), new_root, "re-run after a kill diverged");
        } else {
            assert_eq!(root, new_root, "attempt {attempt}: half-applied state");
            saw_new += 1;
        }
    }
    assert!(saw_old > 0, "no kill landed before the commit");
    eprintln!("kills: {saw_old} before the commit, {saw_new} after");
}

#[test]
fn info_reports_the_circuit() {
    let out = run_ok(&["info", "--chunk-size", "2", "--depth", "8", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["chunk_size"], 2);
    let cells = v["cells_per_slot"].as_u64().expect("cells");
    let gated = v["gate_cells_per_slot"].as_u64().expect("gate cells");
    assert!(
        cells > 10_000 && gated > 0 && gated < cells,
        "{cells} {gated}"
    );
    assert!(v["k"].as_u64().expect("k") >= 10);
    let text = run_ok(&["info", "--chunk-size", "2", "--depth", "8"]);
    assert!(
        text.contains("cells per slot") && text.contains("EdDSA"),
        "{text}"
    );
    run_err(&["info", "--chunk-size", "0"], &["--chunk-size"]);
    run_err(&["info", "--depth", "40"], &["--depth"]);
}

#[test]
fn setup_writes_development_parameters() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().display().to_string();
    let out = run_ok(&["setup", "--data-dir", &data, "--k", "6"]);
    assert!(out.contains("kzg_bn254_6.UNSAFE-dev.srs"), "{out}");
    let file = dir.path().join("params").join("kzg_bn254_6.UNSAFE-dev.srs");
    // k (4 bytes), 2 * 64 G1 points of 64 bytes, 2 G2 points of 128 bytes.
    assert_eq!(
        std::fs::metadata(&file).expect("written").len(),
        4 + 2 * 64 * 64 + 2 * 128
    );
    run_err(&["setup", "--data-dir", &data, "--k", "0"], &["--k 0"]);
    // Import the file just written (as a ceremony's), downsized; damaged and missing files
    // are one-line errors.
    let src = file.display().to_string();
    let out = run_ok(&["setup", "--data-dir", &data, "--import", &src, "--k", "4"]);
    assert!(out.contains("kzg_bn254_4.srs"), "{out}");
    run_err(
        &["setup", "--data-dir", &data, "--import", &src, "--k", "7"],
        &["k=6", "k=7"],
    );
    let mut damaged = std::fs::read(&file).expect("read");
    damaged.truncate(1000);
    let bad = dir.path().join("bad.srs");
    std::fs::write(&bad, damaged).expect("write");
    run_err(
        &[
            "setup",
            "--data-dir",
            &data,
            "--import",
            &bad.display().to_string(),
        ],
        &["bad.srs", "1000 bytes"],
    );
    run_err(
        &["setup", "--data-dir", &data, "--import", "/nonexistent.srs"],
        &["/nonexistent.srs"],
    );
}

/// Prove a small batch in two chunks, verify both, resume after deleting one, and reject
/// tampered and unusable proof files with the right exit codes.
#[test]
fn prove_verify_resume_and_reject() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = |n: &str| dir.path().join(n).display().to_string();
    run_ok(&[
        "gen-txs",
        "--out",
        &p("w"),
        "--accounts",
        "3",
        "--count",
        "3",
        "--depth",
        "6",
        "--seed",
        "5",
    ]);
    crate::service::init_state(dir.path());
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
    let info: serde_json::Value = serde_json::from_str(&run_ok(&[
        "info",
        "--chunk-size",
        "2",
        "--depth",
        "6",
        "--json",
    ]))
    .expect("json");
    let k = info["k"].as_u64().expect("k").to_string();
    run_ok(&["setup", "--data-dir", &p("d"), "--k", &k]);
    let out = run_ok(&[
        "prove",
        "--data-dir",
        &p("d"),
        "--trace",
        &p("t.json"),
        "--chunk-size",
        "2",
    ]);
    assert!(
        out.contains("2 chunks: 2 proven, 0 already on disk"),
        "{out}"
    );
    let proofs: Vec<PathBuf> = std::fs::read_dir(dir.path().join("d/proofs"))
        .expect("proofs dir")
        .flat_map(|e| std::fs::read_dir(e.expect("entry").path()).expect("trace dir"))
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(proofs.len(), 2);
    for proof in &proofs {
        let out = run_ok(&["verify", s(proof), "--data-dir", &p("d")]);
        assert!(out.contains("valid proof"), "{out}");
        assert!(
            out.contains("parameters k") && out.contains("UNSAFE development parameters"),
            "{out}"
        );
    }
    // Checked against the deployment, not the configuration the file states: another chain
    // id (flag), or the data directory of another chain, is exit 1 with one line.
    let mut genesis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("w/genesis.json")).expect("genesis"))
            .expect("json");
    let chain = genesis["config"]["chain_id"].as_u64().expect("chain id");
    genesis["config"]["chain_id"] = (chain + 1).into();
    std::fs::write(p("other-genesis.json"), genesis.to_string()).expect("write");
    run_ok(&[
        "state",
        "init",
        "--data-dir",
        &p("other"),
        "--genesis",
        &p("other-genesis.json"),
    ]);
    let other_chain = (chain + 1).to_string();
    for args in [
        vec!["--data-dir", &p("d"), "--chain-id", &other_chain],
        vec!["--data-dir", &p("d"), "--operator", "1"],
        vec!["--data-dir", &p("other")],
    ] {
        let out = zkroll()
            .arg("verify")
            .arg(&proofs[0])
            .args(&args)
            .output()
            .expect("spawn");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("this deployment is chain"), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
    // Resume: only the deleted chunk is proven again, this time with the GPU MSM backend
    // (on the machine's OpenCL device, PoCL in CI; the CPU engine with a warning where there
    // is none), and the new proof verifies.
    std::fs::remove_file(&proofs[1]).expect("delete");
    let resumed = zkroll()
        .args([
            "prove",
            "--data-dir",
            &p("d"),
            "--trace",
            &p("t.json"),
            "--chunk-size",
            "2",
            "--msm",
            "gpu",
        ])
        .output()
        .expect("spawn zkroll");
    let (out, err) = (
        String::from_utf8_lossy(&resumed.stdout),
        String::from_utf8_lossy(&resumed.stderr),
    );
    assert!(resumed.status.success(), "{err}");
    assert!(out.contains("1 proven, 1 already on disk"), "{out}");
    if std::env::var("ZKROLL_REQUIRE_OPENCL").as_deref() == Ok("1") {
        assert!(err.contains("MSM backend: gpu ("), "{err}");
    } else {
        assert!(err.contains("MSM backend: "), "{err}");
    }
    let out = run_ok(&["verify", s(&proofs[1]), "--data-dir", &p("d")]);
    assert!(out.contains("valid proof"), "{out}");
    // Binary proof files: proven anew (resume looks for the requested format), verified, and
    // the measured peak memory is reported next to the prediction.
    let out = run_ok(&[
        "prove",
        "--data-dir",
        &p("d"),
        "--trace",
        &p("t.json"),
        "--chunk-size",
        "2",
        "--format",
        "binary",
        "--jobs",
        "1",
        "--json",
    ]);
    let done: serde_json::Value =
        serde_json::from_str(out.lines().last().expect("done event")).expect("json");
    assert_eq!(
        (done["event"].as_str(), done["proven"].as_u64()),
        (Some("done"), Some(2))
    );
    let predicted = done["predicted_peak_bytes"].as_f64().expect("predicted");
    let measured = done["peak_rss_bytes"].as_f64().expect("measured");
    eprintln!("peak RSS measured {measured} predicted {predicted}");
    assert!(
        (0.5..=1.5).contains(&(measured / predicted)),
        "measured {measured} vs predicted {predicted}"
    );
    let binary = proofs[0].with_extension("zkrp");
    let json_size = std::fs::metadata(&proofs[0]).expect("json proof").len();
    let binary_size = std::fs::metadata(&binary).expect("binary proof").len();
    assert!(binary_size * 2 < json_size, "{binary_size} vs {json_size}");
    let out = run_ok(&["verify", s(&binary), "--data-dir", &p("d")]);
    assert!(out.contains("valid proof"), "{out}");

    let status = |args: &[&str]| zkroll().args(args).output().expect("spawn").status.code();
    let original = std::fs::read_to_string(&proofs[0]).expect("read");
    let mut v: serde_json::Value = serde_json::from_str(&original).expect("json");
    // A flipped proof byte: invalid proof, exit 1.
    let proof_hex = v["proof"].as_str().expect("hex").to_string();
    let flipped = format!(
        "{}{}",
        &proof_hex[..100],
        if &proof_hex[100..101] == "0" {
            "1"
        } else {
            "0"
        }
    );
    v["proof"] = serde_json::Value::String(flipped + &proof_hex[101..]);
    std::fs::write(p("tampered.json"), v.to_string()).expect("write");
    assert_eq!(
        status(&["verify", &p("tampered.json"), "--data-dir", &p("d")]),
        Some(1)
    );
    // A tampered public input: exit 1.
    let mut v: serde_json::Value = serde_json::from_str(&original).expect("json");
    v["public_inputs"][1] = serde_json::Value::String("0x01".into());
    std::fs::write(p("public.json"), v.to_string()).expect("write");
    assert_eq!(
        status(&["verify", &p("public.json"), "--data-dir", &p("d")]),
        Some(1)
    );
    // A vk hash that is not this circuit's, a truncated file, another version: exit 2.
    let mut v: serde_json::Value = serde_json::from_str(&original).expect("json");
    v["vk_hash"] = serde_json::Value::String("0x00".into());
    std::fs::write(p("vk.json"), v.to_string()).expect("write");
    assert_eq!(
        status(&["verify", &p("vk.json"), "--data-dir", &p("d")]),
        Some(2)
    );
    std::fs::write(p("cut.json"), &original[..original.len() / 2]).expect("write");
    assert_eq!(
        status(&["verify", &p("cut.json"), "--data-dir", &p("d")]),
        Some(2)
    );
    let mut v: serde_json::Value = serde_json::from_str(&original).expect("json");
    v["version"] = 99.into();
    std::fs::write(p("version.json"), v.to_string()).expect("write");
    assert_eq!(
        status(&["verify", &p("version.json"), "--data-dir", &p("d")]),
        Some(2)
    );
    assert_eq!(
        status(&["verify", &p("missing.json"), "--data-dir", &p("d")]),
        Some(2)
    );
}

/// Where parameters and keys are cached between runs (outside the clone): `ZKROLL_CACHE`,
/// default `~/.cache/zkroll-params` (what the demo uses).
fn cache_dir() -> PathBuf {
    std::env::var_os("ZKROLL_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/zkroll-params")
        })
}

/// The whole mission through the binary: transactions -> engine -> chunk proofs ->
/// aggregation -> one final proof -> the generated verifier and Rollup.sol in revm. Then the
/// contracts' rejections (tampered proof and public input, wrong old root, replay) and the
/// EIP-170 size limit. Parameters and keys are cached in [`cache_dir`].
#[test]
#[ignore = "aggregation proofs: ~10-15 min and ~13 GiB; run alone by scripts/test.sh"]
fn whole_pipeline_to_the_evm() {
    use zkroll_circuits::field::to_circuit;
    use zkroll_prover::proof_file::ProofFile;
    use zkroll_verifier_contract::{
        batch_deposits, compile, solc::Solc, RollupDeployment, L1, MAX_RUNTIME_BYTES,
    };

    use devnet::{l1_ok, Devnet, KEYS};

    let dir = tempfile::tempdir().expect("temp dir");
    let p = |n: &str| dir.path().join(n).display().to_string();
    let data = service::fresh_state(dir.path());
    service::link_cached_params(&data);
    let read = |n: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p(n)).expect("read")).expect("json")
    };
    // The batch: the first of the generated L1 deposits, then a withdrawal of 1,000 of its
    // gwei to an L1 account whose key the test holds (2 slots: the 2 chunks of 1 slot whose
    // aggregation keys the cache holds).
    let mut deposits = read("w/l1-deposits.json");
    deposits["deposits"]
        .as_array_mut()
        .expect("deposits")
        .truncate(1);
    let account = deposits["deposits"][0]["account"]
        .as_u64()
        .expect("account");
    let deposited = deposits["deposits"][0]["amount"].as_u64().expect("amount");
    std::fs::write(p("w/l1-deposits.json"), deposits.to_string()).expect("write");
    let (operator, user, claimant) = (0, 1, 2);
    let unsigned = serde_json::json!({"withdraw": {
        "from": account, "amount": 1000, "fee": 0, "nonce": 0, "recipient": KEYS[claimant].1
    }});
    std::fs::write(p("unsigned.json"), unsigned.to_string()).expect("write");
    let signed = run_ok(&[
        "wallet",
        "sign",
        "--key",
        &p(&format!("w/wallets/{account}.json")),
        "--tx",
        &p("unsigned.json"),
    ]);
    let signed: serde_json::Value = serde_json::from_str(&signed).expect("signed tx");
    let txs = serde_json::json!({ "transactions": [signed] });
    std::fs::write(p("w/txs.json"), txs.to_string()).expect("write");

    // On a devnet node: the contracts deployed at the genesis state, the deposit queued on L1
    // by its user, read back into the engine, executed with the withdrawal.
    crate::devnet::gen_test_contracts(&p("d"), &p("node-contracts"), &[]);
    let node = Devnet::start();
    let dep = p("deployment.json");
    l1_ok(
        &node,
        operator,
        &[
            "deploy",
            "--data-dir",
            &p("d"),
            "--contracts",
            &p("node-contracts"),
            "--out",
            &dep,
        ],
    );
    l1_ok(
        &node,
        user,
        &[
            "deposit",
            "--deployment",
            &dep,
            "--file",
            &p("w/l1-deposits.json"),
        ],
    );
    l1_ok(
        &node,
        operator,
        &[
            "sync",
            "--deployment",
            &dep,
            "--data-dir",
            &p("d"),
            "--out",
            &p("synced.json"),
        ],
    );
    assert_eq!(read("synced.json"), read("w/l1-deposits.json"));
    run_ok(&[
        "execute",
        "--data-dir",
        &p("d"),
        "--txs",
        &p("w/txs.json"),
        "--l1-deposits",
        &p("synced.json"),
        "--trace",
        &p("t.json"),
    ]);
    let t = std::time::Instant::now();
    run_ok(&[
        "prove",
        "--data-dir",
        &p("d"),
        "--trace",
        &p("t.json"),
        "--chunk-size",
        "1",
    ]);
    eprintln!("2 chunk proofs: {:.1} s", t.elapsed().as_secs_f64());
    let proofs = std::fs::read_dir(dir.path().join("d/proofs"))
        .expect("proofs")
        .next()
        .expect("one trace")
        .expect("entry")
        .path();
    // A memory limit below the first layer's prediction: refused before its keys are made
    // or loaded, nothing written.
    run_err(
        &[
            "aggregate",
            "--data-dir",
            &p("d"),
            "--proofs",
            s(&proofs),
            "--memory-limit",
            "1",
            "--json",
        ],
        &[
            "layer 1: one proof is predicted to need",
            "1.0 GiB allowed (--memory-limit)",
        ],
    );
    assert!(!proofs.join("final.json").exists());
    let t = std::time::Instant::now();
    let out = run_ok(&["aggregate", "--data-dir", &p("d"), "--proofs", s(&proofs)]);
    eprintln!("aggregation: {:.1} s; {out}", t.elapsed().as_secs_f64());
    let final_path = proofs.join("final.json");
    assert!(
        run_ok(&["verify", s(&final_path), "--data-dir", &p("d")]).contains("valid final proof")
    );
    // Submitted to the node, the withdrawal claimed there: L1 and L2 add up.
    let out = l1_ok(
        &node,
        operator,
        &["submit", "--deployment", &dep, "--proof", s(&final_path)],
    );
    eprintln!("{out}");
    assert!(out.contains("batch accepted on L1"), "{out}");
    let status = |who: &str| -> serde_json::Value {
        let out = l1_ok(
            &node,
            operator,
            &["status", "--deployment", &dep, "--address", who],
        );
        serde_json::from_str(&out).expect("status")
    };
    let st = status(KEYS[claimant].1);
    assert_eq!(st["batch_number"], "1", "{st}");
    assert_eq!(st["deposit_head"], "1", "{st}");
    let state = run_ok(&["state", "show", "--data-dir", &p("d"), "--json"]);
    let state: serde_json::Value = serde_json::from_str(&state).expect("state json");
    assert_eq!(
        st["state_root"], state["root"],
        "L1's root is not the engine's"
    );
    assert_eq!(st["pending_withdrawal_wei"], "1000000000000", "{st}");
    let rollup = read("deployment.json")["rollup"]
        .as_str()
        .expect("address")
        .to_string();
    let locked = node.balance(&rollup);
    let out = l1_ok(&node, claimant, &["withdraw", "--deployment", &dep]);
    assert!(out.starts_with("withdrew 1000000000000 wei"), "{out}");
    assert_eq!(locked - node.balance(&rollup), 1_000_000_000_000);
    assert_eq!(status(KEYS[claimant].1)["pending_withdrawal_wei"], "0");
    let l2_gwei: u64 = state["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["balance"].as_u64().expect("balance"))
        .sum();
    assert_eq!(l2_gwei, deposited - 1000);
    assert_eq!(
        node.balance(&rollup),
        u128::from(l2_gwei) * 1_000_000_000,
        "the rollup's ETH is not the L2 balances"
    );
    drop(node);
    let evm = zkroll()
        .args(["verify", s(&final_path), "--data-dir", &p("d"), "--evm"])
        .output()
        .expect("spawn");
    let stderr = String::from_utf8_lossy(&evm.stderr);
    eprintln!("{stderr}");
    assert!(evm.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&evm.stdout).contains("accepted on the EVM"));
    // A second run keeps every proof of the tree (the default shape: the final node over the
    // two chunk proofs is the only aggregation proof).
    assert!(!proofs.join("layer1-0.json").exists());
    let out = run_ok(&[
        "aggregate",
        "--data-dir",
        &p("d"),
        "--proofs",
        s(&proofs),
        "--json",
    ]);
    assert_eq!(out.matches("\"kept\"").count(), 1, "{out}");
    assert_eq!(out.matches("\"layer_done\"").count(), 1, "{out}");
    assert_eq!(out.matches("\"predicted_peak_bytes\"").count(), 1, "{out}");

    // The contracts: refused on development parameters unless allowed (a verifier made
    // from them accepts forged proofs), then generated, sizes reported, deployable.
    let gen_verifier = |extra: &[&str]| {
        let out = zkroll()
            .args([
                "gen-verifier",
                "--data-dir",
                &p("d"),
                "--out",
                &p("contracts"),
                "--chunk-size",
                "1",
                "--depth",
                "6",
                "--report",
                "--proof",
                s(&final_path),
            ])
            .args(extra)
            .output()
            .expect("spawn");
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        out
    };
    let refused = gen_verifier(&[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("UNSAFE development") && stderr.contains("--allow-unsafe-dev-params"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!dir.path().join("contracts/Verifier.sol").exists());
    let out = gen_verifier(&["--allow-unsafe-dev-params"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("WARNING: UNSAFE development parameters"));
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("contracts/verifier.json")).expect("summary"),
    )
    .expect("json");
    assert_eq!(summary["unsafe_dev_params"], true, "{summary}");
    let runtime = summary["verifier_runtime_bytes"].as_u64().expect("size") as usize;
    assert!(
        runtime <= MAX_RUNTIME_BYTES,
        "verifier runtime {runtime} bytes"
    );

    // Rejections, with the library on the same final proof.
    let file = ProofFile::decode(&std::fs::read(&final_path).expect("read")).expect("decode");
    let instances: Vec<_> = file.public_inputs.iter().map(to_circuit).collect();
    let source = std::fs::read_to_string(dir.path().join("contracts/Verifier.sol")).expect("sol");
    let contracts = compile(&Solc::default(), &source).expect("compile");
    let at = |root| RollupDeployment::at(root, 6);
    let mut l1 = L1::deploy(&contracts, &at(instances[12])).expect("deploy");
    // The operator cannot mint: the batch's deposits were not queued on L1, so the batch is
    // refused although its proof is valid; once its users have queued them, it is accepted.
    let deposits = batch_deposits(&file.pubdata).expect("pubdata");
    assert!(!deposits.is_empty(), "the batch has no deposit to check");
    let minted = l1
        .submit_batch(&instances, &file.pubdata, &file.proof)
        .expect("call");
    assert!(
        !minted.success,
        "a batch with unqueued deposits was accepted"
    );
    assert_eq!(
        minted.output[..4],
        zkroll_verifier_contract::selector("DepositNotQueued(uint256,uint256)"),
        "{:?}",
        minted.failure
    );
    let depositor = zkroll_verifier_contract::evm::Address::with_last_byte(0xd0);
    // Queued with one gwei less: still refused.
    let first = deposits[0];
    assert!(
        l1.deposit(
            depositor,
            first.account,
            &first.x,
            &first.y,
            first.amount - 1
        )
        .expect("call")
        .success
    );
    let short = l1
        .submit_batch(&instances, &file.pubdata, &file.proof)
        .expect("call");
    assert_eq!(
        short.output[..4],
        zkroll_verifier_contract::selector("DepositMismatch(uint256,uint256)"),
        "{:?}",
        short.failure
    );
    let mut l1 = L1::deploy(&contracts, &at(instances[12])).expect("deploy");
    l1.queue_deposits(depositor, &file.pubdata)
        .expect("deposits");
    let good = l1
        .submit_batch(&instances, &file.pubdata, &file.proof)
        .expect("call");
    assert!(good.success, "{:?}", good.failure);
    let head = l1.read("depositHead()").expect("read");
    assert_eq!(
        u64::from_be_bytes(head[24..].try_into().expect("8")),
        deposits.len() as u64
    );
    let root = l1.read("stateRoot()").expect("root");
    assert_eq!(root, zkroll_verifier_contract::word(&instances[13]));
    let replay = l1
        .submit_batch(&instances, &file.pubdata, &file.proof)
        .expect("call");
    assert!(!replay.success, "replayed batch accepted");

    let mut fresh = L1::deploy(&contracts, &at(instances[12])).expect("deploy");
    fresh
        .queue_deposits(depositor, &file.pubdata)
        .expect("deposits");
    let mut flipped = file.proof.clone();
    flipped[200] ^= 1;
    assert!(
        !fresh
            .submit_batch(&instances, &file.pubdata, &flipped)
            .expect("call")
            .success
    );
    let mut wrong_new_root = instances.clone();
    wrong_new_root[13] += halo2_base::halo2_proofs::halo2curves::bn256::Fr::one();
    assert!(
        !fresh
            .submit_batch(&wrong_new_root, &file.pubdata, &file.proof)
            .expect("call")
            .success
    );
    // L1 computes the pubdata binding from calldata: pubdata one byte away from the proven
    // one (the last byte: an amount or a fee, so it still parses) is refused.
    let mut pubdata = file.pubdata.clone();
    let last = pubdata.len() - 1;
    pubdata[last] ^= 1;
    let changed = fresh
        .submit_batch(&instances, &pubdata, &file.proof)
        .expect("call");
    assert!(
        !changed.success,
        "pubdata differing from the proven one accepted"
    );
    assert_eq!(
        changed.output[..4],
        zkroll_verifier_contract::selector("InvalidProof()"),
        "{:?}",
        changed.failure
    );
    let mut wrong_acc = instances.clone();
    wrong_acc[0] += halo2_base::halo2_proofs::halo2curves::bn256::Fr::one();
    assert!(!fresh.verify(&wrong_acc, &file.proof).expect("call").success);
    assert!(
        fresh
            .submit_batch(&instances, &file.pubdata, &file.proof)
            .expect("call")
            .success
    );
    let elsewhere = L1::deploy(&contracts, &at(instances[13])).expect("deploy");
    let mut elsewhere = elsewhere;
    let wrong_old = elsewhere
        .submit_batch(&instances, &file.pubdata, &file.proof)
        .expect("call");
    assert!(!wrong_old.success, "batch accepted on another root");
    eprintln!(
        "submitBatch: {} gas ({} calldata bytes); verifier runtime {runtime} bytes",
        good.gas_used, good.calldata_bytes
    );

    // The CLI reports a tampered final proof as invalid.
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&final_path).expect("read")).expect("json");
    v["public_inputs"][13] = serde_json::Value::String("0x05".into());
    std::fs::write(p("bad-final.json"), v.to_string()).expect("write");
    let status = zkroll()
        .args(["verify", &p("bad-final.json"), "--data-dir", &p("d")])
        .status()
        .expect("spawn");
    assert_eq!(status.code(), Some(1));
}
