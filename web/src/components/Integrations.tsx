// Integrations, for workspace admins and owners: apps (each posts as its own bot), their
// incoming webhooks and bot tokens (a hook's URL and a token hold their secret and are shown
// once, when made), and what the server sends them (docs/integrations.md): the signing
// secret they check it with, event subscriptions, slash commands, outgoing webhooks, and the
// delivery log with a retry for what failed.

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { reloadAdmin } from '../actions/admin';
import {
  addCommand,
  addOutgoingHook,
  createApp,
  createHook,
  createToken,
  listApps,
  listDeliveries,
  removeCommand,
  removeOutgoingHook,
  retryDelivery,
  revokeApp,
  revokeHook,
  revokeToken,
  setEvents,
} from '../actions/integrations';
import { splitTriggerWords } from '../commands';
import { notify, useStore } from '../store';
import type { App, AppEvent, Delivery, WorkspaceInfo } from '../types';
import { FormFeedback, TableHead } from './Common';

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

/** The events an app may subscribe to, with what they are. */
const EVENTS: { name: AppEvent; what: string }[] = [
  { name: 'message.channels', what: 'messages in public channels its bot is in' },
  { name: 'message.groups', what: 'messages in private channels its bot is in' },
  { name: 'message.im', what: 'direct messages with its bot' },
  { name: 'app_mention', what: 'messages mentioning its bot' },
  { name: 'reaction_added', what: 'reactions in channels its bot is in' },
  { name: 'member_joined_channel', what: 'people joining channels its bot is in' },
];

const KIND_LABEL: Record<Delivery['kind'], string> = { event: 'Event', outgoing_webhook: 'Outgoing webhook' };

function copy(value: string) {
  navigator.clipboard?.writeText(value).then(
    () => notify('Copied.'),
    () => notify('Could not copy: select it and copy it.', true),
  );
}

/** Runs a change and shows its refusal as a notice. */
async function attempt(what: string, f: () => Promise<unknown>, then: () => void) {
  try {
    await f();
    then();
  } catch (e) {
    notify(`Could not ${what}: ${(e as Error).message}`, true);
  }
}

const when = (ms: number | null) => (ms ? new Date(ms).toLocaleString() : '');

/** A secret shown once, with a Copy button. */
function ShownOnce({ id, label, value }: { id: string; label: string; value: string }) {
  return (
    <p className="stack small">
      <label htmlFor={id}>{label} (shown this once: copy it now)</label>
      <span className="row">
        <input id={id} readOnly value={value} onFocus={(e) => e.target.select()} size={56} />
        <button type="button" className="small" onClick={() => copy(value)}>
          Copy
        </button>
      </span>
    </p>
  );
}

