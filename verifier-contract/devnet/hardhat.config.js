// The local devnet node zkroll's tests and demo drive through JSON-RPC
// (`npx hardhat --config devnet/hardhat.config.js node`, started by scripts/devnet.sh).
// Nothing is compiled by hardhat: zkroll compiles its contracts with solcjs (compile.js).
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      // Mainnet's limits: EIP-170 code size, a 30M-gas block (a 64-chunk batch's
      // submitBatch and an exit fit with room to spare).
      allowUnlimitedContractSize: false,
      blockGasLimit: 30000000,
      mining: { auto: true },
    },
  },
};
