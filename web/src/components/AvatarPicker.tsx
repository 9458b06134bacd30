// The profile's picture: the current one (or the initial), a file picker that uploads a PNG,
// JPEG or WebP at once (with progress), and "Remove picture". The server's refusal (not a
// real picture, too large) is shown as it says it.

import { useEffect, useRef, useState, type ChangeEvent } from 'react';
import { removeAvatar, uploadAvatar } from '../actions/avatar';
import { AVATAR_ACCEPT, avatarFileProblem, avatarSrc } from '../avatar';
import { useStore } from '../store';
import { Avatar } from './Avatar';
import { FormFeedback } from './Common';

type Busy = { kind: 'idle' } | { kind: 'uploading'; progress: number } | { kind: 'removing' };

export function AvatarPicker() {
  const s = useStore();
  const me = s.me;
  const [busy, setBusy] = useState<Busy>({ kind: 'idle' });
  const [error, setError] = useState('');
  const [status, setStatus] = useState('');
  const input = useRef<HTMLInputElement>(null);
  // The input is disabled while busy and "Remove picture" goes away once used: the focus comes
  // back to the input (in the dialog, where Escape still closes it).
  const [refocus, setRefocus] = useState(false);
  useEffect(() => {
    if (refocus && busy.kind === 'idle') {
      input.current?.focus();
      setRefocus(false);
    }
  }, [refocus, busy.kind]);
  if (!me) return null;
  const has = avatarSrc(me.avatar_url) !== null;

  async function picked(e: ChangeEvent<HTMLInputElement>) {
    const file = e.target.files?.[0];
    // The same file may be picked again after a refusal.
    e.target.value = '';
    if (!file) return;
    setError('');
    setStatus('');
    const problem = avatarFileProblem(file);
    if (problem) return setError(problem);
    setBusy({ kind: 'uploading', progress: 0 });
    try {
      await uploadAvatar(file, (progress) => setBusy({ kind: 'uploading', progress }));
      setStatus('Your picture is updated.');
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy({ kind: 'idle' });
      setRefocus(true);
    }
  }

  async function remove() {
    setError('');
    setStatus('');
    setBusy({ kind: 'removing' });
    try {
      await removeAvatar();
      setStatus('Your picture is removed.');
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy({ kind: 'idle' });
      setRefocus(true);
    }
  }

  return (
    <section className="avatar-picker" aria-labelledby="avatar-heading" data-testid="avatar-picker">
      {has ? (
        <img className="avatar avatar-large avatar-img" src={avatarSrc(me.avatar_url) ?? undefined} alt="Your profile picture" data-testid="avatar-preview" />
      ) : (
        <Avatar userId={me.id} size="large" />
      )}
      <div className="stack">
        <h3 id="avatar-heading">Picture</h3>
        <label htmlFor="profile-avatar-file" className="small">
          {has ? 'Change picture' : 'Upload a picture'} <span className="hint">(PNG, JPEG or WebP, up to 10 MB)</span>
        </label>
        <input
          id="profile-avatar-file"
          ref={input}
          type="file"
          accept={AVATAR_ACCEPT}
          disabled={busy.kind !== 'idle'}
          onChange={(e) => void picked(e)}
        />
        {busy.kind === 'uploading' && (
          <progress max={1} value={busy.progress} aria-label="Uploading the picture" />
        )}
        <p className="small" role="status" data-testid="avatar-status">
          {busy.kind === 'uploading' ? `Uploading… ${Math.round(busy.progress * 100)}%` : busy.kind === 'removing' ? 'Removing…' : status}
        </p>
        <FormFeedback error={error} />
        {has && (
          <div className="row">
            <button type="button" className="small" disabled={busy.kind !== 'idle'} onClick={() => void remove()}>
              Remove picture
            </button>
          </div>
        )}
      </div>
    </section>
  );
}