/** The signing secret: hidden until asked for, and copied without being shown. */
function SigningSecret({ app }: { app: App }) {
  const [shown, setShown] = useState(false);
  const id = `secret-${app.id}`;
  return (
    <div className="row small secret-row">
      <label htmlFor={id}>Signing secret</label>
      <input
        id={id}
        className="secret"
        type={shown ? 'text' : 'password'}
        readOnly
        autoComplete="off"
        value={app.signing_secret}
        size={34}
        onFocus={(e) => e.target.select()}
      />
      <button type="button" className="small" onClick={() => setShown(!shown)}>
        {shown ? 'Hide' : 'Show'}
      </button>
      <button type="button" className="small" aria-label={`Copy the signing secret of ${app.name}`} onClick={() => copy(app.signing_secret)}>
        Copy
      </button>
      <span className="muted">The app checks our X-Slack-Signature with it.</span>
    </div>
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
      setSecret(await createToken(wsId, app.id, scopes));
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
      const made = await createHook(wsId, app.id, channel);
      // The address this page is on, where scripts reach the same server.
      setUrl(`${location.origin}${new URL(made).pathname}`);
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

/** Where the app's events go and which; a new URL must answer Slack's challenge first. */
function EventSubscriptions({ wsId, app, reload }: { wsId: string; app: App; reload: () => void }) {
  const [url, setUrl] = useState(app.events_url ?? '');
  const [chosen, setChosen] = useState<AppEvent[]>(app.events);
  const [error, setError] = useState('');
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);
  const eventsKey = app.events.join(',');
  useEffect(() => {
    setUrl(app.events_url ?? '');
    setChosen(app.events);
    // Compared by what it holds: the list is a new array on every reload.
  }, [app.events_url, eventsKey]); // eslint-disable-line react-hooks/exhaustive-deps
  async function save(to: string | null) {
    setError('');
    setStatus(to && to !== app.events_url ? 'Checking the URL (Slack’s url_verification)…' : '');
    setBusy(true);
    try {
      const saved = await setEvents(wsId, app.id, to, chosen);
      setStatus(saved.events_url ? 'Saved.' : 'Events stopped.');
      reload();
    } catch (err) {
      setStatus('');
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  const id = `events-${app.id}`;
  return (
    <section className="app-section" aria-labelledby={`${id}-h`}>
      <h4 id={`${id}-h`}>Event subscriptions</h4>
      <p className="muted small" data-testid="events-state">
        {app.events_url ? (
          <>
            Events go to <code>{app.events_url}</code>
          </>
        ) : (
          'No events are sent to this app.'
        )}
      </p>
      <form
        className="stack"
        aria-label={`Event subscriptions of ${app.name}`}
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save(url.trim() || null);
        }}
      >
        <div className="app-form">
          <label htmlFor={`${id}-url`}>Request URL</label>
          <input
            id={`${id}-url`}
            type="url"
            value={url}
            placeholder="https://app.example.com/slack/events"
            onChange={(e) => setUrl(e.target.value)}
          />
        </div>
        <fieldset className="scopes">
          <legend className="small">Events</legend>
          {EVENTS.map((ev) => (
            <label key={ev.name} className="small" title={ev.what}>
              <input
                type="checkbox"
                checked={chosen.includes(ev.name)}
                onChange={(e) => setChosen(e.target.checked ? [...chosen, ev.name] : chosen.filter((x) => x !== ev.name))}
              />{' '}
              {ev.name}
            </label>
          ))}
        </fieldset>
        <span className="row">
          <button type="submit" className="small" disabled={busy}>
            Save events
          </button>
          {app.events_url && (
            <button type="button" className="small danger" disabled={busy} onClick={() => void save(null)}>
              Stop events
            </button>
          )}
        </span>
      </form>
      <FormFeedback error={error} status={status} />
    </section>
  );
}

function SlashCommands({ wsId, app, reload }: { wsId: string; app: App; reload: () => void }) {
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [usage, setUsage] = useState('');
  const [error, setError] = useState('');
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError('');
    try {
      await addCommand(wsId, app.id, { name: name.trim().replace(/^\//, ''), url: url.trim(), description, usage_hint: usage });
      setName('');
      setUrl('');
      setDescription('');
      setUsage('');
      reload();
    } catch (err) {
      setError((err as Error).message);
    }
  }
  const id = `cmd-${app.id}`;
  return (
    <section className="app-section" aria-labelledby={`${id}-h`}>
      <h4 id={`${id}-h`}>Slash commands</h4>
      {app.commands.length > 0 && (
        <table className="admin-table" aria-label={`Slash commands of ${app.name}`}>
          <TableHead columns={['Command', 'Request URL', 'Description', 'Usage hint']} />
          <tbody>
            {app.commands.map((c) => (
              <tr key={c.id} data-command={c.name}>
                <td>
                  <code>/{c.name}</code>
                </td>
                <td className="small break">{c.url}</td>
                <td className="small">{c.description}</td>
                <td className="small">{c.usage_hint}</td>
                <td className="row-actions">
                  <button
                    type="button"
                    className="small"
                    aria-label={`Remove /${c.name}`}
                    onClick={() => void attempt(`remove /${c.name}`, () => removeCommand(wsId, c.id), reload)}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="stack" onSubmit={submit} noValidate aria-label={`New slash command for ${app.name}`}>
        <div className="app-form">
          <label htmlFor={`${id}-name`}>Command</label>
          <input id={`${id}-name`} value={name} maxLength={33} placeholder="/deploy" onChange={(e) => setName(e.target.value)} />
          <label htmlFor={`${id}-url`}>Request URL</label>
          <input
            id={`${id}-url`}
            type="url"
            value={url}
            placeholder="https://app.example.com/slack/commands"
            onChange={(e) => setUrl(e.target.value)}
          />
          <label htmlFor={`${id}-description`}>Description</label>
          <input id={`${id}-description`} value={description} maxLength={100} onChange={(e) => setDescription(e.target.value)} />
          <label htmlFor={`${id}-usage`}>Usage hint</label>
          <input id={`${id}-usage`} value={usage} maxLength={100} placeholder="[environment]" onChange={(e) => setUsage(e.target.value)} />
        </div>
        <span>
          <button type="submit" className="small" disabled={!name.trim() || !url.trim()}>
            Add command
          </button>
        </span>
      </form>
      <FormFeedback error={error} />
    </section>
  );
}

function OutgoingHooks({ wsId, app, reload }: { wsId: string; app: App; reload: () => void }) {
  const s = useStore();
  // Outgoing webhooks listen to public channels only.
  const channels = [...s.channels.values()].filter((c) => c.workspace_id === wsId && c.kind === 'public' && !c.archived);
  const [channel, setChannel] = useState('');
  const [words, setWords] = useState('');
  const [url, setUrl] = useState('');
  const [error, setError] = useState('');
  const where = (id: string | null) => (id ? `#${s.channels.get(id)?.name ?? 'a channel'}` : 'any public channel');
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError('');
    try {
      await addOutgoingHook(wsId, app.id, { channel_id: channel || null, trigger_words: splitTriggerWords(words), url: url.trim() });
      setWords('');
      setUrl('');
      reload();
    } catch (err) {
      setError((err as Error).message);
    }
  }
  const id = `out-${app.id}`;
  return (
    <section className="app-section" aria-labelledby={`${id}-h`}>
      <h4 id={`${id}-h`}>Outgoing webhooks</h4>
      {app.outgoing_hooks.length > 0 && (
        <table className="admin-table" aria-label={`Outgoing webhooks of ${app.name}`}>
          <TableHead columns={['Channel', 'Trigger words', 'URL', 'Token']} />
          <tbody>
            {app.outgoing_hooks.map((o) => (
              <tr key={o.id} data-outgoing={o.id}>
                <td>{where(o.channel_id)}</td>
                <td className="small">{o.trigger_words.length ? o.trigger_words.join(', ') : <span className="muted">every message</span>}</td>
                <td className="small break">{o.url}</td>
                <td className="small">
                  <code>{o.token}</code>{' '}
                  <button type="button" className="small" aria-label={`Copy the token of the outgoing webhook to ${o.url}`} onClick={() => copy(o.token)}>
                    Copy
                  </button>
                </td>
                <td className="row-actions">
                  <button
                    type="button"
                    className="small"
                    aria-label={`Remove the outgoing webhook to ${o.url}`}
                    onClick={() => void attempt('remove the outgoing webhook', () => removeOutgoingHook(wsId, o.id), reload)}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="stack" onSubmit={submit} noValidate aria-label={`New outgoing webhook for ${app.name}`}>
        <div className="app-form">
          <label htmlFor={`${id}-ch`}>Channel</label>
          <select id={`${id}-ch`} value={channel} onChange={(e) => setChannel(e.target.value)}>
            <option value="">Any public channel</option>
            {channels.map((c) => (
              <option key={c.id} value={c.id}>
                #{c.name}
              </option>
            ))}
          </select>
          <label htmlFor={`${id}-words`}>Trigger words</label>
          <input id={`${id}-words`} value={words} placeholder="deploy, ship" onChange={(e) => setWords(e.target.value)} />
          <label htmlFor={`${id}-url`}>URL</label>
          <input id={`${id}-url`} type="url" value={url} placeholder="https://app.example.com/slack/outgoing" onChange={(e) => setUrl(e.target.value)} />
        </div>
        <span className="muted small">Messages people post in the channel, or starting with a trigger word, are posted to the URL.</span>
        <span>
          <button type="submit" className="small" disabled={!url.trim() || (!channel && !words.trim())}>
            Add outgoing webhook
          </button>
        </span>
      </form>
      <FormFeedback error={error} />
    </section>
  );
}

/** What was sent to the app, newest first, a page at a time; failed deliveries can be sent again. */
function DeliveryLog({ wsId, app }: { wsId: string; app: App }) {
  const [rows, setRows] = useState<Delivery[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(false);
  const refresh = useCallback(() => {
    setLoading(true);
    listDeliveries(wsId, app.id).then(
      (r) => {
        setRows(r.deliveries);
        setNext(r.next_before);
        setError('');
        setLoading(false);
      },
      (e) => {
        setError((e as Error).message);
        setLoading(false);
      },
    );
  }, [wsId, app.id]);
  useEffect(refresh, [refresh]);
  function older() {
    if (next == null) return;
    setLoading(true);
    listDeliveries(wsId, app.id, next).then(
      (r) => {
        setRows((now) => {
          const have = new Set((now ?? []).map((d) => d.id));
          return [...(now ?? []), ...r.deliveries.filter((d) => !have.has(d.id))];
        });
        setNext(r.next_before);
        setLoading(false);
      },
      (e) => {
        setError((e as Error).message);
        setLoading(false);
      },
    );
  }
  const id = `log-${app.id}`;
  return (
    <section className="app-section" aria-labelledby={`${id}-h`}>
      <h4 id={`${id}-h`}>
        Delivery log{' '}
        <button type="button" className="small" aria-label={`Refresh the delivery log of ${app.name}`} disabled={loading} onClick={refresh}>
          Refresh
        </button>
      </h4>
      {error && <p className="form-error">Could not load the delivery log: {error}</p>}
      {rows?.length === 0 && <p className="muted small">Nothing sent yet.</p>}
      {rows && rows.length > 0 && (
        <table className="admin-table delivery-log" aria-label={`Delivery log of ${app.name}`}>
          <TableHead columns={['Time', 'Kind', 'What', 'State', 'Attempts', 'Last answer', 'Next try']} />
          <tbody>
            {rows.map((d) => (
              <tr key={d.id} data-delivery={d.id} data-state={d.state}>
                <td className="small">{when(d.created_at_ms)}</td>
                <td className="small">{KIND_LABEL[d.kind] ?? d.kind}</td>
                <td className="small">
                  <code>{d.what}</code>
                </td>
                <td className={`small delivery-state ${d.state}`}>{d.state}</td>
                <td className="small">{d.attempts}</td>
                <td className="small break">
                  {[d.last_status != null ? `HTTP ${d.last_status}` : '', d.last_error ?? ''].filter(Boolean).join(': ') || (
                    <span className="muted">—</span>
                  )}
                </td>
                <td className="small">{d.state === 'pending' ? when(d.next_at_ms) : ''}</td>
                <td className="row-actions">
                  {d.state === 'failed' && (
                    <button
                      type="button"
                      className="small"
                      aria-label={`Retry delivery ${d.id} (${d.what})`}
                      onClick={() =>
                        void attempt('retry the delivery', () => retryDelivery(wsId, d.id), () => {
                          notify('Queued to be sent again.');
                          refresh();
                        })
                      }
                    >
                      Retry
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next != null && (
        <button type="button" className="small" disabled={loading} onClick={older}>
          Older
        </button>
      )}
    </section>
  );
}

function AppCard({ wsId, app, reload }: { wsId: string; app: App; reload: () => void }) {
  const s = useStore();
  const nameOfChannel = (id: string) => s.channels.get(id)?.name ?? 'a channel';
  const revoke = (what: string, f: () => Promise<unknown>) => void attempt(`revoke ${what}`, f, reload);
  return (
    <article className="app-card" data-app={app.name} aria-label={`App ${app.name}`}>
      <h3>
        {app.name} <span className="app-badge">APP</span>
      </h3>
      {app.description && <p className="muted small">{app.description}</p>}
      <SigningSecret app={app} />
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
                    onClick={() => revoke('the webhook', () => revokeHook(wsId, h.id))}
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
                    onClick={() => revoke('the token', () => revokeToken(wsId, t.id))}
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
      <EventSubscriptions wsId={wsId} app={app} reload={reload} />
      <SlashCommands wsId={wsId} app={app} reload={reload} />
      <OutgoingHooks wsId={wsId} app={app} reload={reload} />
      <DeliveryLog wsId={wsId} app={app} />
      <button
        type="button"
        className="danger small"
        onClick={() => {
          if (confirm(`Revoke ${app.name}? Its webhooks, commands and events stop; what it posted stays.`))
            revoke(app.name, () => revokeApp(wsId, app.id));
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
    listApps(info.id).then(
      (a) => setApps(a),
      (e) => setLoadError((e as Error).message),
    );
  }, [info.id]);
  useEffect(reload, [reload]);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError('');
    try {
      await createApp(info.id, name, description);
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
        The server sends it events, slash commands and outgoing webhooks as Slack does, signed with its signing secret.
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
