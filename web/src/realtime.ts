// The socket and the per-channel seq tracker wired into the state: frames in, events
// applied once and in order, gaps and reconnects backfilled, presence and typing kept.

import { client } from './client';
import { applyEvent } from './events';
import { Socket } from './socket';
import { state, update, unreadOf } from './store';
import { SeqTracker } from './sync';
import type { ChannelEvent, ServerFrame } from './types';
import { addEphemeral, flushNow, flushQueue } from './actions/messages';
import { loadChannelMembers, loadPins } from './actions/channel';
import { reloadAdmin } from './actions/admin';
import { closeNotifications, loadNotifyPrefs, notifyMessage, refreshPermission } from './actions/notifications';
import { loadMembers, markRead, reloadChannels, reloadUnreads, sessionEnded } from './actions/workspace';

/** `localStorage['ocomms.debug'] = '1'` logs every frame and connection change to the console. */
const debug = typeof localStorage !== 'undefined' && localStorage.getItem('ocomms.debug') === '1';

const TYPING_SHOW_MS = 6000;
const TYPING_SEND_EVERY_MS = 2500;

export const tracker = new SeqTracker(
  async (channelId, after) => client.call(`GET`, `/channels/${channelId}/events?after=${after}&limit=200`),
  (ev) => onEvent(ev),
  () => reloadChannels(),
);

/** Events that came over the socket (`channel:seq`) and are not applied yet: only those
 * notify, not a backfill of what was missed while offline. */
const live = new Set<string>();

/** Channels the socket is subscribed to (from hello / subscribed / unsubscribed). */
const subs = new Set<string>();
/** Channels a reconnect was already tried for, so a missing subscription cannot loop. */
const triedMissing = new Set<string>();

export const socket = new Socket({
  url: () => `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/v1/ws`,
  token: (force) => client.freshToken(force),
  onFrame,
  // Its `session_ended` frame comes first and has ended it already, unless that was lost.
  onSessionEnded: () => {
    if (client.session) sessionEnded('Your session has ended. Please log in again.');
  },
  onStatus: (status, retryInMs) => {
    if (debug) console.debug('ocomms socket', status, retryInMs ?? '');
    update((s) => {
      s.conn = { status, retryInMs };
    });
  },
});

export const isViewing = (channelId: string) =>
  state.viewId === channelId && typeof document !== 'undefined' && document.visibilityState === 'visible';

function onEvent(ev: ChannelEvent) {
  let fx = {};
  update((s) => {
    fx = applyEvent(s, ev, isViewing(ev.channel_id));
  });
  const f = fx as ReturnType<typeof applyEvent>;
  if (f.readViewed) markRead(ev.channel_id);
  if (f.reloadChannels) reloadChannels();
  if (f.unknownUser) refreshMembers();
  if (f.reloadPins) void loadPins(ev.channel_id);
  if (f.reloadChannelMembers) void loadChannelMembers(ev.channel_id);
  const key = `${ev.channel_id}:${ev.seq}`;
  if (live.delete(key) && f.message && document.visibilityState === 'hidden') {
    void notifyMessage(f.message.message, f.message.followed);
  }
}

let membersTimer: ReturnType<typeof setTimeout> | undefined;
let membersAt = 0;
/** Reloads the current workspace's members (names) soon, at most every few seconds. */
function refreshMembers() {
  if (membersTimer) return;
  const wait = Math.max(300, membersAt + 5000 - Date.now());
  membersTimer = setTimeout(() => {
    membersTimer = undefined;
    membersAt = Date.now();
    if (state.wsId) void loadMembers(state.wsId);
  }, wait);
}

