import { describe, expect, it } from 'vitest';
import { dndActive, effectiveLevel, emptyPrefs, notificationTitle, notifyReason, plainText, type NotifyPrefs } from './notify';
import type { Message, NotifyLevel } from './types';

const ME = '00000000-0000-4000-8000-00000000000a';
const BOB = '00000000-0000-4000-8000-00000000000b';
const general = { id: 'general', kind: 'public' as const };
const secret = { id: 'secret', kind: 'private' as const };
const dm = { id: 'dm', kind: 'dm' as const };

function msg(over: Partial<Message> = {}): Message {
  return { id: 'm', channel_id: 'general', seq: 5, author_id: BOB, text: 'hello', created_at_ms: 0, ...over } as Message;
}

function prefs(levels: Record<string, NotifyLevel> = {}, over: Partial<NotifyPrefs> = {}): NotifyPrefs {
  return { ...emptyPrefs(), levels: new Map(Object.entries(levels)), ...over };
}

describe('notifyReason', () => {
  it('defaults: every DM message, mentions elsewhere', () => {
    expect(notifyReason(msg(), dm, ME, false, prefs())).toBe('dm');
    expect(notifyReason(msg(), general, ME, false, prefs())).toBeNull();
    expect(notifyReason(msg({ mentions: [ME] }), general, ME, false, prefs())).toBe('mention');
    expect(notifyReason(msg({ mentions_channel: true }), secret, ME, false, prefs())).toBe('mention');
    expect(notifyReason(msg({ mentions_here: true }), general, ME, false, prefs())).toBe('mention');
    expect(notifyReason(msg({ mentions: [BOB] }), general, ME, false, prefs())).toBeNull();
  });

  it('replies notify in followed threads only', () => {
    const reply = msg({ thread_root_id: 'root' });
    expect(notifyReason(reply, general, ME, true, prefs())).toBe('thread');
    expect(notifyReason(reply, general, ME, false, prefs())).toBeNull();
    // Even with `all`, a reply in a thread one does not follow stays in the thread...
    expect(notifyReason(reply, general, ME, false, prefs({ general: 'all' }))).toBeNull();
    // ...unless it was also sent to the channel.
    expect(notifyReason({ ...reply, also_to_channel: true }, general, ME, false, prefs({ general: 'all' }))).toBe('message');
  });

  it('follows the channel level', () => {
    expect(notifyReason(msg(), general, ME, false, prefs({ general: 'all' }))).toBe('message');
    expect(notifyReason(msg(), dm, ME, false, prefs({ dm: 'mentions' }))).toBeNull();
    expect(notifyReason(msg({ mentions: [ME] }), dm, ME, false, prefs({ dm: 'mentions' }))).toBe('mention');
    const muted = prefs({ general: 'nothing', dm: 'nothing' });
    expect(notifyReason(msg({ mentions: [ME] }), general, ME, false, muted)).toBeNull();
    expect(notifyReason(msg({ thread_root_id: 'r' }), general, ME, true, muted)).toBeNull();
    expect(notifyReason(msg(), dm, ME, false, muted)).toBeNull();
    expect(notifyReason(msg(), general, ME, false, prefs({ general: 'default' }))).toBeNull();
  });

  it('never for our own messages, nothing while do not disturb holds', () => {
    expect(notifyReason(msg({ author_id: ME, mentions: [ME] }), dm, ME, true, prefs())).toBeNull();
    const quiet = prefs({}, { dnd: true, dndUntil: null });
    expect(notifyReason(msg({ mentions: [ME] }), general, ME, false, quiet)).toBeNull();
    expect(notifyReason(msg(), dm, ME, false, quiet)).toBeNull();
    const timed = prefs({}, { dnd: true, dndUntil: 10_000 });
    expect(notifyReason(msg(), dm, ME, false, timed, 9_999)).toBeNull();
    expect(notifyReason(msg(), dm, ME, false, timed, 10_000)).toBe('dm');
  });
});

describe('dndActive / effectiveLevel', () => {
  it('do not disturb runs out at its end', () => {
    expect(dndActive(prefs(), 0)).toBe(false);
    expect(dndActive(prefs({}, { dnd: true }), 1e15)).toBe(true);
    expect(dndActive(prefs({}, { dnd: true, dndUntil: 5 }), 4)).toBe(true);
    expect(dndActive(prefs({}, { dnd: true, dndUntil: 5 }), 5)).toBe(false);
  });

  it('default depends on the kind', () => {
    expect(effectiveLevel(undefined, 'dm')).toBe('all');
    expect(effectiveLevel('default', 'public')).toBe('mentions');
    expect(effectiveLevel('nothing', 'dm')).toBe('nothing');
  });
});

describe('notification text', () => {
  it('shows names, emoji and no markdown', () => {
    const names = (id: string) => (id === ME ? 'Ann' : undefined);
    expect(plainText(`hey <@${ME}> look at *this* :tada: \`code\``, names)).toBe('hey @Ann look at this 🎉 code');
    expect(plainText(`<@${BOB}>   many\n\nlines`, names)).toBe('@someone many lines');
    const long = plainText('x'.repeat(500), names);
    expect(long).toHaveLength(180);
    expect(long.endsWith('…')).toBe(true);
  });

  it('titles say who and where', () => {
    expect(notificationTitle('Bob', 'general', general, 'mention')).toBe('Bob in #general');
    expect(notificationTitle('Bob', 'secret', secret, 'thread')).toBe('Bob replied in a thread in 🔒secret');
    expect(notificationTitle('Bob', 'Bob', dm, 'dm')).toBe('Bob');
  });
});
