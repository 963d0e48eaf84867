//! The HTTP API (axum). Described in `docs/service-api.yaml` (OpenAPI 3).
//!
//! - `POST /v1/jobs`: submit `{"trace": {...}}` or `{"transactions": [...]}` (optional
//!   `"chunk_size"`): 202 with the job; 429 with `Retry-After` when the queue is full.
//! - `GET /v1/jobs` (`?state=`), `GET /v1/jobs/{id}`: jobs with per-chunk and per-layer
//!   progress.
//! - `POST /v1/jobs/{id}/cancel`.
//! - `GET /v1/jobs/{id}/proof`: the final proof file; `GET /v1/jobs/{id}/calldata`: the
//!   calldata of `Rollup.submitBatch` for it.
//! - `GET /metrics` (Prometheus), `GET /healthz`.
//!
//! Errors are JSON `{"error": "...", "field": "..."}` (the field when one is at fault) with
//! a 4xx/5xx status. Mutations need `Authorization: Bearer <token>`; reads too when the
//! service listens on a non-loopback address.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use zkroll_engine::{execute_batch_with_l1, BatchTrace, L1Deposit, Tx};

use crate::store::{Job, JobSource, JobState};
use crate::worker::{new_job, Shared};
use crate::ServiceError;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    field: Option<String>,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    fn field(status: StatusCode, field: &str, message: impl std::fmt::Display) -> Self {
        Self {
            status,
            message: format!("{field}: {message}"),
            field: Some(field.into()),
            retry_after: None,
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.message });
        if let Some(field) = &self.field {
            body["field"] = field.clone().into();
        }
        if let Some(seconds) = self.retry_after {
            body["retry_after_seconds"] = seconds.into();
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Compares in time independent of where the strings differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorize(shared: &Shared, headers: &HeaderMap) -> ApiResult<()> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing bearer token (Authorization: Bearer <token>; the token is in the \
             service's token file)",
        )),
        Some(t) if same(t.trim().as_bytes(), shared.token.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong bearer token",
        )),
    }
}

fn authorize_read(shared: &Shared, headers: &HeaderMap) -> ApiResult<()> {
    if shared.config.listen.ip().is_loopback() {
        Ok(())
    } else {
        authorize(shared, headers)
    }
}

fn parse_id(text: &str) -> ApiResult<u64> {
    text.parse::<u64>()
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| ApiError::field(StatusCode::BAD_REQUEST, "id", "not a job number"))
}

fn job_or_404(shared: &Shared, id: u64) -> ApiResult<Job> {
    shared
        .store
        .get(id)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no job {id}")))
}

/// A job as the API shows it: the record plus totals.
fn view(job: &Job) -> serde_json::Value {
    use crate::store::ChunkProgress;
    let done = job
        .chunks
        .iter()
        .filter(|c| matches!(c, ChunkProgress::Proven { .. } | ChunkProgress::Kept))
        .count();
    let mut value = serde_json::to_value(job).unwrap_or_default();
    value["progress"] = serde_json::json!({
        "chunks_done": done,
        "chunks_total": job.chunks.len(),
        "layers_done": job.layers.iter().filter(|l| l.proven + l.kept >= l.nodes).count(),
        "layers_total": job.layers.len(),
    });
    value
}

/// The body of a submission.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Submission {
    /// A batch trace (as `zkroll execute` writes it).
    trace: Option<BatchTrace>,
    /// Transactions to execute against the service's rollup state first.
    transactions: Option<Vec<Tx>>,
    /// Transaction slots per chunk.
    chunk_size: Option<usize>,
}

/// L1's deposit queue from the configured export file (none without one).
fn read_l1_deposits(config: &crate::Config) -> ApiResult<Vec<L1Deposit>> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Queue {
        deposits: Vec<L1Deposit>,
    }
    let Some(path) = &config.l1_deposits else {
        return Ok(Vec::new());
    };
    let unusable = |e: String| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("L1 deposit queue {}: {e}", path.display()),
        )
    };
    let bytes = std::fs::read(path).map_err(|e| unusable(e.to_string()))?;
    let queue: Queue = serde_json::from_slice(&bytes).map_err(|e| unusable(e.to_string()))?;
    Ok(queue.deposits)
}

fn parse_submission(body: &[u8]) -> ApiResult<Submission> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let submission: Submission = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." {
            ApiError::new(StatusCode::BAD_REQUEST, format!("request body: {inner}"))
        } else {
            ApiError::field(StatusCode::BAD_REQUEST, &path, inner)
        }
    })?;
    de.end()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("request body: {e}")))?;
    Ok(submission)
}

