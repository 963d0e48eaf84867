// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.19;

import "PubdataBinding.sol";
import "EddsaPoseidon.sol";

/// The Poseidon contract of width 3 (`zkroll_verifier_contract::poseidon::solidity(3)`): a
/// node of the state tree.
interface IPoseidonT3 {
    function hash(uint256[2] calldata inputs) external pure returns (uint256);
}

/// The Poseidon contract of width 5: an account leaf.
interface IPoseidonT5 {
    function hash(uint256[4] calldata inputs) external pure returns (uint256);
}

/// @title zkroll rollup contract: state root, L1 -> L2 deposit queue, L2 -> L1 withdrawals
/// @notice Accepts a batch when its aggregated proof verifies: the proof says that applying
/// the batch's transactions to `oldRoot` under the protocol rules gives `newRoot`, that
/// `commitment` is the Poseidon chain over those transactions, and that the pubdata in
/// calldata is theirs (the pubdata binding: L1 computes its point and value from calldata
/// and hands them to the verifier; docs/protocol.md). From that pubdata L1 then takes what
/// crosses the bridge:
/// - Deposits: money enters only through `deposit`, which locks the ETH and queues the
///   deposit. A batch's deposits must be the queue's next entries, in order, with the same
///   account, key and amount; otherwise the batch is refused. So the operator cannot mint.
/// - Withdrawals: each one is credited to its L1 recipient, who claims it with `withdraw`.
/// - Escape hatch: when the oldest queued deposit has waited more than `exodusDelay` blocks,
///   anyone can switch the contract to exodus mode: no more batches, queued deposits are
///   refunded to their depositors, and each account exits once with its balance in the last
///   verified root (its leaf and Merkle path, checked with Poseidon on L1, and its key's
///   EdDSA-Poseidon signature naming the L1 address to pay).
/// Amounts cross the bridge in gwei (L2 amounts are 56-bit integers of gwei).
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
    /// The bridge's unit: L2 amounts are gwei.
    uint256 internal constant GWEI = 1 gwei;
    /// L2 amounts are below 2^56.
    uint256 internal constant AMOUNT_MASK = (1 << 56) - 1;
    /// L2 balances are below 2^64. All the gwei ever brought to L2 (genesis and deposits)
    /// stay below it, so no balance can overflow and every queued deposit is one the rules
    /// accept.
    uint256 internal constant SUPPLY_LIMIT = 1 << 64;
    uint256 internal constant DEPOSIT = 1;
    uint256 internal constant WITHDRAW = 3;
    /// The first input of an exit message (`zkroll_engine::exit::EXIT_DOMAIN`, "exit").
    uint256 internal constant EXIT_DOMAIN = 0x65786974;
    uint256 internal constant COUNTER_MASK = (1 << 64) - 1;
    uint256 internal constant HEAD_SHIFT = 64;
    uint256 internal constant TAIL_SHIFT = 128;
    uint256 internal constant EXODUS_BIT = 1 << 192;

    /// The proof verifier.
    address public immutable verifier;
    /// The L2 state tree's depth: accounts are `0 .. 2^treeDepth - 1`.
    uint256 public immutable treeDepth;
    /// Blocks a queued deposit may wait for a batch before exodus mode can be activated.
    uint256 public immutable exodusDelay;
    /// Poseidon of widths 3 (tree nodes), 5 (leaves) and 6 (EdDSA challenges, exit messages).
    IPoseidonT3 public immutable poseidon3;
    IPoseidonT5 public immutable poseidon5;
    IPoseidonT6 public immutable poseidon6;

    /// Current state root of the rollup.
    uint256 public stateRoot;
    /// The counters, in one slot (a batch reads them with one cold read instead of four):
    /// the batch number (bits 0-63, `batchNumber()`), the deposit queue's head (64-127,
    /// `depositHead()`) and tail (128-191, `depositTail()`), exodus mode (bit 192, `exodus()`).
    uint256 private counters;
    /// Each queued deposit's `keccak256(abi.encode(account, x, y, amount))`.
    mapping(uint256 => bytes32) public depositHash;
    /// Each queued deposit's `depositor | amount << 160 | block number << 216`; 0 once
    /// refunded.
    mapping(uint256 => uint256) public depositInfo;
    /// `keccak256(abi.encode(x, y))` of each account's key, as L1 knows it (genesis accounts
    /// and accounts created by a deposit): a deposit to an account under another key would
    /// be refused on L2, so L1 refuses it first.
    mapping(uint256 => bytes32) public accountKey;
    /// Gwei ever brought to L2 (genesis supply and deposits); below 2^64.
    uint256 public totalSupply;
    /// Wei each L1 address can claim with `withdraw` (withdrawals and refunds).
    mapping(address => uint256) public pendingWithdrawal;
    /// Accounts that have exited in exodus mode.
    mapping(uint256 => bool) public exited;

    /// A batch was accepted (its pubdata is in the transaction's calldata).
    event BatchSubmitted(
        uint256 indexed batchNumber,
        uint256 oldRoot,
        uint256 newRoot,
        uint256 commitment,
        uint256 transactions
    );
    /// A deposit was queued for L2.
    event DepositQueued(
        uint256 indexed index,
        uint256 indexed account,
        uint256 x,
        uint256 y,
        uint256 amount,
        address depositor
    );
    /// Exodus mode was activated: deposit `overdue` waited since block `queuedAt`.
    event ExodusActivated(uint256 overdue, uint256 queuedAt);
    /// A queued deposit was refunded to its depositor (credited for `withdraw`).
    event DepositRefunded(uint256 indexed index, address depositor, uint256 amount);
    /// Account `account` exited with `amount` gwei, credited to `recipient`.
    event Exited(uint256 indexed account, address recipient, uint256 amount);
    /// `amount` wei were paid to `recipient`.
    event Withdrawn(address indexed recipient, uint256 amount);

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
    /// A Poseidon contract address holds no code.
    error NoPoseidon(address poseidon);
    /// More deposit keys were given than the pubdata has deposits.
    error ExtraDepositKeys(uint256 given, uint256 deposits);
    /// The batch's deposit (record index) would be queue entry `index`, which is not queued.
    error DepositNotQueued(uint256 record, uint256 index);
    /// The batch's deposit (record index) differs from queue entry `index` (another account,
    /// key or amount, or out of order).
    error DepositMismatch(uint256 record, uint256 index);
    /// After the batch, queued deposit `index` would still wait, past its deadline.
    error DepositOverdue(uint256 index, uint256 deadline);
    /// A tree depth outside 1..32.
    error BadTreeDepth(uint256 depth);
    /// The ETH sent is not a whole number of gwei.
    error NotWholeGwei(uint256 value);
    /// A deposit of 0, or of 2^56 gwei or more.
    error BadDepositAmount(uint256 amount);
    /// The account is outside the tree.
    error AccountOutOfRange(uint256 account);
    /// The key is not a point of Baby Jubjub outside its small subgroup (coordinates < r).
    error UnusableKey(uint256 x, uint256 y);
    /// The account exists under another key.
    error AccountKeyMismatch(uint256 account);
    /// The gwei brought to L2 would reach 2^64.
    error SupplyLimit(uint256 supply);
    /// The genesis supply is not what was sent with the deployment.
    error GenesisSupplyUnbacked(uint256 supplyGwei, uint256 sentWei);
    /// The contract is in exodus mode.
    error ExodusMode();
    /// Exodus mode is not on.
    error NotExodusMode();
    /// No queued deposit is past its deadline.
    error NoOverdueDeposit();
    /// The deposit is not pending (consumed by a batch, not queued, or refunded).
    error NotRefundable(uint256 index);
    /// The account has already exited.
    error AlreadyExited(uint256 account);
    /// A Merkle path of another length than the tree's depth.
    error WrongPathLength(uint256 expected, uint256 found);
    /// A leaf no account can have: balance >= 2^64 or nonce >= 2^32.
    error NotAnAccountLeaf(uint256 account);
    /// The leaf and its path do not hash to the state root.
    error NotInStateRoot(uint256 account, uint256 root);
    /// The signature does not authorise this exit under the leaf's key.
    error BadExitSignature(uint256 account);
    /// Nothing to withdraw for this address.
    error NothingToWithdraw(address recipient);
    /// The payment to the recipient failed (its balance stays claimable).
    error PaymentFailed(address recipient, uint256 amount);

    /// @param verifier_ The final aggregation circuit's verifier.
    /// @param genesisRoot The state root at genesis.
    /// @param depth The state tree's depth.
    /// @param exodusDelay_ Blocks a deposit may wait before exodus mode can be activated.
    /// @param genesisSupply Gwei held by the genesis accounts: sent with the deployment (the
    /// ETH that backs them).
    /// @param genesisKeys `(account, x, y)` of each genesis account (the operator's included).
    /// @param poseidon The Poseidon contracts of widths 3, 5 and 6.
    constructor(
        address verifier_,
        uint256 genesisRoot,
        uint256 depth,
        uint256 exodusDelay_,
        uint256 genesisSupply,
        uint256[3][] memory genesisKeys,
        address[3] memory poseidon
    ) payable {
        if (verifier_.code.length == 0) revert NoVerifier(verifier_);
        for (uint256 i = 0; i < 3; i++) {
            if (poseidon[i].code.length == 0) revert NoPoseidon(poseidon[i]);
        }
        poseidon3 = IPoseidonT3(poseidon[0]);
        poseidon5 = IPoseidonT5(poseidon[1]);
        poseidon6 = IPoseidonT6(poseidon[2]);
        if (genesisRoot >= FIELD) revert NotAFieldElement(genesisRoot);
        if (depth == 0 || depth > 32) revert BadTreeDepth(depth);
        if (genesisSupply >= SUPPLY_LIMIT) revert SupplyLimit(genesisSupply);
        if (msg.value != genesisSupply * GWEI) revert GenesisSupplyUnbacked(genesisSupply, msg.value);
        verifier = verifier_;
        treeDepth = depth;
        exodusDelay = exodusDelay_;
        stateRoot = genesisRoot;
        totalSupply = genesisSupply;
        for (uint256 i = 0; i < genesisKeys.length; i++) {
            uint256 account = genesisKeys[i][0];
            if (account >> depth != 0) revert AccountOutOfRange(account);
            accountKey[account] = keccak256(abi.encode(genesisKeys[i][1], genesisKeys[i][2]));
        }
    }

    /// @notice Locks `msg.value` (a whole number of gwei, below 2^56 gwei) and queues its
    /// deposit to L2 account `account` under key `(x, y)` (creating the account there if it
    /// does not exist). Refused when L2 would refuse it: account outside the tree, unusable
    /// key, an existing account under another key.
    function deposit(uint256 x, uint256 y, uint256 account) external payable {
        uint256 c = counters;
        if (c & EXODUS_BIT != 0) revert ExodusMode();
        if (msg.value % GWEI != 0) revert NotWholeGwei(msg.value);
        uint256 amount = msg.value / GWEI;
        if (amount == 0 || amount > AMOUNT_MASK) revert BadDepositAmount(amount);
        if (account >> treeDepth != 0) revert AccountOutOfRange(account);
        if (!isUsableKey(x, y)) revert UnusableKey(x, y);
        bytes32 key = keccak256(abi.encode(x, y));
        bytes32 known = accountKey[account];
        if (known == 0) {
            accountKey[account] = key;
        } else if (known != key) {
            revert AccountKeyMismatch(account);
        }
        uint256 supply = totalSupply + amount;
        if (supply >= SUPPLY_LIMIT) revert SupplyLimit(supply);
        totalSupply = supply;
        uint256 index = (c >> TAIL_SHIFT) & COUNTER_MASK;
        depositHash[index] = keccak256(abi.encode(account, x, y, amount));
        depositInfo[index] = uint256(uint160(msg.sender)) | amount << 160 | block.number << 216;
        counters = c + (1 << TAIL_SHIFT);
        emit DepositQueued(index, account, x, y, amount, msg.sender);
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
        uint256 c = counters;
        if (c & EXODUS_BIT != 0) revert ExodusMode();
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
        uint256 head = _settle(pubdata, s.settled, depositKeys, c);
        stateRoot = newRoot;
        uint256 number = (c & COUNTER_MASK) + 1;
        counters = (c & ~(COUNTER_MASK | COUNTER_MASK << HEAD_SHIFT)) | number | head << HEAD_SHIFT;
        emit BatchSubmitted(number, oldRoot, newRoot, commitment, s.transactions);
    }

    /// Consumes the batch's deposits from the queue (each must be the next entry) and credits
    /// its withdrawals; refuses a batch after which a queued deposit is overdue. Returns the
    /// queue's new head (`c`: the counters before the batch).
    function _settle(
        bytes calldata pubdata,
        uint256[] memory settled,
        uint256[2][] calldata depositKeys,
        uint256 c
    ) private returns (uint256 next) {
        uint256 tail = (c >> TAIL_SHIFT) & COUNTER_MASK;
        next = (c >> HEAD_SHIFT) & COUNTER_MASK;
        uint256 d = 0;
        for (uint256 i = 0; i < settled.length; i++) {
            uint256 at = settled[i] & 0xffffffff;
            // The record's first 32 bytes (a shorter slice converts zero-padded).
            uint256 word = uint256(bytes32(pubdata[at:]));
            if (word >> 248 == DEPOSIT) {
                // 0x01 · account(4) · packed key(32) · amount(7): the key was checked against
                // depositKeys[d] by the binding.
                uint256 record = settled[i] >> 32;
                if (next >= tail) revert DepositNotQueued(record, next);
                uint256 amount = uint256(bytes32(pubdata[at + 37:])) >> 200;
                bytes32 h = keccak256(
                    abi.encode((word >> 216) & 0xffffffff, depositKeys[d][0], depositKeys[d][1], amount)
                );
                if (h != depositHash[next]) revert DepositMismatch(record, next);
                next++;
                d++;
            } else {
                // 0x03 · from(4) · recipient(20) · amount(7) · fee(4).
                address recipient = address(uint160(word >> 56));
                pendingWithdrawal[recipient] += (word & AMOUNT_MASK) * GWEI;
            }
        }
        if (next < tail) {
            uint256 deadline = (depositInfo[next] >> 216) + exodusDelay;
            if (block.number > deadline) revert DepositOverdue(next, deadline);
        }
    }


    /// @notice Switches to exodus mode when the oldest queued deposit has waited more than
    /// `exodusDelay` blocks: no batch is accepted after it and queued deposits are refunded.
    function activateExodus() external {
        uint256 c = counters;
        if (c & EXODUS_BIT != 0) revert ExodusMode();
        uint256 head = (c >> HEAD_SHIFT) & COUNTER_MASK;
        if (head >= (c >> TAIL_SHIFT) & COUNTER_MASK) revert NoOverdueDeposit();
        uint256 queuedAt = depositInfo[head] >> 216;
        if (block.number <= queuedAt + exodusDelay) revert NoOverdueDeposit();
        counters = c | EXODUS_BIT;
        emit ExodusActivated(head, queuedAt);
    }

    /// @notice In exodus mode, credits queued deposit `index` (not consumed by a batch) back
    /// to its depositor, once; the depositor claims it with `withdraw`.
    function refundDeposit(uint256 index) external {
        uint256 c = counters;
        if (c & EXODUS_BIT == 0) revert NotExodusMode();
        if (index < (c >> HEAD_SHIFT) & COUNTER_MASK || index >= (c >> TAIL_SHIFT) & COUNTER_MASK) {
            revert NotRefundable(index);
        }
        uint256 info = depositInfo[index];
        if (info == 0) revert NotRefundable(index);
        depositInfo[index] = 0;
        address depositor = address(uint160(info));
        uint256 amount = (info >> 160) & AMOUNT_MASK;
        pendingWithdrawal[depositor] += amount * GWEI;
        emit DepositRefunded(index, depositor, amount);
    }

    /// @notice In exodus mode, account `account` exits once with its balance in the last
    /// verified state root, credited (gwei -> wei) to `recipient`, who claims it with
    /// `withdraw`. Anyone may send the exit; the account's key authorises it by signing
    /// `Poseidon(EXIT_DOMAIN, chain id, this contract, account, recipient)`.
    /// @param leaf The account's leaf inputs: key x, key y, balance (gwei), nonce.
    /// @param siblings The leaf's Merkle siblings, from the leaf level up (`treeDepth` of
    /// them).
    /// @param signature `(R8.x, R8.y, S)`: the key's EdDSA-Poseidon signature.
    function exit(
        uint256 account,
        uint256[4] calldata leaf,
        uint256[] calldata siblings,
        address recipient,
        uint256[3] calldata signature
    ) external {
        if (counters & EXODUS_BIT == 0) revert NotExodusMode();
        if (exited[account]) revert AlreadyExited(account);
        uint256 depth = treeDepth;
        if (account >> depth != 0) revert AccountOutOfRange(account);
        if (siblings.length != depth) revert WrongPathLength(depth, siblings.length);
        // The leaf's hash takes its inputs mod r: only canonical values stand for an account
        // (the key is checked canonical with the signature).
        if (leaf[2] >= SUPPLY_LIMIT || leaf[3] >> 32 != 0) revert NotAnAccountLeaf(account);
        uint256 node = poseidon5.hash(leaf);
        for (uint256 level = 0; level < depth; level++) {
            node = (account >> level) & 1 == 0
                ? poseidon3.hash([node, siblings[level]])
                : poseidon3.hash([siblings[level], node]);
        }
        uint256 root = stateRoot;
        if (node != root) revert NotInStateRoot(account, root);
        uint256 message = poseidon6.hash(
            [EXIT_DOMAIN, block.chainid, uint256(uint160(address(this))), account, uint256(uint160(recipient))]
        );
        if (!EddsaPoseidon.verify(poseidon6, leaf[0], leaf[1], signature[0], signature[1], signature[2], message)) {
            revert BadExitSignature(account);
        }
        exited[account] = true;
        pendingWithdrawal[recipient] += leaf[2] * GWEI;
        emit Exited(account, recipient, leaf[2]);
    }

    /// @notice Pays the caller what it can claim (withdrawals in accepted batches, refunds).
    /// @dev Checks, effects, interactions: the claim is zeroed before the call, so a
    /// recipient that calls back finds nothing to withdraw.
    function withdraw() external {
        uint256 amount = pendingWithdrawal[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        pendingWithdrawal[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert PaymentFailed(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    /// Number of batches accepted so far (each one's commitment is in its `BatchSubmitted`
    /// event, not stored: withdrawals are credited when the batch is accepted).
    function batchNumber() external view returns (uint256) {
        return counters & COUNTER_MASK;
    }

    /// The first queued deposit no accepted batch has consumed yet.
    function depositHead() external view returns (uint256) {
        return (counters >> HEAD_SHIFT) & COUNTER_MASK;
    }

    /// Deposits queued so far; the next deposit gets this index.
    function depositTail() external view returns (uint256) {
        return (counters >> TAIL_SHIFT) & COUNTER_MASK;
    }

    /// Whether exodus mode is on (no more batches).
    function exodus() external view returns (bool) {
        return counters & EXODUS_BIT != 0;
    }

    /// @notice Whether `(x, y)` is a key L2 accepts for a new account: canonical coordinates
    /// of a point of Baby Jubjub whose multiple by the cofactor 8 is not the identity (the
    /// engine's `is_usable_key`).
    function isUsableKey(uint256 x, uint256 y) public pure returns (bool) {
        return BabyJubjub.isUsableKey(x, y);
    }
}
