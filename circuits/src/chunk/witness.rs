//! Native side of the chunk circuit: a chunk's witness taken from a batch trace, and the
//! public inputs the verifier computes without the witness.

use zkroll_engine::account::Account;
use zkroll_engine::babyjubjub::Point;
use zkroll_engine::pubdata::{self, Binding};
use zkroll_engine::rules::pending_after;
use zkroll_engine::trace::{BatchTrace, LeafUpdate, TxStep};
use zkroll_engine::tx::{
    Tx, TX_TYPE_DEPOSIT, TX_TYPE_NOOP, TX_TYPE_SETTLE_FEES, TX_TYPE_TRANSFER, TX_TYPE_WITHDRAW,
};
use zkroll_engine::{poseidon, ChainConfig, Fr};

/// Why a chunk cannot be cut from a trace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// The requested slice is outside the trace.
    #[error("chunk starting at step {start} is outside a trace of {steps} steps")]
    OutOfRange {
        /// First step.
        start: usize,
        /// Steps in the trace.
        steps: usize,
    },
    /// A step does not have the updates its transaction makes.
    #[error("step {step}: {detail}")]
    Malformed {
        /// Step index in the trace.
        step: usize,
        /// What is wrong.
        detail: String,
    },
}

/// One leaf update as the circuit sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateWitness {
    /// Leaf index, for diagnostics: the circuit takes the index from the transaction's
    /// fields (`a`, `b`) or the operator constant, never from here.
    pub index: u32,
    /// The account before (`None`: empty leaf).
    pub before: Option<Account>,
    /// Siblings, leaf level first.
    pub siblings: Vec<Fr>,
}

impl UpdateWitness {
    fn unused(depth: u8) -> Self {
        Self {
            index: 0,
            before: None,
            siblings: vec![Fr::from(0u64); depth as usize],
        }
    }

    fn from_trace(u: &LeafUpdate) -> Self {
        Self {
            index: u.index,
            before: u.before,
            siblings: u.siblings.clone(),
        }
    }
}

/// One transaction slot. Fields a transaction type does not use are zero (the identity
/// point for the unused signature), which keeps the transaction commitment canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotWitness {
    /// 0 no-op, 1 deposit, 2 transfer, 3 withdraw, 4 fee settlement.
    pub tx_type: u8,
    /// Deposit account, sender, or the operator (fee settlement).
    pub a: u32,
    /// Transfer recipient.
    pub b: u32,
    /// Amount.
    pub amount: u64,
    /// Fee.
    pub fee: u64,
    /// Nonce.
    pub nonce: u32,
    /// Withdrawal recipient as a field element.
    pub recipient: Fr,
    /// Deposit key.
    pub public_key: Point,
    /// Signature point.
    pub r8: Point,
    /// Signature scalar (as a field element; `S < l < p`).
    pub s: Fr,
    /// Updates in slot order: account/sender/operator, recipient (unused ones are dummies).
    pub updates: [UpdateWitness; 2],
}

impl SlotWitness {
    /// A padding slot.
    pub fn noop(depth: u8) -> Self {
        Self {
            tx_type: TX_TYPE_NOOP,
            a: 0,
            b: 0,
            amount: 0,
            fee: 0,
            nonce: 0,
            recipient: Fr::from(0u64),
            public_key: Point {
                x: Fr::from(0u64),
                y: Fr::from(0u64),
            },
            r8: Point::identity(),
            s: Fr::from(0u64),
            updates: std::array::from_fn(|_| UpdateWitness::unused(depth)),
        }
    }

    /// The slot of batch step `index` (its transaction and leaf updates).
    pub fn from_step(step: &TxStep, depth: u8, index: usize) -> Result<Self, ChunkError> {
        let malformed = |detail: &str| ChunkError::Malformed {
            step: index,
            detail: detail.to_string(),
        };
        let mut slot = SlotWitness::noop(depth);
        let u = &step.updates;
        match &step.tx {
            Tx::Deposit(d) => {
                let [first] = u.as_slice() else {
                    return Err(malformed("a deposit makes 1 update"));
                };
                slot.tx_type = TX_TYPE_DEPOSIT;
                slot.a = d.account;
                slot.amount = d.amount;
                slot.public_key = d.public_key.0;
                slot.updates[0] = UpdateWitness::from_trace(first);
            }
            Tx::Transfer(t) => {
                let [from, to] = u.as_slice() else {
                    return Err(malformed("a transfer makes 2 updates"));
                };
                slot.tx_type = TX_TYPE_TRANSFER;
                (slot.a, slot.b, slot.amount, slot.fee, slot.nonce) =
                    (t.from, t.to, t.amount, t.fee, t.nonce);
                (slot.r8, slot.s) = (t.signature.r8, signature_scalar(&t.signature.s));
                slot.updates = [from, to].map(UpdateWitness::from_trace);
            }
            Tx::Withdraw(w) => {
                let [from] = u.as_slice() else {
                    return Err(malformed("a withdrawal makes 1 update"));
                };
                slot.tx_type = TX_TYPE_WITHDRAW;
                (slot.a, slot.amount, slot.fee, slot.nonce) = (w.from, w.amount, w.fee, w.nonce);
                slot.recipient = w.recipient.to_field();
                (slot.r8, slot.s) = (w.signature.r8, signature_scalar(&w.signature.s));
                slot.updates[0] = UpdateWitness::from_trace(from);
            }
            Tx::SettleFees(f) => {
                let [operator] = u.as_slice() else {
                    return Err(malformed("a fee settlement makes 1 update"));
                };
                slot.tx_type = TX_TYPE_SETTLE_FEES;
                (slot.a, slot.amount) = (operator.index, f.amount);
                slot.updates[0] = UpdateWitness::from_trace(operator);
            }
        }
        Ok(slot)
    }

