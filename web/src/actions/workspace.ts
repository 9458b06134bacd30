// Entering the app, signing out, workspaces, channels, members, invites, unreads and read markers.

import { ApiError } from '../api';
import { client } from '../client';
import { resetState, state, update, unreadOf, notify, view, type Route } from '../store';
import type { Channel, DeactivatedIn, Member, Unread, User, Workspace } from '../types';
import { ensureSubscribed, isViewing, startRealtime, stopRealtime, tracker } from '../realtime';
import { loadLatest } from './messages';
import { closeNotifications } from './notifications';
import { checkInstallAdmin } from './account';
import { beganAtProvider, signOutAtProvider } from './sso';

// ---------------------------------------------------------------- routes

export function routeFromPath(path: string): Route {
  const m = /^\/invite\/([^/]+)\/?$/.exec(path);
  return m ? { kind: 'invite', code: decodeURIComponent(m[1]) } : { kind: 'app' };
}

export function navigate(path: string) {
  if (location.pathname !== path) history.pushState(null, '', path);
  update((s) => {
    s.route = routeFromPath(path);
  });
}

// ---------------------------------------------------------------- preferences

interface Prefs {
  ws: string | null;
  channels: Record<string, string>;
}

function prefsKey() {
  return `ocomms.prefs.${state.me?.id ?? ''}`;
}

function loadPrefs(): Prefs {
  try {
    return { ws: null, channels: {}, ...JSON.parse(localStorage.getItem(prefsKey()) ?? '{}') };
  } catch {
    return { ws: null, channels: {} };
  }
}

function savePrefs(change: (p: Prefs) => void) {
  const p = loadPrefs();
  change(p);
  try {
    localStorage.setItem(prefsKey(), JSON.stringify(p));
  } catch {
    // Storage off: preferences last for the page.
  }
}

// ---------------------------------------------------------------- session

client.onSessionEnded((reason) => teardown(reason));

/** Ends the session on this page (the server already ended it, or refuses the tokens). */
export function sessionEnded(message: string) {
  if (client.session) client.end(message);
  else teardown(message);
}

export async function logout() {
  // Asked while the session still answers: one that began at the provider ends there too.
  const atProvider = await beganAtProvider();
  try {
    await client.call('POST', '/auth/logout');
  } catch {
    // Already ended, or offline: forgetting the tokens here is what matters.
  }
  client.end('You have logged out.');
  if (atProvider) signOutAtProvider();
}

function teardown(message: string) {
  stopRealtime();
  resetState(state.route);
  update((s) => {
    s.authMessage = message;
  });
}

export async function enterApp() {
  const s = client.session;
  if (!s) return;
  update((st) => {
    st.me = s.user;
    st.booting = true;
    st.authMessage = '';
  });
  try {
    const r = await client.call<{ user: User }>('GET', '/me');
    client.setUser(r.user);
    update((st) => {
      st.me = r.user;
    });
  } catch (e) {
    if (!client.session) return;
    if (e instanceof ApiError && e.status !== 0) notify(e.message, true);
  }
  try {
    await loadWorkspaces();
  } catch (e) {
    if (client.session) notify((e as Error).message, true);
  }
  update((st) => {
    st.booting = false;
  });
  if (client.session) {
    startRealtime();
    void checkInstallAdmin();
  }
}

// ---------------------------------------------------------------- workspaces and channels

