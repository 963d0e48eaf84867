// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.19;

import "EddsaPoseidon.sol";

/// Exposes `EddsaPoseidon.verify` to the tests.
contract EddsaHarness {
    function verify(
        address poseidon,
        uint256 ax,
        uint256 ay,
        uint256 r8x,
        uint256 r8y,
        uint256 s,
        uint256 message
    ) external view returns (bool) {
        return EddsaPoseidon.verify(IPoseidonT6(poseidon), ax, ay, r8x, r8y, s, message);
    }
}
