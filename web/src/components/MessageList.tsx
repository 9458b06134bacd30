// The channel's messages: day dividers, grouped runs, our unsent messages at the end, and
// older pages loaded when scrolled to the top (the view stays where it was). New messages
// are announced politely to screen readers (role=log).

import { useLayoutEffect, useRef } from 'react';
import { loadOlder } from '../actions/messages';
import { buildRows } from '../format';
import { channelLabel, useStore, view } from '../store';
import type { Channel } from '../types';
import { EphemeralItem, MessageItem } from './MessageItem';
import { PendingItem } from './PendingItem';

const NEAR_TOP_PX = 150;
const NEAR_BOTTOM_PX = 120;

export function MessageList({ channel }: { channel: Channel }) {
  const s = useStore();
  const v = view(channel.id);
  const scroller = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const anchor = useRef<{ height: number; top: number } | null>(null);
  const olderFailed = useRef(false);
  const since = v.newAfter == null ? null : { seq: v.newAfter, me: s.me?.id };
  const rows = v.loaded === 'ready' ? buildRows(v.messages.values(), Date.now(), since) : [];
  const pending = s.pending.filter((p) => p.channel_id === channel.id && !p.thread_root_id);
  const ephemeral = s.ephemeral.filter((m) => m.channel_id === channel.id && !m.thread_root_id);
  const last = rows[rows.length - 1];
  const lastKey = `${rows.length}:${last?.key ?? ''}:${pending.length}:${ephemeral.length}`;

  const older = async () => {
    const el = scroller.current;
    if (!el || v.nextBefore == null || v.loadingOlder) return;
    anchor.current = { height: el.scrollHeight, top: el.scrollTop };
    if (!(await loadOlder(channel.id))) {
      anchor.current = null;
      olderFailed.current = true; // no automatic retries; the button is still there
    }
  };

  // Older page prepended: keep the same messages under the reader's eyes.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (anchor.current && !v.loadingOlder) {
      el.scrollTop = el.scrollHeight - anchor.current.height + anchor.current.top;
      anchor.current = null;
      return;
    }
    if (pinned.current) el.scrollTop = el.scrollHeight;
  }, [lastKey, v.loadingOlder, rows.length]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
    if (el.scrollTop < NEAR_TOP_PX && !olderFailed.current) void older();
  };

  // Our own new message scrolls into view even when reading further up.
  useLayoutEffect(() => {
    if (pending.length) {
      pinned.current = true;
      const el = scroller.current;
      if (el) el.scrollTop = el.scrollHeight;
    }
  }, [pending.length]);

  // A short first page does not fill the screen, so no scroll event would ever ask for more.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && !olderFailed.current && v.loaded === 'ready' && v.nextBefore != null && el.scrollHeight <= el.clientHeight + NEAR_TOP_PX) void older();
  });

  const label = `${channel.kind === 'dm' ? '' : '#'}${channelLabel(channel)}`;
  return (
    <div className="scroller" ref={scroller} onScroll={onScroll}>
      <div className="history-top">
        {v.loaded === 'loading' && <p className="muted">Loading messages…</p>}
        {v.loaded === 'error' && <p className="muted">Messages could not be loaded.</p>}
        {v.loaded === 'ready' && v.nextBefore != null && (
          <button type="button" onClick={() => void older()} disabled={v.loadingOlder}>
            {v.loadingOlder ? 'Loading…' : 'Load older messages'}
          </button>
        )}
        {v.loaded === 'ready' && v.nextBefore == null && <p className="muted">This is the beginning of {label}.</p>}
      </div>
      <ol
        className="messages"
        role="log"
        aria-live="polite"
        aria-relevant="additions"
        aria-label={`Messages in ${label}`}
        aria-busy={v.loadingOlder || v.loaded === 'loading'}
      >
        {rows.map((r) =>
          r.kind === 'day' ? (
            <li key={r.key} className="day-divider" role="separator" aria-label={r.label}>
              <span>{r.label}</span>
            </li>
          ) : r.kind === 'new' ? (
            <li key={r.key} className="new-divider" role="separator" aria-label="New messages" data-testid="new-divider">
              <span>New messages</span>
            </li>
          ) : (
            <MessageItem key={r.key} m={r.message} grouped={r.grouped} />
          ),
        )}
      </ol>
      {ephemeral.length > 0 && (
        <ol className="messages" aria-label="Only visible to you">
          {ephemeral.map((m) => (
            <EphemeralItem key={m.id} m={m} />
          ))}
        </ol>
      )}
      {pending.length > 0 && (
        <ol className="messages" aria-label="Your unsent messages">
          {pending.map((p) => (
            <PendingItem key={p.client_msg_id} p={p} />
          ))}
        </ol>
      )}
    </div>
  );
}
