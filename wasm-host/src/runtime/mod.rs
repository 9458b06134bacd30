//! The wasmtime engine that serves Spin components (spin-sdk 5.2, WASI 0.2).
//!
//! A component exports `wasi:http/incoming-handler@0.2.x` and may import:
//! - WASI 0.2 (`wasi:cli`, `wasi:io`, `wasi:clocks`, `wasi:random`, `wasi:filesystem`,
//!   `wasi:sockets` — no preopened directories, no network access except through wasi-http);
//! - `wasi:http/outgoing-handler`, checked against the component's `allowed_outbound_hosts`
//!   (parsed by the manifest, see [`AllowedHosts`]); a disallowed request fails with the
//!   wasi-http error code `HTTP-request-denied`. Allowed requests that the
//!   [`OutboundInterceptor`] handles are answered in-process; the rest go out through
//!   wasmtime-wasi-http's client;
//! - `spin:postgres/postgres@4.0.0` (`spin_sdk::pg4`): `open(address)` connects to that
//!   address if `allowed_outbound_hosts` permits it, through a pool per address
//!   ([`PgPools`]), and values convert exactly as on Spin (`pg_types`);
//! - `fermyon:spin/variables@2.0.0` (`spin_sdk::variables`), from a resolved map.
//!
//! # Usage
//!
//! ```text
//! let runtime = Runtime::new(RuntimeConfig::default())?;
//! // Compiling is CPU-heavy and blocking: call it from `spawn_blocking` in async code.
//! let api = runtime.load_component("api", Path::new("api.wasm"), ComponentContext {
//!     variables, allowed_outbound_hosts: manifest.resolve_allowed_hosts("api", &provided)?,
//!     pg: Some(Arc::new(PgPools::new(16, timeout).with_pool(&db_url, pool))), interceptor: None,
//! })?;
//! let response = api.handle(request).await?; // http::Request<Bytes> -> http::Response<Bytes>
//! ```
//!
//! Every request runs in a fresh instance (pooling allocator, pre-instantiated component).
//! A trap, a timeout or an oversized response fails only that request, as [`HandleError`].
//!
//! # Limits
//!
//! - Memory: each linear memory is capped at [`RuntimeConfig::max_instance_memory_bytes`]
//!   (pool slot size and a per-store `StoreLimits`).
//! - Concurrency: at most [`RuntimeConfig::max_instances`] instances exist at once; beyond
//!   that, instantiation fails and `handle` returns [`HandleError::Other`].
//! - Response size: the response body is read frame by frame and given up as soon as it passes
//!   [`MAX_RESPONSE_BYTES`] (8 MiB): `handle` returns [`HandleError::ResponseTooLarge`] and
//!   drops the instance, however much more the guest meant to write.
//! - Time: [`RuntimeConfig::request_timeout`] per request, from instantiation until the
//!   response body is complete. A background thread increments the engine epoch every
//!   10 ms; on each tick running guest code yields to the async executor (so a spinning
//!   guest does not monopolise a worker thread), and once the deadline has passed the
//!   guest traps (`Trap::Interrupt`). Time spent awaiting the host (a slow query, an
//!   outgoing request) is bounded by a tokio timeout at the same deadline. Both yield
//!   [`HandleError::Timeout`].
//! - Postgres: a query returning more than [`RuntimeConfig::max_result_rows`] rows fails with
//!   a `query-failed` error for the guest (not a trap).
//!
//! # Compilation cache
//!
//! With [`RuntimeConfig::cache_dir`] set, compiled components are stored there as
//! `<sha256 of the .wasm>-<engine compatibility hash>.cwasm` and loaded with
//! `Component::deserialize_file` on later starts.

mod bindings;
mod cache;
mod outbound;
mod pg_pools;
mod pg_types;
mod postgres;
mod response;
mod state;
mod variables;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::Full;
use ocomms_api::http::MAX_RESPONSE_BYTES;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimitsBuilder, Trap,
    UpdateDeadline,
};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_http::WasiHttpView as _;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};

