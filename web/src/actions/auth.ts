// Signing up and in, this browser's session on a page load, and the mailed links (verify an
// address, reset a password, sign in by link).

import { request } from '../api';
import { authErrorText, type AuthLink } from '../auth';
import { client } from '../client';
import { state, update } from '../store';
import type { Tokens, User } from '../types';
import { enterApp, routeFromPath } from './workspace';

interface SignedIn {
  user: User;
  tokens: Tokens;
}

/**
 * An invite that was open when the sign-up mailed its link: the link opens another tab, which
 * goes on to the invite once signed in.
 */
const INVITE_KEY = 'ocomms.pendingInvite';

function rememberInvite() {
  try {
    if (state.route.kind === 'invite') localStorage.setItem(INVITE_KEY, state.route.code);
  } catch {
    // Storage off: the invite link can be opened again.
  }
}

function takeInvite(): string {
  try {
    const code = localStorage.getItem(INVITE_KEY) ?? '';
    localStorage.removeItem(INVITE_KEY);
    return code;
  } catch {
    return '';
  }
}

async function signIn(r: SignedIn) {
  client.signedIn(r.user, r.tokens);
  await enterApp();
}

/** 'check_email' when the install verifies addresses first: the mailed link creates the account. */
export async function signup(display_name: string, email: string, password: string): Promise<'signed_in' | 'check_email'> {
  const r = await request<SignedIn | { status: 'check_email' }>('POST', '/auth/signup', { email, password, display_name });
  if (!('tokens' in r)) {
    rememberInvite();
    return 'check_email';
  }
  await signIn(r);
  return 'signed_in';
}

export async function login(email: string, password: string) {
  await signIn(await request<SignedIn>('POST', '/auth/login', { email, password }));
}

/** Mails a link: to choose a new password, or to sign in (in this browser only). */
export async function askForLink(purpose: 'reset' | 'magic', email: string) {
  await request('POST', purpose === 'reset' ? '/auth/password-reset' : '/auth/magic-link', { email });
}

/** Page load: the session this browser has (its refresh cookie), or the sign-in screen. */
export async function restoreSession() {
  update((s) => {
    s.restoring = true;
  });
  let restored = false;
  try {
    restored = await client.restore();
  } catch (e) {
    update((s) => {
      s.authMessage = authErrorText(e);
    });
  }
  update((s) => {
    s.restoring = false;
  });
  if (restored) await enterApp();
}

const INCOMPLETE = 'This link is incomplete. Open it from the mail again, or ask for a new one.';

/** The page was opened from a mailed link: its token leaves the address bar at once. */
export function openLink(link: AuthLink) {
  history.replaceState(null, '', location.pathname);
  update((s) => {
    s.link = { ...link, busy: false, error: link.token ? '' : INCOMPLETE };
  });
  if (link.token && link.kind !== 'reset-password') void followLink();
}

/** Spends the link's token (a reset link with the new password) and signs in. */
export async function followLink(password = '') {
  const l = state.link;
  if (!l || l.busy || !l.token) return;
  update(() => {
    l.busy = true;
    l.error = '';
  });
  try {
    const token = l.token;
    const r =
      l.kind === 'verify-email'
        ? await request<SignedIn>('POST', '/auth/verify-email', { token })
        : l.kind === 'magic-link'
          ? await request<SignedIn>('POST', '/auth/magic-link/redeem', { token })
          : await request<SignedIn>('POST', '/auth/password-reset/confirm', { token, password });
    const invite = takeInvite();
    closeLink(invite ? `/invite/${encodeURIComponent(invite)}` : '/');
    await signIn(r);
  } catch (e) {
    update(() => {
      l.busy = false;
      l.error = authErrorText(e);
    });
  }
}

function closeLink(path = '/') {
  history.replaceState(null, '', path);
  update((s) => {
    s.link = null;
    s.route = routeFromPath(path);
  });
}

/** Leaves a link that did not work for the sign-in screen (or the session this browser has). */
export function backToSignIn() {
  closeLink();
  void restoreSession();
}
