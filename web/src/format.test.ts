import { describe, expect, it } from 'vitest';
import { buildRows, GROUP_WINDOW_MS, lastOwn, timeAgo } from './format';
import type { Message } from './types';

const base = new Date(2024, 4, 10, 9, 0).getTime();
const msg = (seq: number, author: string, at: number, extra: Partial<Message> = {}): Message => ({
  id: `m${seq}`,
  channel_id: 'c',
  seq,
  author_id: author,
  text: 't',
  client_msg_id: null,
  created_at_ms: at,
  edited_at_ms: null,
  deleted: false,
  thread_root_id: null,
  reply_count: 0,
  last_reply_at_ms: null,
  ...extra,
});

describe('buildRows', () => {
  it('groups consecutive messages by the same author within five minutes', () => {
    const rows = buildRows(
      [
        msg(3, 'a', base + 60_000),
        msg(1, 'a', base),
        msg(4, 'b', base + 120_000),
        msg(5, 'b', base + 120_000 + GROUP_WINDOW_MS),
        msg(6, 'b', base + 121_000 + GROUP_WINDOW_MS),
        msg(7, 'b', base + 122_000 + GROUP_WINDOW_MS, { thread_root_id: 'm1', also_to_channel: true }),
      ],
      base,
    );
    expect(rows.map((r) => (r.kind === 'message' ? `${r.message.seq}${r.grouped ? 'g' : ''}` : r.kind))).toEqual([
      'day',
      '1',
      '3g',
      '4',
      '5',
      '6g',
      '7',
    ]);
  });

  it('puts a divider between days, which also ends a group', () => {
    const rows = buildRows([msg(1, 'a', base), msg(3, 'a', base + 1000), msg(4, 'a', base + 86_400_000)], base);
    expect(rows.map((r) => (r.kind === 'message' ? `${r.message.seq}${r.grouped ? 'g' : ''}` : r.kind))).toEqual([
      'day',
      '1',
      '3g',
      'day',
      '4',
    ]);
    expect(rows[0]).toMatchObject({ kind: 'day', label: 'Today' });
  });
});

describe('the message Up edits', () => {
  it('is the newest one of ours still there, in any order given', () => {
    const ms = [msg(3, 'me', base), msg(1, 'me', base), msg(5, 'you', base), msg(4, 'me', base, { deleted: true })];
    expect(lastOwn(ms, 'me')?.seq).toBe(3);
    expect(lastOwn(ms, 'nobody')).toBeUndefined();
    expect(lastOwn([], 'me')).toBeUndefined();
    expect(lastOwn(ms, undefined)).toBeUndefined();
  });
});

describe('the New messages line', () => {
  it('goes before the first message after the read marker that is not ours, once', () => {
    const ms = [msg(1, 'ann', base), msg(2, 'me', base + 1000), msg(3, 'ann', base + 2000), msg(4, 'ann', base + 3000)];
    const rows = buildRows(ms, base, { seq: 1, me: 'me' });
    expect(rows.map((r) => (r.kind === 'message' ? r.message.seq : r.kind))).toEqual(['day', 1, 2, 'new', 3, 4]);
    // The first new message starts a group of its own.
    const first = rows[4];
    expect(first.kind === 'message' && first.grouped).toBe(false);
    expect(buildRows(ms, base, { seq: 4, me: 'me' }).some((r) => r.kind === 'new')).toBe(false);
    expect(buildRows(ms, base).some((r) => r.kind === 'new')).toBe(false);
  });
});

describe('timeAgo', () => {
  const now = base;
  const MIN = 60_000;
  it('says roughly how long ago', () => {
    expect(timeAgo(now, now)).toBe('just now');
    expect(timeAgo(now - 59_000, now)).toBe('just now');
    expect(timeAgo(now - MIN, now)).toBe('1 minute ago');
    expect(timeAgo(now - 59 * MIN, now)).toBe('59 minutes ago');
    expect(timeAgo(now - 60 * MIN, now)).toBe('1 hour ago');
    expect(timeAgo(now - 23 * 60 * MIN, now)).toBe('23 hours ago');
    expect(timeAgo(now - 24 * 60 * MIN, now)).toBe('yesterday');
    expect(timeAgo(now - 3 * 24 * 60 * MIN, now)).toBe('3 days ago');
  });
  it('gives the date past a month, and "just now" for a clock ahead of ours', () => {
    expect(timeAgo(now - 40 * 24 * 60 * MIN, now)).toMatch(/^on .*2024/);
    expect(timeAgo(now + 5 * MIN, now)).toBe('just now');
  });
});
