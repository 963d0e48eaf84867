// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.19;

import "BabyJubjub.sol";

/// @title The pubdata binding, L1's side (docs/protocol.md, "Pubdata binding")
/// @notice Reads a batch's pubdata from calldata, derives each transaction's four commitment
/// words (`type | a << 8 | b << 40 | fee << 72 | amount << 104`, the withdrawal's recipient,
/// the deposit's key x and y), hashes the commitment and the words with keccak256 into a
/// point `z` (mod r), and evaluates at `z` the polynomial `z^(4n) + w_1 z^(4n-1) + ... + w_4n`.
/// The final proof exposes the same point and value, computed in the circuits from the words
/// the proof commits to: when the proof verifies with L1's `z` and value, the calldata's
/// pubdata is the proven one (except with probability about `4n / r`).
/// @dev Mirrors `zkroll_engine::pubdata`, which the tests compare it with. A deposit's key is
/// not unpacked here (a square root mod r): the caller supplies each deposit's `(x, y)` in
/// order (the priority queue's entry), and the record's packed key must match it.
library PubdataBinding {
    /// BN254 scalar field modulus r.
    uint256 internal constant FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// (r - 1) / 2: circomlib's packed key sets its top bit when x is above it.
    uint256 internal constant HALF_FIELD =
        10944121435919637611123202872628637544274182200208017171849102093287904247808;

    uint256 internal constant ADDRESS_MASK = (1 << 160) - 1;
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
        /// The commitment, then each record's four words (`words[1 + 4i ..]`), the deposits'
        /// packed keys cleared: what L1 reads the deposits and withdrawals from.
        uint256[] words;
    }

    /// The binding of `pubdata` for a batch with transaction commitment `commitment`.
    /// @param depositKeys `(x, y)` of each deposit, in order (more may be given).
    /// @dev The loops are in assembly: Solidity's checked code cost ~1,450 gas per transfer.
    function bind(bytes calldata pubdata, uint256 commitment, uint256[2][] memory depositKeys)
        internal
        pure
        returns (Summary memory s)
    {
        uint256 n = count(pubdata);
        s.transactions = n;
        // words[0] is the commitment, then four words per record: hashed in one keccak256.
        uint256[] memory words = new uint256[](1 + 4 * n);
        words[0] = commitment;
        uint256 deposits = _fill(pubdata, words, depositKeys);
        s.deposits = deposits;
        // Each deposit's packed key (left by _fill in its recipient word, which is 0 for a
        // deposit) must be the packing of the key supplied.
        for (uint256 i = 0; deposits > 0; i++) {
            uint256 base = 1 + 4 * i;
            if (words[base] & 0xff == DEPOSIT) {
                if (!_packs(words[base + 1], words[base + 2], words[base + 3])) {
                    revert DepositKeyMismatch(i);
                }
                words[base + 1] = 0;
                deposits--;
            }
        }
        s.z = _point(words);
        s.value = _evaluate(words, s.z);
        s.words = words;
    }

    /// `keccak256` of every word (the commitment first), reduced mod r.
    function _point(uint256[] memory words) private pure returns (uint256 z) {
        assembly {
            z := mod(keccak256(add(words, 32), mul(mload(words), 32)), FIELD)
        }
    }

    /// Horner from 1 over the words after `words[0]` at `z`, a record (four words) at a time:
    /// `acc z^4 + w0 z^3 + w1 z^2 + w2 z + w3`, skipping the words a type leaves 0 (a
    /// transfer's last three, a withdrawal's last two, a deposit's second).
    function _evaluate(uint256[] memory words, uint256 z) private pure returns (uint256 acc) {
        assembly {
            let z2 := mulmod(z, z, FIELD)
            let z3 := mulmod(z2, z, FIELD)
            let z4 := mulmod(z2, z2, FIELD)
            acc := 1
            let end := add(add(words, 32), mul(mload(words), 32))
            for { let p := add(words, 64) } lt(p, end) { p := add(p, 128) } {
                let w0 := mload(p)
                let t := and(w0, 0xff)
                acc := addmod(mulmod(acc, z4, FIELD), mulmod(w0, z3, FIELD), FIELD)
                if eq(t, WITHDRAW) { acc := addmod(acc, mulmod(mload(add(p, 32)), z2, FIELD), FIELD) }
                if eq(t, DEPOSIT) {
                    let tail := addmod(mulmod(mload(add(p, 64)), z, FIELD), mload(add(p, 96)), FIELD)
                    acc := addmod(acc, tail, FIELD)
                }
            }
        }
    }

    /// Writes each record's four words after `words[0]` (a deposit's packed key in place of
    /// its recipient word, for the caller to check and clear); returns the deposits.
    /// Reverts with `DepositKeyMissing(record)` when there are more deposits than keys.
    function _fill(bytes calldata pubdata, uint256[] memory words, uint256[2][] memory depositKeys)
        private
        pure
        returns (uint256 deposits)
    {
        bytes4 missing = DepositKeyMissing.selector;
        assembly {
            let p := pubdata.offset
            let end := add(p, pubdata.length)
            let out := add(words, 64)
            for {} lt(p, end) { out := add(out, 128) } {
                let head := calldataload(p)
                switch shr(248, head)
                case 2 {
                    // 0x02 · from(4) · to(4) · amount(7) · fee(4): the 20 bytes in the low bits.
                    let r := shr(96, head)
                    let w := or(TRANSFER, shl(8, and(shr(120, r), 0xffffffff)))
                    w := or(w, shl(40, and(shr(88, r), 0xffffffff)))
                    w := or(w, shl(72, and(r, 0xffffffff)))
                    mstore(out, or(w, shl(104, and(shr(32, r), 0xffffffffffffff))))
                    p := add(p, TRANSFER_LEN)
                }
                case 3 {
                    // 0x03 · from(4) · recipient(20) · amount(7) · fee(4).
                    let w := or(WITHDRAW, shl(8, and(shr(216, head), 0xffffffff)))
                    w := or(w, shl(72, shr(224, calldataload(add(p, 32)))))
                    mstore(out, or(w, shl(104, and(head, 0xffffffffffffff))))
                    mstore(add(out, 32), and(shr(56, head), ADDRESS_MASK))
                    p := add(p, WITHDRAW_LEN)
                }
                default {
                    // 0x01 · account(4) · packed key(32) · amount(7) (count() admits no other).
                    if iszero(lt(deposits, mload(depositKeys))) {
                        mstore(0, missing)
                        mstore(4, shr(7, sub(out, add(words, 64))))
                        revert(0, 36)
                    }
                    let key := mload(add(depositKeys, shl(5, add(deposits, 1))))
                    let w := or(DEPOSIT, shl(8, and(shr(216, head), 0xffffffff)))
                    mstore(out, or(w, shl(104, shr(200, calldataload(add(p, 37))))))
                    mstore(add(out, 32), calldataload(add(p, 5)))
                    mstore(add(out, 64), mload(key))
                    mstore(add(out, 96), mload(add(key, 32)))
                    deposits := add(deposits, 1)
                    p := add(p, DEPOSIT_LEN)
                }
            }
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

    /// The number of records of `pubdata`; reverts on an unknown type or a cut record.
    function count(bytes calldata pubdata) internal pure returns (uint256 n) {
        uint256 failure; // 1: unknown type, 2: cut record
        uint256 failAt;
        uint256 failType;
        assembly {
            let start := pubdata.offset
            let end := add(start, pubdata.length)
            for { let p := start } lt(p, end) { n := add(n, 1) } {
                let t := byte(0, calldataload(p))
                let len := 0
                switch t
                case 2 { len := TRANSFER_LEN }
                case 3 { len := WITHDRAW_LEN }
                case 1 { len := DEPOSIT_LEN }
                if iszero(len) {
                    failure := 1
                    failAt := sub(p, start)
                    failType := t
                    break
                }
                if gt(add(p, len), end) {
                    failure := 2
                    failAt := sub(p, start)
                    break
                }
                p := add(p, len)
            }
        }
        if (failure == 1) revert UnknownRecord(failAt, failType);
        if (failure == 2) revert TruncatedRecord(failAt);
    }
}
