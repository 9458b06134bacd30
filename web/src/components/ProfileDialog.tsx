// The user's own profile: display name, status, time zone and avatar URL (PATCH /me). The
// server validates every field; its refusal is shown and nothing changes.

import { useEffect, useRef, useState, type FormEvent } from 'react';
import { openProfile, saveProfile } from '../actions/admin';
import { useStore } from '../store';
import { setAway } from '../realtime';
import { PresenceDot } from './PresenceDot';
import { Modal } from './Common';
import { FormFeedback } from './Common';

/** The browser's own zone, offered when the profile still has the default. */
function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

export function ProfileDialog() {
  const s = useStore();
  const me = s.me;
  const [name, setName] = useState(me?.display_name ?? '');
  const [status, setStatus] = useState(me?.status_text ?? '');
  const [zone, setZone] = useState(me?.time_zone && me.time_zone !== 'UTC' ? me.time_zone : browserZone());
  const [avatar, setAvatar] = useState(me?.avatar_url ?? '');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);
  if (!me) return null;
  const back = () => {
    openProfile(false);
    document.getElementById('profile-btn')?.focus();
  };
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!me) return;
    const patch: Parameters<typeof saveProfile>[0] = {};
    if (name.trim() !== me.display_name) patch.display_name = name.trim();
    if (status !== (me.status_text ?? '')) patch.status_text = status;
    if (zone.trim() !== (me.time_zone ?? 'UTC')) patch.time_zone = zone.trim();
    if (avatar.trim() !== (me.avatar_url ?? '')) patch.avatar_url = avatar.trim();
    if (!Object.keys(patch).length) return back();
    setBusy(true);
    setError('');
    try {
      await saveProfile(patch);
      back();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Modal labelledBy="profile-title" onClose={back}>
      <h2 id="profile-title">Your profile</h2>
      <form className="stack" onSubmit={submit} noValidate>
        <label htmlFor="profile-name">Display name</label>
        <input id="profile-name" ref={first} value={name} maxLength={80} onChange={(e) => setName(e.target.value)} />
        <label htmlFor="profile-status">Status</label>
        <input
          id="profile-status"
          value={status}
          maxLength={100}
          placeholder="In a meeting, on holiday…"
          onChange={(e) => setStatus(e.target.value)}
        />
        <label htmlFor="profile-zone">Time zone</label>
        <input id="profile-zone" value={zone} maxLength={64} placeholder="Europe/Berlin" onChange={(e) => setZone(e.target.value)} />
        <label htmlFor="profile-avatar">Avatar image URL</label>
        <input id="profile-avatar" type="url" value={avatar} placeholder="https://…" onChange={(e) => setAvatar(e.target.value)} />
        <FormFeedback error={error} />
        <div className="row">
          <button type="submit" className="primary" disabled={busy}>
            Save profile
          </button>
          <button type="button" onClick={back}>
            Cancel
          </button>
        </div>
      </form>
      <div className="row away-row">
        <span>
          <PresenceDot userId={me.id} /> {s.awayByChoice ? 'Others see you as away.' : 'Others see you as active.'}
        </span>
        <button type="button" onClick={() => setAway(!s.awayByChoice)}>
          {s.awayByChoice ? 'Set yourself active' : 'Set yourself away'}
        </button>
      </div>
    </Modal>
  );
}
