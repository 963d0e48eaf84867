// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.19;

import "PubdataBinding.sol";

/// @title zkroll rollup contract
/// @notice Holds the rollup's state root and accepts a batch when its aggregated proof
/// verifies: the proof says that applying the batch's transactions to `oldRoot` under the
/// protocol rules gives `newRoot`, that `commitment` is the Poseidon chain over those
/// transactions, and that the pubdata in calldata is theirs (the pubdata binding: L1
/// computes its point and value from calldata and hands them to the verifier;
/// docs/protocol.md).
/// @dev The verifier is the contract snark-verifier generates for the final aggregation
/// circuit. Its calldata is the final proof's public inputs, 32 bytes each, big-endian:
/// the 12 limbs of the KZG accumulator, old root, new root, commitment, pubdata binding
/// point, pubdata evaluation; then the proof. It returns nothing on success and reverts
/// otherwise.
contract Rollup {
    /// BN254 scalar field modulus r: public inputs are field elements. The verifier reduces
    /// every public input mod r, so a word >= r would stand for another value than it says
    /// (a test compares this copy with halo2curves' `Fr::MODULUS`).
    uint256 internal constant FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// The proof verifier.
    address public immutable verifier;
    /// Current state root of the rollup.
    uint256 public stateRoot;
    /// Number of batches accepted so far.
    uint256 public batchNumber;
    /// Transaction commitment of each accepted batch (batch numbers start at 1). Withdrawals
    /// in the batch are recorded here for the bridge, which will prove them against it.
    mapping(uint256 => uint256) public batchCommitment;

    /// A batch was accepted (its pubdata is in the transaction's calldata).
    event BatchSubmitted(
        uint256 indexed batchNumber,
        uint256 oldRoot,
        uint256 newRoot,
        uint256 commitment,
        uint256 transactions
    );

    /// The batch does not start from the current state root (stale or replayed batch).
    error WrongOldRoot(uint256 expected, uint256 found);
    /// A batch without transactions (it would leave the root unchanged and could be replayed).
    error EmptyBatch();
    /// A batch that leaves the root unchanged: its calldata could be submitted again and
    /// again (every accepted transaction changes a nonce or a balance, so a real batch always
    /// moves the root).
    error UnchangedRoot();
    /// A public input is not a canonical field element.
    error NotAFieldElement(uint256 value);
    /// The verifier rejected the proof.
    error InvalidProof();
    /// The verifier address holds no code (a call to it would succeed on anything).
    error NoVerifier(address verifier);
    /// More deposit keys were given than the pubdata has deposits.
    error ExtraDepositKeys(uint256 given, uint256 deposits);

    constructor(address verifier_, uint256 genesisRoot) {
        if (verifier_.code.length == 0) revert NoVerifier(verifier_);
        if (genesisRoot >= FIELD) revert NotAFieldElement(genesisRoot);
        verifier = verifier_;
        stateRoot = genesisRoot;
    }

    /// @notice Submits a batch with its pubdata and its final aggregated proof.
    /// @param accumulator The KZG accumulator limbs (the proof's first 12 public inputs).
    /// @param oldRoot Root before the batch; must be the current state root.
    /// @param newRoot Root after the batch.
    /// @param commitment The batch's transaction commitment (0 means no transaction).
    /// @param pubdata The batch's pubdata (docs/protocol.md, "Pubdata").
    /// @param depositKeys Each deposit's public key `(x, y)`, in order: the records carry
    /// the packed key, which L1 does not unpack.
    /// @param proof The final proof's bytes.
    function submitBatch(
        uint256[12] calldata accumulator,
        uint256 oldRoot,
        uint256 newRoot,
        uint256 commitment,
        bytes calldata pubdata,
        uint256[2][] calldata depositKeys,
        bytes calldata proof
    ) external {
        if (oldRoot != stateRoot) revert WrongOldRoot(stateRoot, oldRoot);
        for (uint256 i = 0; i < 12; i++) {
            if (accumulator[i] >= FIELD) revert NotAFieldElement(accumulator[i]);
        }
        if (newRoot >= FIELD) revert NotAFieldElement(newRoot);
        if (commitment >= FIELD) revert NotAFieldElement(commitment);
        if (commitment == 0 || pubdata.length == 0) revert EmptyBatch();
        if (newRoot == oldRoot) revert UnchangedRoot();
        PubdataBinding.Summary memory s = PubdataBinding.bind(pubdata, commitment, depositKeys);
        if (s.deposits != depositKeys.length) {
            revert ExtraDepositKeys(depositKeys.length, s.deposits);
        }
        (bool ok,) = verifier.staticcall(
            abi.encodePacked(accumulator, oldRoot, newRoot, commitment, s.z, s.value, proof)
        );
        if (!ok) revert InvalidProof();
        stateRoot = newRoot;
        uint256 number = batchNumber + 1;
        batchNumber = number;
        batchCommitment[number] = commitment;
        emit BatchSubmitted(number, oldRoot, newRoot, commitment, s.transactions);
    }
}
