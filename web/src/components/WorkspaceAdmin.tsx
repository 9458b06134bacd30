// The workspace screen in the main area: its name, description and settings, its members
// with their roles (and, for admins and owners, role changes, deactivation and removal),
// and its invites and integrations. Everyone sees the members; the controls follow
// docs/api.md's rules.

import { useEffect, useState, type FormEvent } from 'react';
import { inviteRoles, isAdmin, memberRights } from '../rights';
import {
  closeAdmin,
  makeInvite,
  removeMember,
  revokeInvite,
  saveWorkspace,
  setDeactivated,
  setRole,
} from '../actions/admin';
import { notify, useStore } from '../store';
import type { Member, Role, WorkspaceInfo } from '../types';
import { Integrations } from './Integrations';
import { PresenceDot } from './PresenceDot';
import { Avatar } from './Avatar';
import { FormFeedback, TableHead } from './Common';

const ROLE_LABEL: Record<Role, string> = { owner: 'Owner', admin: 'Admin', member: 'Member', guest: 'Guest' };

/** Runs a change and shows its refusal as a notice. */
async function attempt(what: string, f: () => Promise<unknown>) {
  try {
    await f();
  } catch (e) {
    notify(`Could not ${what}: ${(e as Error).message}`, true);
  }
}

function About({ info }: { info: WorkspaceInfo }) {
  const admin = isAdmin(info.role);
  const [name, setName] = useState(info.name);
  const [description, setDescription] = useState(info.description);
  const [invite, setInvite] = useState(info.members_can_invite);
  const [create, setCreate] = useState(info.members_can_create_channels);
  const [ssoOnly, setSsoOnly] = useState(info.sso_only);
  const sso = useStore().providers?.oidc ?? null;
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');
  useEffect(() => {
    setName(info.name);
    setDescription(info.description);
    setInvite(info.members_can_invite);
    setCreate(info.members_can_create_channels);
    setSsoOnly(info.sso_only);
  }, [info]);
  if (!admin) {
    return (
      <section aria-labelledby="ws-about">
        <h2 id="ws-about">About</h2>
        <p>{info.description || <span className="muted">No description.</span>}</p>
        <p className="muted small">
          {info.member_count} {info.member_count === 1 ? 'member' : 'members'} · you are {ROLE_LABEL[info.role].toLowerCase()}
        </p>
      </section>
    );
  }
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError('');
    setStatus('');
    const patch: Parameters<typeof saveWorkspace>[1] = {};
    if (name.trim() !== info.name) patch.name = name.trim();
    if (description !== info.description) patch.description = description;
    if (invite !== info.members_can_invite) patch.members_can_invite = invite;
    if (create !== info.members_can_create_channels) patch.members_can_create_channels = create;
    if (ssoOnly !== info.sso_only) patch.sso_only = ssoOnly;
    if (!Object.keys(patch).length) return setStatus('Nothing to save.');
    try {
      await saveWorkspace(info.id, patch);
      setStatus('Saved.');
    } catch (err) {
      setError((err as Error).message);
    }
  }
  return (
    <section aria-labelledby="ws-about">
      <h2 id="ws-about">About</h2>
      <form className="stack small narrow-form" onSubmit={submit} noValidate>
        <label htmlFor="ws-edit-name">Name</label>
        <input id="ws-edit-name" value={name} maxLength={80} onChange={(e) => setName(e.target.value)} />
        <label htmlFor="ws-edit-description">Description</label>
        <textarea id="ws-edit-description" value={description} maxLength={250} rows={2} onChange={(e) => setDescription(e.target.value)} />
        <label className="check">
          <input type="checkbox" checked={invite} onChange={(e) => setInvite(e.target.checked)} /> Members may invite people
        </label>
        <label className="check">
          <input type="checkbox" checked={create} onChange={(e) => setCreate(e.target.checked)} /> Members may create channels
        </label>
        {(sso || info.sso_only) && (
          <label className="check">
            <input type="checkbox" checked={ssoOnly} onChange={(e) => setSsoOnly(e.target.checked)} /> Members sign in
            with {sso ? sso.name : 'single sign-on'} only (ends their other sessions)
          </label>
        )}
        <FormFeedback error={error} status={status} />
        <button type="submit">Save settings</button>
      </form>
    </section>
  );
}

