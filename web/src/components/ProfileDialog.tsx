// The user's own profile: the picture (uploaded at once, AvatarPicker), then display name,
// status and time zone (PATCH /me). The server validates every field; its refusal is shown
// and nothing changes. Below it: away, notifications, the account's sessions and, for the
// install's admins, the mail outbox.

import { useEffect, useRef, useState, type FormEvent } from 'react';
import { openProfile, saveProfile } from '../actions/admin';
import { useStore } from '../store';
import { setAway } from '../realtime';
import { askPermission, isDnd, setDnd } from '../actions/notifications';
import { formatDay, formatTime } from '../format';
import { PresenceDot } from './PresenceDot';
import { openOutbox } from '../actions/account';
import { BellOff, FormFeedback, Modal } from './Common';
import { Sessions } from './Sessions';
import { AvatarPicker } from './AvatarPicker';

/** The browser's own zone, offered when the profile still has the default. */
function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

const PAUSES: [string, number | undefined][] = [
  ['30 minutes', 30],
  ['1 hour', 60],
  ['8 hours', 8 * 60],
  ['Until I resume', undefined],
];

/** Browser permission and do not disturb; both follow the user (the latter via the server). */
function NotificationSettings() {
  const s = useStore();
  const [error, setError] = useState('');
  const dnd = isDnd();
  const until = s.notifyPrefs.dndUntil;
  async function pause(on: boolean, minutes?: number) {
    setError('');
    try {
      await setDnd(on, minutes);
    } catch (err) {
      setError((err as Error).message);
    }
  }
  const permission = {
    granted:
      'Browser notifications are on while OComms is in the background: mentions, direct messages and followed threads, unless a channel is set otherwise.',
    denied: 'Your browser blocks notifications from OComms; allow them in its site settings.',
    default: 'Browser notifications are off.',
    unsupported: 'This browser cannot show notifications.',
  }[s.notifyPermission];
  return (
    <section className="stack small notify-settings" aria-labelledby="notify-heading">
      <h3 id="notify-heading">Notifications</h3>
      <p className="small" data-testid="notify-permission">
        {permission}
      </p>
      {s.notifyPermission === 'default' && (
        <button type="button" onClick={() => void askPermission()}>
          Turn on browser notifications
        </button>
      )}
      {dnd ? (
        <div className="row">
          <span data-testid="dnd-state">
            <BellOff /> Paused{' '}
            {until != null
              ? `until ${formatDay(until) === formatDay(Date.now()) ? '' : `${formatDay(until)} `}${formatTime(until)}`
              : 'until you resume them'}
          </span>
          <button type="button" onClick={() => void pause(false)}>
            Resume notifications
          </button>
        </div>
      ) : (
        <div className="row" role="group" aria-label="Pause notifications">
          <span>Pause notifications:</span>
          {PAUSES.map(([label, minutes]) => (
            <button key={label} type="button" className="small" onClick={() => void pause(true, minutes)}>
              {label}
            </button>
          ))}
        </div>
      )}
      <FormFeedback error={error} />
    </section>
  );
}

export function ProfileDialog() {
  const s = useStore();
  const me = s.me;
  const [name, setName] = useState(me?.display_name ?? '');
  const [status, setStatus] = useState(me?.status_text ?? '');
  const [zone, setZone] = useState(me?.time_zone && me.time_zone !== 'UTC' ? me.time_zone : browserZone());
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
      <AvatarPicker />
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
      <NotificationSettings />
      <Sessions />
      {s.installAdmin && (
        <section className="stack small" aria-labelledby="install-heading">
          <h3 id="install-heading">This install</h3>
          <div className="row">
            <button type="button" onClick={() => openOutbox()}>
              Mail outbox
            </button>
          </div>
        </section>
      )}
    </Modal>
  );
}
