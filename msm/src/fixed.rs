//! Fixed-base tables: KZG commitments always use the same bases (the parameters' points),
//! so each window's shifted copies `2^(c·j)·B_i` can be computed once. An MSM then puts
//! every window's points into one bucket set per task (a few tasks for the threads, each an
//! equal run of the window-major (window, point) terms) instead of one per window: the
//! running sums over all `2^(c-1)` buckets are done a few times instead of `W` times, which
//! also makes wider windows (fewer points in all) pay off.
//!
//! The price: `W` copies of the bases in memory (`64·n·W` bytes: 1.0 GiB for 2^20 points at
//! c = 16) and building them (`n·(W-1)·c` batch-affine doublings, a few MSMs' worth).

use halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G1};
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::Group;
use rayon::prelude::*;

use crate::buckets::{bucket_sums_over, double_all, Arith, Scratch};
use crate::digits::{recode_all, windows};
use crate::MsmError;

/// Relative cost of one bucket in the running sums against one table point, as the tables'
/// widths were tuned (docs/benchmarks.md; the table sizes the memory prediction counts
/// come from these).
fn bucket_cost(arith: Arith) -> usize {
    match arith {
        Arith::Scalar => 4,
        Arith::Ifma => 12,
    }
}

/// Window width for `n` bases with tables: `n·W` additions plus `tasks` running sums.
pub fn window_bits(n: usize, tasks: usize, arith: Arith) -> usize {
    (1..=18)
        .min_by_key(|&c| windows(c) * n + tasks * bucket_cost(arith) * (1usize << (c - 1)))
        .unwrap_or(1)
}

/// Bytes the tables of `n` bases take at the width [`FixedBases::new`] picks by default.
pub fn table_bytes(n: usize) -> usize {
    let c = window_bits(n, tasks(), Arith::detect());
    n * windows(c) * std::mem::size_of::<G1Affine>()
}

/// The shifted copies of a set of bases.
#[derive(Debug)]
pub struct FixedBases {
    c: usize,
    n: usize,
    /// `tables[j * n + i] = 2^(c·j) · bases[i]` (the point at infinity kept as is).
    tables: Vec<G1Affine>,
    arith: Arith,
}

fn tasks() -> usize {
    2 * rayon::current_num_threads().max(1)
}

impl FixedBases {
    /// Tables of `bases` with windows of `c` bits (`None`: the width [`window_bits`] picks).
    pub fn new(bases: &[G1Affine], c: Option<usize>) -> Self {
        let arith = Arith::detect();
        let n = bases.len();
        let c = c
            .unwrap_or_else(|| window_bits(n, tasks(), arith))
            .clamp(1, 30);
        let w = windows(c);
        let finite: Vec<bool> = bases.iter().map(|p| !bool::from(p.is_identity())).collect();
        let mut tables = Vec::with_capacity(n * w);
        tables.extend_from_slice(bases);
        for j in 1..w {
            let previous = &tables[(j - 1) * n..j * n];
            // Doubling needs finite points: infinity stays infinity.
            let inputs: Vec<G1Affine> = previous
                .iter()
                .zip(&finite)
                .map(|(p, &f)| if f { *p } else { G1Affine::generator() })
                .collect();
            let part = inputs
                .len()
                .div_ceil(rayon::current_num_threads().max(1))
                .max(1);
            let doubled: Vec<G1Affine> = inputs
                .par_chunks(part)
                .map_init(
                    || Scratch::with_arith(arith),
                    |scratch, chunk| double_all(chunk, c, scratch),
                )
                .flatten_iter()
                .collect();
            tables.extend(doubled.into_iter().zip(&finite).map(|(p, &f)| {
                if f {
                    p
                } else {
                    G1Affine::identity()
                }
            }));
        }
        Self {
            c,
            n,
            tables,
            arith,
        }
    }

    /// Window width in bits.
    pub fn window_bits(&self) -> usize {
        self.c
    }

    /// Bases covered.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no bases.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Memory of the tables, in bytes.
    pub fn bytes(&self) -> usize {
        self.tables.len() * std::mem::size_of::<G1Affine>()
    }

    /// `Σ scalars[i] · bases[i]` over the first `scalars.len()` bases.
    pub fn msm(&self, scalars: &[Fr]) -> Result<G1, MsmError> {
        let m = scalars.len();
        if m > self.n {
            return Err(MsmError::Length {
                scalars: m,
                points: self.n,
            });
        }
        if m == 0 {
            return Ok(G1::identity());
        }
        let (c, n) = (self.c, self.n);
        let w = windows(c);
        let mut digits = recode_all(scalars, c);
        // The bucket passes assume finite points: a point at infinity gets digit 0.
        for (i, p) in self.tables[..m].iter().enumerate() {
            if bool::from(p.is_identity()) {
                for j in 0..w {
                    digits[j * m + i] = 0;
                }
            }
        }
        // The w·m (window, point) terms, window-major, cut into equal runs, one per task; a
        // run covers whole windows or parts of them, all summed in one bucket set. (Whole
        // windows per task left the threads uneven: 17 windows in groups of 5, 5, 5, 2.)
        let total = w * m;
        let run = total.div_ceil(tasks());
        let buckets = 1usize << (c - 1);
        let arith = self.arith;
        let sums: Vec<G1> = (0..total)
            .step_by(run)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|start| {
                let end = (start + run).min(total);
                let mut scratch = Scratch::with_arith(arith);
                let parts = (start / m..end.div_ceil(m)).map(|j| {
                    let lo = start.max(j * m) - j * m;
                    let hi = end.min((j + 1) * m) - j * m;
                    (
                        &self.tables[j * n + lo..j * n + hi],
                        &digits[j * m + lo..j * m + hi],
                    )
                });
                bucket_sums_over(parts, 0..buckets, &mut scratch).0
            })
            .collect();
        Ok(sums.into_iter().fold(G1::identity(), |a, b| a + b))
    }
}
