// The devices signed in to the account (its sessions), each with where and when it was last
// seen; any other may be signed out, or all of them at once. Signing out this device is
// logging out.

import { useCallback, useEffect, useState } from 'react';
import { endOtherSessions, endSession, listSessions } from '../actions/account';
import { deviceLabel } from '../device';
import { timeAgo } from '../format';
import type { AuthSessionInfo } from '../types';
import { FormFeedback } from './Common';

const HOW: Record<AuthSessionInfo['method'], string> = {
  password: 'signed in with a password',
  signup: 'signed up',
  magic_link: 'signed in with an emailed link',
  password_reset: 'signed in with a new password',
  oidc: 'signed in with single sign-on',
};

export function Sessions() {
  const [sessions, setSessions] = useState<AuthSessionInfo[] | null>(null);
  const [error, setError] = useState('');
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setSessions(await listSessions());
    } catch (err) {
      setError((err as Error).message);
    }
  }, []);
  useEffect(() => void load(), [load]);

  async function act(run: () => Promise<string>) {
    setBusy(true);
    setError('');
    setStatus('');
    try {
      setStatus(await run());
      await load();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  // This device's own: logging out, which closes the dialog.
  const signOut = (s: AuthSessionInfo) =>
    s.current
      ? endSession(s)
      : act(async () => {
          await endSession(s);
          return `Signed out ${deviceLabel(s.user_agent)}.`;
        });
  const signOutOthers = () =>
    act(async () => {
      const n = await endOtherSessions();
      return `Signed out ${n} other ${n === 1 ? 'session' : 'sessions'}.`;
    });

  const others = sessions?.filter((s) => !s.current).length ?? 0;
  return (
    <section className="stack small sessions" aria-labelledby="sessions-heading">
      <h3 id="sessions-heading">Sessions</h3>
      {sessions === null ? (
        !error && <p className="muted small">Loading…</p>
      ) : (
        <ul className="session-list" aria-label="Signed-in devices">
          {sessions.map((s) => {
            const device = deviceLabel(s.user_agent);
            return (
              <li key={s.id} className="session" data-current={s.current || undefined}>
                <div className="session-main">
                  <span className="session-device" title={s.user_agent}>
                    {device}
                  </span>
                  {s.current && <span className="session-here">This device</span>}
                  <span className="muted small">
                    {s.address || 'unknown address'} · last active {timeAgo(s.last_seen_at_ms)} · {HOW[s.method]}{' '}
                    {timeAgo(s.created_at_ms)}
                  </span>
                </div>
                <button
                  type="button"
                  className="small"
                  disabled={busy}
                  aria-label={s.current ? `Sign out of this device (${device})` : `Sign out ${device}, ${s.address}`}
                  onClick={() => void signOut(s)}
                >
                  Sign out
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {others > 0 && (
        <div className="row">
          <button type="button" disabled={busy} onClick={() => void signOutOthers()}>
            Sign out of all other sessions
          </button>
        </div>
      )}
      <FormFeedback error={error} status={status} />
    </section>
  );
}
