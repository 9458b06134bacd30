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
  | { kind: 'message'; key: string; message: Message; grouped: boolean };

/**
 * The list's rows in seq order: a divider when the day changes, and a message "grouped"
 * (shown without its author line) when the previous one is by the same author, less than
 * five minutes earlier on the same day (a thread reply shown in the channel starts anew).
 */
/** The newest message `userId` wrote that is still there: what Up in an empty composer edits. */
export function lastOwn(messages: Iterable<Message>, userId: string | undefined): Message | undefined {
  let last: Message | undefined;
  for (const m of messages) {
    if (m.author_id === userId && !m.deleted && (!last || m.seq > last.seq)) last = m;
  }
  return last;
}

export function buildRows(messages: Iterable<Message>, now = Date.now()): Row[] {
  const sorted = [...messages].sort((a, b) => a.seq - b.seq);
  const rows: Row[] = [];
  let day = '';
  let prev: Message | null = null;
  for (const m of sorted) {
    const k = dayKey(m.created_at_ms);
    if (k !== day) {
      day = k;
      rows.push({ kind: 'day', key: `day-${k}`, label: formatDay(m.created_at_ms, now) });
      prev = null;
    }
    const grouped =
      !!prev &&
      prev.author_id === m.author_id &&
      !prev.deleted &&
      !prev.thread_root_id &&
      !m.thread_root_id &&
      m.created_at_ms - prev.created_at_ms < GROUP_WINDOW_MS;
    rows.push({ kind: 'message', key: m.id, message: m, grouped });
    prev = m;
  }
  return rows;
}
