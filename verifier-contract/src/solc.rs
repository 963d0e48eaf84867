//! Solidity compilation with solcjs: the npm `solc` package pinned in
//! `verifier-contract/package.json` (installed with its lock file by the scripts), driven
//! through `compile.js` and solc's standard-JSON interface. Nothing is downloaded at run time.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why Solidity could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum SolcError {
    /// node or compile.js could not be run.
    #[error("running `node {script}`: {source} (is Node.js installed and `npm ci` run in {dir}?)")]
    Spawn {
        /// The script.
        script: String,
        /// Its directory.
        dir: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The compiler reported errors.
    #[error("solc: {0}")]
    Compile(String),
    /// compile.js printed something else than its JSON answer.
    #[error("compile.js output: {0}")]
    Output(String),
    /// A contract missing from the output.
    #[error("solc produced no contract {0}")]
    Missing(String),
}

/// Bytecode of one compiled contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// Creation code (constructor and runtime).
    pub creation: Vec<u8>,
    /// Runtime code, what EIP-170 limits to 24,576 bytes.
    pub runtime: Vec<u8>,
}

/// The compiler: `node <dir>/compile.js`.
#[derive(Debug, Clone)]
pub struct Solc {
    dir: PathBuf,
}

impl Default for Solc {
    /// The `verifier-contract/` directory of the checkout being run: the one beside the
    /// crate under test (`CARGO_MANIFEST_DIR` at run time, set by `cargo test`), else the one
    /// in the current directory, else the one this was compiled from. A binary reused from
    /// a build of another checkout (a shared target directory) would otherwise compile that
    /// checkout's contracts, or fail once it is gone.
    fn default() -> Self {
        let runtime = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
        let candidates = runtime
            .iter()
            .flat_map(|crate_dir| [crate_dir.clone(), crate_dir.join("../verifier-contract")])
            .chain([PathBuf::from("verifier-contract")]);
        for dir in candidates {
            if dir.join("compile.js").is_file() {
                // Absolute: the compiler runs `node <dir>/compile.js` from inside `dir`.
                return Self::new(&dir.canonicalize().unwrap_or(dir));
            }
        }
        Self::new(Path::new(env!("CARGO_MANIFEST_DIR")))
    }
}

impl Solc {
    /// The compiler set up in `dir` (holding `compile.js` and `node_modules/solc`).
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// The directory holding the project's Solidity sources.
    pub fn contracts_dir(&self) -> PathBuf {
        self.dir.join("contracts")
    }

    /// Compiles `sources` (file name, source) and returns `contract` of `file`. The
    /// optimizer is for hand-written contracts; the generated verifier is compiled without
    /// it (solcjs runs out of memory optimizing its single assembly block).
    pub fn compile(
        &self,
        sources: &[(&str, &str)],
        optimize: bool,
        file: &str,
        contract: &str,
    ) -> Result<Compiled, SolcError> {
        let script = self.dir.join("compile.js");
        let request = serde_json::json!({
            "sources": sources.iter().map(|(n, s)| (n.to_string(), s.to_string())).collect::<BTreeMap<_, _>>(),
            "optimize": optimize,
        });
        let spawn_error = |source| SolcError::Spawn {
            script: script.display().to_string(),
            dir: self.dir.display().to_string(),
            source,
        };
        let mut child = Command::new("node")
            .arg(&script)
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_error)?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(request.to_string().as_bytes())
                .map_err(spawn_error)?;
        }
        let out = child.wait_with_output().map_err(spawn_error)?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(SolcError::Compile(
                stderr.lines().take(3).collect::<Vec<_>>().join(" | "),
            ));
        }
        let answer: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| SolcError::Output(e.to_string()))?;
        let entry = &answer["contracts"][file][contract];
        let code = |field: &str| -> Result<Vec<u8>, SolcError> {
            let text = entry[field]
                .as_str()
                .ok_or_else(|| SolcError::Missing(format!("{file}:{contract}")))?;
            hex::decode(text).map_err(|e| SolcError::Output(format!("{field}: {e}")))
        };
        Ok(Compiled {
            creation: code("bytecode")?,
            runtime: code("deployedBytecode")?,
        })
    }
}
