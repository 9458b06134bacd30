// The app state: one mutable object, and a version number that changes on every update.
// Components read the state during render and re-render when the version changes; the
// updates come from the actions (actions/*) and the socket, never from components directly.

import { useSyncExternalStore } from 'react';
import { emptyPrefs, type NotifyPrefs } from './notify';
import type { ConnStatus } from './socket';
import type { Upload } from './actions/files';
import type { LinkKind } from './auth';
import type { Providers } from './sso';
import type { Channel, ChannelEvent, CommandInfo, DeactivatedIn, Invite, Member, Message, MessageFile, PresenceStatus, SearchHit, User, Workspace, WorkspaceInfo } from './types';

export type Route = { kind: 'app' } | { kind: 'invite'; code: string };

export interface ChannelView {
  /** Top-level messages and replies also sent to the channel, by id. */
  messages: Map<string, Message>;
  loaded: 'none' | 'loading' | 'ready' | 'error';
  /** `before` for the next older page; null once the beginning is reached. */
  nextBefore: number | null;
  loadingOlder: boolean;
  /** Events that arrived while the first page was loading; replayed over it. */
  held: ChannelEvent[];
  /** The last read seq when the channel was opened with unread messages: the "New messages" line. */
  newAfter?: number | null;
}

export interface ThreadView {
  root: Message | null;
  replies: Map<string, Message>;
  loaded: 'loading' | 'ready' | 'error';
  error: string;
  /** Whether replies notify us; null until the server has said. */
  following: boolean | null;
}

/** The panel beside a channel other than a thread: its pins, or its details. */
export type SidePanel = { kind: 'pins' | 'details'; channelId: string };

export interface PinsView {
  /** Newest pin first. */
  pins: Message[];
  loaded: 'loading' | 'ready' | 'error';
  error: string;
}

export interface ChannelMembersView {
  members: Member[];
  loaded: 'loading' | 'ready' | 'error';
  error: string;
}

export interface Pending {
  client_msg_id: string;
  channel_id: string;
  thread_root_id: string | null;
  also_to_channel: boolean;
  text: string;
  /** Uploaded files going with it. */
  files?: MessageFile[];
  /** queued: waiting for the connection; sending: in flight; failed: needs the user. */
  status: 'queued' | 'sending' | 'failed';
  error: string;
  created_at_ms: number;
}

export interface UnreadState {
  unread: number;
  mentions: number;
  lastRead: number;
  /** Events up to this seq are already in the counts (from GET /unreads). */
  countedTo: number;
}

export interface Notice {
  id: number;
  text: string;
  error: boolean;
}

export interface InviteDialog {
  loading: boolean;
  url: string;
  error: string;
}

/** The workspace screen (members, settings, invites) while it is open. */
export interface AdminView {
  wsId: string;
  info: WorkspaceInfo | null;
  /** Admins and owners only; null for others or while loading. */
  invites: Invite[] | null;
  loaded: 'loading' | 'ready' | 'error';
  error: string;
}

export type SearchSort = 'relevance' | 'newest';

/** The search results in the main area; `open` false keeps the query while a hit is read. */
export interface SearchView {
  wsId: string;
  q: string;
  sort: SearchSort;
  hits: SearchHit[];
  nextCursor: string | null;
  loaded: 'loading' | 'ready' | 'error';
  loadingMore: boolean;
  error: string;
  open: boolean;
}

/** A mailed link the page was opened from, while it is being followed. */
export interface LinkView {
  kind: LinkKind;
  token: string;
  busy: boolean;
  error: string;
}

export interface State {
  me: User | null;
  route: Route;
  authMessage: string;
  /** Asking the server for this browser's session (page load): neither signed in nor out yet. */
  restoring: boolean;
  link: LinkView | null;
  /** The install's admins read its mail outbox (the server said yes to GET /admin/outbox). */
  installAdmin: boolean;
  outboxOpen: boolean;
  booting: boolean;
  workspaces: Workspace[];
  /** Workspaces an admin deactivated us in: said on the welcome screen, not left unexplained. */
  deactivatedIn: DeactivatedIn[];
  wsId: string | null;
  channels: Map<string, Channel>;
  viewId: string | null;
  views: Map<string, ChannelView>;
  threadId: string | null;
  threads: Map<string, ThreadView>;
  side: SidePanel | null;
  /** Threads we know we follow or not (root id); replies in followed ones count as mentions. */
  follows: Map<string, boolean>;
  pins: Map<string, PinsView>;
  channelMembers: Map<string, ChannelMembersView>;
  unreads: Map<string, UnreadState>;
  names: Map<string, string>;
  /** Members per workspace (for mentions and new DMs); null while unknown. */
  members: Map<string, Member[]>;
  presence: Map<string, PresenceStatus>;
  /** channel -> user -> typing until (ms). */
  typing: Map<string, Map<string, number>>;
  pending: Pending[];
  /** Messages only this user sees (apps' ephemeral messages), until dismissed or reloaded. */
  ephemeral: Message[];
  conn: { status: ConnStatus; retryInMs?: number };
  notice: Notice | null;
  sidebarOpen: boolean;
  invite: InviteDialog | null;
  admin: AdminView | null;
  profileOpen: boolean;
  search: SearchView | null;
  /** A message to bring into view and mark (a search hit that was opened). */
  focusId: string | null;
  /** We said we are away (kept per device, said again on every connection). */
  awayByChoice: boolean;
  /** The message being edited in place (one at a time, as Up in an empty composer picks). */
  editingId: string | null;
  /** Notification preferences, as the server keeps them for every device. */
  notifyPrefs: NotifyPrefs;
  /** Whether the browser lets us show notifications. */
  notifyPermission: NotificationPermission | 'unsupported';
  /** The bar offering to turn notifications on (shown once the user has taken part). */
  notifyOffer: boolean;
  /** Files being attached, per composer (`composerKey`). */
  uploads: Map<string, Upload[]>;
  /** The picture shown full size over everything. */
  lightbox: MessageFile | null;
  /** Slash commands per workspace, for the composer's completion (fetched when first needed). */
  commands: Map<string, CommandsView>;
  /** How one may sign in here (`GET /auth/providers`); null until known. Kept across sign-outs. */
  providers: Providers | null;
  /** Why the single sign-on that brought the page back failed (shown on the sign-in screen). */
  ssoError: string;
}

