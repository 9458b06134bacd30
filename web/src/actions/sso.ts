// Single sign-on: the providers the sign-in page offers, leaving for the provider, the failure
// it came back with, and signing out at the provider after our own logout.

import { request } from '../api';
import { client } from '../client';
import { endsAtProvider, OIDC_LOGOUT_URL, parseSsoError, ssoProvider, type Providers } from '../sso';
import { state, update } from '../store';
import type { AuthSessionInfo } from '../types';

/** Asks the server how one may sign in (once per page; a failure leaves only the password form). */
export async function loadProviders() {
  if (state.providers) return;
  try {
    const p = await request<Providers>('GET', '/auth/providers');
    update((s) => {
      s.providers = p;
    });
  } catch {
    // An older server or no answer: the password form and the mailed links still work.
  }
}

/** Page load: a failed single sign-on came back as `/#sso_error=`; say why, and clean the address. */
export function takeSsoError() {
  const reason = parseSsoError(location.hash);
  if (reason === null) return;
  history.replaceState(history.state, '', location.pathname + location.search);
  update((s) => {
    s.ssoError = reason;
  });
}

/**
 * An invite that was open when the user left for the provider: the provider sends the browser
 * back to `/`, so the page goes on to the invite (this tab only: sessionStorage).
 */
const SSO_INVITE_KEY = 'ocomms.ssoInvite';

/** Off to the provider: the server redirects there and back to `/`, signed in or with a reason. */
export function startSso() {
  const p = ssoProvider(state.providers);
  if (!p) return;
  update((s) => {
    s.ssoError = '';
  });
  try {
    if (state.route.kind === 'invite') sessionStorage.setItem(SSO_INVITE_KEY, state.route.code);
    else sessionStorage.removeItem(SSO_INVITE_KEY);
  } catch {
    // Storage off: the invite link can be opened again.
  }
  window.location.href = p.start_url;
}

/** Page load at `/` back from the provider: the invite path the sign-in started on, if any. */
export function takeSsoInvitePath(): string | null {
  try {
    const code = sessionStorage.getItem(SSO_INVITE_KEY);
    sessionStorage.removeItem(SSO_INVITE_KEY);
    return code && location.pathname === '/' ? `/invite/${encodeURIComponent(code)}` : null;
  } catch {
    return null;
  }
}

/** Before logging out: whether this session began at the provider (then we sign out there too). */
export async function beganAtProvider(): Promise<boolean> {
  if (!ssoProvider(state.providers) || !client.session) return false;
  try {
    const r = await client.call<{ sessions: AuthSessionInfo[] }>('GET', '/auth/sessions');
    return endsAtProvider(state.providers, r.sessions);
  } catch {
    return false;
  }
}

/** After our own logout: the provider's sign-out page, which comes back to `/`. */
export function signOutAtProvider() {
  window.location.href = OIDC_LOGOUT_URL;
}