async fn submit(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    authorize(&shared, &headers)?;
    let limit = shared.config.max_body_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body over {limit} bytes (--max-body-mib)"),
        )
    };
    // Refused from the announced length before any of the body is read.
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let body = axum::body::to_bytes(body, limit).await.map_err(|e| {
        // axum reports a body over the limit as "length limit exceeded".
        if announced.is_none() && e.to_string().contains("length limit") {
            too_large()
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, format!("request body: {e}"))
        }
    })?;
    // Parsing and checking a large trace takes a while: off the async threads.
    let worker = Arc::clone(&shared);
    let job = tokio::task::spawn_blocking(move || {
        let submission = parse_submission(&body)?;
        let chunk_size = submission.chunk_size.unwrap_or(worker.config.chunk_size);
        if chunk_size == 0 || chunk_size > 4096 {
            return Err(ApiError::field(
                StatusCode::BAD_REQUEST,
                "chunk_size",
                format!("{chunk_size}: must be 1..=4096"),
            ));
        }
        if chunk_size != worker.config.chunk_size {
            return Err(ApiError::field(
                StatusCode::BAD_REQUEST,
                "chunk_size",
                format!(
                    "{chunk_size}: this service proves chunks of {} slots (--chunk-size)",
                    worker.config.chunk_size
                ),
            ));
        }
        if let Some(trace) = &submission.trace {
            let (theirs, ours) = (trace.header.config, worker.chain);
            if theirs != ours {
                return Err(ApiError::field(
                    StatusCode::BAD_REQUEST,
                    "trace.header.config",
                    format!(
                        "chain {} (operator {}, depth {}): this service proves chain {} \
                         (operator {}, depth {})",
                        theirs.chain_id,
                        theirs.operator,
                        theirs.depth,
                        ours.chain_id,
                        ours.operator,
                        ours.depth
                    ),
                ));
            }
            trace.check().map_err(|e| {
                ApiError::field(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "trace",
                    format!("does not check: {e}"),
                )
            })?;
        }
        enqueue(&worker, submission, chunk_size)
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    shared.notify();
    let mut response = (StatusCode::ACCEPTED, Json(view(&job))).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/jobs/{}", job.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Checks capacity, executes transactions if that is what was sent, stores the job and
/// queues it, all under the queue lock (so capacity holds under concurrent submissions).
/// A trace has been checked already.
fn enqueue(shared: &Shared, submission: Submission, chunk_size: usize) -> ApiResult<Job> {
    let mut queue = shared
        .queue
        .lock()
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "queue lock poisoned"))?;
    let unfinished = shared.unfinished(&queue);
    if unfinished >= shared.config.queue_capacity {
        shared.metrics.rejected_full();
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "queue full: {unfinished} unfinished jobs (--queue-capacity {}); retry later",
                shared.config.queue_capacity
            ),
        );
        e.retry_after = Some(60);
        return Err(e);
    }
    let job = match (submission.trace, submission.transactions) {
        (Some(trace), None) => shared.store.insert(&trace.to_binary(), None, |id| {
            new_job(id, JobSource::Trace, &trace, chunk_size)
        })?,
        (None, Some(txs)) => {
            let queue = read_l1_deposits(&shared.config)?;
            if txs.is_empty() && queue.is_empty() {
                return Err(ApiError::field(
                    StatusCode::BAD_REQUEST,
                    "transactions",
                    "empty",
                ));
            }
            let state = shared.state.as_ref().ok_or_else(|| {
                ApiError::new(
                    StatusCode::CONFLICT,
                    "no rollup state in the data directory (zkroll state init): submit a \
                     trace instead",
                )
            })?;
            let mut db = state.lock().map_err(|_| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "state lock poisoned")
            })?;
            let outcome = execute_batch_with_l1(&mut db, &queue, &txs).map_err(|e| {
                ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "transactions", e)
            })?;
            let source = JobSource::Transactions {
                batch: outcome.batch_number,
                accepted: outcome.accepted.len(),
                rejected: outcome.rejected.len(),
            };
            // The batch is committed in the state with its trace: if this write does not
            // happen (crash), the next start makes the job from the state.
            shared.store.insert(
                &outcome.trace.to_binary(),
                Some(outcome.batch_number + 1),
                |id| new_job(id, source, &outcome.trace, chunk_size),
            )?
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "request body: give either `trace` or `transactions`, not both",
            ))
        }
        (None, None) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "request body: missing field `trace` or `transactions`",
            ))
        }
    };
    queue.push_back(job.id);
    Ok(job)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<String>,
}

async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    authorize_read(&shared, &headers)?;
    let Query(query) =
        query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("query: {e}")))?;
    let wanted = match query.state.as_deref() {
        None => None,
        Some(name) => Some(
            JobState::ALL
                .into_iter()
                .find(|s| s.name() == name)
                .ok_or_else(|| {
                    ApiError::field(
                        StatusCode::BAD_REQUEST,
                        "state",
                        format!("{name}: not one of queued, running, done, failed, cancelled"),
                    )
                })?,
        ),
    };
    let jobs: Vec<serde_json::Value> = shared
        .store
        .list()?
        .iter()
        .filter(|j| wanted.is_none_or(|s| j.state == s))
        .map(view)
        .collect();
    Ok(Json(serde_json::json!({ "jobs": jobs })))
}

