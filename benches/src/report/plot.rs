//! The report's plots, drawn with plotters into PNG files: each has units on its axes, and
//! its data table is in the markdown beside it.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{thousands, ModelledGas, Report};

/// Plot size in pixels: one panel, or two side by side.
const WIDE: (u32, u32) = (1400, 560);
const SINGLE: (u32, u32) = (1000, 600);

/// Series colours, in order (colour-blind-safe, Okabe-Ito).
const COLOURS: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
}

/// plotters' errors, as ours.
fn drawn<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> Result<T> {
    r.map_err(|e| anyhow!("drawing: {e}"))
}

/// Registers the TrueType file `path` as the plots' font (plotters keeps it for the
/// process).
pub fn use_font(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "{}: cannot read the plots' font (Debian: apt-get install fonts-dejavu-core; or \
             pass --font with any TrueType file)",
            path.display()
        )
    })?;
    // plotters keeps fonts for the whole process: leaked once per render.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| anyhow!("{}: not a TrueType font", path.display()))
}

/// Where the plots' font is looked for when none is given: Debian's DejaVu Sans
/// (fonts-dejavu-core), then other common sans-serif fonts.
pub const FONT_CANDIDATES: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// The first of [`FONT_CANDIDATES`] that exists.
pub fn default_font() -> Option<PathBuf> {
    FONT_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Draws every plot the report has data for into `dir`; returns their paths.
pub fn draw_all(report: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut plot = |name: &str, size: (u32, u32), draw: &dyn Fn(&Area<'_>) -> Result<()>| {
        let path = dir.join(name);
        {
            let root = BitMapBackend::new(&path, size).into_drawing_area();
            drawn(root.fill(&WHITE))?;
            draw(&root).with_context(|| format!("{}", path.display()))?;
            drawn(root.present()).with_context(|| format!("{}", path.display()))?;
        }
        out.push(path);
        Ok::<(), anyhow::Error>(())
    };
    if let Some(msm) = &report.msm {
        plot("msm.png", SINGLE, &|root| msm_plot(root, msm))?;
    }
    if let Some(chunks) = &report.chunks {
        plot("chunks.png", WIDE, &|root| chunk_plot(root, chunks))?;
    }
    if let Some(cells) = &report.cells {
        plot("cells.png", WIDE, &|root| cell_plot(root, cells))?;
    }
    if let Some(aggregation) = &report.aggregation {
        plot("aggregation.png", WIDE, &|root| {
            aggregation_plot(root, aggregation)
        })?;
    }
    if let Some(gas) = &report.gas {
        plot("gas.png", WIDE, &|root| gas_plot(root, gas))?;
    }
    Ok(out)
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Lower and upper bounds of positive values, widened for a log axis.
fn log_bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| *v > 0.0)
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        (0.1, 10.0)
    } else {
        (lo / 1.5, hi * 1.5)
    }
}

fn msm_plot(root: &Area<'_>, msm: &super::MsmSection) -> Result<()> {
    let logs: Vec<u32> = msm.rows.iter().map(|r| r.log).collect();
    let (min, max) = (
        logs.iter().copied().min().unwrap_or(10),
        logs.iter().copied().max().unwrap_or(22),
    );
    let (lo, hi) = log_bounds(msm.rows.iter().map(|r| r.seconds));
    let mut chart = drawn(
        ChartBuilder::on(root)
            .caption("MSM on BN254 G1: time per MSM", ("sans-serif", 26))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(
                f64::from(min) - 0.3..f64::from(max) + 0.3,
                (lo..hi).log_scale(),
            ),
    )?;
    drawn(
        chart
            .configure_mesh()
            .x_desc("points (log2 scale: 2^n)")
            .y_desc("seconds per MSM (log scale)")
            .x_labels((max - min + 1) as usize)
            .x_label_formatter(&|x| whole(*x).map_or(String::new(), |n| format!("2^{n}")))
            .y_label_formatter(&|y| seconds_label(*y))
            .draw(),
    )?;
    for (i, engine) in super::plot_engines(&msm.rows).iter().enumerate() {
        let points: Vec<(f64, f64)> = msm
            .rows
            .iter()
            .filter(|r| &r.engine == engine)
            .map(|r| (f64::from(r.log), r.seconds))
            .collect();
        let c = colour(i);
        drawn(chart.draw_series(LineSeries::new(points.clone(), c.stroke_width(2))))?
            .label(engine.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        drawn(chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, c.filled()))))?;
    }
    legend(&mut chart)
}

fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> Result<()> {
    drawn(
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 16))
            .draw(),
    )
}

