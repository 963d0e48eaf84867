// Generates the external test vectors zkroll's engine is checked against:
//   - Poseidon (circomlib parameters) from poseidon-lite, including its round constants and MDS;
//   - EdDSA-Poseidon over Baby Jubjub from @zk-kit/eddsa-poseidon (key derivation, signing,
//     verification, including negative and cofactor cases).
// Run from the repository root with `scripts/gen-vectors.sh`; the output is committed at
// engine/tests/vectors/*.json. Everything is deterministic: no randomness is used.
import { writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { createHash } from "node:crypto";
import * as poseidonLite from "poseidon-lite";

const require = createRequire(import.meta.url);
// The packages' CommonJS builds: their ESM builds import blakejs in a way node 20 rejects.
const { derivePublicKey, deriveSecretScalar, signMessage, verifySignature, packPublicKey } = require("@zk-kit/eddsa-poseidon");
const { poseidon5 } = require("poseidon-lite");
const { Base8, addPoint, mulPointEscalar, subOrder, r: P } = require("@zk-kit/baby-jubjub");
const unstringify = require("./node_modules/poseidon-lite/poseidon/unstringify.js").default;
const out = process.argv[2] ?? "engine/tests/vectors";
mkdirSync(out, { recursive: true });
const hex = (v) => "0x" + BigInt(v).toString(16).padStart(64, "0");
// Deterministic pseudo-random field elements: sha256(label || i) reduced mod p.
const det = (label, i) => BigInt("0x" + createHash("sha256").update(`${label}/${i}`).digest("hex")) % P;

// ---- Poseidon -------------------------------------------------------------------------
const ROUNDS_P = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];
const poseidon = { widths: [], cases: [] };
for (let n = 1; n <= 6; n++) {
  // poseidon-lite does not export its constants; load its files directly. They hold packed
  // values that its own unstringify decodes.
  const consts = require(`./node_modules/poseidon-lite/constants/${n}.js`).default;
  const { C, M } = unstringify(consts);
  poseidon.widths.push({
    t: n + 1,
    full_rounds: 8,
    partial_rounds: ROUNDS_P[n - 1],
    round_constants: C.map(hex),
    mds: M.map((row) => row.map(hex)),
  });
  const fn = poseidonLite[`poseidon${n}`];
  const inputsList = [
    Array.from({ length: n }, (_, i) => BigInt(i + 1)),
    Array.from({ length: n }, () => 0n),
    Array.from({ length: n }, () => P - 1n),
    ...Array.from({ length: 4 }, (_, k) => Array.from({ length: n }, (_, i) => det(`poseidon${n}/${k}`, i))),
  ];
  for (const inputs of inputsList) {
    poseidon.cases.push({ inputs: inputs.map(hex), output: hex(fn(inputs)) });
  }
}
writeFileSync(`${out}/poseidon.json`, JSON.stringify(poseidon, null, 1) + "\n");

