//! The benchmark report renders from a small fixed JSON file (`tests/fixtures/report.json`:
//! made-up figures, not measurements), without running any benchmark: the plots are real PNGs
//! with their series drawn, the markdown has each section's table and command, and a run that
//! measured nothing says so.

use std::path::{Path, PathBuf};

use zkroll_benches::report::{self, plot, Report};

fn fixture() -> Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report.json");
    Report::read(&path).expect("the fixture")
}

fn font() -> PathBuf {
    plot::default_font().unwrap_or_else(|| {
        panic!(
            "no TrueType font in {:?}: scripts/setup.sh installs fonts-dejavu-core",
            plot::FONT_CANDIDATES
        )
    })
}

/// Share of the image's pixels that are not white, and whether `rgb` is among them.
fn ink(path: &Path, rgb: [u8; 3]) -> (f64, bool) {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    let total = img.pixels().len() as f64;
    let inked = img.pixels().filter(|p| p.0 != [255, 255, 255]).count() as f64;
    (inked / total, img.pixels().any(|p| p.0 == rgb))
}

#[test]
fn the_report_renders_its_plots_and_tables_from_a_fixed_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rendered = report::render(&fixture(), dir.path(), &font()).expect("render");
    let names: Vec<String> = rendered
        .plots
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "msm.png",
            "chunks.png",
            "cells.png",
            "aggregation.png",
            "gas.png"
        ]
    );
    for path in &rendered.plots {
        let (w, h) = image::image_dimensions(path).expect("a PNG");
        assert!(w >= 1000 && h >= 500, "{}: {w}x{h}", path.display());
        // Axes, text and the first series' colour (bars or lines) are drawn.
        let (share, first_series) = ink(path, [0, 114, 178]);
        assert!(
            share > 0.02,
            "{}: {share:.3} of the pixels drawn",
            path.display()
        );
        assert!(first_series, "{}: no series drawn", path.display());
    }
    let md = std::fs::read_to_string(&rendered.markdown).expect("report.md");
    for needle in [
        "# zkroll benchmark report",
        "scripts/report.sh --quick",
        "**Every section below comes from `--quick`**",
        "| CPU | Test CPU @ 2.0GHz |",
        "## 1. MSM time vs size",
        "![MSM time vs size](report/msm.png)",
        // halo2curves is 1.3 times zkroll's time in the fixture, arkworks 1.6.
        "| 2^12 |",
        "1.30x | 1.60x |",
        "ZKROLL_BENCH_MSM_LOGS=10,12,14 cargo bench -p zkroll-benches --bench msm",
        "## 2. Chunk proving vs chunk size",
        "| 4 | 13 | 1 | 2.70 s | 1.48 |",
        "## 3. Advice cells per primitive and per slot",
        "| 24 | 18,000 | 4,500 | 2,000 | 1,500 | 26,000 |",
        "## 4. Aggregation per layer",
        "| 4 | 1 | 2 | 320.0 | generated |",
        "## 5. L1 gas per batch and per transaction",
        // 8 transfers: 113,000 + 159,900 + 35,952 + (29,447 + 43,491) + 21,000.
        "**402,790** | **50,348** |",
        "**Modelled**",
        "(took 600 s here)",
        "## 6. Engine, primitives and chunk proving (criterion)",
        "### execute",
        // 4,000 transfers in 1.6 s; numbers in ids ordered as numbers.
        "| execute/transfers/4000 | 1.60 s | 1.50 s – 1.70 s | 2,500 |\n\
         | execute/transfers/16000 | 6.40 s |",
        "| poseidon/2 inputs (Merkle node) | 11.0 µs | 10.0 µs – 12.0 µs |  |",
        "| chunk_prove/k13/1_transfers/msm=cpu | 1.25 s | 1.20 s – 1.30 s | 0.80 |",
        "- chunk size 1 (k=13, 1 advice columns): peak RSS one proof 0.09 GiB",
        "--bench execute --bench primitives --bench prove",
    ] {
        assert!(md.contains(needle), "report.md lacks {needle:?}:\n{md}");
    }
}

#[test]
fn a_run_without_measurements_says_so_and_draws_nothing() {
    let mut empty = fixture();
    empty.quick = false;
    empty.msm = None;
    empty.chunks = None;
    empty.cells = None;
    empty.aggregation = None;
    empty.gas = None;
    empty.criterion = None;
    let dir = tempfile::tempdir().expect("temp dir");
    let rendered = report::render(&empty, dir.path(), &font()).expect("render");
    assert!(rendered.plots.is_empty());
    let md = std::fs::read_to_string(&rendered.markdown).expect("report.md");
    assert_eq!(md.matches("_Not measured in this run").count(), 6, "{md}");
    assert!(md.contains("from the full run"), "{md}");
}

#[test]
fn a_broken_report_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "{\"machine\": ").expect("write");
    let e = Report::read(&path).expect_err("broken");
    assert!(e.to_string().contains("broken.json: not a report"), "{e}");
    let e = Report::read(&dir.path().join("missing.json")).expect_err("missing");
    assert!(e.to_string().contains("missing.json: cannot read"), "{e}");
    let e = report::plot::use_font(&path).expect_err("not a font");
    assert!(e.to_string().contains("not a TrueType font"), "{e}");
}