/// `0.012` -> `12 ms`.
fn seconds_label(s: f64) -> String {
    if s >= 1.0 {
        format!("{} s", trim(s))
    } else if s >= 1e-3 {
        format!("{} ms", trim(s * 1e3))
    } else {
        format!("{} µs", trim(s * 1e6))
    }
}

fn trim(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

const GIB: f64 = (1u64 << 30) as f64;

fn chunk_plot(root: &Area<'_>, chunks: &super::ChunkSection) -> Result<()> {
    let (left, right) = root.split_horizontally(WIDE.0 / 2);
    let sizes: Vec<f64> = chunks.rows.iter().map(|r| r.chunk_size as f64).collect();
    let label = |x: &f64| {
        let size = x.round() as usize;
        match chunks.rows.iter().find(|r| r.chunk_size == size) {
            Some(r) => format!("{size} (k={})", r.k),
            None => size.to_string(),
        }
    };
    let x_lo = sizes.iter().copied().fold(f64::MAX, f64::min).max(1.0);
    let x_hi = sizes.iter().copied().fold(1.0, f64::max);
    let x_range = || {
        (x_lo / 1.3..x_hi * 1.3)
            .log_scale()
            .with_key_points(sizes.clone())
    };
    let (lo, hi) = log_bounds(chunks.rows.iter().map(|r| r.seconds_per_proof));
    let mut chart = drawn(
        ChartBuilder::on(&left)
            .caption("Chunk proof: seconds per proof", ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(x_range(), (lo..hi).log_scale()),
    )?;
    drawn(
        chart
            .configure_mesh()
            .x_desc("slots per chunk (log scale; k = rows exponent)")
            .y_desc("seconds per proof (log scale)")
            .x_label_formatter(&label)
            .y_label_formatter(&|y| seconds_label(*y))
            .draw(),
    )?;
    let points: Vec<(f64, f64)> = chunks
        .rows
        .iter()
        .map(|r| (r.chunk_size as f64, r.seconds_per_proof))
        .collect();
    let c = colour(0);
    drawn(chart.draw_series(LineSeries::new(points.clone(), c.stroke_width(2))))?
        .label("one proof (keys loaded)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    drawn(chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, c.filled()))))?;
    legend(&mut chart)?;

    let top = chunks
        .rows
        .iter()
        .flat_map(|r| [r.peak_rss_bytes, r.predicted_peak_bytes])
        .flatten()
        .map(|b| b as f64 / GIB)
        .fold(0.5, f64::max);
    let mut chart = drawn(
        ChartBuilder::on(&right)
            .caption("Chunk proof: peak memory", ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(x_range(), 0.0..top * 1.15),
    )?;
    drawn(
        chart
            .configure_mesh()
            .x_desc("slots per chunk (log scale)")
            .y_desc("peak resident memory (GiB)")
            .x_label_formatter(&label)
            .draw(),
    )?;
    type Peak = fn(&super::ChunkRow) -> Option<u64>;
    let series: [(&str, Peak); 2] = [
        ("measured peak RSS", |r| r.peak_rss_bytes),
        ("predicted", |r| r.predicted_peak_bytes),
    ];
    for (i, (name, value)) in series.into_iter().enumerate() {
        let points: Vec<(f64, f64)> = chunks
            .rows
            .iter()
            .filter_map(|r| value(r).map(|b| (r.chunk_size as f64, b as f64 / GIB)))
            .collect();
        let c = colour(i);
        drawn(chart.draw_series(LineSeries::new(points.clone(), c.stroke_width(2))))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        drawn(chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, c.filled()))))?;
    }
    legend(&mut chart)
}

/// Stacked bars: one bar per label, one segment per series (`segments[s][bar]`).
struct Stacked<'a> {
    title: &'a str,
    x_desc: &'a str,
    y_desc: &'a str,
    labels: Vec<String>,
    segments: Vec<(String, Vec<f64>)>,
}

