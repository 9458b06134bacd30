// History, sending (with an offline queue), reactions, edits and threads.

import { ApiError } from '../api';
import { client } from '../client';
import { applyToThread, applyToView, fillView, react, showEphemeral } from '../events';
import { type Pending, state, update, view, notify } from '../store';
import type { ChannelEvent, Message, MessageFile } from '../types';
import { markRead } from './workspace';
import { offerNotifications } from './notifications';

const PAGE = 50;

export async function loadLatest(channelId: string) {
  const v = view(channelId);
  if (v.loaded === 'loading') return;
  update(() => {
    v.loaded = 'loading';
    v.held = [];
  });
  try {
    const r = await client.call<{ messages: Message[]; next_before: number | null }>(
      'GET',
      `/channels/${channelId}/messages?limit=${PAGE}`,
    );
    if (state.views.get(channelId) !== v) return; // reset meanwhile (left, signed out)
    update(() => fillView(v, r.messages, r.next_before ?? null));
  } catch (e) {
    update(() => {
      v.loaded = 'error';
      v.held = [];
    });
    if (state.viewId === channelId) notify(`Could not load messages: ${(e as Error).message}`, true);
  }
}

/** The page before the oldest message shown (infinite scroll upwards). */
export async function loadOlder(channelId: string): Promise<boolean> {
  const v = view(channelId);
  if (v.loaded !== 'ready' || v.nextBefore == null || v.loadingOlder) return false;
  update(() => {
    v.loadingOlder = true;
  });
  try {
    const r = await client.call<{ messages: Message[]; next_before: number | null }>(
      'GET',
      `/channels/${channelId}/messages?before=${v.nextBefore}&limit=${PAGE}`,
    );
    update(() => {
      for (const m of r.messages) if (!v.messages.has(m.id)) v.messages.set(m.id, { reactions: [], ...m });
      v.nextBefore = r.next_before ?? null;
    });
    return true;
  } catch (e) {
    notify(`Could not load older messages: ${(e as Error).message}`, true);
    return false;
  } finally {
    update(() => {
      v.loadingOlder = false;
    });
  }
}

// ---------------------------------------------------------------- sending

export function uuid(): string {
  if (typeof globalThis.crypto?.randomUUID === 'function') return crypto.randomUUID();
  // Not a secure context (plain http on a LAN address): build a v4 UUID by hand.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Queues a message; it is posted at once if we can, else when the connection is back. */
export function send(
  channelId: string,
  text: string,
  threadRootId: string | null = null,
  alsoToChannel = false,
  files: MessageFile[] = [],
) {
  const p: Pending = {
    files,
    client_msg_id: uuid(),
    channel_id: channelId,
    thread_root_id: threadRootId,
    also_to_channel: alsoToChannel,
    text,
    status: 'queued',
    error: '',
    created_at_ms: Date.now(),
  };
  update((s) => {
    s.pending.push(p);
  });
  void flushQueue();
  // Having taken part, the user is asked whether they want to hear about replies.
  offerNotifications();
}

export function retry(p: Pending) {
  update(() => {
    p.status = 'queued';
    p.error = '';
  });
  retryDelay = RETRY_MIN_MS;
  void flushQueue();
}

/** Ids of the ephemeral messages shown lately, so a dismissed one stays dismissed. */
const ephemeralSeen = new Set<string>();

/** Shows an app's ephemeral message once, however many times it comes (`showEphemeral`). */
export function addEphemeral(m: Message) {
  update((s) => showEphemeral(s, m, ephemeralSeen));
}

export function discard(p: Pending) {
  update((s) => {
    s.pending = s.pending.filter((x) => x !== p);
  });
}

const RETRY_MIN_MS = 2000;
const RETRY_MAX_MS = 30_000;
let retryDelay = RETRY_MIN_MS;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let flushing = false;
let again = false;

/**
 * Posts queued messages one at a time, oldest first (so they keep their order). A network
 * failure stops the run and leaves them queued: the socket's next hello, the browser's
 * `online` event or a backoff timer runs it again. The client_msg_id makes every re-post
 * safe: the server returns the message it already stored instead of posting it twice.
 */
export async function flushQueue() {
  if (flushing) {
    again = true;
    return;
  }
  flushing = true;
  try {
    do {
      again = false;
      for (const p of [...state.pending]) {
        if (p.status !== 'queued' || !state.pending.includes(p)) continue;
        if ((await post(p)) === 'offline') return;
      }
    } while (again);
  } finally {
    flushing = false;
  }
}

/** Posts the queue at once (the network is back), restarting the retry backoff. */
export function flushNow() {
  clearTimeout(retryTimer);
  retryDelay = RETRY_MIN_MS;
  return flushQueue();
}

async function post(p: Pending): Promise<'ok' | 'offline' | 'failed'> {
  update(() => {
    p.status = 'sending';
  });
  const body: Record<string, unknown> = { text: p.text, client_msg_id: p.client_msg_id };
  if (p.files?.length) body.file_ids = p.files.map((f) => f.id);
  if (p.thread_root_id) {
    body.thread_root_id = p.thread_root_id;
    if (p.also_to_channel) body.also_to_channel = true;
  }
  try {
    const r = await client.call<{ message: Message }>('POST', `/channels/${p.channel_id}/messages`, body);
    retryDelay = RETRY_MIN_MS;
    update((s) => {
      s.pending = s.pending.filter((x) => x.client_msg_id !== p.client_msg_id);
      showOwn(r.message);
    });
    return 'ok';
  } catch (e) {
    if (!state.pending.includes(p)) return 'ok'; // its event arrived meanwhile
    if (e instanceof ApiError && e.transient) {
      update(() => {
        p.status = 'queued';
        p.error = e.message;
      });
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => void flushQueue(), retryDelay);
      retryDelay = Math.min(RETRY_MAX_MS, retryDelay * 2);
      return 'offline';
    }
    update(() => {
      p.status = 'failed';
      p.error = (e as Error).message;
    });
    return 'failed';
  }
}

