//! Constraints of one transaction slot (the native side is `zkroll_engine::rules` via
//! [`super::witness`]).
//!
//! Per slot: the type is one-hot (no-op, deposit, transfer, withdraw, fee settlement); amount,
//! fee, nonce, recipient and every balance and nonce before and after are range checked (56,
//! 32, 32, 160, 64 and 32 bits), so no subtraction can wrap and no credit can overflow. Two
//! leaf updates follow, each enabled by the type: (1) the deposit account, the sender, or the
//! operator (fee settlement, index fixed by the circuit); (2) the transfer recipient. An
//! enabled update proves the account before under the current root and moves the root to the
//! account after; a disabled one leaves the root unchanged. Signed types verify EdDSA over
//! `Poseidon(w0, w1)` exactly as the engine builds the message, against the sender's key in
//! the tree. Fees are not paid per slot: a transfer's or withdrawal's fee adds to the
//! pending fees carried from slot to slot (and from chunk to chunk, as public inputs), and a
//! fee settlement credits exactly the pending fees to the operator and resets them to 0.
//! Finally the slot's words enter the transaction commitment, and the pubdata evaluation at
//! the batch's point (docs/protocol.md, "Pubdata binding").

use halo2_base::gates::{GateChip, GateInstructions, RangeChip, RangeInstructions};
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};

use super::witness::{SlotWitness, UpdateWitness};
use crate::eddsa::{AssignedPoint, AssignedSignature, EddsaChip};
use crate::field::{to_circuit, two_pow};
use crate::merkle::{AssignedPath, MerkleChip};
use crate::poseidon::PoseidonChip;
use crate::Fr;
use zkroll_engine::account::{AMOUNT_BITS, BALANCE_BITS, FEE_BITS, NONCE_BITS};
use zkroll_engine::ChainConfig;

/// The chips a slot uses.
pub struct SlotChips<'a> {
    /// Range checks (lookup based).
    pub range: &'a RangeChip<Fr>,
    /// Poseidon.
    pub poseidon: &'a PoseidonChip<'a>,
    /// Merkle paths.
    pub merkle: &'a MerkleChip<'a>,
    /// Signatures.
    pub eddsa: &'a EddsaChip<'a>,
}

/// An account as read from the tree before an update.
struct AccountCells {
    empty: AssignedValue<Fr>,
    x: AssignedValue<Fr>,
    y: AssignedValue<Fr>,
    balance: AssignedValue<Fr>,
    nonce: AssignedValue<Fr>,
    leaf: AssignedValue<Fr>,
    path: AssignedPath,
}

