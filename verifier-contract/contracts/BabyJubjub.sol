// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.19;

/// @title Baby Jubjub on L1: the curve of zkroll's account keys and signatures
/// @notice Points are checked with canonical coordinates (`< r`), as the engine parses them.
/// @dev Projective twisted Edwards coordinates `(X : Y : Z)` on the stack, formulas
/// add-2008-bbjlp (with an affine second point) and dbl-2008-bbjlp. Baby Jubjub is complete
/// (a is a square, d is not), so they hold for every pair of points, the identity
/// `(0 : 1 : 1)` included, and Z never vanishes.
library BabyJubjub {
    uint256 internal constant FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant CURVE_A = 168700;
    uint256 internal constant CURVE_D = 168696;

    /// Whether `(x, y)` are canonical coordinates of a point of Baby Jubjub.
    function onCurve(uint256 x, uint256 y) internal pure returns (bool) {
        if (x >= FIELD || y >= FIELD) return false;
        uint256 x2 = mulmod(x, x, FIELD);
        uint256 y2 = mulmod(y, y, FIELD);
        uint256 lhs = addmod(mulmod(CURVE_A, x2, FIELD), y2, FIELD);
        return lhs == addmod(1, mulmod(CURVE_D, mulmod(x2, y2, FIELD), FIELD), FIELD);
    }

    /// Whether `(x, y)` is a key L2 accepts for a new account: on the curve, and its multiple
    /// by the cofactor 8 is not the identity (the engine's `is_usable_key`: a key of small
    /// order is one anyone can sign for).
    function isUsableKey(uint256 x, uint256 y) internal pure returns (bool) {
        if (!onCurve(x, y)) return false;
        (uint256 X, uint256 Y, uint256 Z) = double(x, y, 1);
        (X, Y, Z) = double(X, Y, Z);
        (X, Y, Z) = double(X, Y, Z);
        // The identity is (0 : Z : Z).
        return !(X == 0 && Y == Z);
    }

    /// Whether `(x1 : y1 : z1)` and `(x2 : y2 : z2)` are the same point.
    function equal(uint256 x1, uint256 y1, uint256 z1, uint256 x2, uint256 y2, uint256 z2)
        internal
        pure
        returns (bool)
    {
        return mulmod(x1, z2, FIELD) == mulmod(x2, z1, FIELD)
            && mulmod(y1, z2, FIELD) == mulmod(y2, z1, FIELD);
    }

    /// `k * (px, py)`, double-and-add from the top bit (the formulas of `double` and `add`,
    /// inlined).
    function mul(uint256 px, uint256 py, uint256 k)
        internal
        pure
        returns (uint256 x, uint256 y, uint256 z)
    {
        assembly {
            x := 0
            y := 1
            z := 1
            for { let i := 256 } gt(i, 0) { i := sub(i, 1) } {
                {
                    let c := mulmod(x, x, FIELD)
                    let d := mulmod(y, y, FIELD)
                    let e := mulmod(CURVE_A, c, FIELD)
                    let f := addmod(e, d, FIELD)
                    let j := addmod(f, sub(FIELD, mulmod(2, mulmod(z, z, FIELD), FIELD)), FIELD)
                    let s := addmod(x, y, FIELD)
                    x := mulmod(addmod(mulmod(s, s, FIELD), sub(FIELD, addmod(c, d, FIELD)), FIELD), j, FIELD)
                    y := mulmod(f, addmod(e, sub(FIELD, d), FIELD), FIELD)
                    z := mulmod(f, j, FIELD)
                }
                if and(shr(sub(i, 1), k), 1) {
                    let c := mulmod(x, px, FIELD)
                    let d := mulmod(y, py, FIELD)
                    let f := 0
                    let g := 0
                    {
                        let b := mulmod(z, z, FIELD)
                        let e := mulmod(CURVE_D, mulmod(c, d, FIELD), FIELD)
                        f := addmod(b, sub(FIELD, e), FIELD)
                        g := addmod(b, e, FIELD)
                    }
                    let cross := mulmod(addmod(x, y, FIELD), addmod(px, py, FIELD), FIELD)
                    x := mulmod(mulmod(z, f, FIELD), addmod(cross, sub(FIELD, addmod(c, d, FIELD)), FIELD), FIELD)
                    y := mulmod(mulmod(z, g, FIELD), addmod(d, sub(FIELD, mulmod(CURVE_A, c, FIELD)), FIELD), FIELD)
                    z := mulmod(f, g, FIELD)
                }
            }
        }
    }

    /// `(x1 : y1 : z1) + (x2, y2)` (the second point affine).
    function add(uint256 x1, uint256 y1, uint256 z1, uint256 x2, uint256 y2)
        internal
        pure
        returns (uint256 x, uint256 y, uint256 z)
    {
        assembly {
            let c := mulmod(x1, x2, FIELD)
            let d := mulmod(y1, y2, FIELD)
            let f := 0
            let g := 0
            {
                let b := mulmod(z1, z1, FIELD)
                let e := mulmod(CURVE_D, mulmod(c, d, FIELD), FIELD)
                f := addmod(b, sub(FIELD, e), FIELD)
                g := addmod(b, e, FIELD)
            }
            let cross := mulmod(addmod(x1, y1, FIELD), addmod(x2, y2, FIELD), FIELD)
            x := mulmod(mulmod(z1, f, FIELD), addmod(cross, sub(FIELD, addmod(c, d, FIELD)), FIELD), FIELD)
            y := mulmod(mulmod(z1, g, FIELD), addmod(d, sub(FIELD, mulmod(CURVE_A, c, FIELD)), FIELD), FIELD)
            z := mulmod(f, g, FIELD)
        }
    }

    /// `2 * (x1 : y1 : z1)`.
    function double(uint256 x1, uint256 y1, uint256 z1)
        internal
        pure
        returns (uint256, uint256, uint256)
    {
        uint256 b = mulmod(addmod(x1, y1, FIELD), addmod(x1, y1, FIELD), FIELD);
        uint256 c = mulmod(x1, x1, FIELD);
        uint256 d = mulmod(y1, y1, FIELD);
        uint256 e = mulmod(CURVE_A, c, FIELD);
        uint256 f = addmod(e, d, FIELD);
        uint256 j = addmod(f, FIELD - mulmod(2, mulmod(z1, z1, FIELD), FIELD), FIELD);
        uint256 x = mulmod(addmod(b, FIELD - addmod(c, d, FIELD), FIELD), j, FIELD);
        uint256 y = mulmod(f, addmod(e, FIELD - d, FIELD), FIELD);
        return (x, y, mulmod(f, j, FIELD));
    }
}
