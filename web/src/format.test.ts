import { describe, expect, it } from 'vitest';
import { buildRows, GROUP_WINDOW_MS, lastOwn } from './format';
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
