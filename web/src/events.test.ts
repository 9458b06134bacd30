import { beforeEach, describe, expect, it } from 'vitest';
import { applyEvent, fillView, react } from './events';
import { initialState, view, state, type State } from './store';
import type { Channel, ChannelEvent, Message } from './types';

const ME = 'me';
const CH = 'c1';
const msg = (seq: number, extra: Partial<Message> = {}): Message => ({
  id: `m${seq}`,
  channel_id: CH,
  seq,
  author_id: 'ann',
  text: `text ${seq}`,
  client_msg_id: null,
  created_at_ms: seq,
  edited_at_ms: null,
  deleted: false,
  thread_root_id: null,
  reply_count: 0,
  last_reply_at_ms: null,
  ...extra,
});
const ev = (seq: number, kind: string, data: unknown): ChannelEvent => ({ channel_id: CH, seq, kind, data, at_ms: seq });

function reset(): State {
  Object.assign(state, initialState());
  state.me = { id: ME, display_name: 'Me' };
  const ch: Channel = { id: CH, workspace_id: 'w', name: 'general', kind: 'public', topic: '', archived: false, last_seq: 0, is_member: true };
  state.channels.set(CH, ch);
  return state;
}

describe('applyEvent', () => {
  beforeEach(reset);

  it('counts unread messages and mentions of others, not our own', () => {
    const s = state;
    applyEvent(s, ev(1, 'message.posted', msg(1)), false);
    applyEvent(s, ev(2, 'message.posted', msg(2, { mentions: [ME] })), false);
    applyEvent(s, ev(3, 'message.posted', msg(3, { author_id: ME })), false);
    // A thread-only reply naming us is a mention but not an unread message of the channel.
    applyEvent(s, ev(4, 'message.posted', msg(4, { thread_root_id: 'm1', mentions_here: true })), false);
    expect(s.unreads.get(CH)).toMatchObject({ unread: 2, mentions: 2 });
    expect(s.channels.get(CH)?.last_seq).toBe(4);
  });

  it('hands new messages of others on for a notification, with whether we follow their thread', () => {
    const first = applyEvent(state, ev(1, 'message.posted', msg(1, { author_id: ME })), false);
    expect(first.message).toBeUndefined();
    const other = applyEvent(state, ev(2, 'message.posted', msg(2)), true);
    expect(other.message).toEqual({ message: expect.objectContaining({ id: 'm2' }), followed: false });
    // A reply in a thread whose root we wrote: followed.
    fillView(view(CH), [msg(1, { author_id: ME })], null);
    const reply = applyEvent(state, ev(3, 'message.posted', msg(3, { thread_root_id: 'm1' })), false);
    expect(reply.message?.followed).toBe(true);
    state.follows.set('m1', false);
    const unfollowed = applyEvent(state, ev(4, 'message.posted', msg(4, { thread_root_id: 'm1' })), false);
    expect(unfollowed.message?.followed).toBe(false);
    // Already counted (an unread reload covered it): not new, no notification.
    state.unreads.get(CH)!.countedTo = 9;
    expect(applyEvent(state, ev(5, 'message.posted', msg(5)), false).message).toBeUndefined();
  });

  it('asks to mark read instead of counting when the channel is on screen', () => {
    const fx = applyEvent(state, ev(1, 'message.posted', msg(1)), true);
    expect(fx.readViewed).toBe(true);
    expect(state.unreads.get(CH)?.unread ?? 0).toBe(0);
  });

  it('takes a reply in the thread open beside the channel on screen as seen, not as a mention', () => {
    state.threadId = 'm1';
    const open = applyEvent(state, ev(2, 'message.posted', msg(2, { thread_root_id: 'm1', mentions: [ME] })), true);
    expect(open.readViewed).toBe(true);
    expect(state.unreads.get(CH)?.mentions ?? 0).toBe(0);
    // Another thread, or the same one with the channel not on screen, still counts.
    const other = applyEvent(state, ev(3, 'message.posted', msg(3, { thread_root_id: 'm9', mentions: [ME] })), true);
    expect(other.readViewed).toBeUndefined();
    applyEvent(state, ev(4, 'message.posted', msg(4, { thread_root_id: 'm1', mentions: [ME] })), false);
    expect(state.unreads.get(CH)?.mentions).toBe(2);
  });

  it('does not count what GET /unreads already counted', () => {
    state.unreads.set(CH, { unread: 1, mentions: 0, lastRead: 0, countedTo: 5 });
    applyEvent(state, ev(5, 'message.posted', msg(5)), false);
    applyEvent(state, ev(6, 'message.posted', msg(6)), false);
    expect(state.unreads.get(CH)?.unread).toBe(2);
  });

  it('removes our pending message when its event arrives', () => {
    state.pending.push({ client_msg_id: 'k1', channel_id: CH, thread_root_id: null, also_to_channel: false, text: 'x', status: 'sending', error: '', created_at_ms: 0 });
    applyEvent(state, ev(1, 'message.posted', msg(1, { author_id: ME, client_msg_id: 'k1' })), false);
    expect(state.pending).toEqual([]);
  });

  it('holds events while the first page loads and replays them over it', () => {
    const v = view(CH);
    v.loaded = 'loading';
    applyEvent(state, ev(3, 'message.edited', msg(2, { text: 'edited', edited_at_ms: 9 })), true);
    applyEvent(state, ev(4, 'reaction.added', { message_id: 'm2', user_id: 'bob', emoji: '🎉' }), true);
    applyEvent(state, ev(5, 'message.posted', msg(5)), true);
    fillView(v, [msg(1), msg(2, { reactions: [] })], null);
    expect([...v.messages.keys()].sort()).toEqual(['m1', 'm2', 'm5']);
    expect(v.messages.get('m2')).toMatchObject({ text: 'edited', edited_at_ms: 9, reactions: [{ emoji: '🎉', count: 1 }] });
  });

  it('applies edits, deletions, pins and thread counters to the list', () => {
    const v = view(CH);
    fillView(v, [msg(1)], null);
    applyEvent(state, ev(2, 'message.posted', msg(2, { thread_root_id: 'm1', root: { id: 'm1', reply_count: 1, last_reply_at_ms: 2 } })), true);
    expect(v.messages.has('m2')).toBe(false); // thread-only reply
    expect(v.messages.get('m1')?.reply_count).toBe(1);
    applyEvent(state, ev(3, 'message.pinned', { message_id: 'm1', user_id: 'x' }), true);
    expect(v.messages.get('m1')?.pinned).toBe(true);
    applyEvent(state, ev(4, 'message.deleted', { id: 'm1', channel_id: CH, seq: 1 }), true);
    expect(v.messages.get('m1')).toMatchObject({ deleted: true, text: '' });
  });
});

