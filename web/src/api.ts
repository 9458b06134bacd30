// HTTP client: JSON in and out, `{error:{code,message}}` into ApiError, and the access
// token refreshed once on a 401 (refreshes are single-flight: a refresh token can be spent
// only once, and presenting it twice ends the session).

import type { Tokens, User } from './types';

export const API = '/api/v1';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  /** Worth retrying later: no answer, or the server is overloaded or failing. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export interface Session {
  user: User;
  access_token: string;
  refresh_token: string;
}

const STORE_KEY = 'ocomms.session';

export function loadSession(): Session | null {
  try {
    const raw = localStorage.getItem(STORE_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

function saveSession(s: Session | null) {
  try {
    if (s) localStorage.setItem(STORE_KEY, JSON.stringify(s));
    else localStorage.removeItem(STORE_KEY);
  } catch {
    // Storage disabled: the session lasts as long as the page.
  }
}

export async function request<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(API + path, init);
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server.');
  }
  if (res.status === 204) return null as T;
  let data: unknown = null;
  try {
    data = await res.json();
  } catch {
    // Not JSON (a proxy's error page): handled below by status.
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `Request failed (${res.status}).`);
  }
  return data as T;
}

/** Seconds-since-epoch `exp` of a JWT, in ms; 0 when unreadable. */
export function tokenExpiry(token: string): number {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return Number(JSON.parse(atob(part)).exp) * 1000 || 0;
  } catch {
    return 0;
  }
}

type Listener = (reason: string) => void;

/** The signed-in account and its tokens; every authenticated call goes through `call`. */
export class Client {
  session: Session | null = loadSession();
  private refreshing: Promise<Session> | null = null;
  private endedListeners: Listener[] = [];

  onSessionEnded(l: Listener) {
    this.endedListeners.push(l);
  }

  signedIn(user: User, tokens: Tokens) {
    this.session = { user, access_token: tokens.access_token, refresh_token: tokens.refresh_token };
    saveSession(this.session);
  }

  setUser(user: User) {
    if (!this.session) return;
    this.session = { ...this.session, user };
    saveSession(this.session);
  }

  /** Forgets the session locally (the server side is ended by logout or already gone). */
  end(reason: string) {
    if (!this.session) return;
    this.session = null;
    saveSession(null);
    for (const l of this.endedListeners) l(reason);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const s = this.session;
    if (!s) throw new ApiError(401, 'unauthenticated', 'You are signed out.');
    try {
      return await request<T>(method, path, body, s.access_token);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
      const fresh = await this.refresh(s.access_token);
      try {
        return await request<T>(method, path, body, fresh.access_token);
      } catch (e2) {
        if (e2 instanceof ApiError && e2.status === 401) this.end('Your session has ended. Please log in again.');
        throw e2;
      }
    }
  }

  /** An access token valid for at least 30 more seconds (for the socket's auth frame). */
  async freshToken(force = false): Promise<string> {
    const s = this.session;
    if (!s) throw new ApiError(401, 'unauthenticated', 'You are signed out.');
    if (!force && tokenExpiry(s.access_token) - Date.now() > 30_000) return s.access_token;
    return (await this.refresh(s.access_token)).access_token;
  }

  private refresh(failedAccess: string): Promise<Session> {
    if (this.refreshing) return this.refreshing;
    const run = async (): Promise<Session> => {
      // Another tab may have refreshed already: adopt its tokens instead of spending ours.
      const stored = loadSession();
      let s = this.session;
      if (!s) throw new ApiError(401, 'unauthenticated', 'You are signed out.');
      if (stored && stored.user.id === s.user.id && stored.access_token !== s.access_token) {
        this.session = s = stored;
      }
      if (s.access_token !== failedAccess) return s;
      try {
        const r = await request<{ tokens: Tokens }>('POST', '/auth/refresh', { refresh_token: s.refresh_token });
        this.signedIn(s.user, r.tokens);
        return this.session as Session;
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) this.end('Your session has ended. Please log in again.');
        throw e;
      }
    };
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    const p: Promise<Session> = locks?.request ? (locks.request('ocomms-refresh', run) as unknown as Promise<Session>) : run();
    const shared = p.finally(() => {
      this.refreshing = null;
    });
    this.refreshing = shared;
    return shared;
  }
}
