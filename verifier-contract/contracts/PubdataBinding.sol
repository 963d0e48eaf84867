// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.19;

import "BabyJubjub.sol";

/// @title The pubdata binding, L1's side (docs/protocol.md, "Pubdata binding")
/// @notice Hashes the commitment and the batch's pubdata with keccak256 into a point `z`
/// (mod r), derives each transaction's four commitment words from its record
/// (`type | a << 8 | b << 40 | fee << 72 | amount << 104`, the withdrawal's recipient, the
/// deposit's key x and y) and evaluates at `z` the polynomial
/// `z^(4n) + w_1 z^(4n-1) + ... + w_4n`, in one pass over calldata. The final proof exposes the
/// same point and value, computed in the circuits from the words the proof commits to: when the
/// proof verifies with L1's `z` and value, the calldata's pubdata is the proven one (except with
/// probability about `4n / r`).
/// @dev Mirrors `zkroll_engine::pubdata`, which the tests compare it with. A deposit's key is
/// not unpacked here (a square root mod r): the caller supplies each deposit's `(x, y)` in
/// order (the priority queue's entry), and the record's packed key must be its packing, so the
/// words stay a function of the pubdata bytes that `z` hashes.
library PubdataBinding {
    /// BN254 scalar field modulus r.
    uint256 internal constant FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// (r - 1) / 2: circomlib's packed key sets its top bit when x is above it.
    uint256 internal constant HALF_FIELD =
        10944121435919637611123202872628637544274182200208017171849102093287904247808;

    uint256 internal constant ADDRESS_MASK = (1 << 160) - 1;
    /// A transfer's fields where its first word has them (after the shifts of `bind`).
    uint256 internal constant FROM_BITS = 0xffffffff << 8;
    uint256 internal constant TO_BITS = 0xffffffff << 40;
    uint256 internal constant FEE_AMOUNT_BITS = ((1 << 88) - 1) << 72;
    uint256 internal constant DEPOSIT = 1;
    uint256 internal constant TRANSFER = 2;
    uint256 internal constant WITHDRAW = 3;
    uint256 internal constant DEPOSIT_LEN = 44;
    uint256 internal constant TRANSFER_LEN = 20;
    uint256 internal constant WITHDRAW_LEN = 36;

    /// A record starts with a byte that is no transaction type with pubdata.
    error UnknownRecord(uint256 offset, uint256 txType);
    /// The pubdata ends inside the record starting at `offset`.
    error TruncatedRecord(uint256 offset);
    /// More deposits in the pubdata than keys supplied (`record`: the deposit's record index).
    error DepositKeyMissing(uint256 record);
    /// The deposit's packed key is not the supplied key, or that key is not on the curve.
    error DepositKeyMismatch(uint256 record);

    /// What the pubdata holds, besides the binding.
    struct Summary {
        /// The evaluation point.
        uint256 z;
        /// The words' polynomial at `z`.
        uint256 value;
        /// Transactions (records).
        uint256 transactions;
        /// Deposits among them (keys consumed).
        uint256 deposits;
        /// The records L1 settles, deposits and withdrawals, in order: each
        /// `record index << 32 | byte offset`. Transfers are not listed (L1 has nothing to do
        /// for them).
        uint256[] settled;
    }

    /// The binding of `pubdata` for a batch with transaction commitment `commitment`.
    /// @param depositKeys `(x, y)` of each deposit, in order (more may be given).
    /// @dev One assembly pass over the records: Solidity's checked code cost ~1,450 gas per
    /// transfer, the words written to memory and hashed ~680; this ~100.
    function bind(bytes calldata pubdata, uint256 commitment, uint256[2][] calldata depositKeys)
        internal
        pure
        returns (Summary memory s)
    {
        // 0 or what went wrong: kind (1: unknown type, 2: cut record, 3: key missing)
        // | byte offset (kinds 1, 2) or record index (3) << 8 | type (kind 1) << 128.
        uint256 failure;
        assembly {
            // One pass over the records: the failure (if any), the evaluation, and
            // `withdrawals | deposits << 128`; writes the settled records at the free memory
            // pointer (their count first). Reads the deposit keys' calldata offset from 0x20.
            // Its own stack frame: the pass needs more live values than one frame with the
            // function's own would hold.
            // The index of the record at byte `at` (or the number of records in `at` bytes),
            // `counts` = withdrawals | deposits << 128 before it: the rest are transfers.
            function recordIndex(at, counts) -> i {
                let w := and(counts, 0xffffffff)
                let d := shr(128, counts)
                i := add(add(w, d), div(sub(sub(at, mul(w, WITHDRAW_LEN)), mul(d, DEPOSIT_LEN)), TRANSFER_LEN))
            }
            function pass(start, end, z) -> fail, acc, counts {
                let z3 := mulmod(mulmod(z, z, FIELD), z, FIELD)
                acc := 1
                mstore(0x00, add(mload(0x40), 32))
                let p := start
                for {} lt(p, end) {} {
                    let head := calldataload(p)
                    // Horner a record at a time, (((acc z + w0) z + w1) z + w2) z + w3,
                    // skipping the words a type leaves 0 (a transfer's last three, a
                    // withdrawal's last two, a deposit's second). `acc z + w0` is not reduced:
                    // below 2^254 + 2^160, it is an input of the next mulmod.
                    switch shr(248, head)
                    case 2 {
                        // 0x02 · from(4) · to(4) · amount(7) · fee(4) to
                        // type | from << 8 | to << 40 | fee << 72 | amount << 104: `amount · fee`
                        // is already in the word's order, from and to are swapped.
                        let w := or(TRANSFER, and(shr(208, head), FROM_BITS))
                        w := or(w, and(shr(144, head), TO_BITS))
                        w := or(w, and(shr(24, head), FEE_AMOUNT_BITS))
                        acc := mulmod(add(mulmod(acc, z, FIELD), w), z3, FIELD)
                        p := add(p, TRANSFER_LEN)
                    }
                    case 3 {
                        // 0x03 · from(4) · recipient(20) · amount(7) · fee(4).
                        let w := or(WITHDRAW, shl(8, and(shr(216, head), 0xffffffff)))
                        w := or(w, shl(72, shr(224, calldataload(add(p, 32)))))
                        w := or(w, shl(104, and(head, 0xffffffffffffff)))
                        acc := mulmod(add(mulmod(acc, z, FIELD), w), z, FIELD)
                        acc := mulmod(add(acc, and(shr(56, head), ADDRESS_MASK)), mulmod(z, z, FIELD), FIELD)
                        let out := mload(0x00)
                        mstore(out, or(shl(32, recordIndex(sub(p, start), counts)), sub(p, start)))
                        mstore(0x00, add(out, 32))
                        counts := add(counts, 1)
                        p := add(p, WITHDRAW_LEN)
                    }
                    case 1 {
                        // 0x01 · account(4) · packed key(32) · amount(7).
                        // The keys' length is the calldata word before them.
                        let d := shr(128, counts)
                        if iszero(lt(d, calldataload(sub(mload(0x20), 32)))) {
                            fail := or(3, shl(8, recordIndex(sub(p, start), counts)))
                            break
                        }
                        let key := add(mload(0x20), shl(6, d))
                        let w := or(DEPOSIT, shl(8, and(shr(216, head), 0xffffffff)))
                        w := or(w, shl(104, shr(200, calldataload(add(p, 37)))))
                        acc := mulmod(add(mulmod(acc, z, FIELD), w), mulmod(z, z, FIELD), FIELD)
                        acc := addmod(mulmod(addmod(acc, calldataload(key), FIELD), z, FIELD), calldataload(add(key, 32)), FIELD)
                        let out := mload(0x00)
                        mstore(out, or(shl(32, recordIndex(sub(p, start), counts)), sub(p, start)))
                        mstore(0x00, add(out, 32))
                        counts := add(counts, shl(128, 1))
                        p := add(p, DEPOSIT_LEN)
                    }
                    default {
                        fail := or(1, or(shl(8, sub(p, start)), shl(128, shr(248, head))))
                        break
                    }
                }
                // A record cut by the end of the pubdata: the loop stepped past it (records are
                // checked whole only here, out of the loop over transfers).
                if and(iszero(fail), gt(p, end)) { fail := 2 }
                let out := mload(0x00)
                let settled := mload(0x40)
                mstore(settled, shr(5, sub(out, add(settled, 32))))
                mstore(0x40, out)
            }
            // z: the commitment and the pubdata bytes, hashed where the list of settled
            // records is then written (the same free memory).
            let settled := mload(0x40)
            mstore(settled, commitment)
            calldatacopy(add(settled, 32), pubdata.offset, pubdata.length)
            let z := mod(keccak256(settled, add(32, pubdata.length)), FIELD)
            mstore(0x20, depositKeys.offset)
            let acc, counts
            failure, acc, counts := pass(pubdata.offset, add(pubdata.offset, pubdata.length), z)
            mstore(s, z)
            mstore(add(s, 32), acc)
            mstore(add(s, 64), recordIndex(pubdata.length, counts))
            mstore(add(s, 96), shr(128, counts))
            mstore(add(s, 128), settled)
        }
        uint256 kind = failure & 0xff;
        uint256 at = (failure >> 8) & 0xffffffff;
        if (kind == 1) revert UnknownRecord(at, failure >> 128);
        if (kind == 2) revert TruncatedRecord(_lastRecord(pubdata));
        if (kind == 3) revert DepositKeyMissing(at);
        uint256[] memory settled = s.settled;
        // Each deposit's packed key must be the packing of the key supplied (an on-curve point
        // in canonical coordinates): then the key words are a function of the hashed bytes.
        uint256 d = 0;
        for (uint256 i = 0; i < settled.length; i++) {
            uint256 at = settled[i] & 0xffffffff;
            if (uint8(pubdata[at]) == DEPOSIT) {
                uint256 packed = uint256(bytes32(pubdata[at + 5:at + 37]));
                if (!_packs(packed, depositKeys[d][0], depositKeys[d][1])) {
                    revert DepositKeyMismatch(settled[i] >> 32);
                }
                d++;
            }
        }
    }

    /// Offset of the last record of `pubdata` (whose types are known: the pass checked them).
    function _lastRecord(bytes calldata pubdata) private pure returns (uint256 at) {
        uint256 p = 0;
        while (p < pubdata.length) {
            at = p;
            uint8 t = uint8(pubdata[p]);
            p += t == TRANSFER ? TRANSFER_LEN : t == WITHDRAW ? WITHDRAW_LEN : DEPOSIT_LEN;
        }
    }

    /// Whether `packed` (circomlib's packing: y little-endian, the sign of x in the top bit)
    /// is the packing of `(x, y)`, a point of Baby Jubjub in canonical coordinates.
    function _packs(uint256 packed, uint256 x, uint256 y) private pure returns (bool) {
        if (x >= FIELD || y >= FIELD) return false;
        uint256 le = _reverseBytes(packed);
        if ((le & ((1 << 255) - 1)) != y) return false;
        if (((le >> 255) == 1) != (x > HALF_FIELD)) return false;
        return BabyJubjub.onCurve(x, y);
    }

    function _reverseBytes(uint256 v) private pure returns (uint256) {
        v = ((v >> 8) & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)
            | ((v & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff) << 8);
        v = ((v >> 16) & 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff)
            | ((v & 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff) << 16);
        v = ((v >> 32) & 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff)
            | ((v & 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff) << 32);
        v = ((v >> 64) & 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff)
            | ((v & 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff) << 64);
        return (v >> 128) | (v << 128);
    }
}
