//! KZG on BN254 with the commitments routed through an [`Msm`] backend.
//!
//! halo2's `create_proof` is generic over the commitment scheme; its commitments go through
//! `Params::commit_lagrange` (witness columns, lookups, permutation products) and
//! `ParamsProver::commit` (vanishing argument, quotient pieces). [`MsmKzg`] is KZG whose
//! prover parameters, [`MsmParams`], send those to the chosen backend. The commitments are
//! the points `KZGCommitmentScheme<Bn256>` computes and the transcript is the same, so the
//! proofs verify with the standard KZG verifier and aggregate unchanged.
//!
//! The multi-open step ([`MsmShplonk`]) is halo2's SHPLONK prover over the wrapped
//! parameters: its two commitments still use halo2curves' MSM.
//!
//! With the CPU backend the parameters can also carry fixed-base tables
//! ([`MsmParams::with_fixed_bases`]): both point sets' shifted copies, prepared once per
//! parameters and kept as long as they are, under a memory budget.

use std::fmt;
use std::io;
use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G1};
use halo2_proofs::halo2curves::serde::SerdeObject;
use halo2_proofs::plonk::Error as PlonkError;
use halo2_proofs::poly::commitment::{Blind, CommitmentScheme, Params, ParamsProver, Prover};
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::msm::MSMKZG;
use halo2_proofs::poly::kzg::multiopen::ProverSHPLONK;
use halo2_proofs::poly::ProverQuery;
use halo2_proofs::poly::{Coeff, LagrangeCoeff, Polynomial};
use halo2_proofs::transcript::{EncodedChallenge, TranscriptWrite};
use halo2_proofs::SerdeFormat;
use rand::RngCore;

use crate::fixed::{self, FixedBases};
use crate::{Halo2CurvesMsm, Msm};

/// KZG over BN254 whose prover commits through an [`Msm`] backend.
#[derive(Debug)]
pub struct MsmKzg;

/// KZG prover parameters plus the MSM backend their commitments use.
#[derive(Clone)]
pub struct MsmParams {
    kzg: Arc<ParamsKZG<Bn256>>,
    /// The Lagrange-basis points (halo2 keeps them private); empty with the halo2curves
    /// backend, which commits through the parameters themselves.
    g_lagrange: Arc<Vec<G1Affine>>,
    backend: Arc<dyn Msm>,
    /// Fixed-base tables of the Lagrange and the monomial points, when prepared.
    tables: Option<Arc<FixedTables>>,
}

/// The fixed-base tables of both point sets of the parameters.
#[derive(Debug)]
struct FixedTables {
    lagrange: FixedBases,
    monomial: FixedBases,
}

impl fmt::Debug for MsmParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MsmParams")
            .field("k", &self.kzg.k())
            .field("backend", &self.backend.name())
            .field("fixed_tables_bytes", &self.fixed_bases_bytes())
            .finish()
    }
}

/// Collects the Lagrange-basis points from halo2's raw parameter encoding (`k`, `g`,
/// `g_lagrange`, `g2`, `s_g2`) without holding the whole encoding.
struct LagrangeTap {
    skip: usize,
    take: usize,
    seen: usize,
    bytes: Vec<u8>,
}

impl io::Write for LagrangeTap {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let start = self.seen;
        let end = start + buf.len();
        let lo = self.skip.max(start);
        let hi = (self.skip + self.take).min(end);
        if lo < hi {
            self.bytes.extend_from_slice(&buf[lo - start..hi - start]);
        }
        self.seen = end;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const RAW_G1: usize = 64;

fn lagrange_points(kzg: &ParamsKZG<Bn256>) -> io::Result<Vec<G1Affine>> {
    let n = kzg.n() as usize;
    let mut tap = LagrangeTap {
        skip: 4 + n * RAW_G1,
        take: n * RAW_G1,
        seen: 0,
        bytes: Vec::with_capacity(n * RAW_G1),
    };
    kzg.write_custom(&mut tap, SerdeFormat::RawBytesUnchecked)?;
    if tap.bytes.len() != n * RAW_G1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "unexpected KZG parameter encoding",
        ));
    }
    Ok(tap
        .bytes
        .chunks_exact(RAW_G1)
        .map(G1Affine::from_raw_bytes_unchecked)
        .collect())
}