function MemberRow({ wsId, m, myRole }: { wsId: string; m: Member; myRole: Role }) {
  const s = useStore();
  const rights = memberRights(myRole, s.me?.id, m);
  const role = m.role ?? 'member';
  const self = m.user_id === s.me?.id;
  return (
    <tr data-user={m.display_name} className={m.deactivated ? 'deactivated' : undefined}>
      <td className="member-cell">
        <Avatar userId={m.user_id} size="small" />{' '}
        {m.bot ? <span className="app-badge">APP</span> : <PresenceDot userId={m.user_id} />}{' '}
        <span className="member-name">{m.display_name}</span>
        {self && <span className="muted"> (you)</span>}
        {m.status_text && <div className="muted small">{m.status_text}</div>}
      </td>
      <td>
        {rights.roles.length > 1 && !m.deactivated ? (
          <>
            <label className="sr-only" htmlFor={`role-${m.user_id}`}>
              Role of {m.display_name}
            </label>
            <select
              id={`role-${m.user_id}`}
              value={role}
              onChange={(e) => void attempt('change the role', () => setRole(wsId, m.user_id, e.target.value as Role))}
            >
              {(rights.roles.includes(role) ? rights.roles : [role, ...rights.roles]).map((r) => (
                <option key={r} value={r}>
                  {ROLE_LABEL[r]}
                </option>
              ))}
            </select>
          </>
        ) : (
          ROLE_LABEL[role]
        )}
        {m.deactivated && <span className="muted"> · deactivated</span>}
      </td>
      <td className="row-actions">
        {rights.deactivate && (
          <button
            type="button"
            className="small"
            aria-label={`${m.deactivated ? 'Reactivate' : 'Deactivate'} ${m.display_name}`}
            onClick={() => {
              if (m.deactivated || confirm(`Deactivate ${m.display_name}? They are signed out and lose access until reactivated.`))
                void attempt(m.deactivated ? 'reactivate' : 'deactivate', () => setDeactivated(wsId, m.user_id, !m.deactivated));
            }}
          >
            {m.deactivated ? 'Reactivate' : 'Deactivate'}
          </button>
        )}
        {rights.remove && (
          <button
            type="button"
            className="small danger"
            aria-label={`Remove ${m.display_name} from the workspace`}
            onClick={() => {
              if (confirm(`Remove ${m.display_name} from the workspace? This cannot be undone.`))
                void attempt('remove', () => removeMember(wsId, m.user_id));
            }}
          >
            Remove
          </button>
        )}
      </td>
    </tr>
  );
}

const EXPIRY: { label: string; secs?: number }[] = [
  { label: '1 day', secs: 86_400 },
  { label: '7 days', secs: 7 * 86_400 },
  { label: '30 days', secs: 30 * 86_400 },
  { label: 'Never' },
];

