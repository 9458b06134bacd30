// What each channel event does to the state. Everything here is idempotent (an upsert by
// message id, a reaction added only if that person's is not there yet), because history
// pages and events can overlap.

import { type ChannelView, type PinsView, type State, type ThreadView, unreadOf, view } from './store';
import type { ChannelEvent, Message, Reaction } from './types';

export interface Effects {
  /** A message by someone else landed in the channel on screen: mark it read. */
  readViewed?: boolean;
  /** Our own memberships changed: reload the channel lists. */
  reloadChannels?: boolean;
  /** Someone we have no name for showed up: reload the workspace's members. */
  unknownUser?: boolean;
  /** A message we have not loaded was pinned in a channel whose pins are shown. */
  reloadPins?: boolean;
  /** The membership of a channel whose member list is shown changed. */
  reloadChannelMembers?: boolean;
  /** A new message from someone else: a notification, if the tab is hidden and the
   * preferences say so. `followed`: a reply in a thread we follow. */
  message?: { message: Message; followed: boolean };
}

/** Whether a message shows in the channel's timeline (not only in its thread). */
export const inTimeline = (m: Message) => !m.thread_root_id || !!m.also_to_channel;

export function applyEvent(s: State, ev: ChannelEvent, viewing: boolean): Effects {
  const fx: Effects = {};
  const ch = s.channels.get(ev.channel_id);
  if (ch && ev.seq > ch.last_seq) ch.last_seq = ev.seq;
  const v = s.views.get(ev.channel_id);
  const me = s.me?.id;
  switch (ev.kind) {
    case 'message.posted': {
      const m = ev.data as Message;
      // Our own message arrived: it is no longer pending, wherever it was sent from.
      if (m.author_id === me && m.client_msg_id) s.pending = s.pending.filter((p) => p.client_msg_id !== m.client_msg_id);
      // Replying follows a thread (unless we unfollowed it before), as on the server.
      if (m.author_id === me && m.thread_root_id && !s.follows.has(m.thread_root_id)) s.follows.set(m.thread_root_id, true);
      s.typing.get(ev.channel_id)?.delete(m.author_id);
      if (!s.names.has(m.author_id) && m.author_id !== me) fx.unknownUser = true;
      const u = unreadOf(ev.channel_id);
      if (m.author_id !== me && ev.seq > u.countedTo && ev.seq > u.lastRead) {
        const followed = !!m.thread_root_id && follows(s, m.thread_root_id, v);
        fx.message = { message: m, followed };
        // Seen where it shows: in the timeline, or in the thread panel open beside it.
        const inOpenThread = !!m.thread_root_id && s.threadId === m.thread_root_id;
        if (viewing && (inTimeline(m) || inOpenThread)) fx.readViewed = true;
        else {
          if (inTimeline(m)) u.unread += 1;
          const named =
            (me && m.mentions?.includes(me)) || m.mentions_channel || m.mentions_here || ch?.kind === 'dm' || followed;
          if (named) u.mentions += 1;
        }
      }
      break;
    }
    case 'member.joined':
    case 'member.left':
      if (s.channelMembers.has(ev.channel_id)) fx.reloadChannelMembers = true;
      if (ev.data?.user_id === me) fx.reloadChannels = true;
      else if (ev.kind === 'member.joined' && !s.names.has(ev.data?.user_id)) fx.unknownUser = true;
      break;
    case 'channel.updated':
      if (ch) Object.assign(ch, { ...ev.data, is_member: ch.is_member, last_seq: ch.last_seq });
      break;
    case 'channel.archived':
    case 'channel.unarchived':
      if (ch) ch.archived = ev.kind === 'channel.archived';
      break;
    default:
      break;
  }
  if (v) {
    if (v.loaded === 'loading') v.held.push(ev);
    else if (v.loaded === 'ready') applyToView(v, ev);
  }
  for (const t of s.threads.values()) applyToThread(t, ev);
  const pins = s.pins.get(ev.channel_id);
  if (pins && !applyToPins(pins, ev, (id) => v?.messages.get(id) ?? findInThreads(s, id))) fx.reloadPins = true;
  return fx;
}

/** Whether we follow a thread: as we were told, else if we wrote its root. */
function follows(s: State, rootId: string, v: ChannelView | undefined): boolean {
  const known = s.follows.get(rootId);
  if (known != null) return known;
  const root = v?.messages.get(rootId) ?? findInThreads(s, rootId);
  return !!root && root.author_id === s.me?.id;
}

function findInThreads(s: State, id: string): Message | undefined {
  for (const t of s.threads.values()) {
    if (t.root?.id === id) return t.root;
    const r = t.replies.get(id);
    if (r) return r;
  }
  return undefined;
}

/**
 * A pins list's part of an event. Returns false when the list cannot follow on its own (a
 * message it has never seen was pinned) and must be fetched again.
 */
export function applyToPins(p: PinsView, ev: ChannelEvent, known: (id: string) => Message | undefined): boolean {
  const d = ev.data ?? {};
  switch (ev.kind) {
    case 'message.pinned': {
      if (p.pins.some((m) => m.id === d.message_id)) return true;
      const m = known(d.message_id);
      if (!m) return false;
      p.pins = [{ ...m, pinned: true, pinned_by: d.user_id }, ...p.pins];
      return true;
    }
    case 'message.unpinned':
      p.pins = p.pins.filter((m) => m.id !== d.message_id);
      return true;
    case 'message.edited':
      p.pins = p.pins.map((m) => (m.id === d.id ? { ...m, text: d.text, edited_at_ms: d.edited_at_ms } : m));
      return true;
    case 'message.deleted':
      // A deleted message cannot stay pinned: nothing is left to show.
      p.pins = p.pins.filter((m) => m.id !== d.id);
      return true;
    case 'reaction.added':
    case 'reaction.removed':
      p.pins = p.pins.map((m) => {
        if (m.id !== d.message_id) return m;
        const copy = { ...m };
        react(copy, d.user_id, d.emoji, ev.kind === 'reaction.added');
        return copy;
      });
      return true;
    default:
      return true;
  }
}