export async function loadWorkspaces() {
  const r = await client.call<{ workspaces: Workspace[]; deactivated_in?: DeactivatedIn[] }>('GET', '/workspaces');
  update((s) => {
    s.workspaces = r.workspaces;
    s.deactivatedIn = r.deactivated_in ?? [];
  });
  await Promise.all(r.workspaces.map((w) => loadChannels(w.id).catch(() => undefined)));
  await Promise.all(r.workspaces.map((w) => loadUnreads(w.id).catch(() => undefined)));
  const keep = state.workspaces.find((w) => w.id === state.wsId) ?? state.workspaces.find((w) => w.id === loadPrefs().ws);
  if (keep && keep.id === state.wsId) {
    // The channel on screen may have gone (left in another tab).
    const ch = state.viewId ? state.channels.get(state.viewId) : undefined;
    if (!ch) selectWorkspace(keep.id);
    else update();
  } else if (keep || state.workspaces.length) {
    selectWorkspace((keep ?? state.workspaces[0]).id);
  } else {
    update((s) => {
      s.wsId = null;
      s.viewId = null;
    });
  }
  ensureSubscribed();
}

export async function loadChannels(wsId: string) {
  const r = await client.call<{ channels: Channel[] }>('GET', `/workspaces/${wsId}/channels`);
  update((s) => {
    const seen = new Set<string>();
    for (const ch of r.channels) {
      seen.add(ch.id);
      const old = s.channels.get(ch.id);
      if (old && old.last_seq > ch.last_seq) ch.last_seq = old.last_seq;
      s.channels.set(ch.id, ch);
      if (ch.is_member) tracker.baseline(ch.id, ch.last_seq);
      else {
        tracker.forget(ch.id);
        s.views.delete(ch.id);
      }
    }
    for (const [id, ch] of s.channels) {
      if (ch.workspace_id === wsId && !seen.has(id)) {
        s.channels.delete(id);
        s.views.delete(id);
        tracker.forget(id);
      }
    }
  });
  // Names of DM participants we do not know yet.
  if (r.channels.some((c) => c.kind === 'dm' && c.member_ids?.some((id) => !state.names.has(id)))) {
    void loadMembers(wsId);
  }
}

let reloadTimer: ReturnType<typeof setTimeout> | undefined;
/** Re-reads workspaces and channels soon (membership changes come in bursts). */
export function reloadChannels() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => {
    if (client.session) loadWorkspaces().catch(() => undefined);
  }, 300);
}

export async function loadUnreads(wsId: string) {
  const r = await client.call<{ channels: Unread[] }>('GET', `/workspaces/${wsId}/unreads`);
  update(() => {
    for (const x of r.channels) {
      const u = unreadOf(x.channel_id);
      const viewing = isViewing(x.channel_id);
      u.unread = viewing ? 0 : x.unread_count;
      u.mentions = viewing ? 0 : x.mention_count;
      u.lastRead = Math.max(u.lastRead, x.last_read_seq);
      u.countedTo = x.last_seq;
    }
  });
}

const unreadTimers = new Map<string, ReturnType<typeof setTimeout>>();
export function reloadUnreads(wsId: string) {
  clearTimeout(unreadTimers.get(wsId));
  unreadTimers.set(
    wsId,
    setTimeout(() => void loadUnreads(wsId).catch(() => undefined), 300),
  );
}

/** Workspace members (names for mentions and DMs); falls back to channel member lists. */
export async function loadMembers(wsId: string) {
  const all: Member[] = [];
  try {
    let after: string | null = null;
    for (let page = 0; page < 20; page++) {
      const q: string = after ? `?after=${after}` : '';
      const r: { members: Member[]; next_after?: string | null } = await client.call(
        'GET',
        `/workspaces/${wsId}/members${q}`,
      );
      all.push(...r.members);
      after = r.next_after ?? null;
      if (!after) break;
    }
  } catch (e) {
    if (!(e instanceof ApiError) || (e.status !== 404 && e.status !== 405)) return;
    // No workspace member list on this server: gather the channels' members instead.
    const seen = new Set<string>();
    const mine = [...state.channels.values()].filter((c) => c.workspace_id === wsId && c.is_member);
    for (const ch of mine.slice(0, 20)) {
      try {
        const r = await client.call<{ members: Member[] }>('GET', `/channels/${ch.id}/members`);
        for (const m of r.members) {
          if (seen.has(m.user_id)) continue;
          seen.add(m.user_id);
          all.push(m);
        }
      } catch {
        // Not available either: names stay unknown ("someone").
      }
    }
  }
  update((s) => {
    s.members.set(
      wsId,
      all.sort((a, b) => a.display_name.localeCompare(b.display_name)),
    );
    for (const m of all) s.names.set(m.user_id, m.display_name);
  });
}

