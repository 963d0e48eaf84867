//! A hardhat devnet node for the tests (the `hardhat` npm package pinned in
//! verifier-contract's lock file, installed by `scripts/setup.sh`), started on a free loopback
//! port and stopped when dropped; and `zkroll l1` against it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{run_err, run_ok};

/// Hardhat's well-known development accounts (the "test test ... junk" mnemonic): keys and
/// addresses, each funded with 10,000 ETH by the node.
pub(crate) const KEYS: [(&str, &str); 3] = [
    (
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    ),
    (
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    ),
    (
        "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    ),
];

/// A running `hardhat node`, killed (with its process group) on drop.
pub(crate) struct Devnet {
    child: Child,
    /// Its JSON-RPC URL.
    pub url: String,
}

fn verifier_contract_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../verifier-contract")
}

impl Devnet {
    pub(crate) fn start() -> Self {
        use std::os::unix::process::CommandExt;
        let dir = verifier_contract_dir();
        let hardhat = dir.join("node_modules/.bin/hardhat");
        assert!(
            hardhat.exists(),
            "{} missing: run scripts/setup.sh (npm ci in verifier-contract)",
            hardhat.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new(&hardhat)
            .args(["--config", "devnet/hardhat.config.js", "node"])
            .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
            .current_dir(&dir)
            .env("HARDHAT_DISABLE_TELEMETRY_PROMPT", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("spawn hardhat node");
        let devnet = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let start = Instant::now();
        while devnet.rpc("eth_chainId", "[]").is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "hardhat node did not answer on {} within 60 s",
                devnet.url
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        devnet
    }

    /// A JSON-RPC call's result, `None` when the node does not answer.
    pub(crate) fn rpc(&self, method: &str, params: &str) -> Option<serde_json::Value> {
        let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
        let response = ureq::post(&self.url)
            .set("content-type", "application/json")
            .send_string(&body)
            .ok()?;
        let value: serde_json::Value = response.into_json().ok()?;
        value.get("result").cloned()
    }

    /// Mines `blocks` empty blocks.
    pub(crate) fn mine(&self, blocks: u64) {
        self.rpc("hardhat_mine", &format!(r#"["0x{blocks:x}"]"#))
            .expect("hardhat_mine");
    }

    /// `address`'s balance in wei.
    pub(crate) fn balance(&self, address: &str) -> u128 {
        let hex = self
            .rpc("eth_getBalance", &format!(r#"["{address}", "latest"]"#))
            .expect("eth_getBalance");
        u128::from_str_radix(hex.as_str().expect("hex").trim_start_matches("0x"), 16)
            .expect("balance")
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        // The whole group: hardhat's launcher may run the node in a child process.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `zkroll l1 <args> --rpc <node> --l1-key <key>`.
fn l1_args(devnet: &Devnet, key: usize, args: &[&str]) -> Vec<String> {
    let mut out = vec!["l1".to_string()];
    out.extend(args.iter().map(|a| a.to_string()));
    out.extend(["--rpc", &devnet.url, "--l1-key", KEYS[key].0].map(String::from));
    out
}

/// `zkroll l1 <args>` with hardhat account `key`, expected to succeed: its stdout.
pub(crate) fn l1_ok(devnet: &Devnet, key: usize, args: &[&str]) -> String {
    let args = l1_args(devnet, key, args);
    run_ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// `zkroll l1 <args>` with hardhat account `key`, expected to fail with one line holding
/// every `needles`.
pub(crate) fn l1_err(devnet: &Devnet, key: usize, args: &[&str], needles: &[&str]) {
    let args = l1_args(devnet, key, args);
    run_err(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        needles,
    );
}

fn refs(v: &[String; 11]) -> [&str; 11] {
    v.each_ref().map(String::as_str)
}

/// `zkroll gen-verifier` for the end-to-end tests' chain (chunks of 1 slot, depth 6) into
/// `out`, development parameters allowed (their keys are the cached ones).
pub(crate) fn gen_test_contracts(data: &str, out: &str, tree: &[&str]) {
    let mut args = vec![
        "gen-verifier",
        "--data-dir",
        data,
        "--out",
        out,
        "--chunk-size",
        "1",
        "--depth",
        "6",
        "--allow-unsafe-dev-params",
    ];
    args.extend_from_slice(tree);
    run_ok(&args);
}

/// Writes the L1 contracts' creation codes as `zkroll gen-verifier` does, with a stand-in
/// verifier that accepts everything (the proof is not what these tests are about; the
/// end-to-end test submits a real one).
fn stand_in_contracts(dir: &Path) {
    use zkroll_verifier_contract::solc::Solc;
    use zkroll_verifier_contract::{compile_poseidon, compile_rollup, poseidon, POSEIDON_WIDTHS};
    std::fs::create_dir_all(dir).expect("dir");
    let solc = Solc::default();
    // Creation code returning the one-byte runtime STOP.
    std::fs::write(dir.join("Verifier.bin"), "600180600b6000396000f300").expect("write");
    let rollup = compile_rollup(&solc).expect("solc");
    std::fs::write(dir.join("Rollup.bin"), hex::encode(rollup.creation)).expect("write");
    for (width, compiled) in POSEIDON_WIDTHS
        .iter()
        .zip(compile_poseidon(&solc).expect("solc"))
    {
        let name = format!("{}.bin", poseidon::contract_name(*width));
        std::fs::write(dir.join(name), hex::encode(compiled.creation)).expect("write");
    }
}

/// `zkroll l1` on a devnet node, without a proof: deploy from a state with a funded account,
/// deposits queued from the L1 deposits file and read back by `sync`, a deposit L1 refuses,
/// exodus refused before the deadline and switched on after it, the funded account's exit
/// (once), the deposits refunded, everything withdrawn: the contract ends empty and each
/// L1 account got its due.
#[test]
fn l1_commands_on_a_devnet_node() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = |n: &str| dir.path().join(n).display().to_string();
    crate::service::gen_workload(dir.path());
    // A genesis account with 5,000 gwei, under wallet 1's key.
    let mut genesis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("w/genesis.json")).expect("read"))
            .expect("json");
    let wallet: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("w/wallets/1.json")).expect("read"))
            .expect("json");
    genesis["accounts"] = serde_json::json!([
        {"index": 5, "public_key": wallet["public_key"], "balance": 5000, "nonce": 0}
    ]);
    std::fs::write(p("w/genesis.json"), genesis.to_string()).expect("write");
    crate::service::init_state(dir.path());
    stand_in_contracts(&dir.path().join("c"));

    let node = Devnet::start();
    let (operator, user, claimant) = (0, 1, 2);
    let (data, contracts, dep) = (p("d"), p("c"), p("dep.json"));
    let out = l1_ok(
        &node,
        operator,
        &[
            "deploy",
            "--data-dir",
            &data,
            "--contracts",
            &contracts,
            "--exodus-delay",
            "5",
            "--out",
            &dep,
        ],
    );
    assert!(out.contains("5000 gwei locked"), "{out}");
    // A deployment file for another chain is refused before anything is sent.
    let mut other: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&dep).expect("read")).expect("json");
    other["chain_id"] = serde_json::json!(5);
    let other_dep = p("other-chain.json");
    std::fs::write(&other_dep, other.to_string()).expect("write");
    l1_err(
        &node,
        operator,
        &["withdraw", "--deployment", &other_dep],
        &["other-chain.json", "is chain 31337", "deployed on chain 5"],
    );
    let status = |who: &str| -> serde_json::Value {
        let out = l1_ok(
            &node,
            0,
            &["status", "--deployment", &dep, "--address", who],
        );
        serde_json::from_str(&out).expect("status json")
    };
    let deposits = p("w/l1-deposits.json");
    let out = l1_ok(
        &node,
        user,
        &["deposit", "--deployment", &dep, "--file", &deposits],
    );
    assert_eq!(out.matches("queued deposit").count(), 2, "{out}");
    // L1 refuses a deposit the rollup would refuse: one line naming the contract's error.
    let wallet2 = p("w/wallets/2.json");
    l1_err(
        &node,
        user,
        &[
            "deposit",
            "--deployment",
            &dep,
            "--account",
            "64",
            "--wallet",
            &wallet2,
            "--gwei",
            "10",
        ],
        &["refused by L1", "AccountOutOfRange(64)"],
    );
    let synced = p("synced.json");
    l1_ok(
        &node,
        0,
        &[
            "sync",
            "--deployment",
            &dep,
            "--data-dir",
            &data,
            "--out",
            &synced,
        ],
    );
    let read = |n: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(n).expect("read")).expect("json")
    };
    assert_eq!(read(&synced), read(&deposits));
    let st = status(KEYS[claimant].1);
    assert_eq!(st["deposit_tail"], "2", "{st}");
    assert_eq!(st["exodus"], "0", "{st}");

