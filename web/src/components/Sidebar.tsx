// Workspaces, channels and DMs with unread and mention badges, and the forms that make new
// ones. Badges are live: the counts change with every event (store.unreads).

import { useState, type FormEvent } from 'react';
import {
  createChannel,
  createInvite,
  joinChannel,
  openDm,
  selectChannel,
  selectWorkspace,
  sidebarOrder,
} from '../actions/workspace';
import { channelLabel, useStore, type State } from '../store';
import type { Channel } from '../types';
import { NewWorkspaceForm } from './Welcome';
import { openAdmin } from '../actions/admin';
import { PresenceDot } from './PresenceDot';
import { Avatar } from './Avatar';
import { BellOff, FormFeedback, PersonSelect } from './Common';

function wsUnread(s: State, wsId: string) {
  let n = 0;
  for (const [id, u] of s.unreads) {
    const ch = s.channels.get(id);
    if (ch?.workspace_id === wsId && ch.is_member) n += u.unread;
  }
  return n;
}

function ChannelButton({ ch }: { ch: Channel }) {
  const s = useStore();
  // While the search results fill the main area, no channel is current.
  const current = ch.id === s.viewId && !s.search?.open;
  const u = s.unreads.get(ch.id);
  const unread = current ? 0 : (u?.unread ?? 0);
  const mentions = current ? 0 : (u?.mentions ?? 0);
  const label = channelLabel(ch);
  const other = ch.kind === 'dm' ? ch.member_ids?.find((id) => id !== s.me?.id) : undefined;
  const muted = s.notifyPrefs.levels.get(ch.id) === 'nothing';
  const described = [
    muted ? 'muted' : '',
    unread ? `${unread} unread` : '',
    mentions ? `${mentions} mention${mentions > 1 ? 's' : ''}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return (
    <li>
      <button
        type="button"
        className={`nav-item${current ? ' current' : ''}${unread || mentions ? ' unread' : ''}${muted ? ' muted-channel' : ''}`}
        aria-current={current ? 'page' : undefined}
        aria-label={`${ch.kind === 'dm' ? 'Direct message with ' : ''}${label}${described ? `, ${described}` : ''}`}
        data-channel={ch.kind === 'dm' ? undefined : ch.name}
        onClick={() => selectChannel(ch.id)}
      >
        <span className="nav-icon" aria-hidden="true">
          {ch.kind === 'dm' ? <PresenceDot userId={other ?? s.me?.id ?? ''} /> : ch.kind === 'private' ? '🔒' : '#'}
        </span>
        {other && <Avatar userId={other} size="small" imageOnly />}
        <span className="nav-label">{label}</span>
        {muted && (
          <span className="muted-icon" data-testid="muted-icon" aria-hidden="true" title="Muted: no notifications">
            <BellOff />
          </span>
        )}
        {mentions > 0 && (
          <span className="badge mention-badge" data-testid="mention-badge" aria-hidden="true">
            @{mentions > 99 ? '99+' : mentions}
          </span>
        )}
        {unread > 0 && (
          <span className="badge" data-testid="unread-badge" aria-hidden="true">
            {unread > 99 ? '99+' : unread}
          </span>
        )}
      </button>
    </li>
  );
}

function NewChannelForm({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState('');
  const [priv, setPriv] = useState(false);
  const [error, setError] = useState('');
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) return setError('Please enter a name.');
    setError('');
    try {
      await createChannel(name.trim(), priv);
      setName('');
      setPriv(false);
      onDone();
    } catch (err) {
      setError((err as Error).message);
    }
  }
  return (
    <form className="stack small" onSubmit={submit} noValidate>
      <label htmlFor="new-ch-name">Channel name</label>
      <input
        id="new-ch-name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        maxLength={80}
        aria-describedby="new-ch-hint"
      />
      <span id="new-ch-hint" className="hint">
        Lower-case letters, digits, - and _
      </span>
      <label className="check">
        <input type="checkbox" checked={priv} onChange={(e) => setPriv(e.target.checked)} /> Private (invite only)
      </label>
      <FormFeedback error={error} />
      <button type="submit">Create channel</button>
    </form>
  );
}

function NewDmForm({ onDone }: { onDone: () => void }) {
  const s = useStore();
  const members = (s.wsId ? s.members.get(s.wsId) : undefined)?.filter((m) => m.user_id !== s.me?.id && !m.deactivated) ?? [];
  const [who, setWho] = useState('');
  const [error, setError] = useState('');
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!who) return setError('Pick someone.');
    try {
      await openDm([who]);
      onDone();
    } catch (err) {
      setError((err as Error).message);
    }
  }
  if (!members.length) return <p className="muted small">Nobody else is in this workspace yet.</p>;
  return (
    <form className="stack small" onSubmit={submit} noValidate>
      <label htmlFor="new-dm-user">Message</label>
      <PersonSelect id="new-dm-user" people={members} value={who} onChange={setWho} />
      <FormFeedback error={error} />
      <button type="submit">Open conversation</button>
    </form>
  );
}

export function Sidebar() {
  const s = useStore();
  const ws = s.workspaces.find((w) => w.id === s.wsId);
  const [open, setOpen] = useState<'' | 'ws' | 'ch' | 'dm'>('');
  const toggle = (k: typeof open) => setOpen(open === k ? '' : k);
  const ordered = sidebarOrder();
  const channels = ordered.filter((c) => c.kind !== 'dm');
  const dms = ordered.filter((c) => c.kind === 'dm');
  const browse = [...s.channels.values()]
    .filter((c) => c.workspace_id === s.wsId && !c.is_member && c.kind === 'public' && !c.archived)
    .sort((a, b) => a.name.localeCompare(b.name));
  const canInvite = ws?.role === 'owner' || ws?.role === 'admin';

  return (
    <nav id="sidebar" className="sidebar" aria-label="Workspaces and channels">
      <section aria-labelledby="ws-heading">
        <h2 id="ws-heading">Workspace</h2>
        {s.workspaces.length > 0 && (
          <>
            <label htmlFor="ws-select" className="sr-only">
              Switch workspace
            </label>
            <select id="ws-select" value={s.wsId ?? ''} onChange={(e) => selectWorkspace(e.target.value)}>
              {s.workspaces.map((w) => {
                const n = w.id === s.wsId ? 0 : wsUnread(s, w.id);
                return (
                  <option key={w.id} value={w.id}>
                    {w.name}
                    {n ? ` (${n} unread)` : ''}
                  </option>
                );
              })}
            </select>
          </>
        )}
        {ws && (
          <button
            id="admin-btn"
            type="button"
            className="disclosure"
            aria-current={s.admin ? 'page' : undefined}
            onClick={() => openAdmin()}
          >
            Members and settings
          </button>
        )}
        <button type="button" className="disclosure" aria-expanded={open === 'ws'} onClick={() => toggle('ws')}>
          New workspace
        </button>
        {open === 'ws' && <NewWorkspaceForm idPrefix="side" onDone={() => setOpen('')} />}
      </section>

      {ws && (
        <>
          <section aria-labelledby="ch-heading">
            <h2 id="ch-heading">Channels</h2>
            <ul className="nav-list">
              {channels.map((c) => (
                <ChannelButton key={c.id} ch={c} />
              ))}
            </ul>
            {ws.role !== 'guest' && (
              <>
                <button type="button" className="disclosure" aria-expanded={open === 'ch'} onClick={() => toggle('ch')}>
                  New channel
                </button>
                {open === 'ch' && <NewChannelForm onDone={() => setOpen('')} />}
              </>
            )}
            {canInvite && (
              <button id="invite-btn" type="button" className="disclosure" onClick={() => void createInvite()}>
                Invite people
              </button>
            )}
          </section>

          <section aria-labelledby="dm-heading">
            <h2 id="dm-heading">Direct messages</h2>
            <ul className="nav-list">
              {dms.map((c) => (
                <ChannelButton key={c.id} ch={c} />
              ))}
            </ul>
            <button type="button" className="disclosure" aria-expanded={open === 'dm'} onClick={() => toggle('dm')}>
              New direct message
            </button>
            {open === 'dm' && <NewDmForm onDone={() => setOpen('')} />}
          </section>

          {browse.length > 0 && (
            <section aria-labelledby="browse-heading">
              <h2 id="browse-heading">Browse channels</h2>
              <ul className="nav-list browse">
                {browse.map((c) => (
                  <li key={c.id} className="browse-item">
                    <span className="nav-label"># {c.name}</span>
                    <button type="button" className="small" aria-label={`Join #${c.name}`} onClick={() => void joinChannel(c.id)}>
                      Join
                    </button>
                  </li>
                ))}
              </ul>
            </section>
          )}
        </>
      )}
    </nav>
  );
}
