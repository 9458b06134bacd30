// Integrations, for workspace admins and owners: apps (each posts as its own bot) and their
// incoming webhooks. A hook's URL holds its secret and is shown once, when it is made.

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { reloadAdmin } from '../actions/admin';
import { client } from '../client';
import { notify, useStore } from '../store';
import type { WorkspaceInfo } from '../types';
import { FormFeedback, TableHead } from './Common';

interface Hook {
  id: string;
  channel_id: string;
  created_at_ms: number;
  last_used_at_ms: number | null;
}

interface Token {
  id: string;
  scopes: string[];
  created_at_ms: number;
  last_used_at_ms: number | null;
}

interface App {
  id: string;
  name: string;
  description: string;
  bot_user_id: string;
  hooks: Hook[];
  tokens: Token[];
}

/** Slack's scope names the server grants (docs/integrations.md). */
const SCOPES = [
  'chat:write',
  'channels:read',
  'channels:history',
  'channels:join',
  'groups:read',
  'groups:history',
  'im:read',
  'im:history',
  'users:read',
  'reactions:read',
  'reactions:write',
  'pins:write',
];

/** A secret shown once, with a Copy button. */
function ShownOnce({ id, label, value }: { id: string; label: string; value: string }) {
  return (
    <p className="stack small">
      <label htmlFor={id}>{label} (shown this once: copy it now)</label>
      <span className="row">
        <input id={id} readOnly value={value} onFocus={(e) => e.target.select()} size={56} />
        <button
          type="button"
          className="small"
          onClick={() => navigator.clipboard?.writeText(value).then(() => notify('Copied.'), () => notify('Could not copy: select it and copy it.', true))}
        >
          Copy
        </button>
      </span>
    </p>
  );
}

function NewToken({ wsId, app, onMade }: { wsId: string; app: App; onMade: () => void }) {
  const [scopes, setScopes] = useState<string[]>(['chat:write']);
  const [secret, setSecret] = useState('');
  const [error, setError] = useState('');
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError('');
    try {
      const r = await client.call<{ secret: string }>('POST', `/workspaces/${wsId}/apps/${app.id}/tokens`, { scopes });
      setSecret(r.secret);
      onMade();
    } catch (err) {
      setError((err as Error).message);
    }
  }
  return (
    <>
      <form onSubmit={submit} aria-label={`New bot token for ${app.name}`}>
        <fieldset className="scopes">
          <legend className="small">Bot token scopes</legend>
          {SCOPES.map((s) => (
            <label key={s} className="small">
              <input
                type="checkbox"
                checked={scopes.includes(s)}
                onChange={(e) => setScopes(e.target.checked ? [...scopes, s] : scopes.filter((x) => x !== s))}
              />{' '}
              {s}
            </label>
          ))}
        </fieldset>
        <button type="submit" className="small" disabled={!scopes.length}>
          Create bot token
        </button>
      </form>
      <FormFeedback error={error} />
      {secret && <ShownOnce id={`token-${app.id}`} label="Bot token" value={secret} />}
    </>
  );
}

function NewHook({ wsId, app, onMade }: { wsId: string; app: App; onMade: () => void }) {
  const s = useStore();
  const channels = [...s.channels.values()].filter((c) => c.workspace_id === wsId && c.kind !== 'dm' && !c.archived);
  const [channel, setChannel] = useState(channels[0]?.id ?? '');
  const [url, setUrl] = useState('');
  const [error, setError] = useState('');
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError('');
    try {
      const r = await client.call<{ url: string }>('POST', `/workspaces/${wsId}/apps/${app.id}/hooks`, { channel_id: channel });
      // The address this page is on, where scripts reach the same server.
      setUrl(`${location.origin}${new URL(r.url).pathname}`);
      onMade();
    } catch (err) {
      setError((err as Error).message);
    }
  }
  return (
    <>
      <form className="row" onSubmit={submit} aria-label={`New webhook for ${app.name}`}>
        <label htmlFor={`hook-ch-${app.id}`}>Post to</label>
        <select id={`hook-ch-${app.id}`} value={channel} onChange={(e) => setChannel(e.target.value)}>
          {channels.map((c) => (
            <option key={c.id} value={c.id}>
              #{c.name}
            </option>
          ))}
        </select>
        <button type="submit" className="small" disabled={!channel}>
          Add webhook
        </button>
      </form>
      <FormFeedback error={error} />
      {url && <ShownOnce id={`hook-url-${app.id}`} label="Webhook URL" value={url} />}
    </>
  );
}

