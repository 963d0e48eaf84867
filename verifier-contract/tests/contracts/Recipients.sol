// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.19;

interface IRollup {
    function withdraw() external;
}

/// A withdrawal recipient that calls `withdraw` again from its `receive` hook (up to three
/// times, each call's failure caught so the outer payment still completes): with the claim
/// zeroed before the payment, every re-entry finds nothing to withdraw.
contract Reentrant {
    IRollup public immutable rollup;
    /// Re-entries that succeeded (each would pay the claim again).
    uint256 public reentries;
    /// Re-entries tried.
    uint256 public attempts;
    /// Wei received.
    uint256 public received;

    constructor(address rollup_) {
        rollup = IRollup(rollup_);
    }

    /// Claims this contract's withdrawal.
    function attack() external {
        rollup.withdraw();
    }

    receive() external payable {
        received += msg.value;
        if (attempts < 3) {
            attempts++;
            try rollup.withdraw() {
                reentries++;
            } catch {}
        }
    }
}

/// A withdrawal recipient that refuses ETH until told otherwise.
contract Refusing {
    IRollup public immutable rollup;
    bool public accept;

    constructor(address rollup_) {
        rollup = IRollup(rollup_);
    }

    function setAccept(bool accept_) external {
        accept = accept_;
    }

    function claim() external {
        rollup.withdraw();
    }

    receive() external payable {
        require(accept, "refused");
    }
}
