import { describe, expect, it } from 'vitest';
import { showEphemeral } from './events';
import { initialState } from './store';
import type { Message } from './types';

const eph = (id: string, text = 'deployed prod'): Message => ({
  id,
  channel_id: 'c1',
  seq: 0,
  author_id: 'bot',
  text,
  client_msg_id: null,
  created_at_ms: 1,
  edited_at_ms: null,
  deleted: false,
  thread_root_id: null,
  reply_count: 0,
  last_reply_at_ms: null,
  ephemeral: true,
});

describe('ephemeral messages', () => {
  it('shows a command’s answer once though it comes in the answer and over the socket', () => {
    const s = initialState();
    const seen = new Set<string>();
    showEphemeral(s, eph('e1'), seen);
    showEphemeral(s, eph('e1'), seen);
    showEphemeral(s, eph('e2', 'another'), seen);
    expect(s.ephemeral.map((m) => m.id)).toEqual(['e1', 'e2']);
  });

  it('keeps a dismissed one dismissed when its copy arrives late', () => {
    const s = initialState();
    const seen = new Set<string>();
    showEphemeral(s, eph('e3'), seen);
    s.ephemeral = s.ephemeral.filter((m) => m.id !== 'e3');
    showEphemeral(s, eph('e3'), seen);
    expect(s.ephemeral).toEqual([]);
  });

  it('keeps the last 50', () => {
    const s = initialState();
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) showEphemeral(s, eph(`m${i}`), seen);
    expect(s.ephemeral).toHaveLength(50);
    expect(s.ephemeral[0].id).toBe('m10');
  });
});
