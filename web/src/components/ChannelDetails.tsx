// A channel's details beside it: name, topic and purpose (editable by those allowed),
// archive/unarchive, and its members, with adding and removing people. What the user may
// not do is not offered; the server still decides, and its refusal is shown.

import { useEffect, useState, type FormEvent } from 'react';
import { addChannelMembers, closeSide, removeChannelMember, rightsFor, setArchived, updateChannel } from '../actions/channel';
import { setChannelLevel } from '../actions/notifications';
import { channelLabel, useStore } from '../store';
import type { Channel, NotifyLevel } from '../types';
import { PresenceDot } from './PresenceDot';
import { Avatar } from './Avatar';
import { FormFeedback, PersonSelect } from './Common';

function AboutForm({ ch }: { ch: Channel }) {
  const rights = rightsFor(ch);
  const [name, setName] = useState(ch.name);
  const [topic, setTopic] = useState(ch.topic);
  const [purpose, setPurpose] = useState(ch.purpose ?? '');
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  // A change made elsewhere (another person, another tab) replaces the fields.
  useEffect(() => setName(ch.name), [ch.name]);
  useEffect(() => setTopic(ch.topic), [ch.topic]);
  useEffect(() => setPurpose(ch.purpose ?? ''), [ch.purpose]);
  if (!rights.editTopic && !rights.rename) {
    return (
      <dl className="about">
        <dt>Topic</dt>
        <dd>{ch.topic || <span className="muted">No topic</span>}</dd>
        <dt>Purpose</dt>
        <dd>{ch.purpose || <span className="muted">No purpose</span>}</dd>
      </dl>
    );
  }
  async function submit(e: FormEvent) {
    e.preventDefault();
    const patch: { name?: string; topic?: string; purpose?: string } = {};
    if (rights.rename && name.trim() !== ch.name) patch.name = name.trim();
    if (rights.editTopic && topic !== ch.topic) patch.topic = topic;
    if (rights.editTopic && purpose !== (ch.purpose ?? '')) patch.purpose = purpose;
    if (!Object.keys(patch).length) return setStatus('Nothing to save.');
    setBusy(true);
    setError('');
    setStatus('');
    try {
      await updateChannel(ch.id, patch);
      setStatus('Saved.');
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="stack small" onSubmit={submit} noValidate aria-label="About this channel">
      {rights.rename && (
        <>
          <label htmlFor="ch-name">Name</label>
          <input id="ch-name" value={name} maxLength={80} onChange={(e) => setName(e.target.value)} />
        </>
      )}
      {rights.editTopic && (
        <>
          <label htmlFor="ch-topic">Topic</label>
          <input id="ch-topic" value={topic} maxLength={250} onChange={(e) => setTopic(e.target.value)} />
          <label htmlFor="ch-purpose">Purpose</label>
          <textarea id="ch-purpose" value={purpose} maxLength={250} rows={2} onChange={(e) => setPurpose(e.target.value)} />
        </>
      )}
      <FormFeedback error={error} status={status} />
      <button type="submit" disabled={busy}>
        Save changes
      </button>
    </form>
  );
}

/** Which messages of this channel notify us; kept on the server for every device. */
function NotificationLevel({ ch }: { ch: Channel }) {
  const s = useStore();
  const level = s.notifyPrefs.levels.get(ch.id) ?? 'default';
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  async function choose(next: NotifyLevel) {
    setError('');
    setBusy(true);
    try {
      await setChannelLevel(ch.id, next);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section aria-labelledby="ch-notify-heading">
      <h3 id="ch-notify-heading">Notifications</h3>
      <label htmlFor="ch-notify" className="small">
        Notify me about
      </label>
      <select id="ch-notify" value={level} disabled={busy} onChange={(e) => void choose(e.target.value as NotifyLevel)}>
        <option value="default">{ch.kind === 'dm' ? 'Default: every message' : 'Default: mentions and followed threads'}</option>
        <option value="all">Every message</option>
        <option value="mentions">Mentions and followed threads</option>
        <option value="nothing">Nothing (mute)</option>
      </select>
      {s.notifyPermission !== 'granted' && (
        <p className="muted small">
          {s.notifyPermission === 'denied'
            ? 'Your browser blocks notifications from OComms; allow them in its site settings.'
            : 'Browser notifications are off: turn them on in your profile.'}
        </p>
      )}
      <FormFeedback error={error} />
    </section>
  );
}

function Members({ ch }: { ch: Channel }) {
  const s = useStore();
  const v = s.channelMembers.get(ch.id);
  const rights = rightsFor(ch);
  const [who, setWho] = useState('');
  const [error, setError] = useState('');
  const inChannel = new Set(v?.members.map((m) => m.user_id));
  const candidates = ((s.wsId && s.members.get(s.wsId)) || []).filter((m) => !inChannel.has(m.user_id) && !m.deactivated);
  async function add(e: FormEvent) {
    e.preventDefault();
    if (!who) return setError('Pick someone.');
    setError('');
    try {
      await addChannelMembers(ch.id, [who]);
      setWho('');
    } catch (err) {
      setError((err as Error).message);
    }
  }
  return (
    <section aria-labelledby="ch-members-heading">
      <h3 id="ch-members-heading">Members{v?.loaded === 'ready' ? ` (${v.members.length})` : ''}</h3>
      {v?.loaded === 'loading' && <p className="muted">Loading…</p>}
      {v?.loaded === 'error' && <p className="form-error">Could not load the members: {v.error}</p>}
      <ul className="member-list" aria-label="Channel members">
        {v?.members.map((m) => (
          <li key={m.user_id} data-user={m.display_name}>
            <Avatar userId={m.user_id} size="small" />
            <PresenceDot userId={m.user_id} />
            <span className="nav-label">
              {m.display_name}
              {m.user_id === s.me?.id ? ' (you)' : ''}
            </span>
            {m.role && m.role !== 'member' && <span className="muted small">{m.role}</span>}
            {rights.removeMembers && m.user_id !== s.me?.id && (
              <button
                type="button"
                className="small"
                aria-label={`Remove ${m.display_name} from #${ch.name}`}
                onClick={() => {
                  if (confirm(`Remove ${m.display_name} from #${ch.name}?`)) void removeChannelMember(ch.id, m.user_id);
                }}
              >
                Remove
              </button>
            )}
          </li>
        ))}
      </ul>
      {rights.addMembers && v?.loaded === 'ready' && (
        <form className="stack small" onSubmit={add} noValidate>
          <label htmlFor="ch-add-user">Add people</label>
          {candidates.length ? (
            <PersonSelect id="ch-add-user" people={candidates} value={who} onChange={setWho} />
          ) : (
            <p className="muted small">Everyone in the workspace is here.</p>
          )}
          <FormFeedback error={error} />
          {candidates.length > 0 && <button type="submit">Add to channel</button>}
        </form>
      )}
    </section>
  );
}

export function ChannelDetails({ channelId }: { channelId: string }) {
  const s = useStore();
  const ch = s.channels.get(channelId);
  const [error, setError] = useState('');
  if (!ch) return null;
  const rights = rightsFor(ch);
  const close = () => {
    closeSide();
    document.getElementById('details-btn')?.focus();
  };
  async function archive(on: boolean) {
    const ask = `Archive #${ch?.name}? Nobody will be able to post in it until it is unarchived; everyone can still read it.`;
    if (on && !window.confirm(ask)) return;
    setError('');
    try {
      await setArchived(channelId, on);
    } catch (err) {
      setError((err as Error).message);
    }
  }
  return (
    <aside className="thread side" aria-labelledby="details-title" data-testid="details-panel">
      <header className="ch-header">
        <h2 id="details-title">Details</h2>
        <span className="muted small">
          {ch.kind === 'dm' ? channelLabel(ch) : `${ch.kind === 'private' ? '🔒 ' : '#'}${ch.name}`}
        </span>
        <span className="spacer" />
        <button type="button" className="ghost small" aria-label="Close details" onClick={close}>
          ✕
        </button>
      </header>
      <div className="scroller pad stack">
        {ch.kind !== 'dm' && <AboutForm key={`${ch.id}${ch.archived}`} ch={ch} />}
        {rights.archive && (
          <section aria-labelledby="ch-archive-heading">
            <h3 id="ch-archive-heading">{ch.archived ? 'Archived' : 'Archive'}</h3>
            <p className="muted small">
              {ch.archived
                ? 'Everyone can still read it; nobody can post until it is unarchived.'
                : 'Archiving keeps the history readable and stops new messages.'}
            </p>
            <button type="button" onClick={() => void archive(!ch.archived)}>
              {ch.archived ? 'Unarchive channel' : 'Archive channel'}
            </button>
            <FormFeedback error={error} />
          </section>
        )}
        {ch.is_member && <NotificationLevel ch={ch} />}
        <Members ch={ch} />
      </div>
    </aside>
  );
}
