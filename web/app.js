// OComms browser client: plain ES module, no build step.
//
// Security rule for this file: user data (message text, names, channel and workspace names,
// error messages) is only ever put into the page with textContent / createTextNode. There is
// no innerHTML anywhere.
//
// Sync model: every channel has a dense event sequence (seq). For each channel we keep the
// last seq applied; an event with seq = last + 1 is applied, an older one is a duplicate, a
// newer one is buffered and triggers a backfill from /channels/{id}/events?after=last. A
// (re)connect or a `resync` frame backfills every channel.

const API = '/api/v1';
const LS_SESSIONS = 'ocomms.sessions'; // { [userId]: {user, access_token, refresh_token} }
const LS_LAST_USER = 'ocomms.lastUser';
const LS_NAMES = 'ocomms.names'; // { [userId]: display_name } of accounts seen in this browser
const LS_PREFS = 'ocomms.prefs'; // { [userId]: {ws, channels: {[wsId]: channelId}} }
const SS_TAB_USER = 'ocomms.tabUser'; // this tab's account (tabs may use different accounts)

const HISTORY_PAGE = 50;
const EVENTS_PAGE = 200;
const TYPING_SEND_EVERY_MS = 2000;
const TYPING_SHOW_MS = 6000;
const GROUP_WINDOW_MS = 5 * 60 * 1000;
const RECONNECT_CAP_MS = 10000;
const PING_EVERY_MS = 25000;
const STALE_AFTER_MS = 65000;

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- small helpers

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c == null || c === false) continue;
    node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return node;
}

function readJSON(store, key, fallback) {
  try {
    const raw = store.getItem(key);
    return raw ? JSON.parse(raw) : fallback;
  } catch {
    return fallback;
  }
}

function writeJSON(store, key, value) {
  try {
    store.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or disabled: the app still works for this page load */
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function uuid() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function tokenExpiresAt(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(payload)).exp * 1000;
  } catch {
    return 0;
  }
}

