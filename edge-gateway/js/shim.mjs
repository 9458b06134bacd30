// The Worker's entry module. `index.js` is wasm-bindgen's output (`--target module`) for
// the ocomms-edge crate: it instantiates the wasm and exports the fetch handler and the
// Durable Object classes defined in Rust. Built by `cargo xtask build edge`.
import * as ocomms from "./index.js";

export { ChannelRoom, UserSockets } from "./index.js";

export default {
  fetch(request, env, ctx) {
    return ocomms.fetch(request, env, ctx);
  },
};
