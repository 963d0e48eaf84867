//! An in-process EVM (revm, mainnet rules: EIP-170 code size limit, current gas schedule) to
//! deploy the contracts and call them, measuring gas: total, calldata, and the BN254
//! precompiles (ecAdd 0x06, ecMul 0x07, ecPairing 0x08) counted by an inspector.

use revm::context::result::{ExecutionResult, Output};
use revm::context::{ContextTr, TxEnv};
use revm::database::InMemoryDB;
use revm::database_interface::Database;
use revm::handler::MainnetContext;
use revm::interpreter::{CallInputs, CallOutcome};
use revm::primitives::TxKind;
pub use revm::primitives::{Address, U256};
use revm::state::AccountInfo;
use revm::{Context, InspectCommitEvm, Inspector, MainBuilder, MainContext, MainnetEvm};

/// Gas and calls of one precompile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrecompileUse {
    /// Calls.
    pub calls: u32,
    /// Gas spent in them.
    pub gas: u64,
}

/// Where a transaction's gas went, as far as the EVM shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GasProfile {
    /// ecAdd (0x06).
    pub ec_add: PrecompileUse,
    /// ecMul (0x07).
    pub ec_mul: PrecompileUse,
    /// ecPairing (0x08).
    pub ec_pairing: PrecompileUse,
    /// Gas spent by the last call frame to end: once the transaction is done, its own frame,
    /// that is its execution before refunds and before EIP-7623's calldata floor (which
    /// `gas_used` includes: a transaction that executes little for its calldata pays the floor).
    pub frame: u64,
}

impl GasProfile {
    /// Gas of the three precompiles together.
    pub fn precompiles(&self) -> u64 {
        self.ec_add.gas + self.ec_mul.gas + self.ec_pairing.gas
    }
}

impl<CTX> Inspector<CTX> for GasProfile {
    fn call_end(&mut self, _context: &mut CTX, inputs: &CallInputs, outcome: &mut CallOutcome) {
        self.frame = outcome.result.gas.spent();
        let slot = match inputs.bytecode_address {
            a if a == Address::with_last_byte(6) => &mut self.ec_add,
            a if a == Address::with_last_byte(7) => &mut self.ec_mul,
            a if a == Address::with_last_byte(8) => &mut self.ec_pairing,
            _ => return,
        };
        slot.calls += 1;
        slot.gas += outcome.result.gas.spent();
    }
}

/// The outcome of one transaction.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// Whether it succeeded (a revert or halt is `false`).
    pub success: bool,
    /// Gas used, including the 21,000 base and calldata.
    pub gas_used: u64,
    /// Calldata gas (4 per zero byte, 16 per other byte).
    pub calldata_gas: u64,
    /// Calldata bytes.
    pub calldata_bytes: usize,
    /// Returned or revert data.
    pub output: Vec<u8>,
    /// The address created, for a deployment.
    pub created: Option<Address>,
    /// Why it failed, in words.
    pub failure: Option<String>,
    /// Precompile use.
    pub profile: GasProfile,
}

/// Why a transaction could not even be executed (not a revert: an invalid transaction).
#[derive(Debug, thiserror::Error)]
#[error("EVM: {0}")]
pub struct EvmError(String);

/// Calldata gas under EIP-2028.
pub fn calldata_gas(data: &[u8]) -> u64 {
    data.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum()
}

/// A fresh chain (gas price 0). Transactions come from [`Chain::DEFAULT_SENDER`] unless
/// another sender is named; senders need a balance only for the value they send
/// ([`Chain::fund`]). The block number starts at 1 and moves only with
/// [`Chain::advance_blocks`].
pub struct Chain {
    evm: MainnetEvm<MainnetContext<InMemoryDB>, GasProfile>,
}

impl Chain {
    /// A chain with mainnet rules; `limit_code_size: false` lifts EIP-170 (to measure
    /// contracts too big for mainnet).
    pub fn new(limit_code_size: bool) -> Self {
        let mut context = Context::mainnet().with_db(InMemoryDB::default());
        if !limit_code_size {
            context.cfg.limit_contract_code_size = Some(usize::MAX);
        }
        context.block.number = U256::from(1);
        Self {
            evm: context.build_mainnet_with_inspector(GasProfile::default()),
        }
    }

