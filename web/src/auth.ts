// The pure part of signing in: the mailed links the app is opened from, and how a refusal
// of the auth routes reads.

import { ApiError } from './api';

/** The mailed links: `{origin}/{kind}#token=TOKEN`. */
export type LinkKind = 'verify-email' | 'reset-password' | 'magic-link';

const KINDS: readonly LinkKind[] = ['verify-email', 'reset-password', 'magic-link'];

export interface AuthLink {
  kind: LinkKind;
  /** Empty when the fragment has none (the link was cut short, or the page reloaded). */
  token: string;
}

/** The link the page was opened from, if its path is one of the mailed links. */
export function parseLink(pathname: string, hash: string): AuthLink | null {
  const kind = KINDS.find((k) => pathname.replace(/\/+$/, '') === `/${k}`);
  if (!kind) return null;
  const token = new URLSearchParams(hash.replace(/^#/, '')).get('token') ?? '';
  return { kind, token: token.trim() };
}

/** What to say when an auth call fails: a rate limit says how long to wait. */
export function authErrorText(err: unknown): string {
  if (err instanceof ApiError && err.status === 429) {
    const n = err.retryAfter;
    if (n === null) return 'Too many attempts; try again later.';
    return `Too many attempts; try again in ${n} ${n === 1 ? 'second' : 'seconds'}.`;
  }
  return err instanceof Error ? err.message : String(err);
}
