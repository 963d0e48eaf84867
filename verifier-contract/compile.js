// Compiles Solidity with solcjs (the npm `solc` package pinned in package.json), offline.
//
// stdin:  {"sources": {"<file>.sol": "<source>", ...}, "optimize": true|false}
// stdout: {"contracts": {"<file>.sol": {"<Contract>": {"bytecode": "<hex>",
//          "deployedBytecode": "<hex>"}}}, "version": "<solc version>"}
// Compiler errors are printed to stderr, one per line, and the exit status is 1.
//
// The verifier snark-verifier generates is one huge assembly block: solcjs' Yul optimizer
// runs out of its wasm heap on it, so callers compile it with "optimize": false.
"use strict";
const solc = require("solc");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  let request;
  try {
    request = JSON.parse(input);
  } catch (e) {
    console.error(`compile.js: stdin is not JSON: ${e.message}`);
    process.exit(1);
  }
  const sources = {};
  for (const [name, content] of Object.entries(request.sources || {})) {
    sources[name] = { content };
  }
  const standard = {
    language: "Solidity",
    sources,
    settings: {
      optimizer: { enabled: Boolean(request.optimize), runs: 200 },
      outputSelection: { "*": { "*": ["evm.bytecode.object", "evm.deployedBytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(standard)));
  const errors = (output.errors || []).filter((e) => e.severity === "error");
  if (errors.length > 0) {
    for (const e of errors) {
      console.error((e.formattedMessage || e.message).split("\n").join(" "));
    }
    process.exit(1);
  }
  const contracts = {};
  for (const [file, byName] of Object.entries(output.contracts || {})) {
    contracts[file] = {};
    for (const [name, c] of Object.entries(byName)) {
      contracts[file][name] = {
        bytecode: c.evm.bytecode.object,
        deployedBytecode: c.evm.deployedBytecode.object,
      };
    }
  }
  process.stdout.write(JSON.stringify({ contracts, version: solc.version() }));
});
