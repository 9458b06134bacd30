import { describe, expect, it } from 'vitest';
import { SeqTracker, type EventsPage } from './sync';
import type { ChannelEvent } from './types';

const ev = (seq: number, channel_id = 'c1'): ChannelEvent => ({ channel_id, seq, kind: 'message.posted', data: { seq }, at_ms: seq });

/** A server log for one channel, served page by page like GET /channels/{id}/events. */
function server(last: number, pageSize = 200) {
  const calls: number[] = [];
  const fetch = async (_ch: string, after: number): Promise<EventsPage> => {
    calls.push(after);
    const events: ChannelEvent[] = [];
    for (let s = after + 1; s <= Math.min(last, after + pageSize); s++) events.push(ev(s));
    return { events, has_more: after + pageSize < last };
  };
  return { calls, fetch, setLast: (n: number) => (last = n) };
}

function tracker(fetch: (ch: string, after: number) => Promise<EventsPage>) {
  const applied: number[] = [];
  const lost: string[] = [];
  const t = new SeqTracker(fetch, (e) => applied.push(e.seq), (ch) => lost.push(ch));
  return { t, applied, lost };
}

describe('SeqTracker', () => {
  it('applies events in order and drops duplicates', () => {
    const s = server(0);
    const { t, applied } = tracker(s.fetch);
    t.baseline('c1', 5);
    expect(t.receive(ev(6))).toBe(true);
    expect(t.receive(ev(6))).toBe(false);
    expect(t.receive(ev(4))).toBe(false);
    expect(t.receive(ev(7))).toBe(true);
    expect(applied).toEqual([6, 7]);
    expect(t.lastSeq('c1')).toBe(7);
    expect(s.calls).toEqual([]);
  });

  it('fills a gap from the server once, then applies what was held back, each exactly once', async () => {
    const s = server(10);
    const { t, applied } = tracker(s.fetch);
    t.baseline('c1', 5);
    expect(t.receive(ev(9))).toBe(false); // 6..8 missing
    t.receive(ev(10));
    t.receive(ev(9)); // duplicate of a held-back event
    await t.settled('c1');
    expect(applied).toEqual([6, 7, 8, 9, 10]);
    expect(s.calls).toEqual([5]); // the concurrent triggers shared one run
    t.receive(ev(10));
    t.receive(ev(8));
    expect(applied).toEqual([6, 7, 8, 9, 10]);
  });

  it('pages through a long backfill', async () => {
    const s = server(450, 200);
    const { t, applied } = tracker(s.fetch);
    t.baseline('c1', 0);
    await t.observe('c1', 450);
    expect(s.calls).toEqual([0, 200, 400]);
    expect(applied.length).toBe(450);
    expect(applied[449]).toBe(450);
  });

  it('observe() baselines unknown channels and catches up known ones', async () => {
    const s = server(3);
    const { t, applied } = tracker(s.fetch);
    await t.observe('c1', 2); // new: nothing to fetch, state up to 2 is what we have
    expect(s.calls).toEqual([]);
    await t.observe('c1', 3);
    expect(s.calls).toEqual([2]);
    expect(applied).toEqual([3]);
    await t.observe('c1', 3);
    expect(s.calls).toEqual([2]);
  });

  it('a reconnect that races live events neither loses nor duplicates', async () => {
    const s = server(4);
    const { t, applied } = tracker(s.fetch);
    t.baseline('c1', 1);
    const run = t.backfillAll(); // after a reconnect
    s.setLast(6);
    t.receive(ev(5)); // live frames arrive while the backfill is in flight
    t.receive(ev(6));
    await run;
    await t.backfill('c1');
    expect(applied).toEqual([2, 3, 4, 5, 6]);
  });

  it('a backfill requested while one runs runs again afterwards', async () => {
    let last = 2;
    const calls: number[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const fetch = async (_c: string, after: number): Promise<EventsPage> => {
      calls.push(after);
      if (calls.length === 1) await gate;
      const events = [];
      for (let s = after + 1; s <= last; s++) events.push(ev(s));
      return { events, has_more: false };
    };
    const { t, applied } = tracker(fetch);
    t.baseline('c1', 0);
    const first = t.backfill('c1');
    last = 3; // a resync says there is more
    void t.backfill('c1');
    release();
    await first;
    expect(calls).toEqual([0, 3]);
    expect(applied).toEqual([1, 2, 3]);
  });

  it('forgets a channel that can no longer be read', async () => {
    const fetch = async (): Promise<EventsPage> => {
      throw Object.assign(new Error('gone'), { status: 404 });
    };
    const { t, lost } = tracker(fetch);
    t.baseline('c1', 1);
    await t.backfill('c1');
    expect(lost).toEqual(['c1']);
    expect(t.lastSeq('c1')).toBeUndefined();
  });

  it('keeps its place when the network fails, and retries later', async () => {
    let fail = true;
    const s = server(3);
    const fetch = async (c: string, a: number) => {
      if (fail) throw Object.assign(new Error('offline'), { status: 0 });
      return s.fetch(c, a);
    };
    const { t, applied, lost } = tracker(fetch);
    t.baseline('c1', 1);
    await t.backfill('c1');
    expect(t.lastSeq('c1')).toBe(1);
    fail = false;
    await t.backfillAll();
    expect(applied).toEqual([2, 3]);
    expect(lost).toEqual([]);
  });

  it('tracks channels independently', () => {
    const { t, applied } = tracker(server(0).fetch);
    t.baseline('a', 1);
    t.baseline('b', 10);
    t.receive(ev(2, 'a'));
    t.receive(ev(11, 'b'));
    t.receive(ev(11, 'b'));
    expect(applied).toEqual([2, 11]);
  });
});