function formatTime(ms) {
  const d = new Date(ms);
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return time;
  return `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}

// ---------------------------------------------------------------- storage: sessions, names

const sessions = {
  all: () => readJSON(localStorage, LS_SESSIONS, {}),
  get(userId) {
    return userId ? this.all()[userId] || null : null;
  },
  put(s) {
    const all = this.all();
    all[s.user.id] = s;
    writeJSON(localStorage, LS_SESSIONS, all);
  },
  remove(userId) {
    const all = this.all();
    delete all[userId];
    writeJSON(localStorage, LS_SESSIONS, all);
    if (localStorage.getItem(LS_LAST_USER) === userId) localStorage.removeItem(LS_LAST_USER);
  },
};

let names = readJSON(localStorage, LS_NAMES, {});

function rememberUser(user) {
  names = readJSON(localStorage, LS_NAMES, {});
  if (names[user.id] !== user.display_name) {
    names[user.id] = user.display_name;
    writeJSON(localStorage, LS_NAMES, names);
  }
}

function nameOf(userId) {
  if (userId === state.me?.id) return state.me.display_name;
  return names[userId] || `user ${String(userId).slice(0, 8)}`;
}

function prefs() {
  const all = readJSON(localStorage, LS_PREFS, {});
  return all[state.me?.id] || { ws: null, channels: {} };
}

function savePrefs(update) {
  if (!state.me) return;
  const all = readJSON(localStorage, LS_PREFS, {});
  const mine = all[state.me.id] || { ws: null, channels: {} };
  update(mine);
  all[state.me.id] = mine;
  writeJSON(localStorage, LS_PREFS, all);
}

// ---------------------------------------------------------------- app state

const state = {
  me: null, // {id, email, display_name}
  workspaces: [], // [{id, name, role}]
  wsId: null,
  channels: new Map(), // channelId -> channel from the API (with is_member)
  chans: new Map(), // channelId -> sync and view state, see chan()
  viewId: null, // channel shown
  epoch: 0, // bumped when the account changes; async work from before then is dropped
};

function chan(id) {
  let c = state.chans.get(id);
  if (!c) {
    c = {
      id,
      lastSeq: null, // last seq applied; null = not tracking yet
      buffer: new Map(), // seq -> event that arrived ahead of a gap
      backfilling: false,
      again: false,
      items: new Map(), // seq -> event shown in the message list (messages, joins, leaves)
      loaded: 'none', // 'none' | 'loading' | 'ready': history for the list
      nextBefore: null,
      loadingOlder: false,
      unread: 0,
      typing: new Map(), // userId -> expiry ms
      lastPostSeq: new Map(), // userId -> seq of their latest message
      sending: new Map(), // client_msg_id -> {client_msg_id, text, status, error}
    };
    state.chans.set(id, c);
  }
  return c;
}

function resetChan(c) {
  c.lastSeq = null;
  c.buffer.clear();
  c.items.clear();
  c.loaded = 'none';
  c.nextBefore = null;
  c.unread = 0;
  c.typing.clear();
  c.lastPostSeq.clear();
}

const isViewing = (channelId) => state.viewId === channelId && !document.hidden;
const currentWorkspace = () => state.workspaces.find((w) => w.id === state.wsId) || null;

// ---------------------------------------------------------------- HTTP API

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function request(method, path, body, token) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  const init = { method, headers };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(API + path, init);
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection.');
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const e = data && data.error;
    throw new ApiError(res.status, e?.code || `http_${res.status}`, e?.message || `Request failed (${res.status}).`);
  }
  return data;
}

const currentSession = () => sessions.get(state.me?.id);

/** An authenticated call. A 401 refreshes the tokens and retries once. */
async function api(method, path, body) {
  const s = currentSession();
  if (!s) throw new ApiError(401, 'unauthenticated', 'You are signed out.');
  try {
    return await request(method, path, body, s.access_token);
  } catch (e) {
    if (e.status !== 401) throw e;
    const fresh = await refreshTokens(s.access_token); // ends the session if refresh fails
    try {
      return await request(method, path, body, fresh.access_token);
    } catch (e2) {
      if (e2.status === 401) sessionEnded('Your session has ended. Please log in again.');
      throw e2;
    }
  }
}

// localStorage is only eventually consistent between tabs (each renderer caches it), so the
// refresh handshake between tabs also goes through IndexedDB, whose committed writes every tab
// sees at once. Without it a tab could read a token another tab had just spent, and replaying
// a spent refresh token ends the whole session.
let tokenDb = null;
function openTokenDb() {
  if (!tokenDb) {
    tokenDb = new Promise((resolve) => {
      if (!globalThis.indexedDB) return resolve(null);
      const req = indexedDB.open('ocomms', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('tokens');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => resolve(null);
      req.onblocked = () => resolve(null);
    });
  }
  return tokenDb;
}

/** Reads (value undefined) or writes the shared token record of a user; null if unavailable. */
async function sharedTokens(userId, value) {
  const db = await openTokenDb();
  if (!db) return null;
  return new Promise((resolve) => {
    let result = null;
    try {
      const tx = db.transaction('tokens', value ? 'readwrite' : 'readonly');
      const store = tx.objectStore('tokens');
      if (value) store.put(value, userId);
      else store.get(userId).onsuccess = (e) => { result = e.target.result || null; };
      tx.oncomplete = () => resolve(value || result);
      tx.onerror = () => resolve(null);
      tx.onabort = () => resolve(null);
    } catch {
      resolve(null);
    }
  });
}

/** Stores a session's tokens in both places (login, sign-up, refresh). */
async function storeTokens(session) {
  const stamped = { ...session, issued_at: Date.now() };
  await sharedTokens(stamped.user.id, {
    access_token: stamped.access_token,
    refresh_token: stamped.refresh_token,
    issued_at: stamped.issued_at,
  });
  sessions.put(stamped);
  return stamped;
}

let refreshing = null;

/**
 * New tokens for this tab's account. Tabs share the stored tokens and a refresh token can be
 * spent only once (a replay ends the session), so refreshes run one at a time across tabs
 * (Web Locks) and a tab whose token another tab already replaced just adopts the new pair.
 */
function refreshTokens(failedAccess) {
  if (refreshing) return refreshing;
  const run = async () => {
    let s = currentSession();
    if (!s) throw new ApiError(401, 'unauthenticated', 'You are signed out.');
    const shared = await sharedTokens(s.user.id);
    if (shared && shared.access_token && (shared.issued_at || 0) > (s.issued_at || 0)) {
      s = { ...s, ...shared };
      sessions.put(s);
    }
    if (s.access_token !== failedAccess) return s; // refreshed meanwhile by another tab
    try {
      const r = await request('POST', '/auth/refresh', { refresh_token: s.refresh_token });
      return await storeTokens({ ...s, access_token: r.tokens.access_token, refresh_token: r.tokens.refresh_token });
    } catch (e) {
      if (e.status === 401) sessionEnded('Your session has ended. Please log in again.');
      throw e;
    }
  };
  const lockName = `ocomms-refresh-${state.me?.id}`;
  refreshing = (navigator.locks?.request ? navigator.locks.request(lockName, run) : run()).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function freshAccessToken(force) {
  const s = currentSession();
  if (!s) throw new ApiError(401, 'unauthenticated', 'You are signed out.');
  if (!force && tokenExpiresAt(s.access_token) - Date.now() > 30000) return s.access_token;
  return (await refreshTokens(s.access_token)).access_token;
}

// ---------------------------------------------------------------- notices

let noticeTimer = null;
function notify(text, isError = false) {
  const n = $('notice');
  n.textContent = text;
  n.classList.toggle('error', isError);
  n.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    n.hidden = true;
  }, isError ? 8000 : 4000);
}

function formError(form, message) {
  const p = form.querySelector('.form-error');
  p.textContent = message || '';
}

// ---------------------------------------------------------------- auth screen

function inviteCodeFromPath() {
  const m = /^\/invite\/([^/]+)\/?$/.exec(location.pathname);
  return m ? decodeURIComponent(m[1]) : null;
}

function showAuth(message = '') {
  $('app-view').hidden = true;
  $('auth-view').hidden = false;
  $('auth-message').textContent = message;
  $('auth-invite-note').hidden = !inviteCodeFromPath();
  document.title = 'OComms';
  renderSavedAccounts();
  showAuthForm(Object.keys(sessions.all()).length || localStorage.getItem(LS_NAMES) ? 'login' : 'signup');
}

function showAuthForm(which) {
  $('login-form').hidden = which !== 'login';
  $('signup-form').hidden = which !== 'signup';
  const first = which === 'login' ? $('login-email') : $('signup-name');
  first.focus();
}

function renderSavedAccounts() {
  const list = $('saved-list');
  list.replaceChildren();
  const all = Object.values(sessions.all());
  for (const s of all) {
    list.appendChild(
      el('li', {},
        el('button', { type: 'button', class: 'account', onclick: () => enterApp(s.user, { explicit: true }) },
          el('span', { class: 'account-name', text: s.user.display_name }),
          el('span', { class: 'muted', text: s.user.email })),
      ),
    );
  }
  $('saved-accounts').hidden = all.length === 0;
}

async function onAuthSubmit(event, kind) {
  event.preventDefault();
  const form = event.currentTarget;
  const data = Object.fromEntries(new FormData(form));
  formError(form, '');
  if (kind === 'signup') {
    if (!data.display_name.trim()) return formError(form, 'Please enter a display name.');
    if (data.password.length < 8) return formError(form, 'The password needs at least 8 characters.');
  }
  if (!data.email.trim() || !data.password) return formError(form, 'Please enter your email and password.');
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    const body = kind === 'signup'
      ? { email: data.email.trim(), password: data.password, display_name: data.display_name.trim() }
      : { email: data.email.trim(), password: data.password };
    const r = await request('POST', `/auth/${kind}`, body);
    await storeTokens({ user: r.user, access_token: r.tokens.access_token, refresh_token: r.tokens.refresh_token });
    form.reset();
    await enterApp(r.user, { explicit: true });
  } catch (e) {
    formError(form, e.message);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- entering and leaving the app

async function enterApp(user, { explicit }) {
  teardown();
  state.me = user;
  rememberUser(user);
  sessionStorage.setItem(SS_TAB_USER, user.id);
  localStorage.setItem(LS_LAST_USER, user.id);
  $('auth-view').hidden = true;
  $('app-view').hidden = false;
  $('me-name').textContent = user.display_name;
  showEmpty('Loading…', '');
  setConnStatus('connecting');
  const epoch = state.epoch;
  const gone = () => epoch !== state.epoch; // signed out or switched account meanwhile

  try {
    const r = await api('GET', '/me');
    if (gone()) return;
    state.me = r.user;
    rememberUser(r.user);
    const s = currentSession();
    if (s && s.user.display_name !== r.user.display_name) sessions.put({ ...s, user: r.user });
    $('me-name').textContent = r.user.display_name;
  } catch (e) {
    if (gone()) return;
    if (e.status !== 0) notify(e.message, true);
  }

  const code = inviteCodeFromPath();
  if (code) {
    if (explicit) await acceptInvite(code);
    else showInviteBanner(code);
    if (gone()) return;
  }
  try {
    await loadWorkspaces();
  } catch (e) {
    if (gone()) return;
    notify(e.message, true);
  }
  if (gone()) return;
  ws.wanted = true;
  connect();
}

function teardown() {
  state.epoch += 1;
  ws.wanted = false;
  ws.attempt = 0;
  ws.triedMissing.clear();
  clearTimeout(ws.missingTimer);
  ws.missingTimer = null;
  clearTimeout(reloadTimer);
  disconnect();
  state.me = null;
  state.workspaces = [];
  state.wsId = null;
  state.channels.clear();
  state.chans.clear();
  state.viewId = null;
  // Nothing of the previous account may linger in the page.
  for (const id of ['ws-list', 'ch-list', 'browse-list', 'messages', 'pending']) {
    $(id).replaceChildren();
    delete $(id).dataset.sig;
  }
  view.channelId = null;
  $('typing').textContent = '';
  $('composer-input').value = '';
  $('invite-banner').hidden = true;
  $('channel-view').hidden = true;
  $('channels-section').hidden = true;
  $('browse-section').hidden = true;
}

function sessionEnded(message) {
  if (!state.me) return;
  sessions.remove(state.me.id);
  sessionStorage.removeItem(SS_TAB_USER);
  teardown();
  showAuth(message);
}

async function logout() {
  const s = currentSession();
  try {
    await api('POST', '/auth/logout');
  } catch {
    // Access token unusable: end the session with the refresh token instead.
    if (s) await request('POST', '/auth/logout', { refresh_token: s.refresh_token }).catch(() => {});
  }
  if (state.me) sessions.remove(state.me.id);
  sessionStorage.removeItem(SS_TAB_USER);
  teardown();
  showAuth('You have logged out.');
}

function switchAccount() {
  sessionStorage.removeItem(SS_TAB_USER);
  teardown();
  showAuth('');
}

// ---------------------------------------------------------------- invites

function showInviteBanner(code) {
  $('invite-as').textContent = state.me.display_name;
  $('invite-banner').hidden = false;
  $('invite-accept').onclick = async () => {
    $('invite-banner').hidden = true;
    await acceptInvite(code);
  };
  $('invite-dismiss').onclick = () => {
    $('invite-banner').hidden = true;
    history.replaceState(null, '', '/');
  };
  $('invite-other').onclick = () => switchAccount(); // keeps the /invite/ path
}

async function acceptInvite(code) {
  try {
    const r = await api('POST', `/invites/${encodeURIComponent(code)}/accept`);
    history.replaceState(null, '', '/');
    await loadWorkspaces();
    selectWorkspace(r.workspace.id);
    notify(`You joined ${r.workspace.name}.`);
  } catch (e) {
    if (!state.me) return;
    history.replaceState(null, '', '/');
    notify(e.code === 'gone' ? 'This invite is invalid, expired or used up.' : `Could not accept the invite: ${e.message}`, true);
  }
}

async function createInvite() {
  const w = currentWorkspace();
  if (!w) return;
  const dialog = $('invite-dialog');
  $('invite-url').value = '';
  $('invite-status').textContent = 'Creating a link…';
  if (!dialog.open) dialog.showModal();
  try {
    const r = await api('POST', `/workspaces/${w.id}/invites`, {});
    $('invite-url').value = r.url || `${location.origin}/invite/${r.invite.code}`;
    $('invite-status').textContent = '';
    $('invite-url').focus();
    $('invite-url').select();
  } catch (e) {
    $('invite-status').textContent = e.message;
  }
}

async function copyInvite() {
  const input = $('invite-url');
  if (!input.value) return;
  try {
    await navigator.clipboard.writeText(input.value);
    $('invite-status').textContent = 'Copied.';
  } catch {
    input.select();
    $('invite-status').textContent = 'Press Ctrl+C (⌘C) to copy.';
  }
}

// ---------------------------------------------------------------- workspaces and channels

async function loadWorkspaces() {
  const epoch = state.epoch;
  const r = await api('GET', '/workspaces');
  if (epoch !== state.epoch) return;
  state.workspaces = r.workspaces;
  const ids = new Set(r.workspaces.map((w) => w.id));
  for (const [id, ch] of state.channels) if (!ids.has(ch.workspace_id)) state.channels.delete(id);
  await Promise.all(state.workspaces.map((w) => loadChannels(w.id).catch(() => {})));
  if (epoch !== state.epoch) return;
  const keep = state.workspaces.find((w) => w.id === state.wsId) || state.workspaces.find((w) => w.id === prefs().ws);
  if (keep) {
    if (state.wsId === keep.id) renderAll();
    else selectWorkspace(keep.id);
  } else if (state.workspaces.length) {
    selectWorkspace(state.workspaces[0].id);
  } else {
    state.wsId = null;
    state.viewId = null;
    renderAll();
  }
}

async function loadChannels(wsId) {
  const epoch = state.epoch;
  const r = await api('GET', `/workspaces/${wsId}/channels`);
  if (epoch !== state.epoch) return;
  const seen = new Set();
  for (const ch of r.channels) {
    seen.add(ch.id);
    state.channels.set(ch.id, ch);
    const c = chan(ch.id);
    if (ch.is_member) {
      // Baseline for channels we are not tracking yet; later events come by socket/backfill.
      if (c.lastSeq == null) c.lastSeq = ch.last_seq;
    } else if (c.lastSeq != null) {
      resetChan(c); // left meanwhile (e.g. in another tab)
    }
  }
  for (const [id, ch] of state.channels) {
    if (ch.workspace_id === wsId && !seen.has(id)) state.channels.delete(id);
  }
  ensureSubscribed();
}

let reloadTimer = null;
/** Re-reads workspaces and channels soon (coalesces bursts of membership changes). */
function scheduleReload() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => {
    if (state.me) loadWorkspaces().catch(() => {});
  }, 300);
}

function selectWorkspace(id) {
  state.wsId = id;
  savePrefs((p) => {
    p.ws = id;
  });
  const members = channelsOf(id).filter((c) => c.is_member);
  const remembered = prefs().channels[id];
  const pick = members.find((c) => c.id === remembered) || members.find((c) => c.name === 'general') || members[0];
  if (pick) selectChannel(pick.id);
  else {
    state.viewId = null;
    renderAll();
  }
}

function channelsOf(wsId) {
  return [...state.channels.values()].filter((c) => c.workspace_id === wsId).sort((a, b) => a.name.localeCompare(b.name));
}

function selectChannel(id, { focus = true } = {}) {
  const prev = state.viewId && state.chans.get(state.viewId);
  if (prev && prev.id !== id && prev.items.size > 300) {
    // Free a long list; it is fetched again when the channel is opened.
    prev.items.clear();
    prev.loaded = 'none';
  }
  state.viewId = id;
  const ch = state.channels.get(id);
  if (ch) {
    savePrefs((p) => {
      p.channels[ch.workspace_id] = id;
    });
  }
  const c = chan(id);
  c.unread = 0;
  renderAll({ rebuild: true });
  if (ch?.is_member && c.loaded === 'none') loadLatest(c);
  closeSidebarOnNarrow();
  if (focus) focusComposer();
}

function focusComposer() {
  const input = $('composer-input');
  if (!$('composer').hidden) input.focus();
  else if (!$('join-bar').hidden) $('join-btn').focus();
}

async function createWorkspace(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const name = $('new-ws-name').value.trim();
  formError(form, '');
  if (!name) return formError(form, 'Please enter a name.');
  try {
    const r = await api('POST', '/workspaces', { name });
    form.reset();
    $('new-ws').open = false;
    await loadWorkspaces();
    state.wsId = null;
    selectWorkspace(r.workspace.id); // opens its #general
  } catch (e) {
    formError(form, e.message);
  }
}

async function createChannel(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const w = currentWorkspace();
  const name = $('new-ch-name').value.trim();
  formError(form, '');
  if (!w) return;
  if (!name) return formError(form, 'Please enter a name.');
  try {
    const kind = $('new-ch-private').checked ? 'private' : 'public';
    const r = await api('POST', `/workspaces/${w.id}/channels`, { name, kind });
    form.reset();
    $('new-ch').open = false;
    await loadChannels(w.id);
    selectChannel(r.channel.id);
  } catch (e) {
    formError(form, e.message);
  }
}

async function joinChannel(id) {
  try {
    await api('POST', `/channels/${id}/join`);
    const ch = state.channels.get(id);
    await loadChannels(ch ? ch.workspace_id : state.wsId);
    selectChannel(id);
  } catch (e) {
    notify(`Could not join: ${e.message}`, true);
  }
}

async function leaveChannel() {
  const ch = state.channels.get(state.viewId);
  if (!ch) return;
  // Public channels can be re-joined from "Browse"; a private one needs someone to add you back.
  if (ch.kind !== 'public' && !confirm(`Leave the private channel ${ch.name}? You will need to be added again to come back.`)) return;
  try {
    await api('POST', `/channels/${ch.id}/leave`);
    resetChan(chan(ch.id));
    await loadChannels(ch.workspace_id);
    state.wsId = null; // pick another channel of the workspace
    selectWorkspace(ch.workspace_id);
  } catch (e) {
    notify(`Could not leave: ${e.message}`, true);
  }
}

// ---------------------------------------------------------------- sync engine

/** One event from the socket, a backfill or a history fill. */
function receive(ev) {
  const c = chan(ev.channel_id);
  if (c.lastSeq == null) c.lastSeq = ev.seq - 1;
  if (ev.seq <= c.lastSeq) {
    addItem(c, ev); // already applied: only make sure it is shown (idempotent)
    return;
  }
  if (ev.seq > c.lastSeq + 1) {
    c.buffer.set(ev.seq, ev); // ahead of a gap: keep it, fetch what is missing
    backfill(c);
    return;
  }
  apply(c, ev);
  let next;
  while ((next = c.buffer.get(c.lastSeq + 1))) {
    c.buffer.delete(next.seq);
    apply(c, next);
  }
  for (const [seq, old] of c.buffer) {
    if (seq <= c.lastSeq) {
      c.buffer.delete(seq);
      addItem(c, old);
    }
  }
}

function apply(c, ev) {
  c.lastSeq = ev.seq;
  addItem(c, ev);
  const d = ev.data || {};
  if (ev.kind === 'message.posted') {
    c.lastPostSeq.set(d.author_id, ev.seq);
    if (c.typing.delete(d.author_id) && state.viewId === c.id) renderTyping();
    if (d.author_id !== state.me?.id && !isViewing(c.id)) {
      c.unread += 1;
      renderUnread();
    }
  } else if ((ev.kind === 'member.joined' || ev.kind === 'member.left') && d.user_id === state.me?.id) {
    scheduleReload();
  }
}

async function backfill(c) {
  if (c.backfilling) {
    c.again = true;
    return;
  }
  if (c.lastSeq == null) return;
  c.backfilling = true;
  try {
    do {
      c.again = false;
      for (let page = 0; page < 100 && c.lastSeq != null; page++) {
        const after = c.lastSeq;
        const r = await api('GET', `/channels/${c.id}/events?after=${after}&limit=${EVENTS_PAGE}`);
        if (state.chans.get(c.id) !== c || c.lastSeq == null) return; // account switched or channel reset
        for (const ev of r.events) receive(ev);
        if (!r.has_more || c.lastSeq === after) break;
      }
    } while (c.again && c.lastSeq != null);
  } catch (e) {
    if (e.status === 403 || e.status === 404) {
      resetChan(c); // no longer readable
      scheduleReload();
    }
    // Network trouble: the next (re)connect backfills again.
  } finally {
    c.backfilling = false;
  }
}

function backfillAll() {
  for (const c of state.chans.values()) if (c.lastSeq != null) backfill(c);
}

// ---------------------------------------------------------------- history

function messageEvent(m) {
  return { channel_id: m.channel_id, seq: m.seq, kind: 'message.posted', data: m, at_ms: m.created_at_ms };
}

async function loadLatest(c) {
  if (c.loaded !== 'none') return;
  c.loaded = 'loading';
  if (state.viewId === c.id) renderList(c, true);
  const stale = () => state.chans.get(c.id) !== c || c.loaded === 'none';
  try {
    const r = await api('GET', `/channels/${c.id}/messages?limit=${HISTORY_PAGE}`);
    if (stale()) return;
    for (const m of r.messages) c.items.set(m.seq, messageEvent({ channel_id: c.id, ...m }));
    c.nextBefore = r.next_before ?? null;
    c.loaded = 'ready';
    if (state.viewId === c.id) renderList(c, true);
    // Events after the newest message (joins, or anything the socket has not brought yet).
    let after = r.messages.length ? r.messages[r.messages.length - 1].seq : 0;
    for (let page = 0; page < 5; page++) {
      const ev = await api('GET', `/channels/${c.id}/events?after=${after}&limit=${EVENTS_PAGE}`);
      if (stale()) return;
      for (const e of ev.events) receive(e);
      if (!ev.has_more || !ev.events.length) break;
      after = ev.events[ev.events.length - 1].seq;
    }
  } catch (e) {
    if (c.loaded === 'loading') c.loaded = 'none';
    if (state.viewId === c.id) {
      renderList(c, true);
      notify(`Could not load messages: ${e.message}`, true);
    }
  }
}

async function loadOlder() {
  const c = state.viewId && chan(state.viewId);
  if (!c || c.nextBefore == null || c.loadingOlder) return;
  c.loadingOlder = true;
  const btn = $('older-btn');
  btn.disabled = true;
  btn.textContent = 'Loading…';
  const log = $('log');
  log.setAttribute('aria-busy', 'true'); // do not read out a page of old messages
  try {
    const r = await api('GET', `/channels/${c.id}/messages?before=${c.nextBefore}&limit=${HISTORY_PAGE}`);
    const scroller = $('scroller');
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    for (const m of r.messages) addItem(c, messageEvent({ channel_id: c.id, ...m }));
    c.nextBefore = r.next_before ?? null;
    scroller.scrollTop = scroller.scrollHeight - fromBottom; // keep the view where it was
  } catch (e) {
    notify(`Could not load older messages: ${e.message}`, true);
  } finally {
    c.loadingOlder = false;
    log.removeAttribute('aria-busy');
    btn.disabled = false;
    btn.textContent = 'Load older messages';
    if (state.viewId === c.id) renderHistoryTop(c);
  }
}

// ---------------------------------------------------------------- sending

async function sendMessage(text) {
  const c = state.viewId && chan(state.viewId);
  if (!c) return;
  const p = { client_msg_id: uuid(), text, status: 'sending', error: '' };
  c.sending.set(p.client_msg_id, p);
  renderPending(c);
  scrollToBottom();
  await postPending(c, p);
}

/** Posts (or re-posts) a message. The same client_msg_id makes retries safe. */
async function postPending(c, p) {
  p.status = 'sending';
  p.error = '';
  renderPending(c);
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await api('POST', `/channels/${c.id}/messages`, { text: p.text, client_msg_id: p.client_msg_id });
      c.sending.delete(p.client_msg_id);
      addItem(c, messageEvent({ channel_id: c.id, ...r.message }));
      renderPending(c);
      return;
    } catch (e) {
      if (!c.sending.has(p.client_msg_id)) return; // arrived by the socket meanwhile
      const retriable = e.status === 0 || e.status >= 500 || e.status === 429;
      if (retriable && attempt < 4) {
        await sleep(Math.min(8000, 1000 * 2 ** attempt));
        if (!c.sending.has(p.client_msg_id)) return;
        continue;
      }
      p.status = 'failed';
      p.error = e.message;
      renderPending(c);
      return;
    }
  }
}

let lastTypingSent = 0;
function onComposerInput() {
  const input = $('composer-input');
  input.style.height = 'auto';
  input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
  if (!input.value.trim() || !state.viewId) return;
  const now = Date.now();
  if (now - lastTypingSent < TYPING_SEND_EVERY_MS) return;
  if (wsSend({ type: 'typing', channel_id: state.viewId })) lastTypingSent = now;
}

function onComposerKey(event) {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
    event.preventDefault();
    $('composer').requestSubmit();
  }
}

function onComposerSubmit(event) {
  event.preventDefault();
  const input = $('composer-input');
  const text = input.value.replace(/\s+$/, '');
  if (!text.trim()) return;
  input.value = '';
  onComposerInput();
  lastTypingSent = 0;
  sendMessage(text);
}

// ---------------------------------------------------------------- WebSocket

const ws = {
  socket: null,
  wanted: false,
  attempt: 0,
  timer: null,
  heartbeat: null,
  lastFrameAt: 0,
  nonce: 0,
  forceRefresh: false,
  subs: new Set(), // channels this socket is subscribed to
  missingTimer: null,
  triedMissing: new Set(), // channels a forced reconnect was already tried for
  online: false,
  connecting: false, // fetching a token before opening a socket
};

function wsSend(frame) {
  if (ws.socket && ws.socket.readyState === WebSocket.OPEN && ws.online) {
    ws.socket.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

async function connect() {
  clearTimeout(ws.timer);
  ws.timer = null;
  if (!ws.wanted || ws.socket || ws.connecting) return;
  setConnStatus(ws.attempt ? 'reconnecting' : 'connecting');
  const epoch = state.epoch;
  let token;
  ws.connecting = true;
  try {
    token = await freshAccessToken(ws.forceRefresh);
    ws.forceRefresh = false;
  } catch {
    if (ws.wanted && epoch === state.epoch) scheduleReconnect();
    return;
  } finally {
    ws.connecting = false;
  }
  if (!ws.wanted || ws.socket || epoch !== state.epoch) return;
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(`${proto}//${location.host}${API}/ws`);
  ws.socket = socket;
  ws.online = false;
  // A socket that neither opens nor fails (e.g. a stalled proxy) is given up after 15 s.
  setTimeout(() => {
    if (ws.socket === socket && !ws.online) {
      dropSocket();
      scheduleReconnect();
    }
  }, 15000);
  socket.onopen = () => {
    if (ws.socket === socket) socket.send(JSON.stringify({ type: 'auth', token }));
  };
  socket.onmessage = (m) => {
    if (ws.socket !== socket) return;
    ws.lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(m.data);
    } catch {
      return;
    }
    onFrame(frame);
  };
  socket.onclose = (ev) => {
    if (ws.socket !== socket) return;
    dropSocket();
    if (ev.code === 4001) ws.forceRefresh = true; // token rejected: refresh before retrying
    if (ws.wanted) scheduleReconnect();
  };
  socket.onerror = () => {
    /* a close event follows */
  };
}