export interface CommandsView {
  list: CommandInfo[];
  /** When the list was fetched (0: never); it is fetched again once older than a minute. */
  at_ms: number;
  loading: boolean;
}

export function initialState(route: Route = { kind: 'app' }): State {
  return {
    me: null,
    route,
    authMessage: '',
    restoring: false,
    link: null,
    installAdmin: false,
    outboxOpen: false,
    booting: false,
    workspaces: [],
    deactivatedIn: [],
    wsId: null,
    channels: new Map(),
    viewId: null,
    views: new Map(),
    threadId: null,
    threads: new Map(),
    side: null,
    follows: new Map(),
    pins: new Map(),
    channelMembers: new Map(),
    unreads: new Map(),
    names: new Map(),
    members: new Map(),
    presence: new Map(),
    typing: new Map(),
    pending: [],
    ephemeral: [],
    conn: { status: 'offline' },
    notice: null,
    sidebarOpen: false,
    invite: null,
    admin: null,
    profileOpen: false,
    search: null,
    focusId: null,
    editingId: null,
    awayByChoice: false,
    notifyPrefs: emptyPrefs(),
    notifyPermission: 'unsupported',
    notifyOffer: false,
    uploads: new Map(),
    providers: null,
    ssoError: '',
    lightbox: null,
    commands: new Map(),
  };
}

export const state: State = initialState();

let version = 0;
let scheduled = false;
const listeners = new Set<() => void>();

/** Changes the state and re-renders (once per microtask, however many updates). */
export function update(fn?: (s: State) => void) {
  fn?.(state);
  version++;
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    for (const l of listeners) l();
  });
}

/** Puts every field back to its initial value (sign-out), keeping the route. */
export function resetState(route: Route) {
  const providers = state.providers;
  Object.assign(state, initialState(route), { providers });
  update();
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function useStore(): State {
  // The third snapshot serves server rendering (the unit tests render to static markup).
  useSyncExternalStore(subscribe, () => version, () => version);
  return state;
}

export function view(channelId: string): ChannelView {
  let v = state.views.get(channelId);
  if (!v) {
    v = { messages: new Map(), loaded: 'none', nextBefore: null, loadingOlder: false, held: [] };
    state.views.set(channelId, v);
  }
  return v;
}

export function unreadOf(channelId: string): UnreadState {
  let u = state.unreads.get(channelId);
  if (!u) {
    u = { unread: 0, mentions: 0, lastRead: 0, countedTo: 0 };
    state.unreads.set(channelId, u);
  }
  return u;
}

export function nameOf(userId: string): string | undefined {
  if (state.me && userId === state.me.id) return state.me.display_name;
  return state.names.get(userId);
}

/** A person's `avatar_url` as last heard: ours from the profile, others' from a member list. */
export function avatarUrlOf(userId: string): string | undefined {
  if (state.me && userId === state.me.id) return state.me.avatar_url;
  const here = state.wsId ? state.members.get(state.wsId)?.find((m) => m.user_id === userId) : undefined;
  if (here) return here.avatar_url;
  for (const list of state.members.values()) {
    const m = list.find((x) => x.user_id === userId);
    if (m) return m.avatar_url;
  }
  return undefined;
}

/** A channel's name as shown: `#name`, or the other people of a DM. */
export function channelLabel(ch: Channel): string {
  if (ch.kind !== 'dm') return ch.name;
  const others = (ch.member_ids ?? []).filter((id) => id !== state.me?.id);
  if (!others.length) return `${nameOf(state.me?.id ?? '') ?? 'You'} (you)`;
  return others.map((id) => nameOf(id) ?? 'someone').join(', ');
}

let noticeIds = 0;
export function notify(text: string, error = false) {
  const id = ++noticeIds;
  update((s) => {
    s.notice = { id, text, error };
  });
  setTimeout(
    () =>
      update((s) => {
        if (s.notice?.id === id) s.notice = null;
      }),
    error ? 8000 : 4000,
  );
}