impl SlotChips<'_> {
    fn gate(&self) -> &GateChip<Fr> {
        self.range.gate()
    }

    fn bit(&self, ctx: &mut Context<Fr>, value: bool) -> AssignedValue<Fr> {
        let b = ctx.load_witness(Fr::from(value as u64));
        self.gate().assert_bit(ctx, b);
        b
    }

    fn assert_zero(&self, ctx: &mut Context<Fr>, value: AssignedValue<Fr>) {
        self.gate().assert_is_const(ctx, &value, &Fr::from(0u64));
    }

    /// `enabled * (a - b) == 0`.
    fn assert_equal_if(
        &self,
        ctx: &mut Context<Fr>,
        enabled: AssignedValue<Fr>,
        a: AssignedValue<Fr>,
        b: AssignedValue<Fr>,
    ) {
        let diff = self.gate().sub(ctx, a, b);
        let gated = self.gate().mul(ctx, diff, enabled);
        self.assert_zero(ctx, gated);
    }

    fn leaf(
        &self,
        ctx: &mut Context<Fr>,
        x: AssignedValue<Fr>,
        y: AssignedValue<Fr>,
        balance: AssignedValue<Fr>,
        nonce: AssignedValue<Fr>,
    ) -> AssignedValue<Fr> {
        self.poseidon.hash(ctx, &[x, y, balance, nonce])
    }

    /// Loads the account before an update, its leaf and its path. An empty leaf carries
    /// zero balance and nonce (constrained), and hashes to 0.
    fn load_account(
        &self,
        ctx: &mut Context<Fr>,
        u: &UpdateWitness,
        index: AssignedValue<Fr>,
    ) -> AccountCells {
        let g = self.gate();
        let empty = self.bit(ctx, u.before.is_none());
        let (x, y, balance, nonce) = match &u.before {
            Some(a) => (
                to_circuit(&a.public_key.0.x),
                to_circuit(&a.public_key.0.y),
                Fr::from(a.balance),
                Fr::from(a.nonce as u64),
            ),
            None => (
                Fr::from(0u64),
                Fr::from(0u64),
                Fr::from(0u64),
                Fr::from(0u64),
            ),
        };
        let [x, y, balance, nonce] = [x, y, balance, nonce].map(|v| ctx.load_witness(v));
        self.range.range_check(ctx, balance, BALANCE_BITS as usize);
        self.range.range_check(ctx, nonce, NONCE_BITS as usize);
        for v in [balance, nonce] {
            let gated = g.mul(ctx, v, empty);
            self.assert_zero(ctx, gated);
        }
        let hash = self.leaf(ctx, x, y, balance, nonce);
        let zero = ctx.load_zero();
        let leaf = g.select(ctx, zero, hash, empty);
        let siblings = ctx.assign_witnesses(u.siblings.iter().map(to_circuit));
        let path = self.merkle.path(ctx, index, siblings);
        AccountCells {
            empty,
            x,
            y,
            balance,
            nonce,
            leaf,
            path,
        }
    }

    /// If `enabled`: the old leaf is under `root`; returns the root with the new leaf.
    /// Otherwise returns `root` unchanged.
    fn apply(
        &self,
        ctx: &mut Context<Fr>,
        enabled: AssignedValue<Fr>,
        root: AssignedValue<Fr>,
        account: &AccountCells,
        new_leaf: AssignedValue<Fr>,
    ) -> AssignedValue<Fr> {
        let old = self.merkle.root(ctx, account.leaf, &account.path);
        self.assert_equal_if(ctx, enabled, old, root);
        let new = self.merkle.root(ctx, new_leaf, &account.path);
        self.gate().select(ctx, new, root, enabled)
    }

    /// If `enabled`: the account exists and receives `amount` without overflow; returns the
    /// root after (unchanged when disabled).
    fn credit(
        &self,
        ctx: &mut Context<Fr>,
        enabled: AssignedValue<Fr>,
        root: AssignedValue<Fr>,
        account: &AccountCells,
        amount: AssignedValue<Fr>,
    ) -> AssignedValue<Fr> {
        let g = self.gate();
        let gated_empty = g.mul(ctx, enabled, account.empty);
        self.assert_zero(ctx, gated_empty);
        let credit = g.mul(ctx, enabled, amount);
        let balance = g.add(ctx, account.balance, credit);
        self.range.range_check(ctx, balance, BALANCE_BITS as usize);
        let leaf = self.leaf(ctx, account.x, account.y, balance, account.nonce);
        self.apply(ctx, enabled, root, account, leaf)
    }

    /// Constrains one slot; returns the root, the transaction commitment and the pending
    /// fees after it. `marks` receives, for each rule, the offset in `ctx`'s advice cells
    /// where its constraints start (to name the rule a failing cell belongs to).
    pub fn slot(
        &self,
        ctx: &mut Context<Fr>,
        config: &ChainConfig,
        slot: &SlotWitness,
        state: SlotState,
        marks: &mut Vec<(usize, &'static str)>,
    ) -> SlotState {
        let SlotState {
            root,
            commitment,
            pending,
            point,
            evaluation,
        } = state;
        let mut mark = |ctx: &Context<Fr>, rule: &'static str| marks.push((ctx.advice.len(), rule));
        mark(ctx, "transaction type and field widths");
        let g = self.gate();
        let is_deposit = self.bit(ctx, slot.tx_type == 1);
        let is_transfer = self.bit(ctx, slot.tx_type == 2);
        let is_withdraw = self.bit(ctx, slot.tx_type == 3);
        let is_settlement = self.bit(ctx, slot.tx_type == 4);
        let signed = g.add(ctx, is_transfer, is_withdraw);
        // A transaction with pubdata (it enters the commitment).
        let active = g.add(ctx, is_deposit, signed);
        // Anything that updates a leaf.
        let updates = g.add(ctx, active, is_settlement);
        g.assert_bit(ctx, updates); // at most one type
        let tx_type = g.inner_product(
            ctx,
            [is_deposit, is_transfer, is_withdraw],
            [1u64, 2, 3].map(|v| Constant(Fr::from(v))),
        );

        let a = ctx.load_witness(Fr::from(slot.a as u64));
        let b = ctx.load_witness(Fr::from(slot.b as u64));
        let amount = ctx.load_witness(Fr::from(slot.amount));
        let fee = ctx.load_witness(Fr::from(slot.fee));
        let nonce = ctx.load_witness(Fr::from(slot.nonce as u64));
        let recipient = ctx.load_witness(to_circuit(&slot.recipient));
        self.range.range_check(ctx, amount, AMOUNT_BITS as usize);
        self.range.range_check(ctx, fee, FEE_BITS as usize);
        self.range.range_check(ctx, nonce, NONCE_BITS as usize);
        self.range.range_check(ctx, recipient, 160);
        let curve = self.eddsa.curve();
        let key_in = curve.load(
            ctx,
            to_circuit(&slot.public_key.x),
            to_circuit(&slot.public_key.y),
        );
        let r8 = curve.load(ctx, to_circuit(&slot.r8.x), to_circuit(&slot.r8.y));
        let s = ctx.load_witness(to_circuit(&slot.s));

        // Fields a type does not use are 0, so the commitment is a function of the pubdata:
        // `b` unless a transfer, the fee of a deposit, the recipient unless a withdrawal, the
        // key unless a deposit. (Padding slots and settlements leave the commitment unchanged;
        // a settlement's fields other than its amount are 0 too, and its account is the
        // operator, below.)
        mark(ctx, "unused fields");
        let not_transfer = g.add(ctx, is_deposit, is_withdraw);
        let not_transfer = g.add(ctx, not_transfer, is_settlement);
        let not_withdraw = g.add(ctx, is_deposit, is_transfer);
        let not_withdraw = g.add(ctx, not_withdraw, is_settlement);
        let not_deposit = g.add(ctx, signed, is_settlement);
        let no_fee = g.add(ctx, is_deposit, is_settlement);
        for (field, unused) in [
            (b, not_transfer),
            (fee, no_fee),
            (recipient, not_withdraw),
            (key_in.x, not_deposit),
            (key_in.y, not_deposit),
        ] {
            let gated = g.mul(ctx, field, unused);
            self.assert_zero(ctx, gated);
        }
        // A deposit moves money: one of 0 would change no leaf of an existing account, and a
        // batch of them would keep the root (replayable on L1).
        mark(ctx, "deposit amount");
        let no_amount = g.is_zero(ctx, amount);
        let gated_zero = g.mul(ctx, no_amount, is_deposit);
        self.assert_zero(ctx, gated_zero);

        // A fee settlement credits exactly the fees pending, to the operator.
        mark(ctx, "fee settlement: operator, amount = pending fees");
        let operator = ctx.load_constant(Fr::from(config.operator as u64));
        self.assert_equal_if(ctx, is_settlement, a, operator);
        self.assert_equal_if(ctx, is_settlement, amount, pending);
        let collected = g.mul_add(ctx, signed, fee, pending);
        let not_settlement = g.not(ctx, is_settlement);
        let pending = g.mul(ctx, collected, not_settlement);

        // (1) Deposit account, sender, or operator (settlement).
        mark(ctx, "account or sender: leaf, index bits, widths");
        let first = self.load_account(ctx, &slot.updates[0], a);
        mark(ctx, "deposit key rules");
        let creates = g.and(ctx, is_deposit, first.empty);
        let not_empty = g.not(ctx, first.empty);
        let credits_existing = g.and(ctx, is_deposit, not_empty);
        // A new account's key is on the curve and not of small order.
        let on_curve = curve.is_on_curve(ctx, &key_in);
        let one = ctx.load_constant(Fr::from(1u64));
        self.assert_equal_if(ctx, creates, on_curve, one);
        let safe_key = {
            // Off-curve inputs only reach the cofactor multiplication when not creating: use
            // the identity then, which keeps the addition law's denominators non-zero.
            let identity = curve.identity(ctx);
            curve.select(ctx, creates, &key_in, &identity)
        };
        let key8 = curve.mul_by_cofactor(ctx, &safe_key);
        let small = curve.is_identity(ctx, &key8);
        let gated_small = g.mul(ctx, small, creates);
        self.assert_zero(ctx, gated_small);
        // An existing account keeps its key.
        self.assert_equal_if(ctx, credits_existing, key_in.x, first.x);
        self.assert_equal_if(ctx, credits_existing, key_in.y, first.y);
        // A signed transaction's sender (a settlement's operator) exists.
        mark(ctx, "account exists, signature");
        let gated_empty = g.mul(ctx, not_deposit, first.empty);
        self.assert_zero(ctx, gated_empty);
        // The sender signed with its key, with its nonce.
        let w0 = g.inner_product(
            ctx,
            [tx_type, a, nonce, fee, amount],
            [0u32, 40, 72, 104, 136].map(|k| Constant(two_pow(k))),
        );
        let w0 = g.add(
            ctx,
            w0,
            Constant(Fr::from(config.chain_id as u64) * two_pow(8)),
        );
        let w1 = g.select(ctx, b, recipient, is_transfer);
        let message = self.poseidon.hash2(ctx, w0, w1);
        let identity = curve.identity(ctx);
        let sender_key = curve.select(
            ctx,
            signed,
            &AssignedPoint {
                x: first.x,
                y: first.y,
            },
            &identity,
        );
        self.eddsa.verify(
            ctx,
            signed,
            message,
            &sender_key,
            &AssignedSignature { r8, s },
        );
        mark(ctx, "nonce, balance and overflow of the account or sender");
        self.assert_equal_if(ctx, signed, nonce, first.nonce);
        let new_nonce = g.add(ctx, first.nonce, signed);
        self.range.range_check(ctx, new_nonce, NONCE_BITS as usize);
        let total = g.add(ctx, amount, fee);
        let credited = g.add(ctx, is_deposit, is_settlement);
        let credit = g.mul(ctx, credited, amount);
        let debit = g.mul(ctx, signed, total);
        let plus = g.add(ctx, first.balance, credit);
        let new_balance = g.sub(ctx, plus, debit);
        self.range
            .range_check(ctx, new_balance, BALANCE_BITS as usize);
        let new_x = g.select(ctx, key_in.x, first.x, first.empty);
        let new_y = g.select(ctx, key_in.y, first.y, first.empty);
        let new_leaf = self.leaf(ctx, new_x, new_y, new_balance, new_nonce);
        mark(
            ctx,
            "Merkle path of the account or sender (old root, new root)",
        );
        let root = self.apply(ctx, updates, root, &first, new_leaf);

        // (2) Transfer recipient: exists, credited.
        mark(
            ctx,
            "recipient: exists, credit without overflow, Merkle path",
        );
        let second = self.load_account(ctx, &slot.updates[1], b);
        let root = self.credit(ctx, is_transfer, root, &second, amount);

        // Transaction commitment.
        mark(ctx, "transaction commitment");
        let word = g.inner_product(
            ctx,
            [tx_type, a, b, fee, amount],
            [0u32, 8, 40, 72, 104].map(|k| Constant(two_pow(k))),
        );
        let next = self
            .poseidon
            .hash(ctx, &[commitment, word, recipient, key_in.x, key_in.y]);
        let commitment = g.select(ctx, next, commitment, active);

        // Pubdata binding: the evaluation at the batch's point continues over the same words.
        mark(ctx, "pubdata evaluation");
        let continued = [word, recipient, key_in.x, key_in.y]
            .into_iter()
            .fold(evaluation, |acc, w| g.mul_add(ctx, acc, point, w));
        let evaluation = g.select(ctx, continued, evaluation, active);
        SlotState {
            root,
            commitment,
            pending,
            point,
            evaluation,
        }
    }
}

/// What one slot hands the next: the state root, the transaction commitment, the fees
/// collected but not settled, and the pubdata binding's point and evaluation so far.
#[derive(Clone, Copy)]
pub(super) struct SlotState {
    /// State root.
    pub root: AssignedValue<Fr>,
    /// Transaction commitment.
    pub commitment: AssignedValue<Fr>,
    /// Pending fees.
    pub pending: AssignedValue<Fr>,
    /// The pubdata binding point (the same in every slot).
    pub point: AssignedValue<Fr>,
    /// The pubdata evaluation at `point`.
    pub evaluation: AssignedValue<Fr>,
}