function dropSocket() {
  const s = ws.socket;
  ws.socket = null;
  ws.online = false;
  ws.subs.clear();
  clearInterval(ws.heartbeat);
  ws.heartbeat = null;
  if (s && s.readyState < 2) {
    try {
      s.close(1000);
    } catch {
      /* ignore */
    }
  }
}

function disconnect() {
  clearTimeout(ws.timer);
  ws.timer = null;
  dropSocket();
  setConnStatus('offline');
}

function scheduleReconnect() {
  clearTimeout(ws.timer);
  const base = Math.min(RECONNECT_CAP_MS, 500 * 2 ** ws.attempt);
  const delay = Math.min(RECONNECT_CAP_MS, Math.round(base * (0.8 + Math.random() * 0.4)));
  ws.attempt += 1;
  setConnStatus('reconnecting', delay);
  ws.timer = setTimeout(connect, delay);
}

function reconnectNow() {
  if (!ws.wanted) return;
  dropSocket();
  ws.attempt = Math.max(ws.attempt, 1);
  connect();
}

function setConnStatus(status, delay) {
  const n = $('conn-status');
  const label = {
    connecting: 'Connecting…',
    online: 'Online',
    reconnecting: delay ? `Reconnecting in ${Math.ceil(delay / 1000)} s…` : 'Reconnecting…',
    offline: 'Offline',
  }[status];
  n.textContent = label;
  n.className = `conn conn-${status}`;
}

