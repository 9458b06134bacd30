import { useEffect, useState } from 'react';
import { acceptInvite, navigate, selectWorkspace } from '../actions/workspace';
import { client } from '../client';
import { useStore } from '../store';

interface Preview {
  workspace_id: string;
  workspace_name: string;
  role: string;
  valid: boolean;
  already_member: boolean;
}

/** /invite/{code} while signed in: which workspace it is, and accept (or not). */
export function InviteLanding({ code }: { code: string }) {
  const s = useStore();
  const [preview, setPreview] = useState<Preview | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    client
      .call<{ invite: Preview }>('GET', `/invites/${encodeURIComponent(code)}`)
      .then((r) => live && setPreview(r.invite))
      .catch((e: { status?: number }) => {
        // A server without previews still lets the invite be accepted.
        if (live && e.status === 404) setError('This invite link is not valid.');
      });
    return () => {
      live = false;
    };
  }, [code]);

  async function accept() {
    setBusy(true);
    setError('');
    const err = await acceptInvite(code);
    setBusy(false);
    if (err) setError(err);
  }

  const name = preview?.workspace_name;
  return (
    <section className="empty invite-landing" aria-labelledby="invite-landing-title">
      <h1 id="invite-landing-title">{name ? `Join ${name}` : 'You have been invited to a workspace'}</h1>
      {preview?.already_member ? (
        <>
          <p>You are already a member of {name}.</p>
          <button
            type="button"
            className="primary"
            onClick={() => {
              navigate('/');
              selectWorkspace(preview.workspace_id);
            }}
          >
            Open {name}
          </button>
        </>
      ) : preview && !preview.valid ? (
        <p>This invite has expired, been used up or been revoked. Ask for a new link.</p>
      ) : (
        <>
          <p>
            Join {name ? <strong>{name}</strong> : 'it'} as <strong>{s.me?.display_name}</strong>
            {preview && preview.role !== 'member' ? ` (${preview.role})` : ''}?
          </p>
          <div className="row">
            <button type="button" className="primary" onClick={() => void accept()} disabled={busy}>
              Accept invite
            </button>
            <button type="button" className="ghost" onClick={() => navigate('/')}>
              Not now
            </button>
          </div>
        </>
      )}
      <p className="form-error" role="alert">
        {error}
      </p>
    </section>
  );
}