/// Told to every component: this host answers a spin:postgres query that matches no rows
/// (Spin 4.0 does not, and the API component pads its queries there; see its `one_row`).
pub const PG_EMPTY_RESULTS_ENV: &str = "OCOMMS_PG_EMPTY_RESULTS";
pub const PG_EMPTY_RESULTS_ANSWERED: &str = "answered";

use crate::manifest::AllowedHosts;

pub use outbound::{Interceptors, OutboundInterceptor};
pub use pg_pools::{OpenError, PgPools, host_and_port};
pub use pg_types::unspecified_type;

use outbound::{OutboundHooks, OutboundPolicy};
use postgres::PgState;
use response::{CollectError, collect_capped};
use state::HostState;

/// How often the engine epoch advances.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Pool sizing per component instance. A Rust component built by wit-component has a
/// handful of core instances (the program plus shim/fixup modules), one or two tables and
/// one memory; these bounds leave room for composed components.
const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
const MEMORIES_PER_COMPONENT: u32 = 2;
const TABLES_PER_COMPONENT: u32 = 4;
/// Bytes of each linear memory kept resident and reset in place between instances (see
/// `Runtime::new`); dirty pages past this are madvised away.
///
/// The scan cannot tell this request's writes from older ones: a page stays "written" after
/// its reset, so a slot resets, on every later request, each page any earlier request dirtied,
/// up to this bound. With 16 MiB, one login (Argon2 fills 19 MiB) left its slot resetting
/// 5 MiB per request: `memset` was 22 % of the host's CPU on the GET 404, and throughput fell
/// from 8,600 to 5,900 req/s. Too small a bound costs as much the other way: pages are kept in
/// address order, and once the kept ones fill it, the pages a request dirties above them (the
/// heap's top page, written by every request) are madvised and faulted in again on every
/// request, with a TLB shootdown each (seen at 128 KiB). 1 MiB holds what the common requests
/// dirty (a 404 or a post about 60 KiB, a page of 100 messages about 600 KiB) and bounds
/// what a heavy request leaves behind.
const MEMORY_KEEP_RESIDENT: usize = 1 << 20;
/// The same for tables (a component's function tables are tens of KiB).
const TABLE_KEEP_RESIDENT: usize = 1 << 20;

/// Engine-wide settings.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Maximum size of each linear memory of an instance (pooling slot size and store limit).
    pub max_instance_memory_bytes: usize,
    /// Maximum number of instances alive at once (the pooling allocator's capacity).
    pub max_instances: u32,
    /// Wall-clock budget of one request, enforced with epoch interruption.
    pub request_timeout: Duration,
    /// Where compiled components are cached; `None` compiles on every start.
    pub cache_dir: Option<PathBuf>,
    /// Maximum rows a postgres query may return to the guest.
    pub max_result_rows: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            max_instance_memory_bytes: 64 << 20,
            max_instances: 1000,
            request_timeout: Duration::from_secs(30),
            cache_dir: None,
            max_result_rows: 10_000,
        }
    }
}

/// What a component instance gets from the host.
#[derive(Default)]
pub struct ComponentContext {
    /// `spin:variables` values (already resolved).
    pub variables: HashMap<String, String>,
    /// Where outgoing requests may go: the component's `allowed_outbound_hosts`, parsed and
    /// with templates rendered ([`Manifest::resolve_allowed_hosts`]). The default allows
    /// nothing.
    ///
    /// [`Manifest::resolve_allowed_hosts`]: crate::manifest::Manifest::resolve_allowed_hosts
    pub allowed_outbound_hosts: AllowedHosts,
    /// The pools behind `spin:postgres` `open(address)`, shared by the host's components;
    /// `None` makes `open` fail with `connection-failed`.
    pub pg: Option<Arc<PgPools>>,
    /// In-process handling of some outgoing requests.
    pub interceptor: Option<Arc<dyn OutboundInterceptor>>,
    /// Internal addresses the component's requests to apps may reach (`outbound_allow`);
    /// every other loopback, private or link-local address is refused to them.
    pub app_allow: ocomms_core::outbound::AllowList,
}

impl fmt::Debug for ComponentContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentContext")
            .field("variables", &self.variables.keys().collect::<Vec<_>>())
            .field("allowed_outbound_hosts", &self.allowed_outbound_hosts)
            .field("pg", &self.pg.is_some())
            .field("interceptor", &self.interceptor.is_some())
            .field("app_allow", &self.app_allow)
            .finish()
    }
}