async fn status(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    authorize_read(&shared, &headers)?;
    let job = job_or_404(&shared, parse_id(&id)?)?;
    Ok(Json(view(&job)))
}

async fn cancel(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    authorize(&shared, &headers)?;
    let id = parse_id(&id)?;
    let job = {
        let mut queue = shared
            .queue
            .lock()
            .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "queue lock poisoned"))?;
        let job = job_or_404(&shared, id)?;
        if job.state.is_final() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("job {id} is {} already", job.state.name()),
            ));
        }
        let queued = queue.iter().position(|&q| q == id);
        if let Some(at) = queued {
            queue.remove(at);
        }
        let job = shared
            .store
            .update(id, |j| {
                j.cancel_requested = true;
                if queued.is_some() {
                    j.state = JobState::Cancelled;
                    j.finished_at = Some(crate::store::now());
                }
            })?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no job {id}")))?;
        shared.cancel_running(id);
        job
    };
    Ok(Json(view(&job)))
}

fn final_proof(shared: &Shared, id: u64) -> ApiResult<Vec<u8>> {
    let job = job_or_404(shared, id)?;
    let path = match (&job.state, &job.final_proof) {
        (JobState::Done, Some(path)) => path.clone(),
        (state, _) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("job {id} is {}: no final proof", state.name()),
            ))
        }
    };
    std::fs::read(&path).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("final proof {path}: {e}"),
        )
    })
}

async fn proof(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    authorize_read(&shared, &headers)?;
    let bytes = final_proof(&shared, parse_id(&id)?)?;
    let kind = if bytes.first() == Some(&b'{') {
        "application/json"
    } else {
        "application/octet-stream"
    };
    Ok(([(header::CONTENT_TYPE, kind)], bytes).into_response())
}

async fn calldata(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    authorize_read(&shared, &headers)?;
    let id = parse_id(&id)?;
    let bytes = final_proof(&shared, id)?;
    let file = zkroll_prover::proof_file::ProofFile::decode(&bytes).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("final proof: {e}"),
        )
    })?;
    let unsafe_params = zkroll_prover::srs::is_dev_id(&file.params_id);
    if unsafe_params && !shared.config.allow_unsafe_dev_params {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "job {id}'s proof was made with the UNSAFE development parameters ({}; public \
                 secret: a verifier made from them accepts forged proofs): no calldata for a \
                 real deployment; serve with --allow-unsafe-dev-params for a test one",
                file.params_id
            ),
        ));
    }
    let data = zkroll_verifier_contract::submit_batch_calldata(
        &file.circuit_instances(),
        &file.pubdata,
        &file.proof,
    )
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("final proof's pubdata: {e}"),
        )
    })?;
    Ok(Json(serde_json::json!({
        "function": zkroll_verifier_contract::SUBMIT_BATCH,
        "calldata": format!("0x{}", hex::encode(data)),
        "unsafe_dev_params": unsafe_params,
    })))
}

async fn metrics(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> ApiResult<Response> {
    authorize_read(&shared, &headers)?;
    let jobs = shared.store.list()?;
    let text = shared
        .metrics
        .render(&jobs, &shared.msm, shared.config.queue_capacity);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

async fn healthz(State(shared): State<Arc<Shared>>) -> ApiResult<Json<serde_json::Value>> {
    let queued = shared
        .queue
        .lock()
        .map(|q| q.len())
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "queue lock poisoned"))?;
    Ok(Json(serde_json::json!({
        "status": "ok",
        "queued": queued,
        "running": shared.running(),
    })))
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no such endpoint (see docs/service-api.yaml)",
    )
}

/// The routes.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/jobs", post(submit).get(list))
        .route("/v1/jobs/{id}", get(status))
        .route("/v1/jobs/{id}/cancel", post(cancel))
        .route("/v1/jobs/{id}/proof", get(proof))
        .route("/v1/jobs/{id}/calldata", get(calldata))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .with_state(shared)
}

/// Serves until SIGTERM or SIGINT, then stops accepting and finishes the requests in flight.
pub async fn run(shared: Arc<Shared>) -> Result<(), ServiceError> {
    let listen = shared.config.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| ServiceError::Io {
            what: format!("--listen {listen}"),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| ServiceError::Io {
        what: format!("--listen {listen}"),
        source,
    })?;
    // The address on stdout (with the port the system chose for port 0): scripts and tests
    // read it.
    println!("listening on http://{local}");
    eprintln!(
        "zkroll serve: MSM backend {}; queue capacity {}; reads {}",
        shared.msm,
        shared.config.queue_capacity,
        if local.ip().is_loopback() {
            "open (loopback)"
        } else {
            "need the token"
        }
    );
    let app = router(Arc::clone(&shared));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            signal().await;
            eprintln!("zkroll serve: shutting down (no new requests or jobs)");
            shared.shut_down();
        })
        .await
        .map_err(|source| ServiceError::Io {
            what: "serving HTTP".into(),
            source,
        })
}

async fn signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            // Without signal handlers the service runs until killed.
            std::future::pending::<()>().await;
        }
    }
}