function onFrame(f) {
  switch (f.type) {
    case 'hello':
      onHello(f);
      break;
    case 'event':
      if (f.event) receive(f.event);
      break;
    case 'subscribed':
      onSubscribed(f.subscription);
      break;
    case 'unsubscribed':
      onUnsubscribed(f.channel_id);
      break;
    case 'typing':
      onTyping(f);
      break;
    case 'resync':
      backfillAll();
      break;
    case 'presence':
    case 'pong':
      break;
    case 'error':
      console.warn('server:', f.code, f.message);
      break;
    default:
      break;
  }
}

function onHello(f) {
  ws.attempt = 0;
  ws.online = true;
  setConnStatus('online');
  ws.subs = new Set(f.subscriptions.map((s) => s.channel_id));
  for (const [id, c] of state.chans) {
    // Left while we were away. (Member channels missing here are handled by ensureSubscribed.)
    if (c.lastSeq != null && !ws.subs.has(id) && !state.channels.get(id)?.is_member) resetChan(c);
  }
  for (const s of f.subscriptions) {
    const c = chan(s.channel_id);
    if (c.lastSeq == null) c.lastSeq = s.last_seq;
    else if (s.last_seq > c.lastSeq || c.buffer.size) backfill(c);
  }
  clearInterval(ws.heartbeat);
  ws.heartbeat = setInterval(heartbeat, PING_EVERY_MS);
  // Memberships may have changed while we were away.
  if (state.me) loadWorkspaces().catch(() => {});
}