function AppCard({ wsId, app, reload }: { wsId: string; app: App; reload: () => void }) {
  const s = useStore();
  const nameOfChannel = (id: string) => s.channels.get(id)?.name ?? 'a channel';
  async function revoke(path: string, what: string) {
    try {
      await client.call('DELETE', path);
      reload();
    } catch (e) {
      notify(`Could not revoke ${what}: ${(e as Error).message}`, true);
    }
  }
  return (
    <article className="app-card" data-app={app.name} aria-label={`App ${app.name}`}>
      <h3>
        {app.name} <span className="app-badge">APP</span>
      </h3>
      {app.description && <p className="muted small">{app.description}</p>}
      {app.hooks.length > 0 && (
        <table className="admin-table" aria-label={`Webhooks of ${app.name}`}>
          <TableHead columns={['Channel', 'Made', 'Last used']} />
          <tbody>
            {app.hooks.map((h) => (
              <tr key={h.id} data-hook={h.id}>
                <td>#{nameOfChannel(h.channel_id)}</td>
                <td>{new Date(h.created_at_ms).toLocaleDateString()}</td>
                <td>{h.last_used_at_ms ? new Date(h.last_used_at_ms).toLocaleString() : 'never'}</td>
                <td className="row-actions">
                  <button
                    type="button"
                    className="small"
                    aria-label={`Revoke the webhook to #${nameOfChannel(h.channel_id)}`}
                    onClick={() => void revoke(`/workspaces/${wsId}/hooks/${h.id}`, 'the webhook')}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <NewHook wsId={wsId} app={app} onMade={reload} />
      {app.tokens.length > 0 && (
        <table className="admin-table" aria-label={`Bot tokens of ${app.name}`}>
          <TableHead columns={['Scopes', 'Made', 'Last used']} />
          <tbody>
            {app.tokens.map((t) => (
              <tr key={t.id} data-token={t.id}>
                <td className="small">{t.scopes.join(', ')}</td>
                <td>{new Date(t.created_at_ms).toLocaleDateString()}</td>
                <td>{t.last_used_at_ms ? new Date(t.last_used_at_ms).toLocaleString() : 'never'}</td>
                <td className="row-actions">
                  <button
                    type="button"
                    className="small"
                    aria-label={`Revoke the bot token with ${t.scopes.join(', ')}`}
                    onClick={() => void revoke(`/workspaces/${wsId}/tokens/${t.id}`, 'the token')}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <NewToken wsId={wsId} app={app} onMade={reload} />
      <button
        type="button"
        className="danger small"
        onClick={() => {
          if (confirm(`Revoke ${app.name}? Its webhooks stop working; what it posted stays.`))
            void revoke(`/workspaces/${wsId}/apps/${app.id}`, app.name);
        }}
      >
        Revoke app
      </button>
    </article>
  );
}

export function Integrations({ info }: { info: WorkspaceInfo }) {
  const [apps, setApps] = useState<App[] | null>(null);
  const [loadError, setLoadError] = useState('');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState('');
  const reload = useCallback(() => {
    client.call<{ apps: App[] }>('GET', `/workspaces/${info.id}/apps`).then(
      (r) => setApps(r.apps),
      (e) => setLoadError((e as Error).message),
    );
  }, [info.id]);
  useEffect(reload, [reload]);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError('');
    try {
      await client.call('POST', `/workspaces/${info.id}/apps`, { name, description });
      setName('');
      setDescription('');
      reload();
      // The app's bot joined the members listed above.
      reloadAdmin();
    } catch (err) {
      setError((err as Error).message);
    }
  }
  return (
    <section aria-labelledby="ws-integrations">
      <h2 id="ws-integrations">Integrations</h2>
      <p className="muted small">
        An app posts as its own bot. Its incoming webhooks take Slack&apos;s payloads: point a script written for Slack at the URL.
      </p>
      <form className="row" onSubmit={submit} noValidate aria-label="New app">
        <label htmlFor="app-name">App name</label>
        <input id="app-name" value={name} maxLength={80} onChange={(e) => setName(e.target.value)} />
        <label htmlFor="app-description">Description</label>
        <input id="app-description" value={description} maxLength={300} onChange={(e) => setDescription(e.target.value)} />
        <button type="submit">Create app</button>
      </form>
      <FormFeedback error={error} />
      {loadError && <p className="form-error">Could not load the apps: {loadError}</p>}
      {apps?.length === 0 && <p className="muted">No apps yet.</p>}
      {apps?.map((a) => (
        <AppCard key={a.id} wsId={info.id} app={a} reload={reload} />
      ))}
    </section>
  );
}