/// Why a request could not be answered by the component.
///
/// Its `Display` says what happened; the details are its [`source`](std::error::Error::source),
/// the variant's field, which displays them all on one line (log that).
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The request ran out of time (map to 503).
    #[error("the component did not answer within the request timeout")]
    Timeout,
    /// The guest trapped, e.g. panicked, or exited (map to 500).
    #[error("the component trapped")]
    Trap(#[source] WasmtimeError),
    /// The response body passed `limit` bytes ([`MAX_RESPONSE_BYTES`]): the host stopped
    /// reading it there and dropped the instance (map to 500).
    #[error("the component's response body exceeds {limit} bytes")]
    ResponseTooLarge { limit: usize },
    /// Anything else: instance limit reached, the guest sent no response, ... (map to 503).
    #[error("the component could not answer")]
    Other(#[source] Failure),
}

/// An error reported by wasmtime: a trap, or a failure to set up or instantiate the guest.
///
/// wasmtime's errors carry their own chain of context (for a trap: the wasm backtrace, then
/// the trap); this displays all of it on one line, so it has no further `source()`.
/// [`get_ref`](Self::get_ref) gives the error itself, e.g. to `downcast_ref::<wasmtime::Trap>()`.
#[derive(Debug)]
pub struct WasmtimeError(wasmtime::Error);

impl WasmtimeError {
    pub fn get_ref(&self) -> &wasmtime::Error {
        &self.0
    }

    pub fn into_inner(self) -> wasmtime::Error {
        self.0
    }
}

impl fmt::Display for WasmtimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for WasmtimeError {}

/// Why a request failed without a trap, a timeout or an oversized response
/// ([`HandleError::Other`]). Displays with its cause.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// wasmtime could not set up or instantiate the guest, e.g. the instance limit is reached.
    #[error(transparent)]
    Wasmtime(WasmtimeError),
    /// The guest answered with a wasi-http error code instead of a response.
    #[error("the component answered with error {0:?}")]
    ErrorCode(ErrorCode),
    /// The guest finished without setting a response.
    #[error("the component did not send a response")]
    NoResponse,
    /// Reading the response body failed.
    #[error("reading the component's response body: {0}")]
    Body(wasmtime_wasi_http::Error),
}

/// The engine, linker and epoch ticker. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    engine: Engine,
    linker: Linker<HostState>,
    cfg: RuntimeConfig,
    _ticker: EpochTicker,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime").field("cfg", &self.inner.cfg).finish()
    }
}