function heartbeat() {
  if (!ws.socket) return;
  if (Date.now() - ws.lastFrameAt > STALE_AFTER_MS) {
    // No frame (not even a pong) for too long: assume the connection is dead.
    dropSocket();
    scheduleReconnect();
    return;
  }
  wsSend({ type: 'ping', nonce: ++ws.nonce });
}

function onSubscribed(sub) {
  ws.subs.add(sub.channel_id);
  const c = chan(sub.channel_id);
  if (c.lastSeq == null) c.lastSeq = sub.last_seq;
  else if (sub.last_seq > c.lastSeq) backfill(c);
  const ch = state.channels.get(sub.channel_id);
  if (!ch || !ch.is_member) scheduleReload();
}

function onUnsubscribed(channelId) {
  ws.subs.delete(channelId);
  resetChan(chan(channelId));
  const ch = state.channels.get(channelId);
  if (ch) ch.is_member = false;
  scheduleReload();
  renderAll({ rebuild: state.viewId === channelId });
}

/**
 * The server subscribes sockets when a member.joined event is published; creating a channel
 * or a workspace does not publish one, so a socket misses channels created after its hello.
 * A reconnect (once per such channel) gets a hello that includes them.
 */
function ensureSubscribed() {
  if (!ws.online) return;
  const missing = () => [...state.channels.values()]
    .filter((ch) => ch.is_member && !ws.subs.has(ch.id) && !ws.triedMissing.has(ch.id));
  if (!missing().length || ws.missingTimer) return;
  ws.missingTimer = setTimeout(() => {
    ws.missingTimer = null;
    const still = missing(); // a `subscribed` frame for a REST join arrives before this
    if (!still.length || !ws.online) return;
    for (const ch of still) ws.triedMissing.add(ch.id); // one try per channel, no loops
    reconnectNow();
  }, 300);
}