describe('thread following', () => {
  beforeEach(reset);
  const reply = (seq: number, root: string, author = 'ann') => ev(seq, 'message.posted', msg(seq, { thread_root_id: root, author_id: author }));

  it('counts replies in threads we follow as mentions, as GET /unreads does', () => {
    fillView(view(CH), [msg(1, { author_id: ME }), msg(2)], null);
    applyEvent(state, reply(3, 'm1'), false); // our root: followed
    applyEvent(state, reply(4, 'm2'), false); // someone else's: not followed
    expect(state.unreads.get(CH)).toMatchObject({ unread: 0, mentions: 1 });
    state.follows.set('m1', false);
    applyEvent(state, reply(5, 'm1'), false);
    expect(state.unreads.get(CH)?.mentions).toBe(1);
  });

  it('follows a thread we reply to, unless we unfollowed it', () => {
    applyEvent(state, reply(1, 'r1', ME), false);
    applyEvent(state, reply(2, 'r1'), false);
    expect(state.unreads.get(CH)?.mentions).toBe(1);
    state.follows.set('r2', false);
    applyEvent(state, reply(3, 'r2', ME), false);
    applyEvent(state, reply(4, 'r2'), false);
    expect(state.follows.get('r2')).toBe(false);
    expect(state.unreads.get(CH)?.mentions).toBe(1);
  });
});

describe('pins list', () => {
  beforeEach(reset);

  it('follows pins, unpins, edits and deletions; fetches again for a message it never saw', () => {
    fillView(view(CH), [msg(1), msg(2)], null);
    state.pins.set(CH, { pins: [], loaded: 'ready', error: '' });
    expect(applyEvent(state, ev(3, 'message.pinned', { message_id: 'm1', user_id: 'bob' }), true).reloadPins).toBeFalsy();
    applyEvent(state, ev(4, 'message.pinned', { message_id: 'm2', user_id: ME }), true);
    applyEvent(state, ev(5, 'message.pinned', { message_id: 'm2', user_id: ME }), true);
    expect(state.pins.get(CH)?.pins.map((m) => [m.id, m.pinned_by])).toEqual([
      ['m2', ME],
      ['m1', 'bob'],
    ]);
    applyEvent(state, ev(6, 'message.edited', msg(1, { text: 'new text', edited_at_ms: 6 })), true);
    expect(state.pins.get(CH)?.pins[1]).toMatchObject({ text: 'new text', edited_at_ms: 6, pinned_by: 'bob' });
    applyEvent(state, ev(7, 'message.unpinned', { message_id: 'm2', user_id: ME }), true);
    applyEvent(state, ev(8, 'message.deleted', { id: 'm1', channel_id: CH, seq: 1 }), true);
    expect(state.pins.get(CH)?.pins).toEqual([]);
    expect(applyEvent(state, ev(9, 'message.pinned', { message_id: 'old', user_id: 'bob' }), true).reloadPins).toBe(true);
  });

  it('asks for the member list again when a shown channel gains or loses a member', () => {
    expect(applyEvent(state, ev(1, 'member.joined', { user_id: 'bob' }), true).reloadChannelMembers).toBeFalsy();
    state.channelMembers.set(CH, { members: [], loaded: 'ready', error: '' });
    expect(applyEvent(state, ev(2, 'member.left', { user_id: 'bob' }), true).reloadChannelMembers).toBe(true);
  });
});

describe('react', () => {
  it('adds and removes one person once, whatever the repeats', () => {
    const m = msg(1, { reactions: [{ emoji: '👍', count: 1, user_ids: ['a'] }] });
    react(m, 'b', '👍', true);
    react(m, 'b', '👍', true);
    expect(m.reactions).toEqual([{ emoji: '👍', count: 2, user_ids: ['a', 'b'] }]);
    react(m, 'a', '👍', false);
    react(m, 'a', '👍', false);
    react(m, 'b', '👍', false);
    expect(m.reactions).toEqual([]);
  });
});
