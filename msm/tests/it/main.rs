//! Integration tests of the MSM engine: backends against references, and halo2 proofs made
//! through the engine.

mod backends;
mod fixed;
mod gpu;
mod proofs;