    /// The slot's four words in the transaction commitment:
    /// `type | a << 8 | b << 40 | fee << 72 | amount << 104`, recipient, key x, key y.
    pub fn commitment_words(&self) -> [Fr; 4] {
        [
            pack(&[
                (self.tx_type as u64, 0),
                (self.a as u64, 8),
                (self.b as u64, 40),
                (self.fee, 72),
                (self.amount, 104),
            ]),
            self.recipient,
            self.public_key.x,
            self.public_key.y,
        ]
    }
}

/// `sum value_i << shift_i` as a field element (shifts below 192, values below 2^64).
pub(crate) fn pack(fields: &[(u64, u32)]) -> Fr {
    let mut limbs = [0u64; 4];
    for (value, shift) in fields {
        let wide = (*value as u128) << (shift % 64);
        limbs[(*shift / 64) as usize] |= wide as u64;
        if (shift % 64) != 0 && (*shift / 64) < 3 {
            limbs[(*shift / 64) as usize + 1] |= (wide >> 64) as u64;
        }
    }
    Fr::from(ark_ff::BigInt::new(limbs))
}

/// Everything the chunk circuit proves about one slice of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkWitness {
    /// Chain parameters (constants of the circuit).
    pub config: ChainConfig,
    /// Index in the batch trace of the chunk's first step (for reports).
    pub start: usize,
    /// Root before the chunk.
    pub old_root: Fr,
    /// Root after the chunk.
    pub new_root: Fr,
    /// Transaction commitment of the batch before the chunk (0 for the first chunk): chunks
    /// continue one chain, so the batch's commitment does not depend on how it is cut.
    pub commitment_in: Fr,
    /// Fees the batch collected before the chunk and has not settled yet.
    pub pending_in: u64,
    /// The batch's pubdata binding point `z` (`zkroll_engine::pubdata`): the same public
    /// input in every chunk of the batch.
    pub point: Fr,
    /// The evaluation at `point` of the batch's commitment words before the chunk (1 before
    /// the first): chunks continue one evaluation, as they continue the commitment.
    pub evaluation_in: Fr,
    /// Exactly `chunk_size` slots, padded with no-ops.
    pub slots: Vec<SlotWitness>,
}

fn signature_scalar(s: &zkroll_engine::babyjubjub::Scalar) -> Fr {
    zkroll_engine::field::from_bytes_le(&zkroll_engine::field::to_bytes_le(s)).unwrap_or_default()
}

impl ChunkWitness {
    /// A chunk of `chunk_size` padding slots: the circuit's shape without a batch (for key
    /// generation and statistics; the layout does not depend on the values).
    pub fn padding(chunk_size: usize, config: ChainConfig) -> Self {
        Self {
            config,
            start: 0,
            old_root: Fr::from(0u64),
            new_root: Fr::from(0u64),
            commitment_in: Fr::from(0u64),
            pending_in: 0,
            point: Fr::from(0u64),
            evaluation_in: Fr::from(1u64),
            slots: vec![SlotWitness::noop(config.depth); chunk_size],
        }
    }

    /// A chunk of padding slots that leaves `root`, the transaction commitment `commitment`
    /// and the pubdata evaluation `binding` (point, value so far) unchanged: aggregation pads
    /// a batch's chunk count with these after its last chunk (`start` is the batch's step
    /// count; its fees are settled, none pending).
    pub fn idle(
        config: ChainConfig,
        chunk_size: usize,
        start: usize,
        root: Fr,
        commitment: Fr,
        binding: Binding,
    ) -> Self {
        Self {
            config,
            start,
            old_root: root,
            new_root: root,
            commitment_in: commitment,
            pending_in: 0,
            point: binding.point,
            evaluation_in: binding.value,
            slots: vec![SlotWitness::noop(config.depth); chunk_size],
        }
    }

