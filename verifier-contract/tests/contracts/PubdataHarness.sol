// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.19;

import "PubdataBinding.sol";

/// Exposes PubdataBinding.bind for the tests (compared with zkroll_engine::pubdata) and its gas.
contract PubdataHarness {
    function bind(bytes calldata pubdata, uint256 commitment, uint256[2][] calldata keys)
        external
        pure
        returns (uint256 z, uint256 value, uint256 transactions, uint256 deposits)
    {
        PubdataBinding.Summary memory s = PubdataBinding.bind(pubdata, commitment, keys);
        return (s.z, s.value, s.transactions, s.deposits);
    }
}
