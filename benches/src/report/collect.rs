//! Gathers what `scripts/report.sh` left in its raw directory into a [`Report`]:
//!
//! ```text
//! run.json                      {"date", "commit", "quick"}
//! <section>/command             the command(s) that made the section (shown in the report)
//! <section>/seconds             how long the section took
//! msm/criterion/                criterion's msm group (<id>/<log>/new/{benchmark,estimates}.json)
//! chunks/info-<size>.json       zkroll info --json, and
//! chunks/prove-<size>.jsonl     zkroll prove --json, per chunk size
//! cells/info-depth-<d>.json     zkroll info --json, per tree depth
//! aggregation/aggregate-<n>.jsonl  zkroll aggregate --json, per batch of n chunks
//! gas/gas.json                  zkroll gen-verifier --report --proof's gas.json
//! gas/batches.json              submitBatch behind the stand-in verifier (ZKROLL_REPORT_GAS)
//! criterion/<bench>/            CRITERION_HOME of `cargo bench --bench <bench>`, one per target
//! criterion/<bench>/notes       what the target printed beside criterion (optional)
//! ```
//!
//! A section whose directory is missing is left out (`None`); one that is there but broken
//! is an error naming the file.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use super::*;

/// The report of the run whose raw output is in `raw`.
pub fn collect(raw: &Path) -> Result<Report> {
    let run: Value = read_json(&raw.join("run.json"))?;
    let text = |key: &str| -> Result<String> {
        run[key]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("{}: no \"{key}\"", raw.join("run.json").display()))
    };
    let machine = Machine {
        date: text("date")?,
        commit: text("commit")?,
        ..this_machine()
    };
    let quick = run["quick"].as_bool().unwrap_or(false);
    let section = |name: &str| Some(raw.join(name)).filter(|d| d.is_dir());
    Ok(Report {
        machine,
        quick,
        msm: section("msm").map(|d| msm(&d)).transpose()?,
        chunks: section("chunks").map(|d| chunks(&d)).transpose()?,
        cells: section("cells").map(|d| cells(&d)).transpose()?,
        aggregation: section("aggregation")
            .map(|d| aggregation(&d))
            .transpose()?,
        gas: section("gas").map(|d| gas(&d)).transpose()?,
        criterion: section("criterion").map(|d| criterion(&d)).transpose()?,
    })
}

/// This machine, from `/proc` (date and commit left empty).
pub fn this_machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        cpuinfo
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    let present: Vec<String> = field("flags")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let flags = [
        "adx",
        "bmi2",
        "avx2",
        "avx512f",
        "avx512ifma",
        "avx512vl",
        "sha_ni",
    ]
    .iter()
    .filter(|f| present.iter().any(|p| p == *f))
    .map(|f| f.to_string())
    .collect();
    let memory_bytes = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024);
    let os = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| format!("Linux {}", r.trim()))
        .unwrap_or_else(|_| std::env::consts::OS.to_string());
    Machine {
        cpu: field("model name").unwrap_or_else(|| "unknown".into()),
        flags,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_bytes,
        os,
        commit: String::new(),
        date: String::new(),
    }
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))
}

/// The JSON lines of a `--json` run (lines that are not JSON, if any, are skipped).
fn read_events(path: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("event").is_some())
        .collect())
}

fn provenance(dir: &Path) -> Result<Provenance> {
    let path = dir.join("command");
    let command = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let seconds = std::fs::read_to_string(dir.join("seconds"))
        .ok()
        .and_then(|s| s.trim().parse().ok());
    Ok(Provenance { command, seconds })
}

/// Files of `dir` named `<prefix><number><suffix>`, by number.
fn numbered(dir: &Path, prefix: &str, suffix: &str) -> Result<Vec<(usize, PathBuf)>> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))?;
    for entry in entries {
        let path = entry.with_context(|| format!("{}", dir.display()))?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(n) = name
            .strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(suffix))
            .and_then(|n| n.parse().ok())
        {
            out.push((n, path));
        }
    }
    out.sort();
    Ok(out)
}

fn number<T: TryFrom<u64>>(v: &Value, key: &str, path: &Path) -> Result<T> {
    v[key]
        .as_u64()
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| anyhow!("{}: no number \"{key}\" in {v}", path.display()))
}

/// One criterion measurement: its `benchmark.json` and the mean of its `estimates.json`.
struct Measurement {
    bench: Value,
    path: PathBuf,
    mean_nanos: f64,
    interval_nanos: (f64, f64),
}