/// Increments the engine epoch every [`EPOCH_TICK`] on a dedicated OS thread (not a tokio
/// task: guests spinning on every worker thread would starve it and never be interrupted).
struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    fn start(engine: &Engine) -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let flag = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .context("spawning the epoch thread")?;
        Ok(Self { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    /// Creates the engine (pooling allocator, epoch interruption) and the linker with WASI,
    /// wasi-http, spin:postgres and spin:variables.
    pub fn new(cfg: RuntimeConfig) -> anyhow::Result<Self> {
        anyhow::ensure!(cfg.max_instances > 0, "max_instances must be positive");
        anyhow::ensure!(
            cfg.max_instance_memory_bytes >= 64 << 10,
            "max_instance_memory_bytes must be at least one wasm page (64 KiB)"
        );
        let n = cfg.max_instances;
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
            .total_memories(n.saturating_mul(MEMORIES_PER_COMPONENT))
            .total_tables(n.saturating_mul(TABLES_PER_COMPONENT))
            .total_stacks(n)
            .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
            .max_memories_per_component(MEMORIES_PER_COMPONENT)
            .max_tables_per_component(TABLES_PER_COMPONENT)
            .max_memory_size(cfg.max_instance_memory_bytes)
            // Reset a slot for its next instance in place: PAGEMAP_SCAN finds the pages the
            // last request dirtied and only those are restored, where the default madvise()s the
            // whole slot, which shoots down TLBs on every core and makes the next instance
            // page-fault its heap back in. Profiled: madvise, IPIs and faults were about half
            // of the CPU of a request that does no work.
            .pagemap_scan(wasmtime::Enabled::Auto)
            .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT.min(cfg.max_instance_memory_bytes))
            .table_keep_resident(TABLE_KEEP_RESIDENT);

        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        if std::env::var_os("OCOMMS_WASM_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config)?;

        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        bindings::spin::postgres::postgres::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
        bindings::fermyon::spin::variables::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;

        let ticker = EpochTicker::start(&engine)?;
        Ok(Self { inner: Arc::new(RuntimeInner { engine, linker, cfg, _ticker: ticker }) })
    }

    /// Compiles (or loads from the cache) and pre-instantiates the component at `wasm_path`.
    ///
    /// Blocking and CPU-heavy on a cache miss; call it from `spawn_blocking` in async code.
    /// Fails if the component imports something this host does not provide or does not export
    /// `wasi:http/incoming-handler`.
    pub fn load_component(&self, id: &str, wasm_path: &Path, ctx: ComponentContext) -> anyhow::Result<LoadedComponent> {
        let bytes =
            std::fs::read(wasm_path).with_context(|| format!("reading component {id} from {}", wasm_path.display()))?;
        let component = cache::load_or_compile(&self.inner.engine, &bytes, self.inner.cfg.cache_dir.as_deref(), id)
            .with_context(|| format!("compiling component {id} ({})", wasm_path.display()))?;
        let pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("linking component {id}"))?;
        let pre = ProxyPre::new(pre)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("component {id} does not export wasi:http/incoming-handler@0.2"))?;
        Ok(LoadedComponent {
            inner: Arc::new(LoadedInner {
                id: id.to_owned(),
                pre,
                variables: Arc::new(ctx.variables),
                policy: Arc::new(OutboundPolicy {
                    allowed: ctx.allowed_outbound_hosts,
                    interceptor: ctx.interceptor,
                    app_allow: ctx.app_allow,
                }),
                pg: ctx.pg,
                runtime: Arc::clone(&self.inner),
                instantiations: AtomicU64::new(0),
                instantiate_nanos: AtomicU64::new(0),
            }),
        })
    }
}

/// A compiled, linked component, ready to serve requests. Cheap to clone.
#[derive(Clone)]
pub struct LoadedComponent {
    inner: Arc<LoadedInner>,
}

struct LoadedInner {
    id: String,
    pre: ProxyPre<HostState>,
    variables: Arc<HashMap<String, String>>,
    policy: Arc<OutboundPolicy>,
    pg: Option<Arc<PgPools>>,
    runtime: Arc<RuntimeInner>,
    /// Instances created and the time spent creating them, for `/metrics`: the per-request
    /// price of running every request in a fresh instance.
    instantiations: AtomicU64,
    instantiate_nanos: AtomicU64,
}

impl fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedComponent").field("id", &self.inner.id).field("policy", &self.inner.policy).finish()
    }
}

/// Classifies an error from instantiating or running the guest.
fn classify(err: wasmtime::Error) -> HandleError {
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => HandleError::Timeout,
        Some(_) => HandleError::Trap(WasmtimeError(err)),
        None if err.downcast_ref::<wasmtime_wasi::I32Exit>().is_some() => HandleError::Trap(WasmtimeError(err)),
        None => HandleError::Other(Failure::Wasmtime(WasmtimeError(err))),
    }
}

impl LoadedComponent {
    /// The id given to [`Runtime::load_component`].
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// Instances created so far and the total time spent instantiating them.
    pub fn instantiate_stats(&self) -> (u64, Duration) {
        let n = self.inner.instantiations.load(Ordering::Relaxed);
        (n, Duration::from_nanos(self.inner.instantiate_nanos.load(Ordering::Relaxed)))
    }