function onFrame(f: ServerFrame) {
  if (debug) console.debug('ocomms frame', JSON.stringify(f));
  switch (f.type) {
    case 'hello':
      subs.clear();
      for (const sub of f.subscriptions) {
        subs.add(sub.channel_id);
        void tracker.observe(sub.channel_id, sub.last_seq);
      }
      // Memberships that changed while we were away are reconciled by reloadChannels.
      update((s) => {
        s.presence.clear();
        s.awayByChoice = awaySaved();
      });
      // The server forgets "away" with the last socket: say it again.
      if (state.awayByChoice) socket.send({ type: 'set_presence', status: 'away' });
      flushQueue();
      reloadChannels();
      // Preferences changed on another device while this one was offline.
      refreshPermission();
      void loadNotifyPrefs().catch(() => undefined);
      break;
    case 'event':
      // Bounded: events the tracker never applies (duplicates) would otherwise stay.
      if (live.size > 1000) live.clear();
      live.add(`${f.event.channel_id}:${f.event.seq}`);
      tracker.receive(f.event);
      break;
    case 'notifications_changed':
      void loadNotifyPrefs().catch(() => undefined);
      break;
    case 'ephemeral':
      addEphemeral(f.message);
      break;
    case 'subscribed':
      subs.add(f.subscription.channel_id);
      void tracker.observe(f.subscription.channel_id, f.subscription.last_seq);
      if (!state.channels.get(f.subscription.channel_id)?.is_member) reloadChannels();
      break;
    case 'role_changed':
      update((s) => {
        const w = s.workspaces.find((x) => x.id === f.workspace_id);
        if (w) w.role = f.role;
      });
      if (state.admin?.wsId === f.workspace_id) reloadAdmin();
      // What the role may see (a guest sees fewer channels) changes the lists.
      reloadChannels();
      break;
    case 'workspace_changed':
      // A hint to fetch that part again: the fetch gives the current state, however many
      // changes came and in whatever order. A workspace we do not have is ours again (we
      // were reactivated): the workspace list brings it back.
      if (!state.workspaces.some((w) => w.id === f.workspace_id)) reloadChannels();
      else if (f.what === 'members') {
        if (f.workspace_id === state.wsId) void loadMembers(f.workspace_id);
      } else {
        reloadChannels();
      }
      if (state.admin?.wsId === f.workspace_id) reloadAdmin();
      break;
    case 'unsubscribed':
      subs.delete(f.channel_id);
      tracker.forget(f.channel_id);
      update((s) => {
        const ch = s.channels.get(f.channel_id);
        if (ch) ch.is_member = false;
        s.views.delete(f.channel_id);
      });
      reloadChannels();
      break;
    case 'resync':
      void tracker.backfillAll();
      break;
    case 'read_marker':
      // Read on some device (maybe this one): everything up to that seq is read.
      update(() => {
        const u = unreadOf(f.channel_id);
        if (f.last_read_seq <= u.lastRead) return;
        u.lastRead = f.last_read_seq;
        const ch = state.channels.get(f.channel_id);
        const last = Math.max(ch?.last_seq ?? 0, tracker.lastSeq(f.channel_id) ?? 0);
        if (f.last_read_seq >= last) {
          u.unread = 0;
          u.mentions = 0;
        } else if (ch && !isViewing(ch.id)) reloadUnreads(ch.workspace_id);
      });
      break;
    case 'presence':
      if (!state.names.has(f.user_id) && f.user_id !== state.me?.id) refreshMembers();
      update((s) => {
        s.presence.set(f.user_id, f.status);
      });
      break;
    case 'typing':
      if (f.user_id === state.me?.id) break;
      update((s) => {
        let m = s.typing.get(f.channel_id);
        if (!m) s.typing.set(f.channel_id, (m = new Map()));
        m.set(f.user_id, Date.now() + TYPING_SHOW_MS);
      });
      break;
    case 'session_ended':
      sessionEnded(
        f.reason === 'logout' ? 'You were logged out.' : `Your session has ended (${f.reason}). Please log in again.`,
      );
      break;
    case 'error':
      console.warn('server:', f.code, f.message);
      break;
    default:
      break;
  }
}

/**
 * The server subscribes a socket to channels it joins, but a channel that appears some
 * other way (e.g. a workspace created in another tab) is only in the next hello; one
 * reconnect per such channel fixes that.
 */
export function ensureSubscribed() {
  if (!socket.isOnline) return;
  setTimeout(() => {
    const missing = [...state.channels.values()].filter((c) => c.is_member && !subs.has(c.id) && !triedMissing.has(c.id));
    if (!missing.length || !socket.isOnline) return;
    for (const c of missing) triedMissing.add(c.id);
    socket.restart();
  }, 1500);
}

let lastTyping = 0;
export function sendTyping(channelId: string) {
  const now = Date.now();
  if (now - lastTyping < TYPING_SEND_EVERY_MS) return;
  if (socket.send({ type: 'typing', channel_id: channelId })) lastTyping = now;
}

/** After sending, the next keystroke announces typing again at once. */
export function resetTyping() {
  lastTyping = 0;
}

const awayKey = () => `ocomms.away.${state.me?.id ?? ''}`;

function awaySaved(): boolean {
  try {
    return localStorage.getItem(awayKey()) === '1';
  } catch {
    return false;
  }
}

/** Away by choice (others see it until we say we are back), or active again. */
export function setAway(on: boolean) {
  update((s) => {
    s.awayByChoice = on;
  });
  try {
    if (on) localStorage.setItem(awayKey(), '1');
    else localStorage.removeItem(awayKey());
  } catch {
    // Storage off: the choice lasts for the page.
  }
  socket.send({ type: 'set_presence', status: on ? 'away' : 'online' });
}

export function startRealtime() {
  triedMissing.clear();
  socket.start();
}

export function stopRealtime() {
  socket.stop();
  subs.clear();
  tracker.clear();
}

// Typing indicators expire; presence follows the tab's visibility.
if (typeof window !== 'undefined') {
  setInterval(() => {
    const now = Date.now();
    let changed = false;
    for (const m of state.typing.values()) {
      for (const [u, until] of m) {
        if (until <= now) {
          m.delete(u);
          changed = true;
        }
      }
    }
    if (changed) update();
  }, 1000);
  window.addEventListener('offline', () => socket.pause());
  window.addEventListener('online', () => {
    socket.resume();
    // Queued messages go by HTTP: post them now rather than when a backoff timer fires.
    void flushNow();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible' || !state.me) return;
    socket.nudge();
    if (!state.awayByChoice) socket.send({ type: 'set_presence', status: 'online' });
    if (state.viewId) {
      markRead(state.viewId);
      closeNotifications(state.viewId);
    }
    // The permission may have been changed in the browser's settings meanwhile.
    refreshPermission();
  });
}
