// The live connection: JSON frames over /api/v1/ws, a first `auth` frame (tokens never go in
// the URL), a ping every 25 s, and reconnects with exponential backoff and jitter so a
// restarted server is not hit by every client at the same instant.

import type { ServerFrame } from './types';

export type ConnStatus = 'connecting' | 'online' | 'reconnecting' | 'offline';

export interface SocketOptions {
  url: () => string;
  token: (force: boolean) => Promise<string>;
  onFrame: (f: ServerFrame) => void;
  onStatus: (s: ConnStatus, retryInMs?: number) => void;
  /** The server closed the socket because the session ended (4003); no reconnects follow. */
  onSessionEnded?: () => void;
  WebSocketImpl?: typeof WebSocket;
  random?: () => number;
}

const PING_EVERY_MS = 25_000;
const STALE_AFTER_MS = 65_000;
const OPEN_TIMEOUT_MS = 15_000;
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 15_000;
/** Close codes: 4001 bad or expired token, 4003 session ended. */
const CLOSE_BAD_TOKEN = 4001;
const CLOSE_SESSION_ENDED = 4003;

/** Delay before reconnect attempt `attempt` (0-based): doubling, capped, "equal jitter". */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const exp = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 20));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

export class Socket {
  private ws: WebSocket | null = null;
  private wanted = false;
  private online = false;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private lastFrameAt = 0;
  private nonce = 0;
  private forceRefresh = false;
  private connecting = false;
  /** The browser says it has no network: no attempts until it says it is back. */
  private paused = false;
  private readonly WS: typeof WebSocket;
  private readonly random: () => number;

  constructor(private readonly o: SocketOptions) {
    this.WS = o.WebSocketImpl ?? WebSocket;
    this.random = o.random ?? Math.random;
  }

  get isOnline() {
    return this.online;
  }

  start() {
    if (this.wanted) return;
    this.wanted = true;
    this.paused = false;
    this.attempt = 0;
    void this.connect();
  }

  stop() {
    this.wanted = false;
    this.clearTimer();
    this.drop();
    this.o.onStatus('offline');
  }

  /** A new connection now (its hello lists every current subscription). */
  restart() {
    if (!this.wanted) return;
    this.clearTimer();
    this.drop();
    this.attempt = 0;
    void this.connect();
  }

  /**
   * The browser went offline. An open socket may linger for a minute before it notices, and
   * attempts would only fail, so it is dropped now and the status says offline at once.
   */
  pause() {
    if (!this.wanted || this.paused) return;
    this.paused = true;
    this.clearTimer();
    this.drop();
    this.o.onStatus('offline');
  }

  /**
   * The browser is back online: connect now, whatever attempt was pending or stuck (one made
   * while offline can hang until its timeout) and however long the backoff had grown.
   */
  resume() {
    if (!this.wanted) return;
    const wasPaused = this.paused;
    this.paused = false;
    if (this.online && !wasPaused) return;
    this.clearTimer();
    this.drop();
    this.attempt = 0;
    void this.connect();
  }

  /** Reconnect at once (tab visible again) if we are waiting. */
  nudge() {
    if (this.wanted && !this.paused && !this.ws && !this.connecting) {
      this.clearTimer();
      void this.connect();
    }
  }

  send(frame: object): boolean {
    if (this.ws && this.online && this.ws.readyState === this.WS.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  private clearTimer() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async connect() {
    this.clearTimer();
    if (!this.wanted || this.paused || this.ws || this.connecting) return;
    this.o.onStatus(this.attempt ? 'reconnecting' : 'connecting');
    let token: string;
    this.connecting = true;
    try {
      token = await this.o.token(this.forceRefresh);
      this.forceRefresh = false;
    } catch {
      this.connecting = false;
      if (this.wanted) this.retry();
      return;
    }
    this.connecting = false;
    if (!this.wanted || this.paused || this.ws) return;
    const ws = new this.WS(this.o.url());
    this.ws = ws;
    this.online = false;
    const giveUp = setTimeout(() => {
      if (this.ws === ws && !this.online) {
        this.drop();
        this.retry();
      }
    }, OPEN_TIMEOUT_MS);
    ws.onopen = () => {
      if (this.ws === ws) ws.send(JSON.stringify({ type: 'auth', token }));
    };
    ws.onmessage = (m: MessageEvent) => {
      if (this.ws !== ws) return;
      this.lastFrameAt = Date.now();
      let f: ServerFrame;
      try {
        f = JSON.parse(String(m.data)) as ServerFrame;
      } catch {
        return;
      }
      if (f.type === 'hello') {
        clearTimeout(giveUp);
        this.online = true;
        this.attempt = 0;
        this.o.onStatus('online');
        this.startHeartbeat();
      }
      this.o.onFrame(f);
    };
    ws.onclose = (ev: CloseEvent) => {
      clearTimeout(giveUp);
      if (this.ws !== ws) return;
      this.drop();
      if (ev.code === CLOSE_SESSION_ENDED) {
        this.wanted = false;
        this.o.onStatus('offline');
        this.o.onSessionEnded?.();
        return;
      }
      if (ev.code === CLOSE_BAD_TOKEN) this.forceRefresh = true;
      if (this.wanted) this.retry();
    };
    ws.onerror = () => {
      // A close event follows.
    };
  }

  private retry() {
    this.clearTimer();
    if (this.paused) return;
    const delay = backoffDelay(this.attempt, this.random);
    this.attempt += 1;
    this.o.onStatus('reconnecting', delay);
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  private drop() {
    const ws = this.ws;
    this.ws = null;
    this.online = false;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    if (ws && ws.readyState < 2) {
      try {
        ws.close(1000);
      } catch {
        // Already closing.
      }
    }
  }

  private startHeartbeat() {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.lastFrameAt = Date.now();
    this.heartbeat = setInterval(() => {
      if (!this.ws) return;
      if (Date.now() - this.lastFrameAt > STALE_AFTER_MS) {
        // Not even a pong for too long: the connection is dead without having said so.
        this.drop();
        this.retry();
        return;
      }
      this.send({ type: 'ping', nonce: ++this.nonce });
    }, PING_EVERY_MS);
  }
}
