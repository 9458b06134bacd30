// The account's own sessions (devices signed in).

import { client } from '../client';
import type { AuthSessionInfo } from '../types';
import { logout } from './workspace';

export async function listSessions(): Promise<AuthSessionInfo[]> {
  return (await client.call<{ sessions: AuthSessionInfo[] }>('GET', '/auth/sessions')).sessions;
}

/** Ends one session; ending this device's own is logging out. */
export async function endSession(s: AuthSessionInfo) {
  if (s.current) return logout();
  await client.call('DELETE', `/auth/sessions/${encodeURIComponent(s.id)}`);
}

/** Ends every session but this one; says how many ended. */
export async function endOtherSessions(): Promise<number> {
  return (await client.call<{ ended: number }>('DELETE', '/auth/sessions')).ended;
}
