import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, Socket, backoffDelay } from './socket';

describe('reconnect backoff', () => {
  it('doubles from the base up to the cap', () => {
    const top = () => 1; // largest jitter
    expect(backoffDelay(0, top)).toBe(BACKOFF_BASE_MS);
    expect(backoffDelay(1, top)).toBe(BACKOFF_BASE_MS * 2);
    expect(backoffDelay(3, top)).toBe(BACKOFF_BASE_MS * 8);
    expect(backoffDelay(30, top)).toBe(BACKOFF_CAP_MS);
  });

  it('jitters within [half, full] of the step so clients spread out', () => {
    expect(backoffDelay(2, () => 0)).toBe(BACKOFF_BASE_MS * 2);
    expect(backoffDelay(2, () => 0.5)).toBe(BACKOFF_BASE_MS * 3);
    const seen = new Set(Array.from({ length: 50 }, (_, i) => backoffDelay(4, () => i / 50)));
    expect(seen.size).toBeGreaterThan(40);
    for (const d of seen) {
      expect(d).toBeGreaterThanOrEqual(BACKOFF_BASE_MS * 8);
      expect(d).toBeLessThanOrEqual(BACKOFF_BASE_MS * 16);
    }
  });
});

/** A WebSocket that never opens unless told to: enough to watch what Socket attempts. */
class FakeWs {
  static OPEN = 1;
  static made: FakeWs[] = [];
  readyState = 0;
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeWs.made.push(this);
  }
  send(s: string) {
    this.sent.push(s);
  }
  close() {
    this.readyState = 3;
  }
  /** The server's side: open, then hello. */
  accept() {
    this.readyState = 1;
    this.onopen?.();
    this.onmessage?.({ data: JSON.stringify({ type: 'hello', subscriptions: [] }) });
  }
}

function socketWithFake() {
  FakeWs.made = [];
  const statuses: string[] = [];
  const ended: number[] = [];
  const s = new Socket({
    onSessionEnded: () => ended.push(Date.now()),
    url: () => 'ws://test/api/v1/ws',
    token: async () => 'token',
    onFrame: () => {},
    onStatus: (st) => statuses.push(st),
    WebSocketImpl: FakeWs as unknown as typeof WebSocket,
    random: () => 1,
  });
  return { s, statuses, ended };
}

describe('going offline and back', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('drops an open socket and says offline at once, then makes no attempt', async () => {
    const { s, statuses } = socketWithFake();
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    FakeWs.made[0].accept();
    expect(s.isOnline).toBe(true);
    s.pause();
    expect(s.isOnline).toBe(false);
    expect(statuses.at(-1)).toBe('offline');
    expect(FakeWs.made[0].readyState).toBe(3);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeWs.made).toHaveLength(1);
  });

  it('connects at once when back, however long the backoff had grown', async () => {
    const { s } = socketWithFake();
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    // Refused five times: the next attempt is 15 s away.
    for (let i = 0; i < 5; i++) {
      const ws = FakeWs.made.at(-1)!;
      ws.readyState = 3;
      ws.onclose?.({ code: 1006 });
      await vi.advanceTimersByTimeAsync(BACKOFF_BASE_MS * 2 ** i);
    }
    const before = FakeWs.made.length;
    s.pause();
    s.resume();
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeWs.made.length).toBe(before + 1);
    FakeWs.made.at(-1)!.accept();
    expect(s.isOnline).toBe(true);
  });

  it('replaces an attempt stuck since before the network came back', async () => {
    const { s } = socketWithFake();
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    const stuck = FakeWs.made[0]; // never opens
    s.resume();
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeWs.made).toHaveLength(2);
    expect(stuck.readyState).toBe(3);
  });
});

describe('the session ended', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('says so on a 4003 close and never reconnects', async () => {
    const { s, statuses, ended } = socketWithFake();
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    FakeWs.made[0].accept();
    FakeWs.made[0].readyState = 3;
    FakeWs.made[0].onclose?.({ code: 4003 });
    expect(ended).toHaveLength(1);
    expect(statuses.at(-1)).toBe('offline');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeWs.made).toHaveLength(1);
  });

  it('does not on other closes', async () => {
    const { s, ended } = socketWithFake();
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    FakeWs.made[0].accept();
    FakeWs.made[0].onclose?.({ code: 4001 });
    expect(ended).toHaveLength(0);
    s.stop();
  });
});