export function selectWorkspace(id: string) {
  update((s) => {
    s.search = null;
    s.wsId = id;
  });
  savePrefs((p) => {
    p.ws = id;
  });
  if (!state.members.has(id)) void loadMembers(id);
  const mine = [...state.channels.values()].filter((c) => c.workspace_id === id && c.is_member);
  const remembered = loadPrefs().channels[id];
  const pick =
    mine.find((c) => c.id === remembered) ?? mine.find((c) => c.is_default) ?? mine.find((c) => c.name === 'general') ?? mine[0];
  if (pick) selectChannel(pick.id);
  else
    update((s) => {
      s.viewId = null;
    });
}

export function selectChannel(id: string) {
  const ch = state.channels.get(id);
  update((s) => {
    s.admin = null;
    if (s.viewId !== id) {
      // Where the unread part starts, as it was on arrival (reading it moves the marker).
      const u = unreadOf(id);
      view(id).newAfter = u.unread > 0 ? u.lastRead : null;
      s.threadId = null;
      s.side = null;
      s.pins.clear();
      s.channelMembers.clear();
    }
    s.viewId = id;
    s.sidebarOpen = false;
    if (s.search) s.search.open = false;
    if (ch && ch.workspace_id !== s.wsId) s.wsId = ch.workspace_id;
  });
  if (ch) {
    savePrefs((p) => {
      p.channels[ch.workspace_id] = id;
    });
  }
  if (ch?.is_member) {
    if (view(id).loaded === 'none' || view(id).loaded === 'error') void loadLatest(id);
    markRead(id);
  }
  closeNotifications(id);
}

/** Moves to the channel `delta` places away in the sidebar's order (Alt+Up / Alt+Down). */
export function stepChannel(delta: number) {
  const list = sidebarOrder();
  if (!list.length) return;
  const i = list.findIndex((c) => c.id === state.viewId);
  const next = list[(i + delta + list.length) % list.length];
  if (next) selectChannel(next.id);
}

/** Member channels of the current workspace in the order the sidebar shows them. */
export function sidebarOrder(): Channel[] {
  const mine = [...state.channels.values()].filter((c) => c.workspace_id === state.wsId && c.is_member);
  const channels = mine.filter((c) => c.kind !== 'dm').sort((a, b) => a.name.localeCompare(b.name));
  const dms = mine.filter((c) => c.kind === 'dm').sort((a, b) => a.id.localeCompare(b.id));
  return [...channels, ...dms];
}

export async function createWorkspace(name: string) {
  const r = await client.call<{ workspace: Workspace; default_channel_id?: string }>('POST', '/workspaces', { name });
  await loadWorkspaces();
  selectWorkspace(r.workspace.id);
  if (r.default_channel_id && state.channels.has(r.default_channel_id)) selectChannel(r.default_channel_id);
  ensureSubscribed();
}

export async function createChannel(name: string, isPrivate: boolean) {
  const wsId = state.wsId;
  if (!wsId) return;
  const r = await client.call<{ channel: Channel }>('POST', `/workspaces/${wsId}/channels`, {
    name,
    kind: isPrivate ? 'private' : 'public',
  });
  await loadChannels(wsId);
  selectChannel(r.channel.id);
  ensureSubscribed();
}

export async function joinChannel(id: string) {
  try {
    await client.call('POST', `/channels/${id}/join`);
    const ch = state.channels.get(id);
    await loadChannels(ch?.workspace_id ?? state.wsId ?? '');
    update((s) => {
      s.views.delete(id);
    });
    selectChannel(id);
  } catch (e) {
    notify(`Could not join: ${(e as Error).message}`, true);
  }
}