/** The message list's part of an event. */
export function applyToView(v: ChannelView, ev: ChannelEvent) {
  const d = ev.data ?? {};
  switch (ev.kind) {
    case 'message.posted': {
      const m = d as Message;
      if (m.root) patchRoot(v.messages.get(m.root.id), m.root);
      if (inTimeline(m)) upsert(v.messages, m);
      break;
    }
    case 'message.edited':
      if (v.messages.has(d.id)) upsert(v.messages, d as Message);
      if (d.root) patchRoot(v.messages.get(d.root.id), d.root);
      break;
    case 'message.deleted': {
      const m = v.messages.get(d.id);
      if (m) tombstone(m);
      if (d.root) patchRoot(v.messages.get(d.root.id), d.root);
      break;
    }
    case 'reaction.added':
    case 'reaction.removed': {
      const m = v.messages.get(d.message_id);
      if (m) react(m, d.user_id, d.emoji, ev.kind === 'reaction.added');
      break;
    }
    case 'message.pinned':
    case 'message.unpinned': {
      const m = v.messages.get(d.message_id);
      if (m) m.pinned = ev.kind === 'message.pinned';
      break;
    }
    default:
      break;
  }
}

/** A thread panel's part of an event. */
export function applyToThread(t: ThreadView, ev: ChannelEvent) {
  const root = t.root;
  if (!root || root.channel_id !== ev.channel_id) return;
  const d = ev.data ?? {};
  const target = (id: string) => (id === root.id ? root : t.replies.get(id));
  switch (ev.kind) {
    case 'message.posted':
      if (d.thread_root_id === root.id) {
        upsert(t.replies, d as Message);
        if (d.root) patchRoot(root, d.root);
      }
      break;
    case 'message.edited': {
      const m = target(d.id);
      if (m) Object.assign(m, { ...d, reactions: m.reactions, pinned: m.pinned });
      break;
    }
    case 'message.deleted': {
      const m = target(d.id);
      if (m) tombstone(m);
      if (d.root) patchRoot(root, d.root);
      break;
    }
    case 'reaction.added':
    case 'reaction.removed': {
      const m = target(d.message_id);
      if (m) react(m, d.user_id, d.emoji, ev.kind === 'reaction.added');
      break;
    }
    case 'message.pinned':
    case 'message.unpinned': {
      const m = target(d.message_id);
      if (m) m.pinned = ev.kind === 'message.pinned';
      break;
    }
    default:
      break;
  }
}

function upsert(map: Map<string, Message>, m: Message) {
  const old = map.get(m.id);
  // Reactions and pins travel in their own events; an edit does not carry them.
  map.set(m.id, old ? { ...old, ...m, reactions: old.reactions, pinned: old.pinned } : { reactions: [], ...m });
}

function patchRoot(m: Message | undefined, root: { reply_count: number; last_reply_at_ms: number | null }) {
  if (!m) return;
  m.reply_count = root.reply_count;
  m.last_reply_at_ms = root.last_reply_at_ms;
}

function tombstone(m: Message) {
  m.deleted = true;
  m.text = '';
  m.reactions = [];
}

/** Adds or removes one person's reaction; doing it twice changes nothing. */
export function react(m: Message, userId: string, emoji: string, add: boolean) {
  const list: Reaction[] = (m.reactions ?? []).map((r) => ({ ...r, user_ids: [...r.user_ids] }));
  const r = list.find((x) => x.emoji === emoji);
  if (add) {
    if (r && r.user_ids.includes(userId)) return;
    if (r) r.user_ids.push(userId);
    else list.push({ emoji, count: 1, user_ids: [userId] });
  } else {
    if (!r || !r.user_ids.includes(userId)) return;
    r.user_ids = r.user_ids.filter((u) => u !== userId);
  }
  for (const x of list) x.count = x.user_ids.length;
  m.reactions = list.filter((x) => x.count > 0);
}

/** The first history page, with the events that came while it loaded replayed over it. */
export function fillView(v: ChannelView, messages: Message[], nextBefore: number | null) {
  for (const m of messages) if (!v.messages.has(m.id)) v.messages.set(m.id, { reactions: [], ...m });
  v.nextBefore = nextBefore;
  v.loaded = 'ready';
  const held = v.held;
  v.held = [];
  for (const ev of held) applyToView(v, ev);
}

export { view };

/** How many ephemeral messages a window keeps: an app cannot make it hold them without end. */
const MAX_EPHEMERAL = 50;

/**
 * Shows a message only this user sees (an app's ephemeral message). A command's answer comes
 * twice, in the HTTP answer and as the socket's `ephemeral` notice, in either order: it is
 * shown once, by id, and `seen` (the ids shown lately) keeps a dismissed one from coming back.
 */
export function showEphemeral(s: State, m: Message, seen: Set<string>) {
  if (seen.has(m.id)) return;
  if (seen.size >= 500) seen.delete(seen.values().next().value as string);
  seen.add(m.id);
  s.ephemeral = [...s.ephemeral.slice(-(MAX_EPHEMERAL - 1)), m];
}