impl MsmParams {
    /// Wraps `kzg` so that its commitments use `backend`. Copies the Lagrange-basis points
    /// out of the parameters (`64 * 2^k` bytes) unless the backend is halo2curves'.
    pub fn new(kzg: Arc<ParamsKZG<Bn256>>, backend: Arc<dyn Msm>) -> io::Result<Self> {
        let g_lagrange = if backend.name() == Halo2CurvesMsm.name() {
            Vec::new()
        } else {
            lagrange_points(&kzg)?
        };
        Ok(Self {
            kzg,
            g_lagrange: Arc::new(g_lagrange),
            backend,
            tables: None,
        })
    }

    /// Bytes the fixed-base tables of parameters of `2^k` points take (both point sets).
    pub fn fixed_bases_bytes_for(k: u32) -> usize {
        2 * fixed::table_bytes(1usize << k)
    }

    /// Prepares fixed-base tables for both point sets when the backend is this crate's CPU
    /// engine (the only one that uses them) and they fit in `budget_bytes`
    /// ([`MsmParams::fixed_bases_bytes_for`]); otherwise returns the parameters unchanged.
    /// Building costs a few MSMs' worth of time, once per parameters.
    pub fn with_fixed_bases(mut self, budget_bytes: usize) -> Self {
        if self.backend.name() != crate::CpuMsm.name()
            || Self::fixed_bases_bytes_for(self.kzg.k()) > budget_bytes
        {
            return self;
        }
        let (lagrange, monomial) = rayon::join(
            || FixedBases::new(&self.g_lagrange, None),
            || FixedBases::new(self.kzg.get_g(), None),
        );
        self.tables = Some(Arc::new(FixedTables { lagrange, monomial }));
        self
    }

    /// Memory held by the fixed-base tables (0 without).
    pub fn fixed_bases_bytes(&self) -> usize {
        self.tables
            .as_ref()
            .map_or(0, |t| t.lagrange.bytes() + t.monomial.bytes())
    }

    /// The KZG parameters (for key generation and verification).
    pub fn kzg(&self) -> &ParamsKZG<Bn256> {
        &self.kzg
    }

    /// The backend in use.
    pub fn backend(&self) -> &dyn Msm {
        self.backend.as_ref()
    }

    fn commit_with(&self, scalars: &[Fr], points: &[G1Affine], table: Option<&FixedBases>) -> G1 {
        // Lengths are equal by construction (the slices are cut to the polynomial's size),
        // so neither the tables nor the backend can refuse; halo2curves stays as the safety
        // net.
        table
            .and_then(|t| t.msm(scalars).ok())
            .or_else(|| self.backend.msm(scalars, points).ok())
            .unwrap_or_else(|| halo2_proofs::halo2curves::msm::msm_best(scalars, points))
    }
}

impl<'params> Params<'params, G1Affine> for MsmParams {
    type MSM = MSMKZG<Bn256>;

    fn k(&self) -> u32 {
        self.kzg.k()
    }

    fn n(&self) -> u64 {
        self.kzg.n()
    }

    fn downsize(&mut self, k: u32) {
        Arc::make_mut(&mut self.kzg).downsize(k);
        // Tables of the larger parameters would still be right for prefixes of the
        // monomial points, not for the new Lagrange points: drop them.
        self.tables = None;
        if !self.g_lagrange.is_empty() {
            self.g_lagrange = Arc::new(lagrange_points(&self.kzg).unwrap_or_default());
        }
    }

    fn empty_msm(&'params self) -> MSMKZG<Bn256> {
        MSMKZG::new()
    }

    fn commit_lagrange(&self, poly: &Polynomial<Fr, LagrangeCoeff>, r: Blind<Fr>) -> G1 {
        if self.g_lagrange.is_empty() {
            return self.kzg.commit_lagrange(poly, r);
        }
        let size = poly.len();
        assert!(size <= self.g_lagrange.len(), "polynomial larger than 2^k");
        let table = self.tables.as_deref().map(|t| &t.lagrange);
        self.commit_with(poly, &self.g_lagrange[..size], table)
    }