    /// The sender of [`Chain::deploy`] and [`Chain::call`].
    pub const DEFAULT_SENDER: Address = Address::ZERO;

    fn account(&mut self, address: Address) -> Result<AccountInfo, EvmError> {
        Ok(self
            .evm
            .ctx
            .db_mut()
            .basic(address)
            .map_err(|e| EvmError(format!("{e:?}")))?
            .unwrap_or_default())
    }

    /// Sets `address`'s balance to `wei`.
    pub fn fund(&mut self, address: Address, wei: U256) -> Result<(), EvmError> {
        let info = AccountInfo {
            balance: wei,
            ..self.account(address)?
        };
        self.evm.ctx.db_mut().insert_account_info(address, info);
        Ok(())
    }

    /// `address`'s balance in wei.
    pub fn balance(&mut self, address: Address) -> Result<U256, EvmError> {
        Ok(self.account(address)?.balance)
    }

    /// The chain id (`block.chainid`).
    pub fn chain_id(&self) -> u64 {
        self.evm.ctx.cfg.chain_id
    }

    /// The current block number.
    pub fn block_number(&self) -> u64 {
        self.evm.ctx.block.number.saturating_to()
    }

    /// Moves the chain `blocks` blocks on (deadlines counted in blocks).
    pub fn advance_blocks(&mut self, blocks: u64) {
        self.evm.ctx.block.number += U256::from(blocks);
    }

    fn transact(
        &mut self,
        caller: Address,
        kind: TxKind,
        value: U256,
        data: Vec<u8>,
    ) -> Result<Receipt, EvmError> {
        self.evm.inspector = GasProfile::default();
        let calldata_bytes = data.len();
        let calldata = calldata_gas(&data);
        let nonce = self.account(caller)?.nonce;
        let tx = TxEnv {
            caller,
            gas_limit: 30_000_000,
            kind,
            value,
            data: data.into(),
            nonce,
            ..Default::default()
        };
        let result = self
            .evm
            .inspect_tx_commit(tx)
            .map_err(|e| EvmError(format!("{e:?}")))?;
        let profile = self.evm.inspector;
        let mut receipt = Receipt {
            success: false,
            gas_used: result.gas_used(),
            calldata_gas: calldata,
            calldata_bytes,
            output: Vec::new(),
            created: None,
            failure: None,
            profile,
        };
        match result {
            ExecutionResult::Success { output, .. } => {
                receipt.success = true;
                match output {
                    Output::Create(bytes, address) => {
                        receipt.output = bytes.to_vec();
                        receipt.created = address;
                    }
                    Output::Call(bytes) => receipt.output = bytes.to_vec(),
                }
            }
            ExecutionResult::Revert { output, .. } => {
                receipt.failure = Some(format!("reverted (0x{})", hex::encode(&output)));
                receipt.output = output.to_vec();
            }
            ExecutionResult::Halt { reason, .. } => {
                receipt.failure = Some(format!("halted: {reason:?}"));
            }
        }
        Ok(receipt)
    }

    /// Deploys `creation` code (constructor arguments appended); the receipt's `created`
    /// is the address on success.
    pub fn deploy(&mut self, creation: Vec<u8>) -> Result<Receipt, EvmError> {
        self.deploy_from(Self::DEFAULT_SENDER, U256::ZERO, creation)
    }

    /// Deploys `creation` code from `caller`, sending `value` wei to the constructor.
    pub fn deploy_from(
        &mut self,
        caller: Address,
        value: U256,
        creation: Vec<u8>,
    ) -> Result<Receipt, EvmError> {
        self.transact(caller, TxKind::Create, value, creation)
    }

    /// Calls `to` with `data`.
    pub fn call(&mut self, to: Address, data: Vec<u8>) -> Result<Receipt, EvmError> {
        self.call_from(Self::DEFAULT_SENDER, to, U256::ZERO, data)
    }

    /// Calls `to` with `data` from `caller`, sending `value` wei.
    pub fn call_from(
        &mut self,
        caller: Address,
        to: Address,
        value: U256,
        data: Vec<u8>,
    ) -> Result<Receipt, EvmError> {
        self.transact(caller, TxKind::Call(to), value, data)
    }
}
