// The pure part of single sign-on: what the sign-in page learns from `GET /auth/providers`,
// the failure the server sends back in the fragment (`/#sso_error=reason`), and whether a
// logout goes on to the provider.

import type { AuthSessionInfo } from './types';

/** `GET /auth/providers`: how one may sign in here. */
export interface Providers {
  password: boolean;
  magic_link: boolean;
  email_verification: boolean;
  oidc: { name: string; start_url: string } | null;
}

/** Where the SSO sign-out goes after our own logout: the provider's end-session page. */
export const OIDC_LOGOUT_URL = '/api/v1/auth/oidc/logout';

/** The provider's sign-in, if one is configured and its start URL is on our origin. */
export function ssoProvider(p: Providers | null): { name: string; start_url: string } | null {
  const o = p?.oidc;
  if (!o || typeof o.start_url !== 'string' || typeof o.name !== 'string') return null;
  // A same-origin path only: the button must never send the browser anywhere else.
  if (!o.start_url.startsWith('/') || o.start_url.startsWith('//') || o.start_url.includes('\\')) return null;
  return { name: o.name.trim() || 'single sign-on', start_url: o.start_url };
}

/** The failure reason in a fragment such as `#sso_error=the%20provider%20refused`, or null. */
export function parseSsoError(hash: string): string | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  if (!params.has('sso_error')) return null;
  const reason = (params.get('sso_error') ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return reason ? `Single sign-on failed: ${reason}.`.replace(/\.\.$/, '.') : 'Single sign-on failed.';
}

/** Whether logging out should go on to sign out at the provider: the session began there. */
export function endsAtProvider(p: Providers | null, sessions: readonly Pick<AuthSessionInfo, 'current' | 'method'>[]): boolean {
  if (!ssoProvider(p)) return false;
  return sessions.some((s) => s.current && s.method === 'oidc');
}
