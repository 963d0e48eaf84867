//! Criterion benchmarks of the zkroll pipeline live in `benches/`; run them with
//! `cargo bench -p zkroll-benches`. Results and the machine they ran on are recorded in
//! `docs/benchmarks.md`.