fn stacked_bars(area: &Area<'_>, bars: &Stacked<'_>) -> Result<()> {
    let n = bars.labels.len();
    let totals: Vec<f64> = (0..n)
        .map(|b| bars.segments.iter().map(|(_, v)| v[b]).sum())
        .collect();
    let top = totals.iter().copied().fold(1.0, f64::max);
    let labels = bars.labels.clone();
    let mut chart = drawn(
        ChartBuilder::on(area)
            .caption(bars.title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d(-0.6..n as f64 - 0.4, 0.0..top * 1.35),
    )?;
    drawn(
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(bars.x_desc)
            .y_desc(bars.y_desc)
            .x_labels(n + 1)
            .x_label_formatter(&|x| category_label(&labels, *x))
            .y_label_formatter(&|y| thousands(*y))
            .draw(),
    )?;
    let mut base = vec![0.0; n];
    for (s, (name, values)) in bars.segments.iter().enumerate() {
        let c = colour(s);
        let rects: Vec<Rectangle<(f64, f64)>> = (0..n)
            .map(|b| {
                let x = b as f64;
                let r = Rectangle::new(
                    [(x - 0.3, base[b]), (x + 0.3, base[b] + values[b])],
                    c.filled(),
                );
                base[b] += values[b];
                r
            })
            .collect();
        drawn(chart.draw_series(rects))?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], c.filled()));
    }
    drawn(chart.draw_series((0..n).map(|b| {
        Text::new(
            thousands(totals[b]),
            (b as f64 - 0.2, totals[b] + top * 0.03),
            ("sans-serif", 15),
        )
    })))?;
    legend(&mut chart)
}

/// `x` when it is (within rounding) a whole number.
fn whole(x: f64) -> Option<i64> {
    let n = x.round();
    ((x - n).abs() < 1e-6).then_some(n as i64)
}

/// The label of the category at `x` (the bars stand at 0, 1, ...), empty between them.
fn category_label(labels: &[String], x: f64) -> String {
    whole(x)
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| labels.get(i).cloned())
        .unwrap_or_default()
}

fn cell_plot(root: &Area<'_>, cells: &super::CellSection) -> Result<()> {
    let (left, right) = root.split_horizontally(WIDE.0 / 2);
    // Per primitive: horizontal bars, the names on the left.
    let n = cells.primitives.len();
    let top = cells
        .primitives
        .iter()
        .map(|(_, c)| *c as f64)
        .fold(1.0, f64::max);
    let names: Vec<String> = cells.primitives.iter().map(|(n, _)| short(n)).collect();
    let mut chart = drawn(
        ChartBuilder::on(&left)
            .caption("Advice cells per primitive", ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(330)
            .build_cartesian_2d(0.0..top * 1.25, -0.6..n as f64 - 0.4),
    )?;
    drawn(
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("advice cells (halo2-base's and the custom gates')")
            .y_labels(n + 1)
            .y_label_formatter(&|y| category_label(&names, *y))
            .x_label_formatter(&|x| thousands(*x))
            .label_style(("sans-serif", 13))
            .draw(),
    )?;
    let c = colour(0);
    drawn(
        chart.draw_series(cells.primitives.iter().enumerate().map(|(i, (_, v))| {
            let y = i as f64;
            Rectangle::new([(0.0, y - 0.3), (*v as f64, y + 0.3)], c.filled())
        })),
    )?;
    drawn(
        chart.draw_series(cells.primitives.iter().enumerate().map(|(i, (_, v))| {
            Text::new(
                thousands(*v as f64),
                (*v as f64 + top * 0.01, i as f64 - 0.15),
                ("sans-serif", 14),
            )
        })),
    )?;

    // Per slot: stacked by category, one bar per tree depth.
    let categories: Vec<String> = cells
        .slots
        .first()
        .map(|s| s.cells.iter().map(|(n, _)| n.clone()).collect())
        .unwrap_or_default();
    let segments = categories
        .iter()
        .map(|name| {
            let values = cells
                .slots
                .iter()
                .map(|s| {
                    s.cells
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or(0.0, |(_, c)| *c as f64)
                })
                .collect();
            (name.clone(), values)
        })
        .collect();
    stacked_bars(
        &right,
        &Stacked {
            title: "Advice cells of one slot",
            x_desc: "account tree depth",
            y_desc: "advice cells per slot",
            labels: cells
                .slots
                .iter()
                .map(|s| format!("depth {}", s.depth))
                .collect(),
            segments,
        },
    )
}

/// A primitive's name cut to fit the axis (the table has it whole).
fn short(name: &str) -> String {
    if name.chars().count() > 46 {
        format!("{}…", name.chars().take(45).collect::<String>())
    } else {
        name.to_string()
    }
}

fn aggregation_plot(root: &Area<'_>, aggregation: &super::AggregationSection) -> Result<()> {
    let (left, right) = root.split_horizontally(WIDE.0 / 2);
    let layers = aggregation
        .batches
        .iter()
        .map(|b| b.layers.len())
        .max()
        .unwrap_or(0);
    let labels: Vec<String> = aggregation
        .batches
        .iter()
        .map(|b| format!("{} chunks", b.chunks))
        .collect();
    let layer_name = |l: usize| format!("layer {}", l + 1);
    let seconds = (0..layers)
        .map(|l| {
            let values = aggregation
                .batches
                .iter()
                .map(|b| b.layers.get(l).map_or(0.0, |r| r.seconds))
                .collect();
            (layer_name(l), values)
        })
        .collect();
    stacked_bars(
        &left,
        &Stacked {
            title: "Aggregation: seconds per layer",
            x_desc: "batch (chunk proofs aggregated)",
            y_desc: "seconds (keys included; stacked by layer)",
            labels: labels.clone(),
            segments: seconds,
        },
    )?;
    // Peak memory: one bar per layer, grouped by batch.
    let n = aggregation.batches.len();
    let top = aggregation
        .batches
        .iter()
        .flat_map(|b| b.layers.iter().filter_map(|l| l.peak_rss_bytes))
        .map(|b| b as f64 / GIB)
        .fold(1.0, f64::max);
    let mut chart = drawn(
        ChartBuilder::on(&right)
            .caption("Aggregation: peak memory per layer", ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.6..n as f64 - 0.4, 0.0..top * 1.3),
    )?;
    drawn(
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("batch (chunk proofs aggregated)")
            .y_desc("peak resident memory (GiB)")
            .x_labels(n + 1)
            .x_label_formatter(&|x| category_label(&labels, *x))
            .draw(),
    )?;
    let width = 0.8 / layers.max(1) as f64;
    for l in 0..layers {
        let c = colour(l);
        let rects: Vec<Rectangle<(f64, f64)>> = aggregation
            .batches
            .iter()
            .enumerate()
            .filter_map(|(b, batch)| {
                let gib = batch.layers.get(l)?.peak_rss_bytes? as f64 / GIB;
                let x = b as f64 - 0.4 + width * l as f64;
                Some(Rectangle::new(
                    [(x + 0.02, 0.0), (x + width - 0.02, gib)],
                    c.filled(),
                ))
            })
            .collect();
        drawn(chart.draw_series(rects))?
            .label(layer_name(l))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], c.filled()));
    }
    legend(&mut chart)
}