function onTyping(f) {
  if (f.user_id === state.me?.id) return;
  const c = chan(f.channel_id);
  const posted = c.lastPostSeq.get(f.user_id);
  if (posted != null && f.seq < posted) return; // stale: they have posted since
  c.typing.set(f.user_id, Date.now() + TYPING_SHOW_MS);
  if (state.viewId === c.id) renderTyping();
}

// ---------------------------------------------------------------- rendering: sidebar

function renderAll({ rebuild = false } = {}) {
  renderWorkspaces();
  renderChannels();
  renderMain(rebuild);
  renderTitle();
}

function unreadIn(wsId) {
  let n = 0;
  for (const ch of state.channels.values()) {
    if (ch.workspace_id === wsId && ch.is_member) n += state.chans.get(ch.id)?.unread || 0;
  }
  return n;
}

function badge(n) {
  if (!n) return null;
  return el('span', { class: 'badge', 'aria-label': `${n} unread` }, n > 99 ? '99+' : String(n));
}

/** Replaces a list's children only when what it shows changed (keeps clicks and focus stable). */
function unchanged(node, signature) {
  if (node.dataset.sig === signature) return true;
  node.dataset.sig = signature;
  return false;
}

function renderWorkspaces() {
  const list = $('ws-list');
  const sig = JSON.stringify([state.wsId, state.workspaces.map((w) => [w.id, w.name, w.id === state.wsId ? 0 : unreadIn(w.id)])]);
  if (unchanged(list, sig)) return;
  list.replaceChildren();
  for (const w of state.workspaces) {
    const current = w.id === state.wsId;
    list.appendChild(
      el('li', {},
        el('button', {
          type: 'button',
          class: current ? 'nav-item current' : 'nav-item',
          'aria-current': current ? 'true' : null,
          onclick: () => {
            if (w.id !== state.wsId) selectWorkspace(w.id);
          },
        }, el('span', { class: 'nav-label', text: w.name }), badge(current ? 0 : unreadIn(w.id))),
      ),
    );
  }
}

function renderChannels() {
  const w = currentWorkspace();
  $('channels-section').hidden = !w;
  $('browse-section').hidden = !w;
  if (!w) return;
  const all = channelsOf(w.id);
  const role = w.role;
  $('invite-btn').hidden = !(role === 'owner' || role === 'admin');
  $('new-ch').hidden = role === 'guest';
  const sig = JSON.stringify([state.viewId, all.map((ch) => [ch.id, ch.name, ch.kind, ch.is_member, ch.archived, state.chans.get(ch.id)?.unread || 0])]);
  const joined = $('ch-list');
  if (unchanged(joined, sig)) return;
  joined.replaceChildren();
  for (const ch of all.filter((c) => c.is_member)) {
    const current = ch.id === state.viewId;
    const unread = current ? 0 : state.chans.get(ch.id)?.unread || 0;
    joined.appendChild(
      el('li', {},
        el('button', {
          type: 'button',
          class: `nav-item${current ? ' current' : ''}${unread ? ' unread' : ''}`,
          'aria-current': current ? 'page' : null,
          onclick: () => selectChannel(ch.id),
        },
        el('span', { class: 'nav-label' }, ch.kind === 'private' ? '🔒 ' : '# ', ch.name),
        badge(unread)),
      ),
    );
  }
  const browse = $('browse-list');
  browse.replaceChildren();
  const others = all.filter((c) => !c.is_member && c.kind === 'public' && !c.archived);
  for (const ch of others) {
    browse.appendChild(
      el('li', { class: 'browse-item' },
        el('span', { class: 'nav-label' }, '# ', ch.name),
        el('button', { type: 'button', class: 'small', 'aria-label': `Join #${ch.name}`, onclick: () => joinChannel(ch.id) }, 'Join')),
    );
  }
  $('browse-empty').hidden = others.length > 0;
}