    /// Runs one request through a fresh instance and returns the fully buffered response.
    ///
    /// Must run inside a tokio runtime. The response body is buffered up to
    /// [`MAX_RESPONSE_BYTES`]; past that, reading stops, the instance is dropped and the result
    /// is [`HandleError::ResponseTooLarge`]. Request body limits are the caller's business. The request URI should carry the authority
    /// (or a `Host` header should be present); `localhost` is assumed otherwise. Its scheme
    /// defaults to `http`.
    pub async fn handle(&self, req: http::Request<Bytes>) -> Result<http::Response<Bytes>, HandleError> {
        let inner = &self.inner;
        let rt = &inner.runtime;
        let deadline = Instant::now() + rt.cfg.request_timeout;

        let state = HostState {
            table: wasmtime::component::ResourceTable::new(),
            wasi: WasiCtx::builder()
                .inherit_stdout()
                .inherit_stderr()
                .env(PG_EMPTY_RESULTS_ENV, PG_EMPTY_RESULTS_ANSWERED)
                .build(),
            http: WasiHttpCtx::new(),
            http_hooks: OutboundHooks { policy: Arc::clone(&inner.policy) },
            pg: PgState::new(inner.pg.clone(), Arc::clone(&inner.policy), rt.cfg.max_result_rows),
            variables: Arc::clone(&inner.variables),
            limits: StoreLimitsBuilder::new().memory_size(rt.cfg.max_instance_memory_bytes).build(),
            deadline,
        };
        let mut store = Store::new(&rt.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|ctx| {
            if Instant::now() >= ctx.data().deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });

        let (mut parts, body) = req.into_parts();
        let scheme = match parts.uri.scheme_str() {
            Some("https") => Scheme::Https,
            _ => Scheme::Http,
        };
        if parts.uri.authority().is_none() && !parts.headers.contains_key(http::header::HOST) {
            parts.headers.insert(http::header::HOST, http::HeaderValue::from_static("localhost"));
        }
        let req = http::Request::from_parts(parts, Full::new(body));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (req, out) = {
            let mut http = store.data_mut().http();
            let failed = |e| HandleError::Other(Failure::Wasmtime(WasmtimeError(e)));
            let req = http.new_incoming_request(scheme, req).map_err(failed)?;
            let out = http.new_response_outparam(tx).map_err(failed)?;
            (req, out)
        };

        let pre = inner.pre.clone();
        let timing = Arc::clone(inner);
        // The store moves into the guest future so that it (and with it the response
        // outparam and body sender) is dropped as soon as the guest is done.
        let guest = async move {
            let started = Instant::now();
            let proxy = pre.instantiate_async(&mut store).await?;
            timing.instantiate_nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
            timing.instantiations.fetch_add(1, Ordering::Relaxed);
            proxy.wasi_http_incoming_handler().call_handle(&mut store, req, out).await
        };
        let response = async move {
            let resp = match rx.await {
                Ok(Ok(resp)) => resp,
                Ok(Err(code)) => return Err(HandleError::Other(Failure::ErrorCode(code))),
                Err(_) => return Err(HandleError::Other(Failure::NoResponse)),
            };
            let (parts, body) = resp.into_parts();
            let body = collect_capped(body, MAX_RESPONSE_BYTES).await.map_err(|e| match e {
                CollectError::TooLarge { limit } => HandleError::ResponseTooLarge { limit },
                CollectError::Body(e) => HandleError::Other(Failure::Body(e)),
            })?;
            Ok(http::Response::from_parts(parts, body))
        };

        let both = async {
            let mut guest = std::pin::pin!(guest);
            let mut response = std::pin::pin!(response);
            // Both run to the end, so that a trap wins over the missing response it causes;
            // except that an oversized response ends the request at once, dropping the guest
            // (and its store) while it is still writing.
            let (guest, response) = tokio::select! {
                guest_done = &mut guest => (guest_done, response.await),
                response_done = &mut response => match response_done {
                    Err(too_large @ HandleError::ResponseTooLarge { .. }) => return Err(too_large),
                    response_done => (guest.await, response_done),
                },
            };
            match guest {
                Ok(()) => response,
                Err(e) => {
                    // Logging is left to the caller, which sees the error.
                    let err = classify(e);
                    let error: &(dyn std::error::Error + 'static) = &err;
                    tracing::debug!(component = %inner.id, error, "guest failed");
                    Err(err)
                }
            }
        };
        match tokio::time::timeout_at(deadline.into(), both).await {
            Err(_) => Err(HandleError::Timeout),
            Ok(result) => result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits_fit_the_pool() {
        let rt = Runtime::new(RuntimeConfig::default()).expect("runtime with default limits");
        assert_eq!(rt.inner.cfg.max_instances, 1000);
    }

    /// The `tests/fixtures/looper` component, when built (`cargo xtask test` builds it to
    /// `target/components/looper.wasm`); the tests that need it are skipped otherwise.
    fn looper() -> Option<PathBuf> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/components/looper.wasm");
        if path.exists() {
            return Some(path);
        }
        eprintln!("skipped: {} is not built (cargo xtask test builds it)", path.display());
        None
    }

    /// The looper on a runtime with `cfg` (compiling is blocking: off the async threads).
    async fn load_looper(cfg: RuntimeConfig, wasm: PathBuf) -> LoadedComponent {
        let runtime = Runtime::new(cfg).expect("runtime");
        tokio::task::spawn_blocking(move || runtime.load_component("looper", &wasm, ComponentContext::default()))
            .await
            .expect("the loading task")
            .expect("the looper loads")
    }

    fn get(path: &str) -> http::Request<Bytes> {
        http::Request::get(format!("http://localhost{path}")).body(Bytes::new()).expect("a valid request")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn oversized_responses_and_traps_fail_only_their_request() {
        let Some(wasm) = looper() else { return };
        let cfg = RuntimeConfig { max_instances: 4, request_timeout: Duration::from_secs(60), ..Default::default() };
        let looper = load_looper(cfg, wasm).await;

        // `/huge` writes 64 MiB; reading stops past the 8 MiB cap.
        let started = Instant::now();
        match looper.handle(get("/test/huge")).await {
            Err(HandleError::ResponseTooLarge { limit }) => assert_eq!(limit, MAX_RESPONSE_BYTES),
            Err(other) => panic!("expected ResponseTooLarge, got {other:?}"),
            Ok(resp) => panic!("expected ResponseTooLarge, got a {}-byte body", resp.body().len()),
        }
        assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());

        // A trap keeps wasmtime's error, with the trap at its root.
        match looper.handle(get("/test/panic")).await {
            Err(HandleError::Trap(e)) => {
                assert!(e.get_ref().downcast_ref::<Trap>().is_some(), "{e}");
                assert!(e.to_string().contains("wasm trap"), "{e}");
            }
            other => panic!("expected a trap, got {other:?}"),
        }

        // Only those requests failed: the component still answers.
        let ok = looper.handle(get("/test/ok")).await.expect("ok");
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.body(), "ok");
    }

    /// The pool keeps slots resident and resets them in place between instances: every
    /// request must still start from the component's initial state. `/fresh` reports its
    /// instance's request count, its memory size at start, and how many of the markers the last
    /// request wrote past the initial memory are still there (one per page of 4 MiB: more than
    /// the pool keeps resident, so pages reset in place and pages madvised away are both seen).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_request_starts_from_the_initial_memory_in_a_reused_slot() {
        let Some(wasm) = looper() else { return };
        // Two slots at most, so the requests (some at once) reuse them.
        let cfg = RuntimeConfig { max_instances: 2, ..Default::default() };
        let looper = load_looper(cfg, wasm).await;
        let fresh = |looper: LoadedComponent| async move {
            let resp = looper.handle(get("/test/fresh")).await.expect("/fresh answers");
            String::from_utf8(resp.body().to_vec()).expect("text")
        };
        let first = fresh(looper.clone()).await;
        let initial_pages = first.split(' ').nth(1).expect("three numbers").to_owned();
        assert_eq!(first, format!("1 {initial_pages} 0"));
        for round in 0..20 {
            // A trap in between leaves its slot dirty in another way.
            if round % 5 == 0 {
                assert!(matches!(looper.handle(get("/test/panic")).await, Err(HandleError::Trap(_))));
            }
            let (a, b) = tokio::join!(fresh(looper.clone()), fresh(looper.clone()));
            assert_eq!(a, format!("1 {initial_pages} 0"), "round {round}");
            assert_eq!(b, format!("1 {initial_pages} 0"), "round {round}");
        }
    }
}