/** Shows our own message from the POST reply (its event, when it comes, changes nothing). */
function showOwn(m: Message) {
  const ev: ChannelEvent = { channel_id: m.channel_id, seq: m.seq, kind: 'message.posted', data: m, at_ms: m.created_at_ms };
  const v = state.views.get(m.channel_id);
  if (v?.loaded === 'ready') applyToView(v, ev);
  for (const t of state.threads.values()) applyToThread(t, ev);
}

// ---------------------------------------------------------------- reactions, edits, deletes

/** Finds a message wherever it is shown (channel list or thread panel). */
export function findMessage(id: string): Message[] {
  const out: Message[] = [];
  for (const v of state.views.values()) {
    const m = v.messages.get(id);
    if (m) out.push(m);
  }
  for (const t of state.threads.values()) {
    if (t.root?.id === id) out.push(t.root);
    const r = t.replies.get(id);
    if (r) out.push(r);
  }
  return out;
}

export async function toggleReaction(m: Message, emoji: string) {
  const me = state.me?.id;
  if (!me) return;
  const mine = m.reactions?.some((r) => r.emoji === emoji && r.user_ids.includes(me));
  try {
    if (mine) await client.call('DELETE', `/messages/${m.id}/reactions/${encodeURIComponent(emoji)}`);
    else await client.call('POST', `/messages/${m.id}/reactions`, { emoji });
    update(() => {
      for (const x of findMessage(m.id)) react(x, me, emoji, !mine);
    });
  } catch (e) {
    notify(`Could not ${mine ? 'remove' : 'add'} the reaction: ${(e as Error).message}`, true);
  }
}

export async function editMessage(m: Message, text: string): Promise<boolean> {
  try {
    const r = await client.call<{ message: Message }>('PATCH', `/messages/${m.id}`, { text });
    update(() => {
      for (const x of findMessage(m.id)) Object.assign(x, { text: r.message.text, edited_at_ms: r.message.edited_at_ms });
    });
    return true;
  } catch (e) {
    notify(`Could not edit: ${(e as Error).message}`, true);
    return false;
  }
}

export async function deleteMessage(m: Message) {
  try {
    await client.call('DELETE', `/messages/${m.id}`);
    update(() => {
      for (const x of findMessage(m.id)) {
        x.deleted = true;
        x.text = '';
        x.reactions = [];
      }
    });
  } catch (e) {
    notify(`Could not delete: ${(e as Error).message}`, true);
  }
}

// ---------------------------------------------------------------- threads

export async function openThread(root: Message) {
  update((s) => {
    s.threadId = root.id;
    s.side = null;
    s.threads.set(root.id, { root: { ...root }, replies: new Map(), loaded: 'loading', error: '', following: null });
  });
  const t = state.threads.get(root.id);
  if (!t) return;
  try {
    let after = 0;
    for (let page = 0; page < 20; page++) {
      const r = await client.call<{ root: Message; replies: Message[]; has_more: boolean; following: boolean }>(
        'GET',
        `/messages/${root.id}/thread?after=${after}&limit=200`,
      );
      update(() => {
        t.root = { reactions: [], ...t.root, ...r.root };
        t.following = r.following;
        state.follows.set(root.id, r.following);
        for (const m of r.replies) if (!t.replies.has(m.id)) t.replies.set(m.id, { reactions: [], ...m });
      });
      if (!r.has_more || !r.replies.length) break;
      after = r.replies[r.replies.length - 1].seq;
    }
    update(() => {
      t.loaded = 'ready';
    });
    // The replies are on screen now: a mention among them has been seen.
    if (state.viewId === root.channel_id && document.visibilityState === 'visible') markRead(root.channel_id);
  } catch (e) {
    update(() => {
      t.loaded = 'error';
      t.error = (e as Error).message;
    });
  }
}

export function closeThread() {
  update((s) => {
    if (s.threadId) s.threads.delete(s.threadId);
    s.threadId = null;
  });
}