// ---- EdDSA-Poseidon -------------------------------------------------------------------
const ORDER2 = [0n, P - 1n]; // the point of order 2 on Baby Jubjub
const keys = [];
const signatures = [];
const privateKeys = [
  "0001020304050607080900010203040506070809000102030405060708090001",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  ...Array.from({ length: 5 }, (_, i) => createHash("sha256").update(`zkroll-key/${i}`).digest("hex")),
];
for (const sk of privateKeys) {
  const pk = derivePublicKey(Buffer.from(sk, "hex"));
  keys.push({ private_key: sk, public_key: [hex(pk[0]), hex(pk[1])], packed: hex(packPublicKey(pk)) });
}
const messages = [0n, 1n, P - 1n, det("msg", 0), det("msg", 1)];
for (const [ki, sk] of privateKeys.entries()) {
  const pk = derivePublicKey(Buffer.from(sk, "hex"));
  for (const msg of messages.slice(0, ki === 0 ? messages.length : 2)) {
    const sig = signMessage(Buffer.from(sk, "hex"), msg);
    const push = (label, m, s, a) =>
      signatures.push({
        label,
        message: hex(m),
        public_key: [hex(a[0]), hex(a[1])],
        r8: [hex(s.R8[0]), hex(s.R8[1])],
        s: hex(s.S),
        valid: verifySignature(m, s, a),
      });
    push("signed", msg, sig, pk);
    if (ki !== 0) continue;
    push("wrong message", (msg + 1n) % P, sig, pk);
    push("s plus one", msg, { R8: sig.R8, S: (sig.S + 1n) % subOrder }, pk);
    push("s plus subgroup order", msg, { R8: sig.R8, S: sig.S + subOrder }, pk);
    push("r8 off curve", msg, { R8: [sig.R8[0], (sig.R8[1] + 1n) % P], S: sig.S }, pk);
    push("key off curve", msg, sig, [pk[0], (pk[1] + 1n) % P]);
    push("other key", msg, sig, derivePublicKey(Buffer.from(privateKeys[1], "hex")));
    // Cofactor cases: verification multiplies the key by 8*h, so a key shifted by a small-order
    // point still verifies, while a shifted R8 does not. zkroll must agree exactly.
    push("key plus order-2 point", msg, sig, addPoint(pk, ORDER2));
    push("r8 plus order-2 point", msg, { R8: addPoint(sig.R8, ORDER2), S: sig.S }, pk);
    push("negated key", msg, sig, [(P - pk[0]) % P, pk[1]]);
    // A signature made for the key A + T (T of order 2) by the holder of A, with the challenge
    // hashed over A + T: valid, because verification clears the cofactor of the key.
    const shifted = addPoint(pk, ORDER2);
    const sc = deriveSecretScalar(Buffer.from(sk, "hex"));
    const r = det("nonce", 0) % subOrder;
    const R8 = mulPointEscalar(Base8, r);
    const hm = poseidon5([R8[0], R8[1], shifted[0], shifted[1], msg]);
    push("made for key plus order-2 point", msg, { R8, S: (r + hm * 8n * sc) % subOrder }, shifted);
    const R8s = addPoint(R8, ORDER2);
    const hm2 = poseidon5([R8s[0], R8s[1], pk[0], pk[1], msg]);
    push("made with r8 plus order-2 point", msg, { R8: R8s, S: (r + hm2 * 8n * sc) % subOrder }, pk);
  }
}
// Transactions signed by zk-kit over zkroll's message (docs/protocol.md): zkroll must
// compute the same message and accept the signature.
const { poseidon2 } = require("poseidon-lite");
const packW0 = (type, chainId, from, nonce, fee, amount) =>
  BigInt(type) | (BigInt(chainId) << 8n) | (BigInt(from) << 40n) | (BigInt(nonce) << 72n) |
  (BigInt(fee) << 104n) | (BigInt(amount) << 136n);
const transactions = [];
for (const [i, sk] of privateKeys.slice(0, 4).entries()) {
  const key = Buffer.from(sk, "hex");
  const chainId = 1 + i;
  const transfer = { from: 3 + i, to: 90 + i, amount: 1000 * (i + 1), fee: i, nonce: 7 * i };
  const tm = poseidon2([packW0(2, chainId, transfer.from, transfer.nonce, transfer.fee, transfer.amount), BigInt(transfer.to)]);
  const ts = signMessage(key, tm);
  transactions.push({ chain_id: chainId, private_key: sk, message: hex(tm),
    tx: { transfer: { ...transfer, signature: { r8: { x: hex(ts.R8[0]), y: hex(ts.R8[1]) }, s: hex(ts.S) } } } });
  const recipient = "0x" + createHash("sha256").update(`recipient/${i}`).digest("hex").slice(0, 40);
  const withdraw = { from: 3 + i, amount: (1n << 55n) + BigInt(i), fee: 4294967295 - i, nonce: 4294967295 - i, recipient };
  const wm = poseidon2([packW0(3, chainId, withdraw.from, withdraw.nonce, withdraw.fee, withdraw.amount), BigInt(recipient)]);
  const ws = signMessage(key, wm);
  transactions.push({ chain_id: chainId, private_key: sk, message: hex(wm),
    tx: { withdraw: { ...withdraw, signature: { r8: { x: hex(ws.R8[0]), y: hex(ws.R8[1]) }, s: hex(ws.S) } } } });
}

const eddsa = {
  base8: [hex(Base8[0]), hex(Base8[1])],
  sub_order: hex(subOrder),
  base8_times_2: (([x, y]) => [hex(x), hex(y)])(mulPointEscalar(Base8, 2n)),
  keys,
  signatures,
  transactions,
};
// BigInts (amounts above 2^53) are written as plain JSON integers.
const text = JSON.stringify(eddsa, (_, v) => (typeof v === "bigint" ? `__bigint__${v}` : v), 1)
  .replace(/"__bigint__(\d+)"/g, "$1");
writeFileSync(`${out}/eddsa.json`, text + "\n");
console.log(`wrote ${poseidon.cases.length} Poseidon and ${signatures.length} EdDSA vectors to ${out}`);
