// Reference fan-out server for ocomms-bench: the seed's original stack (Node.js + Socket.IO),
// reduced to what the fan-out scenario needs. Rooms stand for channels; senders post over
// HTTP like they do to OComms, and each post is broadcast to its room. Nothing is stored.
//
//   node server.js [port]    (listens on 127.0.0.1 only; port 0 or none picks a free one)
//
// Socket events: "join" (room, ack?) joins a room. Server events: "message" {room, text, sent_at}.
// HTTP: POST /post {room, text, sent_at} -> 201 {"ok":true}; GET /stats -> {sockets}.
"use strict";
const http = require("node:http");
const { Server } = require("socket.io");

const MAX_BODY = 64 * 1024;

function reply(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/stats") {
    return reply(res, 200, { sockets: io.engine.clientsCount });
  }
  if (req.method !== "POST" || req.url !== "/post") return reply(res, 404, { error: "not found" });
  const chunks = [];
  let size = 0;
  req.on("data", (c) => {
    size += c.length;
    if (size > MAX_BODY) req.destroy();
    else chunks.push(c);
  });
  req.on("end", () => {
    let msg;
    try {
      msg = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return reply(res, 400, { error: "invalid json" });
    }
    if (typeof msg.room !== "string" || typeof msg.text !== "string") return reply(res, 422, { error: "room and text are required" });
    io.to(msg.room).emit("message", { room: msg.room, text: msg.text, sent_at: msg.sent_at ?? null });
    reply(res, 201, { ok: true });
  });
});

// WebSocket transport only (no long-polling), no compression: like the OComms host.
const io = new Server(server, { transports: ["websocket"], serveClient: false, perMessageDeflate: false });
io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(String(room));
    if (typeof ack === "function") ack(String(room));
  });
});

const port = Number(process.argv[2] || 0);
server.listen(port, "127.0.0.1", () => {
  // ocomms-bench reads this line to find the port.
  console.log(`socketio listening on http://127.0.0.1:${server.address().port}`);
});

function stop() {
  io.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
