// Apps (docs/integrations.md): the Integrations page's calls (apps, incoming webhooks, bot
// tokens, event subscriptions, slash commands, outgoing webhooks, the delivery log), the
// workspace's commands for the composer's completion, and invoking a command.

import { client } from '../client';
import { state, update } from '../store';
import type { App, AppEvent, CommandInfo, CommandResult, Delivery, OutgoingHook, SlashCommand } from '../types';
import { addEphemeral } from './messages';

// ---------------------------------------------------------------- the Integrations page

export async function listApps(wsId: string): Promise<App[]> {
  return (await client.call<{ apps: App[] }>('GET', `/workspaces/${wsId}/apps`)).apps;
}

export async function createApp(wsId: string, name: string, description: string) {
  await client.call('POST', `/workspaces/${wsId}/apps`, { name, description });
}

/** An incoming webhook to `channelId`: its URL (holding its secret, shown once). */
export async function createHook(wsId: string, appId: string, channelId: string): Promise<string> {
  return (await client.call<{ url: string }>('POST', `/workspaces/${wsId}/apps/${appId}/hooks`, { channel_id: channelId })).url;
}

/** A bot token with `scopes`: its secret (shown once). */
export async function createToken(wsId: string, appId: string, scopes: string[]): Promise<string> {
  return (await client.call<{ secret: string }>('POST', `/workspaces/${wsId}/apps/${appId}/tokens`, { scopes })).secret;
}

export const revokeApp = (wsId: string, appId: string) => client.call('DELETE', `/workspaces/${wsId}/apps/${appId}`);
export const revokeHook = (wsId: string, id: string) => client.call('DELETE', `/workspaces/${wsId}/hooks/${id}`);
export const revokeToken = (wsId: string, id: string) => client.call('DELETE', `/workspaces/${wsId}/tokens/${id}`);

/** Where the app's events go (null: nowhere) and which; a new URL must pass Slack's challenge. */
export async function setEvents(wsId: string, appId: string, url: string | null, events: AppEvent[]): Promise<App> {
  return (await client.call<{ app: App }>('PUT', `/workspaces/${wsId}/apps/${appId}/events`, { url, events })).app;
}

export async function addCommand(
  wsId: string,
  appId: string,
  body: { name: string; url: string; description: string; usage_hint: string },
): Promise<SlashCommand> {
  const r = await client.call<{ command: SlashCommand }>('POST', `/workspaces/${wsId}/apps/${appId}/commands`, body);
  void loadCommands(wsId, true);
  return r.command;
}

export async function removeCommand(wsId: string, id: string) {
  await client.call('DELETE', `/workspaces/${wsId}/commands/${id}`);
  void loadCommands(wsId, true);
}

export async function addOutgoingHook(
  wsId: string,
  appId: string,
  body: { channel_id: string | null; trigger_words: string[]; url: string },
): Promise<OutgoingHook> {
  return (
    await client.call<{ outgoing_hook: OutgoingHook }>('POST', `/workspaces/${wsId}/apps/${appId}/outgoing-hooks`, body)
  ).outgoing_hook;
}

export const removeOutgoingHook = (wsId: string, id: string) => client.call('DELETE', `/workspaces/${wsId}/outgoing-hooks/${id}`);

/** A page of the app's delivery log, newest first; `next_before` fetches the older page. */
export async function listDeliveries(
  wsId: string,
  appId: string,
  before: number | null = null,
): Promise<{ deliveries: Delivery[]; next_before: number | null }> {
  const q = before != null ? `?before=${before}` : '';
  const r = await client.call<{ deliveries: Delivery[]; next_before: number | null }>(
    'GET',
    `/workspaces/${wsId}/apps/${appId}/deliveries${q}`,
  );
  return { deliveries: r.deliveries, next_before: r.next_before ?? null };
}

/** Queues a failed delivery again. */
export const retryDelivery = (wsId: string, id: number) => client.call('POST', `/workspaces/${wsId}/deliveries/${id}/retry`);

// ---------------------------------------------------------------- commands in the composer

/** How long a workspace's command list is used before it is fetched again. */
const COMMANDS_FRESH_MS = 60_000;
/** Workspaces whose commands changed while their list was being fetched. */
const refetch = new Set<string>();
/** After a failed fetch, how long until the list is asked for again. */
const COMMANDS_RETRY_MS = 5_000;

/** The workspace's commands (`GET /workspaces/{id}/commands`), unless a fresh list is at hand. */
export async function loadCommands(wsId: string, force = false): Promise<void> {
  const now = Date.now();
  let v = state.commands.get(wsId);
  if (v?.loading) {
    // The list changed while it was being fetched: fetch it again after.
    if (force) refetch.add(wsId);
    return;
  }
  if (v && !force && now - v.at_ms < COMMANDS_FRESH_MS) return;
  if (!v) {
    v = { list: [], at_ms: 0, loading: false };
    state.commands.set(wsId, v);
  }
  const view = v;
  update(() => {
    view.loading = true;
  });
  try {
    const r = await client.call<{ commands: CommandInfo[] }>('GET', `/workspaces/${wsId}/commands`);
    update(() => {
      view.list = r.commands;
      view.at_ms = Date.now();
    });
  } catch {
    // Completion is a convenience (typing the whole command still works): asked again in a
    // few seconds, not on every key.
    view.at_ms = Date.now() - COMMANDS_FRESH_MS + COMMANDS_RETRY_MS;
  } finally {
    update(() => {
      view.loading = false;
    });
  }
  if (refetch.delete(wsId)) return loadCommands(wsId, true);
}

/**
 * Invokes `/name text` in a channel (or a thread). An ephemeral answer is shown at once (the
 * socket brings the same message, kept once); an in-channel one arrives as channel events.
 * Throws the server's refusal (unknown command, the app failing) for the composer to show.
 */
export async function runCommand(channelId: string, name: string, text: string, threadRootId: string | null = null): Promise<CommandResult> {
  const body: { command: string; text: string; thread_root_id?: string } = { command: `/${name}`, text };
  if (threadRootId) body.thread_root_id = threadRootId;
  const r = await client.call<CommandResult>('POST', `/channels/${channelId}/commands`, body);
  if (r.response_type === 'ephemeral' && r.message) addEphemeral(r.message);
  return r;
}
