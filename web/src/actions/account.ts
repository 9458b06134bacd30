// The account's own sessions (devices signed in), and the install's mail outbox for the
// install's admins.

import { client } from '../client';
import { update } from '../store';
import type { AuthSessionInfo, OutboxMail } from '../types';
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

export const OUTBOX_PAGE = 50;

/** A page of the outbox, newest first; `before` the last id of the previous page. */
export async function loadOutbox(before?: number): Promise<OutboxMail[]> {
  const q = before === undefined ? '' : `?before=${before}`;
  return (await client.call<{ mails: OutboxMail[] }>('GET', `/admin/outbox${q}`)).mails;
}

/** Whether we are one of the install's admins: only they may read the outbox. */
export async function checkInstallAdmin() {
  let admin = false;
  try {
    await loadOutbox();
    admin = true;
  } catch {
    // 403 for everyone else.
  }
  update((s) => {
    s.installAdmin = admin;
  });
}

export function openOutbox(open = true) {
  update((s) => {
    s.outboxOpen = open;
    if (open) s.profileOpen = false;
  });
}
