// Notifications: the preferences the server keeps (a level per channel, do not disturb), the
// browser's permission, and showing a notification for a message that arrived live while
// the tab was hidden.

import { client } from '../client';
import { dndActive, notificationTitle, notifyReason, plainText } from '../notify';
import { channelLabel, nameOf, state, update } from '../store';
import type { Channel, Message, NotificationSettings, NotifyLevel } from '../types';
import { openThread } from './messages';
import { selectChannel } from './workspace';

// ---------------------------------------------------------------- preferences

let dndTimer: ReturnType<typeof setTimeout> | undefined;

function applySettings(n: NotificationSettings) {
  update((s) => {
    s.notifyPrefs = {
      dnd: n.do_not_disturb,
      dndUntil: n.dnd_until_ms,
      levels: new Map(n.channels.map((c) => [c.channel_id, c.level])),
    };
  });
  // A timed do not disturb ends by itself: show that when it happens.
  clearTimeout(dndTimer);
  if (n.do_not_disturb && n.dnd_until_ms != null) {
    const wait = Math.min(2 ** 31 - 1, Math.max(0, n.dnd_until_ms - Date.now()) + 50);
    dndTimer = setTimeout(() => update(), wait);
  }
}

export async function loadNotifyPrefs() {
  const r = await client.call<{ notifications: NotificationSettings }>('GET', '/me/notifications');
  applySettings(r.notifications);
}

export async function setChannelLevel(channelId: string, level: NotifyLevel) {
  await client.call('PUT', `/channels/${channelId}/notifications`, { level });
  update((s) => {
    if (level === 'default') s.notifyPrefs.levels.delete(channelId);
    else s.notifyPrefs.levels.set(channelId, level);
  });
}

/** Do not disturb on (for `minutes`, or until turned off) or off. */
export async function setDnd(on: boolean, minutes?: number) {
  const body = on && minutes ? { do_not_disturb: true, minutes } : { do_not_disturb: on };
  const r = await client.call<{ notifications: NotificationSettings }>('PATCH', '/me/notifications', body);
  applySettings(r.notifications);
}

export const isDnd = () => dndActive(state.notifyPrefs);

// ---------------------------------------------------------------- browser permission

export function browserPermission(): NotificationPermission | 'unsupported' {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

const offerKey = () => `ocomms.notify.offered.${state.me?.id ?? ''}`;

export function refreshPermission() {
  update((s) => {
    s.notifyPermission = browserPermission();
    if (s.notifyPermission !== 'default') s.notifyOffer = false;
  });
}

/**
 * Offers notifications once the user has taken part (sent a message), not on first load:
 * by then they know what the product is for, and the browser's prompt must come from a click.
 */
export function offerNotifications() {
  if (state.notifyOffer || browserPermission() !== 'default') return;
  try {
    if (localStorage.getItem(offerKey())) return;
  } catch {
    // No storage: offer it (once per page).
  }
  update((s) => {
    s.notifyOffer = true;
  });
}

/** "Not now": the bar does not come back on this device; the profile still offers it. */
export function dismissOffer() {
  try {
    localStorage.setItem(offerKey(), '1');
  } catch {
    // The bar stays away for this page only.
  }
  update((s) => {
    s.notifyOffer = false;
  });
}

/** Asks the browser (from a click). The answer is remembered by the browser, not by us. */
export async function askPermission() {
  if (browserPermission() === 'unsupported') return;
  try {
    await Notification.requestPermission();
  } catch {
    // Old callback-style API or refused outright: the permission below says which.
  }
  try {
    localStorage.setItem(offerKey(), '1');
  } catch {
    // Fine: the permission is no longer "default" anyway, unless the prompt was dismissed.
  }
  update((s) => {
    s.notifyOffer = false;
  });
  refreshPermission();
}

// ---------------------------------------------------------------- showing

/** Open notifications per channel, closed once the channel is looked at. */
const open = new Map<string, Set<Notification>>();
/** Channels of other workspaces looked up for a notification's title. */
const looked = new Map<string, Promise<Channel | undefined>>();

async function channelFor(id: string): Promise<Channel | undefined> {
  const known = state.channels.get(id);
  if (known) return known;
  let p = looked.get(id);
  if (!p) {
    p = client
      .call<{ channel: Channel }>('GET', `/channels/${id}`)
      .then((r) => r.channel)
      .catch(() => undefined);
    looked.set(id, p);
  }
  return p;
}

/**
 * A message from someone else arrived live while the tab was hidden: show a notification
 * if the preferences say so. `followed`: it is a reply in a thread we follow.
 */
export async function notifyMessage(m: Message, followed: boolean) {
  const me = state.me?.id;
  if (!me || browserPermission() !== 'granted') return;
  const ch = await channelFor(m.channel_id);
  if (!ch) return;
  let reason = notifyReason(m, ch, me, followed, state.notifyPrefs);
  // A reply in a thread this page knows nothing about (never opened here): the server knows
  // whether we follow it.
  const root = m.thread_root_id;
  if (!reason && root && !state.follows.has(root)) {
    try {
      const r = await client.call<{ following: boolean }>('GET', `/messages/${root}/thread?limit=1`);
      update((s) => {
        if (!s.follows.has(root)) s.follows.set(root, r.following);
      });
      reason = notifyReason(m, ch, me, r.following, state.notifyPrefs);
    } catch {
      // Unknown: stay quiet rather than guess.
    }
  }
  if (!reason) return;
  let n: Notification;
  try {
    n = new Notification(notificationTitle(m.bot?.name ?? nameOf(m.author_id) ?? 'Someone', channelLabel(ch), ch, reason), {
      body: plainText(m.text, nameOf),
      tag: m.id,
    });
  } catch {
    // Some browsers only notify from a service worker; there is nothing more to do here.
    return;
  }
  let set = open.get(ch.id);
  if (!set) open.set(ch.id, (set = new Set()));
  set.add(n);
  n.onclose = () => set.delete(n);
  n.onclick = () => {
    window.focus();
    selectChannel(ch.id);
    if (m.thread_root_id && !m.also_to_channel) {
      const root = { id: m.thread_root_id, channel_id: ch.id, seq: 0, author_id: '', text: '', created_at_ms: 0 };
      void openThread(root as Message);
    }
    n.close();
  };
}

/** The channel is on screen: its notifications have done their job. */
export function closeNotifications(channelId: string) {
  const set = open.get(channelId);
  if (!set) return;
  for (const n of set) n.close();
  open.delete(channelId);
}
