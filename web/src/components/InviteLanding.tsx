import { useState } from 'react';
import { acceptInvite, navigate } from '../actions/workspace';
import { useStore } from '../store';

/** /invite/{code} while signed in: accept as the current account, or not. */
export function InviteLanding({ code }: { code: string }) {
  const s = useStore();
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  async function accept() {
    setBusy(true);
    setError('');
    const err = await acceptInvite(code);
    setBusy(false);
    if (err) setError(err);
  }
  return (
    <section className="empty invite-landing" aria-labelledby="invite-landing-title">
      <h1 id="invite-landing-title">You have been invited to a workspace</h1>
      <p>
        Join it as <strong>{s.me?.display_name}</strong>?
      </p>
      <p className="form-error" role="alert">
        {error}
      </p>
      <div className="row">
        <button type="button" className="primary" onClick={() => void accept()} disabled={busy}>
          Accept invite
        </button>
        <button type="button" className="ghost" onClick={() => navigate('/')}>
          Not now
        </button>
      </div>
    </section>
  );
}
