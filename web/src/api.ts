// HTTP client: JSON in and out, `{error:{code,message}}` into ApiError, and the access
// token refreshed once on a 401. The access token lives in this page's memory only; the
// refresh token is an HttpOnly cookie the page never sees (cookie mode: every /auth/ call
// says `X-OComms-Session: cookie`), and refreshes are serialized (refresh.ts).

import { browserLock, singleFlight } from './refresh';
import type { Tokens, User } from './types';

export const API = '/api/v1';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds to wait before trying again (429 Retry-After); null when not said. */
    readonly retryAfter: number | null = null,
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
}

/** Where versions before cookie mode kept the tokens: removed, never read again. */
const OLD_STORE_KEY = 'ocomms.session';

export function forgetStoredTokens() {
  try {
    localStorage.removeItem(OLD_STORE_KEY);
  } catch {
    // Storage disabled: nothing was stored either.
  }
}

const signedOut = () => new ApiError(401, 'unauthenticated', 'You are signed out.');
const ENDED = 'Your session has ended. Please log in again.';

export async function request<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  // The refresh token goes in the cookie, never in the body.
  if (path.startsWith('/auth/')) headers['x-ocomms-session'] = 'cookie';
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
    const retry = Number.parseInt(res.headers.get('retry-after') ?? '', 10);
    throw new ApiError(
      res.status,
      e?.code ?? `http_${res.status}`,
      e?.message ?? `Request failed (${res.status}).`,
      Number.isFinite(retry) ? retry : null,
    );
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

/** The signed-in account and its access token; every authenticated call goes through `call`. */
export class Client {
  session: Session | null = null;
  private endedListeners: Listener[] = [];
  private readonly refresh = singleFlight(() => this.runRefresh(), browserLock());

  onSessionEnded(l: Listener) {
    this.endedListeners.push(l);
  }

  signedIn(user: User, tokens: Tokens) {
    this.session = { user, access_token: tokens.access_token };
  }

  setUser(user: User) {
    if (this.session) this.session = { ...this.session, user };
  }

  /** Forgets the session locally (the server side is ended by logout or already gone). */
  end(reason: string) {
    if (!this.session) return;
    this.session = null;
    for (const l of this.endedListeners) l(reason);
  }

  /**
   * The session this browser already has (its refresh cookie), as on a page load: true when
   * restored, false when there is none; throws when the server cannot say.
   */
  async restore(): Promise<boolean> {
    let access: string;
    try {
      access = await this.refresh();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return false;
      throw e;
    }
    const r = await request<{ user: User }>('GET', '/me', undefined, access);
    this.session = { user: r.user, access_token: access };
    return true;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const s = this.session;
    if (!s) throw signedOut();
    try {
      return await request<T>(method, path, body, s.access_token);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
      const fresh = await this.renewed(s.access_token);
      try {
        return await request<T>(method, path, body, fresh);
      } catch (e2) {
        if (e2 instanceof ApiError && e2.status === 401) this.end(ENDED);
        throw e2;
      }
    }
  }

  /** An access token valid for at least 30 more seconds (for the socket's auth frame). */
  async freshToken(force = false): Promise<string> {
    const s = this.session;
    if (!s) throw signedOut();
    if (!force && tokenExpiry(s.access_token) - Date.now() > 30_000) return s.access_token;
    return this.renewed(s.access_token);
  }

  /** A token other than `failed`: the one a concurrent refresh got already, or a new one. */
  private async renewed(failed: string): Promise<string> {
    const s = this.session;
    if (!s) throw signedOut();
    if (s.access_token !== failed) return s.access_token;
    try {
      return await this.refresh();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) this.end(ENDED);
      throw e;
    }
  }

  private async runRefresh(): Promise<string> {
    const r = await request<{ tokens: Tokens }>('POST', '/auth/refresh', {});
    if (this.session) this.session = { ...this.session, access_token: r.tokens.access_token };
    return r.tokens.access_token;
  }
}