    // Exodus: not before the oldest deposit's deadline.
    let exodus = ["exodus", "--deployment", &dep];
    l1_err(&node, claimant, &exodus, &["NoOverdueDeposit()"]);
    node.mine(6);
    l1_ok(&node, claimant, &exodus);
    let exit = |wallet: &str| {
        [
            "exit",
            "--deployment",
            &dep,
            "--data-dir",
            &data,
            "--account",
            "5",
            "--wallet",
            wallet,
            "--recipient",
            KEYS[claimant].1,
        ]
        .map(String::from)
    };
    let wallet1 = p("w/wallets/1.json");
    l1_err(
        &node,
        claimant,
        &refs(&exit(&wallet2)),
        &["not account 5's key"],
    );
    let out = l1_ok(&node, claimant, &refs(&exit(&wallet1)));
    assert!(out.contains("exit of account 5 (5000 gwei"), "{out}");
    l1_err(
        &node,
        claimant,
        &refs(&exit(&wallet1)),
        &["AlreadyExited(5)"],
    );
    assert_eq!(
        status(KEYS[claimant].1)["pending_withdrawal_wei"],
        "5000000000000"
    );

    for index in ["0", "1"] {
        l1_ok(
            &node,
            user,
            &["refund", "--deployment", &dep, "--index", index],
        );
    }
    let withdraw = ["withdraw", "--deployment", &dep];
    let out = l1_ok(&node, claimant, &withdraw);
    assert!(out.starts_with("withdrew 5000000000000 wei"), "{out}");
    let out = l1_ok(&node, user, &withdraw);
    // The two refunded deposits (gen-txs seed 9).
    assert!(out.starts_with("withdrew 1531668000000000 wei"), "{out}");
    l1_err(&node, claimant, &withdraw, &["NothingToWithdraw("]);
    assert_eq!(status(KEYS[claimant].1)["pending_withdrawal_wei"], "0");
    let rollup = read(&dep);
    assert_eq!(
        node.balance(rollup["rollup"].as_str().expect("address")),
        0,
        "the rollup keeps ETH after every exit, refund and withdrawal"
    );
}