/// Every measurement under a criterion output directory (each `.../new/benchmark.json`; the
/// `base` copies and the HTML reports are skipped).
fn measurements(dir: &Path) -> Result<Vec<Measurement>> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))?;
    for entry in entries {
        let path = entry.with_context(|| format!("{}", dir.display()))?.path();
        if !path.is_dir() || path.file_name().is_some_and(|n| n == "report") {
            continue;
        }
        let bench = path.join("benchmark.json");
        if path.file_name().is_some_and(|n| n == "new") && bench.is_file() {
            let estimates_path = path.join("estimates.json");
            let estimates = read_json(&estimates_path)?;
            let mean = &estimates["mean"];
            let nanos = |v: &Value| {
                v.as_f64()
                    .ok_or_else(|| anyhow!("{}: no mean", estimates_path.display()))
            };
            let mean_nanos = nanos(&mean["point_estimate"])?;
            let bounds = &mean["confidence_interval"];
            out.push(Measurement {
                bench: read_json(&bench)?,
                path: bench,
                mean_nanos,
                interval_nanos: (
                    bounds["lower_bound"].as_f64().unwrap_or(mean_nanos),
                    bounds["upper_bound"].as_f64().unwrap_or(mean_nanos),
                ),
            });
        } else {
            out.extend(measurements(&path)?);
        }
    }
    Ok(out)
}

fn msm(dir: &Path) -> Result<MsmSection> {
    let group = dir.join("criterion");
    let mut rows = Vec::new();
    for m in measurements(&group)? {
        let engine = m.bench["function_id"]
            .as_str()
            .ok_or_else(|| anyhow!("{}: no function_id", m.path.display()))?;
        let log = m.bench["value_str"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow!("{}: no size in value_str", m.path.display()))?;
        rows.push(MsmRow {
            engine: engine.to_string(),
            log,
            seconds: m.mean_nanos * 1e-9,
        });
    }
    if rows.is_empty() {
        bail!("{}: no criterion measurements", group.display());
    }
    // The main engines first, then the others, each by size.
    let rank = |e: &str| match e {
        "zkroll cpu" => 0,
        "halo2curves msm_best" => 1,
        "arkworks" => 2,
        _ => 3,
    };
    rows.sort_by(|a, b| {
        (rank(&a.engine), &a.engine, a.log).cmp(&(rank(&b.engine), &b.engine, b.log))
    });
    Ok(MsmSection {
        provenance: provenance(dir)?,
        rows,
    })
}

fn chunks(dir: &Path) -> Result<ChunkSection> {
    let mut rows = Vec::new();
    for (size, path) in numbered(dir, "prove-", ".jsonl")? {
        let info_path = dir.join(format!("info-{size}.json"));
        let info = read_json(&info_path)?;
        let events = read_events(&path)?;
        let proven: Vec<f64> = events
            .iter()
            .filter(|e| e["event"] == "chunk_proven")
            .filter_map(|e| e["seconds"].as_f64())
            .collect();
        if proven.is_empty() {
            bail!("{}: no chunk_proven event", path.display());
        }
        let done = events
            .iter()
            .find(|e| e["event"] == "done")
            .ok_or_else(|| anyhow!("{}: no done event (the run did not finish)", path.display()))?;
        rows.push(ChunkRow {
            chunk_size: size,
            k: number(&info, "k", &info_path)?,
            proofs: proven.len(),
            seconds_per_proof: proven.iter().sum::<f64>() / proven.len() as f64,
            peak_rss_bytes: done["peak_rss_bytes"].as_u64(),
            predicted_peak_bytes: done["predicted_peak_bytes"].as_u64(),
        });
    }
    if rows.is_empty() {
        bail!("{}: no prove-<size>.jsonl", dir.display());
    }
    Ok(ChunkSection {
        provenance: provenance(dir)?,
        rows,
    })
}

fn pairs(v: &Value, key: &str, path: &Path) -> Result<Vec<(String, usize)>> {
    v[key]
        .as_array()
        .ok_or_else(|| anyhow!("{}: no \"{key}\"", path.display()))?
        .iter()
        .map(|p| {
            let name = p[0].as_str();
            let cells = p[1].as_u64().and_then(|c| usize::try_from(c).ok());
            name.zip(cells)
                .map(|(n, c)| (n.to_string(), c))
                .ok_or_else(|| anyhow!("{}: \"{key}\": not [name, cells]: {p}", path.display()))
        })
        .collect()
}

fn cells(dir: &Path) -> Result<CellSection> {
    let mut primitives = Vec::new();
    let mut slots = Vec::new();
    for (depth, path) in numbered(dir, "info-depth-", ".json")? {
        let info = read_json(&path)?;
        if primitives.is_empty() {
            primitives = pairs(&info, "primitives", &path)?;
        }
        slots.push(SlotCells {
            depth: u8::try_from(depth).map_err(|_| anyhow!("{}: depth", path.display()))?,
            cells: pairs(&info, "slot_cells", &path)?,
        });
    }
    if slots.is_empty() {
        bail!("{}: no info-depth-<d>.json", dir.display());
    }
    Ok(CellSection {
        provenance: provenance(dir)?,
        primitives,
        slots,
    })
}