fn gas_plot(root: &Area<'_>, gas: &super::GasSection) -> Result<()> {
    let (left, right) = root.split_horizontally(WIDE.0 / 2);
    let modelled: Vec<ModelledGas> = gas
        .batches
        .iter()
        .map(|b| ModelledGas::of(b, &gas.verifier))
        .collect();
    let labels: Vec<String> = gas.batches.iter().map(super::BatchGas::label).collect();
    let part =
        |f: fn(&ModelledGas) -> u64| -> Vec<f64> { modelled.iter().map(|m| f(m) as f64).collect() };
    stacked_bars(
        &left,
        &Stacked {
            title: "L1 gas per batch (modelled: stand-in + verifier)",
            x_desc: "batch",
            y_desc: "gas per batch",
            labels: labels.clone(),
            segments: vec![
                ("ecPairing".into(), part(|m| m.pairing)),
                ("ecMul + ecAdd".into(), part(|m| m.ec_mul)),
                ("calldata".into(), part(|m| m.calldata)),
                ("execution".into(), part(|m| m.execution)),
                ("base (21,000)".into(), part(|m| m.base)),
            ],
        },
    )?;
    let per_tx: Vec<f64> = modelled
        .iter()
        .zip(&gas.batches)
        .map(|(m, b)| (m.total() / b.count.max(1) as u64) as f64)
        .collect();
    let n = per_tx.len();
    let (lo, hi) = log_bounds(per_tx.iter().copied());
    let mut chart = drawn(
        ChartBuilder::on(&right)
            .caption("L1 gas per transaction", ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.6..n as f64 - 0.4, (lo..hi * 2.0).log_scale()),
    )?;
    drawn(
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("batch")
            .y_desc("gas per transaction (log scale)")
            .x_labels(n + 1)
            .x_label_formatter(&|x| category_label(&labels, *x))
            .y_label_formatter(&|y| thousands(*y))
            .draw(),
    )?;
    let c = colour(0);
    drawn(chart.draw_series(per_tx.iter().enumerate().map(|(i, v)| {
        let x = i as f64;
        Rectangle::new([(x - 0.3, lo), (x + 0.3, *v)], c.filled())
    })))?;
    drawn(chart.draw_series(per_tx.iter().enumerate().map(|(i, v)| {
        Text::new(
            thousands(*v),
            (i as f64 - 0.2, v * 1.15),
            ("sans-serif", 15),
        )
    })))?;
    Ok(())
}