function renderUnread() {
  renderWorkspaces();
  renderChannels();
  renderTitle();
}

function renderTitle() {
  let total = 0;
  for (const ch of state.channels.values()) if (ch.is_member) total += state.chans.get(ch.id)?.unread || 0;
  const ch = state.channels.get(state.viewId);
  const base = ch ? `#${ch.name} · OComms` : 'OComms';
  document.title = total ? `(${total}) ${base}` : base;
}

// ---------------------------------------------------------------- rendering: main area

function showEmpty(title, text) {
  $('channel-view').hidden = true;
  $('empty-view').hidden = false;
  $('empty-title').textContent = title;
  $('empty-text').textContent = text;
}

const view = { channelId: null, seqs: [], nodes: new Map() };

function renderMain(rebuild) {
  const w = currentWorkspace();
  if (!state.workspaces.length) {
    view.channelId = null;
    return showEmpty('Welcome to OComms', 'You are not in a workspace yet. Create one under “New workspace”, or open an invite link someone sent you.');
  }
  const ch = state.channels.get(state.viewId);
  if (!w || !ch || ch.workspace_id !== w.id) {
    view.channelId = null;
    return showEmpty(w ? w.name : 'OComms', 'Pick a channel, or join one under “Browse channels”.');
  }
  $('empty-view').hidden = true;
  $('channel-view').hidden = false;
  $('ch-title').textContent = `${ch.kind === 'private' ? '🔒 ' : '#'}${ch.name}`;
  $('ch-topic').textContent = ch.topic || '';
  $('ch-topic').hidden = !ch.topic;
  $('leave-btn').hidden = !ch.is_member;
  $('composer').hidden = !ch.is_member;
  $('join-bar').hidden = ch.is_member;
  $('join-btn').onclick = () => joinChannel(ch.id);
  $('composer-label').textContent = `Message #${ch.name}`;
  $('composer-input').placeholder = `Message #${ch.name}`;
  $('log').setAttribute('aria-label', `Messages in #${ch.name}`);
  const c = chan(ch.id);
  if (rebuild || view.channelId !== ch.id) renderList(c, true);
  renderTyping();
}

function renderHistoryTop(c) {
  const older = $('older-btn');
  const start = $('history-start');
  const ch = state.channels.get(c.id);
  older.hidden = !(c.loaded === 'ready' && c.nextBefore != null);
  let text = '';
  if (c.loaded === 'loading') text = 'Loading messages…';
  else if (c.loaded === 'ready' && c.nextBefore == null) text = `This is the beginning of #${ch ? ch.name : ''}.`;
  else if (c.loaded === 'none' && ch && !ch.is_member) text = 'Join the channel to read and post messages.';
  start.textContent = text;
  start.hidden = !text;
}

/** Rebuilds the message list of the channel on screen. */
function renderList(c, scrollDown) {
  if (state.viewId !== c.id) return;
  const list = $('messages');
  const log = $('log');
  log.setAttribute('aria-busy', 'true');
  list.replaceChildren();
  view.channelId = c.id;
  view.seqs = [];
  view.nodes = new Map();
  if (c.loaded === 'ready') {
    const seqs = [...c.items.keys()].sort((a, b) => a - b);
    for (const seq of seqs) {
      const node = itemNode(c.items.get(seq));
      if (!node) continue;
      view.seqs.push(seq);
      view.nodes.set(seq, node);
      list.appendChild(node);
    }
    for (let i = 0; i < view.seqs.length; i++) regroup(c, i);
  }
  renderHistoryTop(c);
  renderPending(c);
  log.removeAttribute('aria-busy');
  if (scrollDown) scrollToBottom();
}

/** Adds one event to a channel's items and, if it is on screen, to the list in seq order. */
function addItem(c, ev) {
  if (ev.kind === 'message.posted') {
    const m = ev.data || {};
    if (m.author_id === state.me?.id && m.client_msg_id && c.sending.delete(m.client_msg_id) && state.viewId === c.id) {
      renderPending(c);
    }
  } else if (ev.kind !== 'member.joined' && ev.kind !== 'member.left') {
    return;
  }
  if (c.loaded === 'none' || c.items.has(ev.seq)) return; // history fetch will bring it
  c.items.set(ev.seq, ev);
  if (c.loaded !== 'ready' || view.channelId !== c.id || state.viewId !== c.id) return;
  const node = itemNode(ev);
  if (!node) return;
  const scroller = $('scroller');
  const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  // Binary search for the position among rendered seqs.
  let lo = 0;
  let hi = view.seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (view.seqs[mid] < ev.seq) lo = mid + 1;
    else hi = mid;
  }
  const before = lo < view.seqs.length ? view.nodes.get(view.seqs[lo]) : null;
  $('messages').insertBefore(node, before);
  view.seqs.splice(lo, 0, ev.seq);
  view.nodes.set(ev.seq, node);
  regroup(c, lo);
  if (lo + 1 < view.seqs.length) regroup(c, lo + 1);
  const mine = ev.kind === 'message.posted' && ev.data?.author_id === state.me?.id;
  if (lo === view.seqs.length - 1 && (atBottom || mine)) scrollToBottom();
}

/** A message continues a group when the previous item is a message by the same author, shortly before. */
function regroup(c, i) {
  const ev = c.items.get(view.seqs[i]);
  const node = view.nodes.get(view.seqs[i]);
  if (!ev || !node || ev.kind !== 'message.posted') return;
  const prev = i > 0 ? c.items.get(view.seqs[i - 1]) : null;
  const grouped = !!prev && prev.kind === 'message.posted' && prev.data.author_id === ev.data.author_id
    && ev.at_ms - prev.at_ms < GROUP_WINDOW_MS;
  node.classList.toggle('grouped', grouped);
  // Continuations hide the author visually but keep it for screen readers.
  node.querySelector('.meta').classList.toggle('sr-only', grouped);
}

