//! `zkroll-report`: the benchmark report's two steps, run by `scripts/report.sh`.
//!
//! - `zkroll-report collect --raw DIR --out report.json`: gathers the raw output of a run
//!   (criterion's files, the `--json` output of zkroll's commands) with this machine's
//!   description into one JSON file.
//! - `zkroll-report render --data report.json --out docs`: draws the plots
//!   (`docs/report/*.png`) and writes `docs/report.md`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use zkroll_benches::report::{self, plot, Report};

#[derive(Parser)]
#[command(
    name = "zkroll-report",
    about = "zkroll's benchmark report: collect, then render"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Gathers a run's raw output into one report file.
    Collect {
        /// The raw directory scripts/report.sh filled.
        #[arg(long)]
        raw: PathBuf,
        /// The report file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Draws the plots and writes report.md.
    Render {
        /// The report file (`collect`'s output).
        #[arg(long)]
        data: PathBuf,
        /// Where report.md and report/*.png go.
        #[arg(long)]
        out: PathBuf,
        /// A TrueType font for the plots' text (default: DejaVu Sans from fonts-dejavu-core,
        /// or another common sans-serif font).
        #[arg(long)]
        font: Option<PathBuf>,
    },
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Collect { raw, out } => {
            let report = report::collect::collect(&raw)?;
            let text = serde_json::to_string_pretty(&report)?;
            std::fs::write(&out, text)
                .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", out.display()))?;
            eprintln!("zkroll-report: wrote {}", out.display());
        }
        Command::Render { data, out, font } => {
            let report = Report::read(&data)?;
            let font = font.or_else(plot::default_font).ok_or_else(|| {
                anyhow::anyhow!(
                    "no TrueType font for the plots in {}: install fonts-dejavu-core or pass --font",
                    plot::FONT_CANDIDATES.join(", ")
                )
            })?;
            let rendered = report::render(&report, &out, &font)?;
            eprintln!(
                "zkroll-report: wrote {} and {} plots",
                rendered.markdown.display(),
                rendered.plots.len()
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zkroll-report: {e:#}");
            ExitCode::FAILURE
        }
    }
}