/// What scripts/report.sh leaves in its raw directory, made up, collected into a report.
#[test]
fn a_raw_directory_is_collected_into_a_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let raw = dir.path();
    let write = |name: &str, text: &str| {
        let path = raw.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(path, text).expect("write");
    };
    write(
        "run.json",
        r#"{"date": "2026-12-05T09:00:00Z", "commit": "abc", "quick": true}"#,
    );
    write("msm/command", "cargo bench --bench msm");
    for (engine, dir_name, nanos) in [
        ("zkroll cpu", "zkroll cpu", 2e6),
        ("arkworks", "arkworks", 3e6),
    ] {
        write(
            &format!("msm/criterion/{dir_name}/12/new/benchmark.json"),
            &format!(r#"{{"group_id": "msm", "function_id": "{engine}", "value_str": "12"}}"#),
        );
        write(
            &format!("msm/criterion/{dir_name}/12/new/estimates.json"),
            &format!(r#"{{"mean": {{"point_estimate": {nanos}}}}}"#),
        );
    }
    write("chunks/command", "zkroll prove");
    write("chunks/seconds", "12.5\n");
    write("chunks/info-2.json", r#"{"k": 12}"#);
    write(
        "chunks/prove-2.jsonl",
        "{\"event\":\"chunk_proven\",\"chunk\":0,\"seconds\":1.0}\nnot json\n\
         {\"event\":\"chunk_proven\",\"chunk\":1,\"seconds\":3.0}\n\
         {\"event\":\"done\",\"peak_rss_bytes\":1000,\"predicted_peak_bytes\":900}\n",
    );
    write("aggregation/command", "zkroll aggregate");
    write(
        "aggregation/aggregate-2.jsonl",
        "{\"event\":\"keys_started\",\"layer\":1,\"k\":22,\"cached\":false}\n\
         {\"event\":\"proven\",\"layer\":1,\"index\":0,\"seconds\":200.0}\n\
         {\"event\":\"layer_done\",\"layer\":1,\"seconds\":300.0,\"peak_rss_bytes\":5}\n\
         {\"event\":\"done\",\"seconds\":301.0}\n",
    );
    // Two criterion targets' CRITERION_HOME, one with notes; a `base` copy is not a row.
    for (bench, dir_name, id, nanos, elements) in [
        (
            "prove",
            "two_chunks_1/parallel",
            "two_chunks/1/parallel",
            2e9,
            "2",
        ),
        (
            "execute",
            "execute/transfers_16000",
            "execute/transfers/16000",
            6e9,
            "16000",
        ),
        (
            "execute",
            "execute/transfers_4000",
            "execute/transfers/4000",
            1.5e9,
            "4000",
        ),
    ] {
        for copy in ["new", "base"] {
            write(
                &format!("criterion/{bench}/{dir_name}/{copy}/benchmark.json"),
                &format!(r#"{{"full_id": "{id}", "throughput": {{"Elements": {elements}}}}}"#),
            );
            write(
                &format!("criterion/{bench}/{dir_name}/{copy}/estimates.json"),
                &format!(
                    r#"{{"mean": {{"point_estimate": {nanos}, "confidence_interval":
                    {{"lower_bound": {}, "upper_bound": {}}}}}}}"#,
                    nanos * 0.9,
                    nanos * 1.1
                ),
            );
        }
    }
    write(
        "criterion/prove/notes",
        "chunk size 1: peak RSS 0.09 GiB\n\n",
    );
    write("criterion/command", "cargo bench");
    let report = report::collect::collect(raw).expect("collect");
    assert!(report.quick);
    assert_eq!(report.machine.commit, "abc");
    assert!(report.machine.cores >= 1);
    let msm = report.msm.expect("msm");
    assert_eq!(msm.rows.len(), 2);
    assert_eq!(msm.rows[0].engine, "zkroll cpu");
    assert!((msm.rows[1].seconds - 3e-3).abs() < 1e-12);
    let chunks = report.chunks.expect("chunks");
    assert_eq!(chunks.provenance.seconds, Some(12.5));
    let row = &chunks.rows[0];
    assert_eq!((row.chunk_size, row.k, row.proofs), (2, 12, 2));
    assert!((row.seconds_per_proof - 2.0).abs() < 1e-12);
    assert_eq!(row.peak_rss_bytes, Some(1000));
    let aggregation = report.aggregation.expect("aggregation");
    let layer = &aggregation.batches[0].layers[0];
    assert_eq!(
        (layer.layer, layer.proofs, layer.keys_generated),
        (1, 1, true)
    );
    assert!(report.cells.is_none() && report.gas.is_none());
    let criterion = report.criterion.expect("criterion");
    let names: Vec<&str> = criterion.benches.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["execute", "prove"]);
    let execute = &criterion.benches[0];
    let ids: Vec<&str> = execute.rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["execute/transfers/4000", "execute/transfers/16000"]);
    let row = &execute.rows[0];
    assert!((row.mean - 1.5).abs() < 1e-12);
    assert!((row.interval.0 - 1.35).abs() < 1e-9 && (row.interval.1 - 1.65).abs() < 1e-9);
    assert_eq!(row.elements, Some(4000));
    assert!(execute.notes.is_empty());
    assert_eq!(
        criterion.benches[1].notes,
        ["chunk size 1: peak RSS 0.09 GiB"]
    );

    // A section that is there but unfinished is an error naming its file.
    write(
        "aggregation/aggregate-4.jsonl",
        "{\"event\":\"layer_done\",\"layer\":1,\"seconds\":1.0}\n",
    );
    let e = report::collect::collect(raw).expect_err("unfinished");
    assert!(
        e.to_string().contains("aggregate-4.jsonl: no done event"),
        "{e}"
    );
}