function itemNode(ev) {
  const d = ev.data || {};
  const at = new Date(Number(d.created_at_ms || ev.at_ms) || Date.now());
  if (ev.kind === 'message.posted') {
    return el('li', { class: 'msg', 'data-seq': ev.seq },
      el('div', { class: 'meta' },
        el('span', { class: `author${d.author_id === state.me?.id ? ' me' : ''}`, 'data-uid': d.author_id }, nameOf(d.author_id)),
        ' ',
        el('time', { datetime: at.toISOString(), title: at.toLocaleString() }, formatTime(at.getTime()))),
      messageBody(String(d.text ?? '')));
  }
  if (ev.kind === 'member.joined' || ev.kind === 'member.left') {
    const verb = ev.kind === 'member.joined' ? 'joined' : 'left';
    return el('li', { class: 'sys', 'data-seq': ev.seq },
      el('span', { class: 'author', 'data-uid': d.user_id }, nameOf(d.user_id)),
      ` ${verb} the channel · `,
      el('time', { datetime: at.toISOString(), title: at.toLocaleString() }, formatTime(at.getTime())));
  }
  return null;
}

/** Message text as text nodes, with http(s) links made clickable (still no HTML parsing). */
function messageBody(text) {
  const body = el('div', { class: 'text' });
  const re = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;
  let last = 0;
  let m;
  while ((m = re.exec(text))) {
    if (m.index > last) body.appendChild(document.createTextNode(text.slice(last, m.index)));
    body.appendChild(el('a', { href: m[0], target: '_blank', rel: 'noopener noreferrer' }, m[0]));
    last = m.index + m[0].length;
  }
  if (last < text.length) body.appendChild(document.createTextNode(text.slice(last)));
  return body;
}

function renderPending(c) {
  if (state.viewId !== c.id) return;
  const list = $('pending');
  list.replaceChildren();
  for (const p of c.sending.values()) {
    const status = p.status === 'failed'
      ? el('span', { class: 'pending-status failed' }, `Not sent: ${p.error} `,
        el('button', { type: 'button', class: 'small', onclick: () => postPending(c, p) }, 'Retry'),
        ' ',
        el('button', {
          type: 'button',
          class: 'small ghost',
          onclick: () => {
            c.sending.delete(p.client_msg_id);
            renderPending(c);
          },
        }, 'Discard'))
      : el('span', { class: 'pending-status' }, 'Sending…');
    list.appendChild(
      el('li', { class: `msg pending${p.status === 'failed' ? ' failed' : ''}` },
        el('div', { class: 'meta' }, el('span', { class: 'author me' }, nameOf(state.me?.id)), ' ', status),
        messageBody(p.text)),
    );
  }
}

function renderTyping() {
  const line = $('typing');
  const c = state.viewId && state.chans.get(state.viewId);
  if (!c) {
    line.textContent = '';
    return;
  }
  const now = Date.now();
  for (const [u, until] of c.typing) if (until <= now) c.typing.delete(u);
  const who = [...c.typing.keys()].map(nameOf);
  let text = '';
  if (who.length === 1) text = `${who[0]} is typing…`;
  else if (who.length === 2) text = `${who[0]} and ${who[1]} are typing…`;
  else if (who.length > 2) text = 'Several people are typing…';
  if (line.textContent !== text) line.textContent = text;
}

function scrollToBottom() {
  const s = $('scroller');
  s.scrollTop = s.scrollHeight;
}

function refreshNames() {
  names = readJSON(localStorage, LS_NAMES, {});
  for (const n of document.querySelectorAll('.author[data-uid]')) n.textContent = nameOf(n.getAttribute('data-uid'));
  renderTyping();
}

// ---------------------------------------------------------------- narrow screens

function closeSidebarOnNarrow() {
  if (window.matchMedia('(max-width: 699px)').matches) setSidebar(false);
}

function setSidebar(open) {
  $('sidebar').classList.toggle('open', open);
  $('menu-btn').setAttribute('aria-expanded', String(open));
}

// ---------------------------------------------------------------- wiring

function init() {
  $('login-form').addEventListener('submit', (e) => onAuthSubmit(e, 'login'));
  $('signup-form').addEventListener('submit', (e) => onAuthSubmit(e, 'signup'));
  for (const b of document.querySelectorAll('[data-show]')) {
    b.addEventListener('click', () => showAuthForm(b.getAttribute('data-show')));
  }
  $('logout-btn').addEventListener('click', logout);
  $('switch-btn').addEventListener('click', switchAccount);
  $('menu-btn').addEventListener('click', () => setSidebar(!$('sidebar').classList.contains('open')));
  $('new-ws-form').addEventListener('submit', createWorkspace);
  $('new-ch-form').addEventListener('submit', createChannel);
  $('invite-btn').addEventListener('click', createInvite);
  $('copy-invite').addEventListener('click', copyInvite);
  $('older-btn').addEventListener('click', loadOlder);
  $('leave-btn').addEventListener('click', leaveChannel);
  $('composer').addEventListener('submit', onComposerSubmit);
  $('composer-input').addEventListener('keydown', onComposerKey);
  $('composer-input').addEventListener('input', onComposerInput);
  // Stay pinned to the newest message across resizes (e.g. rotating a phone).
  let pinned = true;
  $('scroller').addEventListener('scroll', () => {
    const s = $('scroller');
    pinned = s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }, { passive: true });
  window.addEventListener('resize', () => {
    if (pinned) scrollToBottom();
  });

  setInterval(() => {
    if (state.viewId && state.chans.get(state.viewId)?.typing.size) renderTyping();
  }, 1000);

  window.addEventListener('online', () => {
    if (ws.wanted && !ws.socket) {
      ws.attempt = Math.max(ws.attempt, 1);
      connect();
    }
  });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden || !state.me) return;
    const c = state.viewId && state.chans.get(state.viewId);
    if (c && c.unread) {
      c.unread = 0;
      renderUnread();
    }
    scheduleReload(); // pick up channels created elsewhere
    if (ws.wanted && !ws.socket) connect();
  });
  window.addEventListener('storage', (e) => {
    if (e.key === LS_NAMES) refreshNames();
    if (e.key === LS_SESSIONS && state.me && !sessions.get(state.me.id)) {
      const id = state.me.id;
      teardown();
      sessionStorage.removeItem(SS_TAB_USER);
      if (!sessions.get(id)) showAuth('You were logged out in another window.');
    }
  });

  const tabUser = sessionStorage.getItem(SS_TAB_USER) || localStorage.getItem(LS_LAST_USER);
  const s = sessions.get(tabUser);
  if (s) enterApp(s.user, { explicit: false });
  else showAuth();
}

init();
