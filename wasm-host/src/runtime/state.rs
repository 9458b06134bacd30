//! The data of one `Store`: one per request, following wasmtime's convention of a plain
//! struct of per-capability contexts sharing a single `ResourceTable`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::outbound::OutboundHooks;
use super::postgres::PgState;

pub(crate) struct HostState {
    // Field order matters: the table (holding the guest's `connection` resources) must be
    // dropped before `pg`, whose `Drop` may detach the shared pooled client.
    pub(crate) table: ResourceTable,
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) http_hooks: OutboundHooks,
    pub(crate) pg: PgState,
    pub(crate) variables: Arc<HashMap<String, String>>,
    pub(crate) limits: StoreLimits,
    /// When the request's time is up (checked on every epoch tick).
    pub(crate) deadline: Instant,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.http_hooks }
    }
}