fn aggregation(dir: &Path) -> Result<AggregationSection> {
    let mut batches = Vec::new();
    for (chunks, path) in numbered(dir, "aggregate-", ".jsonl")? {
        let events = read_events(&path)?;
        if !events.iter().any(|e| e["event"] == "done") {
            bail!("{}: no done event (the run did not finish)", path.display());
        }
        let mut layers = Vec::new();
        for e in events.iter().filter(|e| e["event"] == "layer_done") {
            let layer: u32 = number(e, "layer", &path)?;
            let keys_generated = events.iter().any(|k| {
                k["event"] == "keys_started" && k["layer"] == layer && k["cached"] == false
            });
            let proofs = events
                .iter()
                .filter(|p| p["event"] == "proven" && p["layer"] == layer)
                .count();
            layers.push(LayerRow {
                layer,
                proofs,
                seconds: e["seconds"]
                    .as_f64()
                    .ok_or_else(|| anyhow!("{}: layer_done without seconds", path.display()))?,
                keys_generated,
                peak_rss_bytes: e["peak_rss_bytes"].as_u64(),
            });
        }
        batches.push(AggregationRun { chunks, layers });
    }
    if batches.is_empty() {
        bail!("{}: no aggregate-<n>.jsonl", dir.display());
    }
    Ok(AggregationSection {
        provenance: provenance(dir)?,
        batches,
    })
}

fn split(v: &Value, path: &Path) -> Result<GasSplit> {
    let n = |key: &str| number::<u64>(v, key, path);
    Ok(GasSplit {
        total: n("total")?,
        base: n("base")?,
        calldata: n("calldata")?,
        calldata_bytes: n("calldata_bytes")?,
        ec_pairing: n("ec_pairing")?,
        ec_mul: n("ec_mul")?,
        ec_add: n("ec_add")?,
        execution: n("execution")?,
    })
}

fn gas(dir: &Path) -> Result<GasSection> {
    let path = dir.join("gas.json");
    let g = read_json(&path)?;
    let batches_path = dir.join("batches.json");
    let b = read_json(&batches_path)?;
    let batches = b["batches"]
        .as_array()
        .ok_or_else(|| anyhow!("{}: no \"batches\"", batches_path.display()))?
        .iter()
        .map(|row| {
            Ok(BatchGas {
                kind: row["kind"]
                    .as_str()
                    .ok_or_else(|| anyhow!("{}: a batch without kind", batches_path.display()))?
                    .to_string(),
                count: number(row, "count", &batches_path)?,
                base: number(row, "base", &batches_path)?,
                calldata: number(row, "calldata", &batches_path)?,
                calldata_bytes: number(row, "calldata_bytes", &batches_path)?,
                execution: number(row, "execution", &batches_path)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(GasSection {
        provenance: provenance(dir)?,
        verifier: split(&g["verifier"], &path)?,
        submit_batch: split(&g["submit_batch"], &path)?,
        stand_in_proof_bytes: number(&b, "proof_bytes", &batches_path)?,
        batches,
    })
}

/// Orders ids with their numbers compared as numbers (`transfers/4000` before
/// `transfers/16000`).
fn natural_key(id: &str) -> Vec<(u64, String)> {
    let mut key = Vec::new();
    let mut rest = id;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits > 0 {
            key.push((rest[..digits].parse().unwrap_or(u64::MAX), String::new()));
            rest = &rest[digits..];
        } else {
            let text = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            key.push((0, rest[..text].to_string()));
            rest = &rest[text..];
        }
    }
    key
}

fn criterion(dir: &Path) -> Result<CriterionSection> {
    let mut benches = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))?;
    for entry in entries {
        let path = entry.with_context(|| format!("{}", dir.display()))?.path();
        if !path.is_dir() {
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut rows = measurements(&path)?
            .into_iter()
            .map(|m| {
                let id = m.bench["full_id"]
                    .as_str()
                    .ok_or_else(|| anyhow!("{}: no full_id", m.path.display()))?;
                Ok(CriterionRow {
                    id: id.to_string(),
                    mean: m.mean_nanos * 1e-9,
                    interval: (m.interval_nanos.0 * 1e-9, m.interval_nanos.1 * 1e-9),
                    elements: m.bench["throughput"]["Elements"].as_u64(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if rows.is_empty() {
            bail!("{}: no criterion measurements", path.display());
        }
        rows.sort_by_key(|r| natural_key(&r.id));
        let notes_path = path.join("notes");
        let notes = match std::fs::read_to_string(&notes_path) {
            Ok(text) => text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => bail!("{}: cannot read: {e}", notes_path.display()),
        };
        benches.push(CriterionBench { name, rows, notes });
    }
    if benches.is_empty() {
        bail!("{}: no benchmark directories", dir.display());
    }
    // In the order report.sh runs them, any other after them.
    let rank = |name: &str| match name {
        "execute" => 0,
        "primitives" => 1,
        "prove" => 2,
        _ => 3,
    };
    benches.sort_by(|a, b| (rank(&a.name), &a.name).cmp(&(rank(&b.name), &b.name)));
    Ok(CriterionSection {
        provenance: provenance(dir)?,
        benches,
    })
}
