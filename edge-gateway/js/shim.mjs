// The Worker's entry module. `index.js` is wasm-bindgen's output (`--target module`) for
// the ocomms-edge crate: it instantiates the wasm and exports the fetch and scheduled handlers and the
// Durable Object classes defined in Rust. Bundled by esbuild in `cargo xtask build edge`.
//
// Everything is decided in Rust. The one thing done here is plumbing for WebSockets that
// authenticate with a first `auth` frame (browsers cannot set headers): such a socket is
// accepted by the Worker, its first frame goes to Rust (`wsRelayOpen`: decode, verify the
// JWT, open a socket to the user's Durable Object), and from then on frames and closes are
// relayed both ways by the event listeners below. (Rust futures woken by socket events
// were cancelled by workerd as hung; listeners are what the runtime expects.)
import * as ocomms from "./index.js";

export { ChannelRoom, UserSockets } from "./index.js";

/// How long a client has to send its `auth` frame (as on the host).
const AUTH_TIMEOUT_MS = 10_000;

export default {
  fetch(request, env, ctx) {
    if (needsRelay(request)) {
      return relay(request, env);
    }
    return ocomms.fetch(request, env, ctx);
  },
  // The Cron Trigger: deliveries to apps whose retry fell due (Rust's `scheduled`).
  scheduled(event, env, ctx) {
    return ocomms.scheduled(event, env, ctx);
  },
};

function needsRelay(request) {
  if (new URL(request.url).pathname !== "/api/v1/ws") return false;
  if ((request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") return false;
  return !/^bearer\s+\S/i.test(request.headers.get("authorization") ?? "");
}

// Close codes that may not be sent (no status, abnormal, TLS) become 1000.
function sendable(code) {
  return code === 1005 || code === 1006 || code === 1015 || code < 1000 || code > 4999 ? 1000 : code;
}

function close(ws, code, reason) {
  try {
    ws.close(sendable(code), reason ?? "");
  } catch {
    // Already closed.
  }
}

function relay(request, env) {
  const offered = request.headers.get("sec-websocket-protocol");
  const [client, server] = Object.values(new WebSocketPair());
  // Binary frames as ArrayBuffer (the standard default is Blob, which Rust cannot read
  // synchronously and `send` does not take).
  server.binaryType = "arraybuffer";
  server.accept();
  let state = "waiting"; // waiting -> opening -> open, or closed
  let upstream = null;
  const queued = []; // frames sent while the user's object was being reached
  const timer = setTimeout(() => {
    if (state === "waiting") {
      state = "closed";
      close(server, 4001, "authentication timed out");
    }
  }, AUTH_TIMEOUT_MS);

  const forward = (data) => {
    try {
      upstream.send(data);
    } catch {
      state = "closed";
      close(server, 1011, "server error");
    }
  };
  server.addEventListener("message", async (event) => {
    if (state === "open") return forward(event.data);
    if (state === "opening") return queued.push(event.data);
    if (state !== "waiting") return;
    state = "opening";
    clearTimeout(timer);
    let response;
    try {
      response = await ocomms.wsRelayOpen(env, event.data, offered);
    } catch (e) {
      state = "closed";
      return close(server, e?.code ?? 1011, e?.reason ?? "server error");
    }
    upstream = response.webSocket;
    upstream.binaryType = "arraybuffer";
    upstream.accept();
    upstream.addEventListener("message", (e) => {
      try {
        server.send(e.data);
      } catch {
        close(upstream, 1000, "client gone");
      }
    });
    upstream.addEventListener("close", (e) => {
      state = "closed";
      close(server, e.code, e.reason);
    });
    upstream.addEventListener("error", () => {
      state = "closed";
      close(server, 1011, "server error");
    });
    if (state === "closed") return close(upstream, 1000, "client gone");
    state = "open";
    for (const data of queued.splice(0)) forward(data);
  });
  const gone = (code, reason) => {
    state = "closed";
    clearTimeout(timer);
    if (upstream) close(upstream, code, reason);
  };
  server.addEventListener("close", (e) => gone(e.code, e.reason));
  server.addEventListener("error", () => gone(1000, "client gone"));

  const headers = new Headers();
  const protocol = ocomms.wsProtocol(offered);
  if (protocol) headers.set("sec-websocket-protocol", protocol);
  return new Response(null, { status: 101, webSocket: client, headers });
}
