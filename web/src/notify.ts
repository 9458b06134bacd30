// Whether a message shows a browser notification, and what it says. Pure: the caller knows
// whether the tab is hidden and whether the browser allows notifications.
//
// The rules are Slack's: a channel's level is `all` (every message), `mentions` (mentions of
// you, @channel/@here, replies in threads you follow) or `nothing`; `default` is `all` in a
// direct message and `mentions` elsewhere. Do not disturb silences everything.

import { emojiFor } from './emoji';
import type { Channel, Message, NotifyLevel } from './types';

export interface NotifyPrefs {
  /** Do not disturb as the server last said; see [`dndActive`] for whether it still holds. */
  dnd: boolean;
  dndUntil: number | null;
  /** Levels that are not the default, by channel id. */
  levels: Map<string, NotifyLevel>;
}

export const emptyPrefs = (): NotifyPrefs => ({ dnd: false, dndUntil: null, levels: new Map() });

export function dndActive(p: NotifyPrefs, now = Date.now()): boolean {
  return p.dnd && (p.dndUntil == null || p.dndUntil > now);
}

/** The level that applies: `default` resolved by the channel's kind. */
export function effectiveLevel(level: NotifyLevel | undefined, kind: Channel['kind']): Exclude<NotifyLevel, 'default'> {
  if (!level || level === 'default') return kind === 'dm' ? 'all' : 'mentions';
  return level;
}

export type Reason = 'mention' | 'dm' | 'thread' | 'message';

/**
 * Why `m` should notify `me`, or null if it should not. `followed`: whether `m` is a reply
 * in a thread `me` follows.
 */
export function notifyReason(
  m: Message,
  ch: Pick<Channel, 'id' | 'kind'>,
  me: string,
  followed: boolean,
  prefs: NotifyPrefs,
  now = Date.now(),
): Reason | null {
  if (m.author_id === me || dndActive(prefs, now)) return null;
  const level = effectiveLevel(prefs.levels.get(ch.id), ch.kind);
  if (level === 'nothing') return null;
  if (m.mentions?.includes(me) || m.mentions_channel || m.mentions_here) return 'mention';
  if (m.thread_root_id && followed) return 'thread';
  if (level !== 'all') return null;
  // Replies in threads one does not follow stay in their thread, as in Slack.
  if (m.thread_root_id && !m.also_to_channel) return null;
  return ch.kind === 'dm' ? 'dm' : 'message';
}

const MAX_BODY = 180;

/** Message text as a notification shows it: names for mentions, emoji, no markdown marks. */
export function plainText(text: string, nameOf: (id: string) => string | undefined): string {
  const flat = text
    .replace(/<@([0-9a-f-]{36})>/g, (_tok, id: string) => `@${nameOf(id) ?? 'someone'}`)
    .replace(/:([a-z0-9_+-]+):/g, (code, name: string) => emojiFor(name) ?? code)
    .replace(/```[\s\S]*?```/g, (block) => block.slice(3, -3).trim())
    .replace(/[*_~`]+/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > MAX_BODY ? `${flat.slice(0, MAX_BODY - 1)}…` : flat;
}

export function notificationTitle(author: string, channelName: string, ch: Pick<Channel, 'kind'>, reason: Reason) {
  if (ch.kind === 'dm') return reason === 'thread' ? `${author} replied in a thread` : author;
  const where = `${ch.kind === 'private' ? '🔒' : '#'}${channelName}`;
  if (reason === 'thread') return `${author} replied in a thread in ${where}`;
  return `${author} in ${where}`;
}
