//! Criterion benchmarks of the zkroll pipeline live in `benches/`; run them with
//! `cargo bench -p zkroll-benches`. Results and the machine they ran on are recorded in
//! `docs/benchmarks.md`. The [`report`] module gathers a run of them (and of zkroll's
//! measuring commands) into `docs/report.md` with plots: `scripts/report.sh`.

pub mod report;