    /// Steps `start .. start + chunk_size` of `trace` (fewer at the end, padded).
    pub fn from_trace(
        trace: &BatchTrace,
        start: usize,
        chunk_size: usize,
    ) -> Result<Self, ChunkError> {
        let steps = trace.steps.len();
        if start > steps || (start == steps && steps != 0) {
            return Err(ChunkError::OutOfRange { start, steps });
        }
        let depth = trace.header.config.depth;
        let end = (start + chunk_size).min(steps);
        let old_root = if start == 0 {
            trace.header.old_root
        } else {
            trace.steps[start - 1].root_after
        };
        let new_root = if end == start {
            old_root
        } else {
            trace.steps[end - 1].root_after
        };
        let slots_of = |range: std::ops::Range<usize>| -> Result<Vec<SlotWitness>, ChunkError> {
            trace.steps[range.clone()]
                .iter()
                .zip(range)
                .map(|(step, index)| SlotWitness::from_step(step, depth, index))
                .collect()
        };
        let commitment_in = chain_commitment(Fr::from(0u64), &slots_of(0..start)?);
        let binding = batch_binding(trace)?;
        let words_before: Vec<[Fr; 4]> = trace.steps[..start]
            .iter()
            .filter_map(|step| pubdata::tx_words(&step.tx))
            .collect();
        let evaluation_in =
            pubdata::continue_evaluation(Fr::from(1u64), binding.point, &words_before);
        let pending_in = trace.steps[..start]
            .iter()
            .fold(0, |pending, step| pending_after(pending, &step.tx));
        let mut slots = slots_of(start..end)?;
        slots.resize_with(chunk_size, || SlotWitness::noop(depth));
        Ok(Self {
            config: trace.header.config,
            start,
            old_root,
            new_root,
            commitment_in,
            pending_in,
            point: binding.point,
            evaluation_in,
            slots,
        })
    }

    /// The transaction commitment after the chunk: `c_0 = commitment_in`,
    /// `c_i = Poseidon(c_{i-1}, words of slot i)` for each non-padding slot.
    pub fn tx_commitment(&self) -> Fr {
        chain_commitment(self.commitment_in, &self.slots)
    }

    /// Fees pending after the chunk: each transfer's and withdrawal's fee adds to them, a fee
    /// settlement resets them to 0.
    pub fn pending_out(&self) -> u64 {
        self.slots
            .iter()
            .fold(self.pending_in, |pending, s| match s.tx_type {
                TX_TYPE_SETTLE_FEES => 0,
                TX_TYPE_TRANSFER | TX_TYPE_WITHDRAW => pending.saturating_add(s.fee),
                _ => pending,
            })
    }

    /// The pubdata evaluation after the chunk: continued at `point` over the words of each
    /// slot that enters the commitment.
    pub fn evaluation_out(&self) -> Fr {
        chain_evaluation(self.evaluation_in, self.point, &self.slots)
    }

    /// Public inputs, in instance order ([`super::PUBLIC_INPUTS`]): old root, new root,
    /// transaction commitment before and after the chunk, fees pending before and after it,
    /// the pubdata binding point, the evaluation before and after the chunk.
    pub fn public_inputs(&self) -> [Fr; CHUNK_PUBLIC_INPUTS] {
        [
            self.old_root,
            self.new_root,
            self.commitment_in,
            self.tx_commitment(),
            Fr::from(self.pending_in),
            Fr::from(self.pending_out()),
            self.point,
            self.evaluation_in,
            self.evaluation_out(),
        ]
    }
}

/// Number of public inputs of a chunk proof.
pub const CHUNK_PUBLIC_INPUTS: usize = 9;

/// Continues the transaction commitment `c` over `slots` (padding slots and fee settlements,
/// which have no pubdata, leave it unchanged).
pub fn chain_commitment(c: Fr, slots: &[SlotWitness]) -> Fr {
    committed(slots).fold(c, |c, s| {
        let [w0, w1, w2, w3] = s.commitment_words();
        poseidon::hash(&[c, w0, w1, w2, w3])
    })
}

fn committed(slots: &[SlotWitness]) -> impl Iterator<Item = &SlotWitness> {
    slots
        .iter()
        .filter(|s| s.tx_type != TX_TYPE_NOOP && s.tx_type != TX_TYPE_SETTLE_FEES)
}

/// Continues the pubdata evaluation `acc` at `point` over the words of `slots` (those that
/// enter the commitment).
pub fn chain_evaluation(acc: Fr, point: Fr, slots: &[SlotWitness]) -> Fr {
    let words: Vec<[Fr; 4]> = committed(slots).map(|s| s.commitment_words()).collect();
    pubdata::continue_evaluation(acc, point, &words)
}

/// The pubdata binding of a whole batch (`zkroll_engine::pubdata::binding` over its
/// transaction commitment, its pubdata and its words): the final proof's point and value.
pub fn batch_binding(trace: &BatchTrace) -> Result<Binding, ChunkError> {
    let mut bytes = Vec::with_capacity(trace.header.pubdata.len());
    let mut words = Vec::with_capacity(trace.steps.len());
    for step in &trace.steps {
        step.tx.write_pubdata(&mut bytes);
        words.extend(pubdata::tx_words(&step.tx));
    }
    Ok(pubdata::binding(batch_commitment(trace)?, &bytes, &words))
}

/// The transaction commitment of a whole batch: what the last chunk's public input
/// "commitment after" is, however the batch is cut into chunks.
pub fn batch_commitment(trace: &BatchTrace) -> Result<Fr, ChunkError> {
    let depth = trace.header.config.depth;
    let slots = trace
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| SlotWitness::from_step(step, depth, index))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(chain_commitment(Fr::from(0u64), &slots))
}
