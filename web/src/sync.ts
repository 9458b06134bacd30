// Per-channel event order. Every channel has a dense event sequence (seq). We keep the last
// seq applied: an event with seq = last + 1 is applied, an older one is a duplicate and is
// dropped, a newer one is held back while the gap is fetched from
// GET /channels/{id}/events?after=last (the database is the source of truth). Reconnects
// and `resync` frames backfill every tracked channel the same way.

import type { ChannelEvent } from './types';

export interface EventsPage {
  events: ChannelEvent[];
  has_more: boolean;
}

export type FetchEvents = (channelId: string, after: number) => Promise<EventsPage>;

interface Tracked {
  last: number;
  ahead: Map<number, ChannelEvent>;
  running: Promise<void> | null;
  again: boolean;
}

/** Most pages one backfill reads before yielding (a later one carries on). */
const MAX_PAGES = 100;

export class SeqTracker {
  private chans = new Map<string, Tracked>();

  constructor(
    private readonly fetchEvents: FetchEvents,
    private readonly apply: (ev: ChannelEvent) => void,
    /** The channel can no longer be read (403/404 while backfilling). */
    private readonly onLost: (channelId: string) => void = () => {},
  ) {}

  lastSeq(channelId: string): number | undefined {
    return this.chans.get(channelId)?.last;
  }

  tracked(): string[] {
    return [...this.chans.keys()];
  }

  /** Starts tracking a channel whose state up to `seq` we already have. */
  baseline(channelId: string, seq: number) {
    if (!this.chans.has(channelId)) this.chans.set(channelId, { last: seq, ahead: new Map(), running: null, again: false });
  }

  /** The server says the channel stands at `seq` (hello, subscribed): catch up if behind. */
  observe(channelId: string, seq: number): Promise<void> {
    const c = this.chans.get(channelId);
    if (!c) {
      this.baseline(channelId, seq);
      return Promise.resolve();
    }
    return seq > c.last || c.ahead.size ? this.backfill(channelId) : Promise.resolve();
  }

  forget(channelId: string) {
    this.chans.delete(channelId);
  }

  clear() {
    this.chans.clear();
  }

  /** One event from the socket. Returns whether it was applied now. */
  receive(ev: ChannelEvent): boolean {
    let c = this.chans.get(ev.channel_id);
    if (!c) {
      // First event of a channel we had no baseline for (joined meanwhile): start here.
      this.baseline(ev.channel_id, ev.seq - 1);
      c = this.chans.get(ev.channel_id) as Tracked;
    }
    if (ev.seq <= c.last) return false;
    if (ev.seq > c.last + 1) {
      c.ahead.set(ev.seq, ev);
      // A running backfill looks at what is held back when it finishes.
      if (!c.running) void this.backfill(ev.channel_id);
      return false;
    }
    this.step(c, ev);
    this.drain(c);
    return true;
  }

  /** Fetches everything after the last applied seq. Concurrent calls share one run. */
  backfill(channelId: string): Promise<void> {
    const c = this.chans.get(channelId);
    if (!c) return Promise.resolve();
    if (c.running) {
      c.again = true;
      return c.running;
    }
    c.running = this.run(channelId, c).finally(() => {
      c.running = null;
    });
    return c.running;
  }

  /** Resolves when no backfill of the channel is running. */
  async settled(channelId: string): Promise<void> {
    for (let c = this.chans.get(channelId); c?.running; c = this.chans.get(channelId)) await c.running;
  }

  backfillAll(): Promise<void> {
    return Promise.all(this.tracked().map((id) => this.backfill(id))).then(() => undefined);
  }

  private async run(channelId: string, c: Tracked) {
    try {
      let passes = 0;
      do {
        c.again = false;
        passes++;
        for (let page = 0; page < MAX_PAGES; page++) {
          const after = c.last;
          const r = await this.fetchEvents(channelId, after);
          if (this.chans.get(channelId) !== c) return; // forgotten meanwhile
          for (const ev of r.events) {
            if (ev.seq === c.last + 1) this.step(c, ev);
          }
          this.drain(c);
          if (!r.has_more || c.last === after) break;
        }
        // Still a gap before held-back events (they came during the fetch): go again.
      } while ((c.again || c.ahead.size > 0) && passes < 5);
      // The log is dense, so nothing should remain ahead; if it does, keep order anyway.
      if (c.ahead.size) {
        for (const seq of [...c.ahead.keys()].sort((a, b) => a - b)) {
          const ev = c.ahead.get(seq) as ChannelEvent;
          c.ahead.delete(seq);
          if (seq > c.last) this.step(c, ev);
        }
      }
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (status === 403 || status === 404) {
        this.chans.delete(channelId);
        this.onLost(channelId);
      }
      // Anything else (network): the next reconnect or resync backfills again.
    }
  }

  private step(c: Tracked, ev: ChannelEvent) {
    c.last = ev.seq;
    c.ahead.delete(ev.seq);
    this.apply(ev);
  }

  private drain(c: Tracked) {
    for (;;) {
      const next = c.ahead.get(c.last + 1);
      if (!next) break;
      this.step(c, next);
    }
    for (const seq of c.ahead.keys()) if (seq <= c.last) c.ahead.delete(seq);
  }
}