    fn write<W: io::Write>(&self, writer: &mut W) -> io::Result<()> {
        Params::write(self.kzg.as_ref(), writer)
    }

    fn read<R: io::Read>(reader: &mut R) -> io::Result<Self> {
        let kzg: ParamsKZG<Bn256> = Params::read(reader)?;
        Self::new(Arc::new(kzg), Arc::new(crate::CpuMsm))
    }
}

impl<'params> ParamsProver<'params, G1Affine> for MsmParams {
    type ParamsVerifier = ParamsKZG<Bn256>;

    fn new(k: u32) -> Self {
        let kzg = ParamsKZG::<Bn256>::setup(k, rand::rngs::OsRng);
        // Freshly made parameters encode without error: the tap only copies bytes.
        let g_lagrange = lagrange_points(&kzg).unwrap_or_default();
        Self {
            kzg: Arc::new(kzg),
            g_lagrange: Arc::new(g_lagrange),
            backend: Arc::new(crate::CpuMsm),
            tables: None,
        }
    }

    fn commit(&self, poly: &Polynomial<Fr, Coeff>, _: Blind<Fr>) -> G1 {
        let size = poly.len();
        let g = self.kzg.get_g();
        assert!(size <= g.len(), "polynomial larger than 2^k");
        let table = self.tables.as_deref().map(|t| &t.monomial);
        self.commit_with(poly, &g[..size], table)
    }

    fn get_g(&self) -> &[G1Affine] {
        self.kzg.get_g()
    }

    fn verifier_params(&'params self) -> &'params ParamsKZG<Bn256> {
        self.kzg.as_ref()
    }
}

impl CommitmentScheme for MsmKzg {
    type Scalar = Fr;
    type Curve = G1Affine;
    type ParamsProver = MsmParams;
    type ParamsVerifier = ParamsKZG<Bn256>;

    fn new_params(k: u32) -> MsmParams {
        <MsmParams as ParamsProver<'_, G1Affine>>::new(k)
    }

    fn read_params<R: io::Read>(reader: &mut R) -> io::Result<MsmParams> {
        <MsmParams as Params<'_, G1Affine>>::read(reader)
    }
}

/// halo2's SHPLONK multi-open prover, over [`MsmParams`].
#[derive(Debug)]
pub struct MsmShplonk<'params>(ProverSHPLONK<'params, Bn256>);

impl<'params> Prover<'params, MsmKzg> for MsmShplonk<'params> {
    const QUERY_INSTANCE: bool = <ProverSHPLONK<'params, Bn256> as Prover<
        'params,
        KZGCommitmentScheme<Bn256>,
    >>::QUERY_INSTANCE;

    fn new(params: &'params MsmParams) -> Self {
        Self(ProverSHPLONK::new(params.kzg.as_ref()))
    }

    fn create_proof<'com, E, T, R, I>(
        &self,
        rng: R,
        transcript: &mut T,
        queries: I,
    ) -> io::Result<()>
    where
        E: EncodedChallenge<G1Affine>,
        T: TranscriptWrite<G1Affine, E>,
        I: IntoIterator<Item = ProverQuery<'com, G1Affine>> + Clone,
        R: RngCore,
    {
        self.0.create_proof(rng, transcript, queries)
    }
}

/// `halo2_proofs::plonk::create_proof` with the commitments on `params`' backend.
pub fn create_proof<'params, 'a, C, E, R, T>(
    params: &'params MsmParams,
    pk: &halo2_proofs::plonk::ProvingKey<G1Affine>,
    circuits: &[C],
    instances: &[&[&'a [Fr]]],
    rng: R,
    transcript: &'a mut T,
) -> Result<(), PlonkError>
where
    C: halo2_proofs::plonk::Circuit<Fr>,
    E: EncodedChallenge<G1Affine>,
    R: RngCore + 'a,
    T: TranscriptWrite<G1Affine, E>,
{
    halo2_proofs::plonk::create_proof::<MsmKzg, MsmShplonk<'params>, E, R, T, C>(
        params, pk, circuits, instances, rng, transcript,
    )
}