export async function leaveChannel(id: string) {
  const ch = state.channels.get(id);
  if (!ch) return;
  try {
    await client.call('POST', `/channels/${id}/leave`);
    tracker.forget(id);
    await loadChannels(ch.workspace_id);
    selectWorkspace(ch.workspace_id);
  } catch (e) {
    notify(`Could not leave: ${(e as Error).message}`, true);
  }
}

export async function openDm(userIds: string[]) {
  const wsId = state.wsId;
  if (!wsId) return;
  const r = await client.call<{ channel: Channel }>('POST', `/workspaces/${wsId}/dms`, { user_ids: userIds });
  await loadChannels(wsId);
  selectChannel(r.channel.id);
  ensureSubscribed();
}

export async function createInvite() {
  const wsId = state.wsId;
  if (!wsId) return;
  update((s) => {
    s.invite = { loading: true, url: '', error: '' };
  });
  try {
    const r = await client.call<{ invite: { code: string }; url?: string }>('POST', `/workspaces/${wsId}/invites`, {});
    // The link points at this page's origin: that is where the invitee's browser must go.
    const url = `${location.origin}/invite/${encodeURIComponent(r.invite.code)}`;
    update((s) => {
      if (s.invite) s.invite = { loading: false, url, error: '' };
    });
  } catch (e) {
    update((s) => {
      if (s.invite) s.invite = { loading: false, url: '', error: (e as Error).message };
    });
  }
}

export function closeInvite() {
  update((s) => {
    s.invite = null;
  });
}

export async function acceptInvite(code: string): Promise<string | null> {
  try {
    const r = await client.call<{ workspace: Workspace }>('POST', `/invites/${encodeURIComponent(code)}/accept`);
    navigate('/');
    await loadWorkspaces();
    selectWorkspace(r.workspace.id);
    notify(`You joined ${r.workspace.name}.`);
    return null;
  } catch (e) {
    if (e instanceof ApiError && e.code === 'gone') return 'This invite has expired, been used up or been revoked.';
    if (e instanceof ApiError && e.status === 404) return 'This invite link is not valid.';
    return `Could not accept the invite: ${(e as Error).message}`;
  }
}

// ---------------------------------------------------------------- read markers

const readTimers = new Map<string, ReturnType<typeof setTimeout>>();
/** Per channel, the highest seq seen on screen and not yet reported read. */
const readUpTo = new Map<string, number>();

/**
 * Marks the channel read up to where it stands now (what is on screen), sent soon so a
 * burst of messages makes one request. The seq is taken now, not when the request goes
 * out: by then the reader may have moved on and newer messages are unread.
 */
export function markRead(channelId: string) {
  const ch = state.channels.get(channelId);
  if (!ch?.is_member) return;
  const seq = Math.max(tracker.lastSeq(channelId) ?? 0, ch.last_seq);
  update(() => {
    const u = unreadOf(channelId);
    u.unread = 0;
    u.mentions = 0;
  });
  readUpTo.set(channelId, Math.max(readUpTo.get(channelId) ?? 0, seq));
  clearTimeout(readTimers.get(channelId));
  readTimers.set(
    channelId,
    setTimeout(async () => {
      readTimers.delete(channelId);
      const upTo = readUpTo.get(channelId) ?? 0;
      readUpTo.delete(channelId);
      const u = unreadOf(channelId);
      if (u.lastRead >= upTo) return;
      try {
        const r = await client.call<{ last_read_seq: number }>('POST', `/channels/${channelId}/read`, { seq: upTo });
        update(() => {
          u.lastRead = Math.max(u.lastRead, r.last_read_seq);
        });
      } catch {
        // Not critical: the next view marks it again.
      }
    }, 250),
  );
}
