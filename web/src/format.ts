// Times, days and how the message list groups consecutive messages.

import type { Message } from './types';

export const GROUP_WINDOW_MS = 5 * 60 * 1000;

export function formatTime(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function dayKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

export function formatDay(ms: number, now = Date.now()): string {
  if (dayKey(ms) === dayKey(now)) return 'Today';
  if (dayKey(ms) === dayKey(now - 86_400_000)) return 'Yesterday';
  const d = new Date(ms);
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return d.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric', year: sameYear ? undefined : 'numeric' });
}

export type Row =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'new'; key: string }
  | { kind: 'message'; key: string; message: Message; grouped: boolean };

/** The newest message `userId` wrote that is still there: what Up in an empty composer edits. */
export function lastOwn(messages: Iterable<Message>, userId: string | undefined): Message | undefined {
  let last: Message | undefined;
  for (const m of messages) {
    if (m.author_id === userId && !m.deleted && (!last || m.seq > last.seq)) last = m;
  }
  return last;
}

/** Where the unread part of a channel starts: after `seq`, at the first message not ours. */
export interface NewSince {
  seq: number;
  me: string | undefined;
}

/**
 * The list's rows in seq order: a divider when the day changes, one where the unread part
 * starts (`since`), and a message "grouped" (shown without its author line) when the previous
 * one is by the same author, less than five minutes earlier on the same day (a thread reply
 * shown in the channel starts anew).
 */
export function buildRows(messages: Iterable<Message>, now = Date.now(), since: NewSince | null = null): Row[] {
  const sorted = [...messages].sort((a, b) => a.seq - b.seq);
  const rows: Row[] = [];
  let day = '';
  let prev: Message | null = null;
  let divided = false;
  for (const m of sorted) {
    const k = dayKey(m.created_at_ms);
    if (k !== day) {
      day = k;
      rows.push({ kind: 'day', key: `day-${k}`, label: formatDay(m.created_at_ms, now) });
      prev = null;
    }
    if (since && !divided && m.seq > since.seq && m.author_id !== since.me) {
      divided = true;
      rows.push({ kind: 'new', key: 'new-messages' });
      prev = null;
    }
    const grouped =
      !!prev &&
      prev.author_id === m.author_id &&
      // An integration may post under several names: each starts its own run.
      prev.bot?.name === m.bot?.name &&
      !prev.deleted &&
      !prev.thread_root_id &&
      !m.thread_root_id &&
      m.created_at_ms - prev.created_at_ms < GROUP_WINDOW_MS;
    rows.push({ kind: 'message', key: m.id, message: m, grouped });
    prev = m;
  }
  return rows;
}

/** How long ago `ms` was, roughly: "just now", "5 minutes ago", "yesterday", "3 days ago". */
export function timeAgo(ms: number, now = Date.now()): string {
  const minutes = Math.floor((now - ms) / 60_000);
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'} ago`;
  if (minutes < 1) return 'just now';
  if (minutes < 60) return unit(minutes, 'minute');
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return unit(hours, 'hour');
  const days = Math.floor(hours / 24);
  if (days === 1) return 'yesterday';
  if (days < 30) return unit(days, 'day');
  return `on ${new Date(ms).toLocaleDateString([], { year: 'numeric', month: 'long', day: 'numeric' })}`;
}