function Invites({ info }: { info: WorkspaceInfo }) {
  const s = useStore();
  const roles = inviteRoles(info.role, info.members_can_invite);
  const [role, setRoleChoice] = useState<Role>('member');
  const [uses, setUses] = useState('');
  const [expiry, setExpiry] = useState('7 days');
  const [url, setUrl] = useState('');
  const [error, setError] = useState('');
  const invites = s.admin?.invites;
  if (!roles.length) return null;
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError('');
    const max = uses.trim() ? Number(uses) : undefined;
    if (max != null && (!Number.isInteger(max) || max < 1 || max > 10_000)) return setError('Uses: a whole number from 1 to 10000, or empty for no limit.');
    try {
      setUrl(await makeInvite(info.id, { role, max_uses: max, expires_in_secs: EXPIRY.find((x) => x.label === expiry)?.secs }));
    } catch (err) {
      setError((err as Error).message);
    }
  }
  return (
    <section aria-labelledby="ws-invites">
      <h2 id="ws-invites">Invites</h2>
      <form className="row invite-form" onSubmit={submit} noValidate aria-label="New invite link">
        <label htmlFor="inv-role">Role</label>
        <select id="inv-role" value={role} onChange={(e) => setRoleChoice(e.target.value as Role)}>
          {roles.map((r) => (
            <option key={r} value={r}>
              {ROLE_LABEL[r]}
            </option>
          ))}
        </select>
        <label htmlFor="inv-uses">Uses</label>
        <input id="inv-uses" inputMode="numeric" placeholder="no limit" value={uses} onChange={(e) => setUses(e.target.value)} size={8} />
        <label htmlFor="inv-expiry">Expires after</label>
        <select id="inv-expiry" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
          {EXPIRY.map((x) => (
            <option key={x.label}>{x.label}</option>
          ))}
        </select>
        <button type="submit">Create link</button>
      </form>
      <FormFeedback error={error} />
      {url && (
        <p>
          <label htmlFor="inv-url">New link</label> <input id="inv-url" readOnly value={url} onFocus={(e) => e.target.select()} size={48} />
        </p>
      )}
      {invites && (
        <table className="admin-table" aria-label="Invite links">
          <TableHead columns={['Link', 'Role', 'Used', 'Expires']} />
          <tbody>
            {invites.map((i) => (
              <tr key={i.code} data-code={i.code}>
                <td>
                  <code>…{i.code.slice(-6)}</code>
                </td>
                <td>{ROLE_LABEL[i.role]}</td>
                <td>
                  {i.uses}
                  {i.max_uses != null ? ` of ${i.max_uses}` : ''}
                </td>
                <td>{i.expires_at_ms ? new Date(i.expires_at_ms).toLocaleDateString() : 'never'}</td>
                <td className="row-actions">
                  {i.valid ? (
                    <button
                      type="button"
                      className="small"
                      aria-label={`Revoke the invite ending ${i.code.slice(-6)}`}
                      onClick={() => void attempt('revoke', () => revokeInvite(info.id, i.code))}
                    >
                      Revoke
                    </button>
                  ) : (
                    <span className="muted">{i.revoked ? 'revoked' : 'no longer valid'}</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function WorkspaceAdmin() {
  const s = useStore();
  const v = s.admin;
  if (!v) return null;
  const members = s.members.get(v.wsId) ?? [];
  const back = () => {
    closeAdmin();
    document.getElementById('admin-btn')?.focus();
  };
  return (
    <section className="admin" aria-labelledby="admin-title">
      <header className="ch-header">
        <h1 id="admin-title">{v.info?.name ?? 'Workspace'}: members and settings</h1>
        <span className="spacer" />
        <button type="button" className="ghost small" onClick={back}>
          Back to the channel
        </button>
      </header>
      <div className="scroller pad">
        {v.loaded === 'loading' && <p className="muted">Loading…</p>}
        {v.loaded === 'error' && <p className="form-error">Could not load the workspace: {v.error}</p>}
        {v.info && (
          <>
            <About info={v.info} />
            <section aria-labelledby="ws-members">
              <h2 id="ws-members">Members ({members.filter((m) => !m.deactivated).length})</h2>
              <table className="admin-table" aria-label="Workspace members">
                <TableHead columns={['Name', 'Role']} />
                <tbody>
                  {members.map((m) => (
                    <MemberRow key={m.user_id} wsId={v.wsId} m={m} myRole={v.info?.role ?? 'guest'} />
                  ))}
                </tbody>
              </table>
            </section>
            <Invites info={v.info} />
            {isAdmin(v.info.role) && <Integrations info={v.info} />}
            <section aria-labelledby="ws-leave">
              <h2 id="ws-leave">Leave</h2>
              <p className="muted small">You can come back later through a new invite.</p>
              <button
                type="button"
                className="danger"
                onClick={() => {
                  if (s.me && confirm(`Leave ${v.info?.name}?`)) void attempt('leave', () => removeMember(v.wsId, s.me?.id ?? ''));
                }}
              >
                Leave workspace
              </button>
            </section>
          </>
        )}
      </div>
    </section>
  );
}
