// One channel's own things: its details (name, topic, purpose, archive), its members, its
// pins, and following a thread. The panels beside the channel show them; the socket's events
// keep them current (events.ts), so these calls only start, change and reload.

import { client } from '../client';
import { type ChannelMembersView, type PinsView, notify, state, update } from '../store';
import { channelRights } from '../rights';
import type { Channel, Member, Message, Role } from '../types';
import { findMessage } from './messages';

function role(): Role | undefined {
  return state.workspaces.find((w) => w.id === state.wsId)?.role;
}

export function rightsFor(ch: Channel) {
  return channelRights(ch, role(), state.me?.id);
}

// ---------------------------------------------------------------- the side panel

export function openSide(kind: 'pins' | 'details', channelId: string) {
  update((s) => {
    if (s.threadId) s.threads.delete(s.threadId);
    s.threadId = null;
    s.side = { kind, channelId };
  });
  if (kind === 'pins') void loadPins(channelId);
  else void loadChannelMembers(channelId);
}

export function closeSide() {
  update((s) => {
    if (s.side) {
      s.pins.delete(s.side.channelId);
      s.channelMembers.delete(s.side.channelId);
    }
    s.side = null;
  });
}

// ---------------------------------------------------------------- details

function replaceChannel(ch: Channel) {
  update((s) => {
    const old = s.channels.get(ch.id);
    if (old) Object.assign(old, { ...ch, is_member: old.is_member, last_seq: Math.max(old.last_seq, ch.last_seq) });
  });
}

/** Saves a change of name, topic or purpose; the error is the caller's to show. */
export async function updateChannel(id: string, patch: { name?: string; topic?: string; purpose?: string }) {
  const r = await client.call<{ channel: Channel }>('PATCH', `/channels/${id}`, patch);
  replaceChannel(r.channel);
}

export async function setArchived(id: string, archived: boolean) {
  const r = await client.call<{ channel: Channel }>('POST', `/channels/${id}/${archived ? 'archive' : 'unarchive'}`);
  replaceChannel(r.channel);
}

// ---------------------------------------------------------------- members

export async function loadChannelMembers(channelId: string) {
  const v: ChannelMembersView = state.channelMembers.get(channelId) ?? { members: [], loaded: 'loading', error: '' };
  update((s) => {
    v.loaded = v.members.length ? v.loaded : 'loading';
    s.channelMembers.set(channelId, v);
  });
  try {
    const all: Member[] = [];
    let after = '';
    // Pages of 1000; a channel bigger than 10 pages shows its first 10 000 members.
    for (let page = 0; page < 10; page++) {
      const q = after ? `?after=${after}` : '';
      const r = await client.call<{ members: Member[]; next_after: string | null }>('GET', `/channels/${channelId}/members${q}`);
      all.push(...r.members);
      if (!r.next_after) break;
      after = r.next_after;
    }
    update((s) => {
      v.members = all.sort((a, b) => a.display_name.localeCompare(b.display_name));
      v.loaded = 'ready';
      v.error = '';
      for (const m of all) s.names.set(m.user_id, m.display_name);
    });
  } catch (e) {
    update(() => {
      v.loaded = 'error';
      v.error = (e as Error).message;
    });
  }
}

export async function addChannelMembers(channelId: string, userIds: string[]) {
  await client.call('POST', `/channels/${channelId}/members`, { user_ids: userIds });
  await loadChannelMembers(channelId);
}

export async function removeChannelMember(channelId: string, userId: string) {
  try {
    await client.call('DELETE', `/channels/${channelId}/members/${userId}`);
    await loadChannelMembers(channelId);
  } catch (e) {
    notify(`Could not remove: ${(e as Error).message}`, true);
  }
}

// ---------------------------------------------------------------- pins

export async function loadPins(channelId: string) {
  const v: PinsView = state.pins.get(channelId) ?? { pins: [], loaded: 'loading', error: '' };
  update((s) => {
    s.pins.set(channelId, v);
  });
  try {
    const r = await client.call<{ pins: Message[] }>('GET', `/channels/${channelId}/pins`);
    update(() => {
      v.pins = r.pins.map((m) => ({ reactions: [], ...m }));
      v.loaded = 'ready';
      v.error = '';
    });
  } catch (e) {
    update(() => {
      v.loaded = 'error';
      v.error = (e as Error).message;
    });
  }
}

/** Pins or unpins; the channel's event marks the message wherever it is shown. */
export async function setPinned(m: Message, pinned: boolean) {
  try {
    if (pinned) await client.call('POST', `/messages/${m.id}/pin`);
    else await client.call('DELETE', `/messages/${m.id}/pin`);
    update(() => {
      for (const x of [m, ...findMessage(m.id)]) x.pinned = pinned;
      const list = state.pins.get(m.channel_id);
      if (list && !pinned) list.pins = list.pins.filter((x) => x.id !== m.id);
    });
  } catch (e) {
    notify(`Could not ${pinned ? 'pin' : 'unpin'} the message: ${(e as Error).message}`, true);
  }
}

// ---------------------------------------------------------------- threads

export async function setFollowing(rootId: string, following: boolean) {
  try {
    const r = await client.call<{ following: boolean }>(following ? 'PUT' : 'DELETE', `/messages/${rootId}/follow`);
    update((s) => {
      const t = s.threads.get(rootId);
      if (t) t.following = r.following;
      s.follows.set(rootId, r.following);
    });
  } catch (e) {
    notify(`Could not ${following ? 'follow' : 'unfollow'} the thread: ${(e as Error).message}`, true);
  }
}
