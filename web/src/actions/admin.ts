// The workspace screen (settings, members and their roles, invites) and the user's own
// profile. Other people's screens learn of these changes when they next load the lists:
// the server has no workspace-wide event for them.

import { client } from '../client';
import { type AdminView, state, update } from '../store';
import { isAdmin } from '../rights';
import type { Invite, Role, User, WorkspaceInfo } from '../types';
import { loadMembers, loadWorkspaces } from './workspace';

// ---------------------------------------------------------------- the screen

export function openAdmin() {
  const wsId = state.wsId;
  if (!wsId) return;
  const v: AdminView = { wsId, info: null, invites: null, loaded: 'loading', error: '' };
  update((s) => {
    s.admin = v;
    s.sidebarOpen = false;
  });
  void loadAdmin(v);
}

export function closeAdmin() {
  update((s) => {
    s.admin = null;
  });
}

async function loadAdmin(v: AdminView) {
  try {
    const r = await client.call<{ workspace: WorkspaceInfo }>('GET', `/workspaces/${v.wsId}`);
    const invites = isAdmin(r.workspace.role)
      ? (await client.call<{ invites: Invite[] }>('GET', `/workspaces/${v.wsId}/invites`)).invites
      : null;
    await loadMembers(v.wsId);
    update(() => {
      v.info = r.workspace;
      v.invites = invites;
      v.loaded = 'ready';
    });
  } catch (e) {
    update(() => {
      v.loaded = 'error';
      v.error = (e as Error).message;
    });
  }
}

/** Loads the workspace screen again, if it is open. */
export function reloadAdmin() {
  if (state.admin) void loadAdmin(state.admin);
}

// ---------------------------------------------------------------- changes (errors are the caller's to show)

export async function saveWorkspace(
  wsId: string,
  patch: Partial<
    Pick<WorkspaceInfo, 'name' | 'description' | 'members_can_invite' | 'members_can_create_channels' | 'sso_only'>
  >,
) {
  const r = await client.call<{ workspace: WorkspaceInfo }>('PATCH', `/workspaces/${wsId}`, patch);
  update((s) => {
    if (s.admin?.wsId === wsId) s.admin.info = { ...s.admin.info, ...r.workspace };
    const w = s.workspaces.find((x) => x.id === wsId);
    if (w) w.name = r.workspace.name;
  });
}

export async function setRole(wsId: string, userId: string, role: Role) {
  await client.call('PATCH', `/workspaces/${wsId}/members/${userId}`, { role });
  // Our own role may have changed (an owner stepping down): the lists depend on it.
  if (userId === state.me?.id) await loadWorkspaces();
  reloadAdmin();
}

export async function setDeactivated(wsId: string, userId: string, deactivated: boolean) {
  await client.call('POST', `/workspaces/${wsId}/members/${userId}/${deactivated ? 'deactivate' : 'reactivate'}`);
  reloadAdmin();
}

/** Removes a member, or with our own id leaves the workspace. */
export async function removeMember(wsId: string, userId: string) {
  await client.call('DELETE', `/workspaces/${wsId}/members/${userId}`);
  if (userId === state.me?.id) {
    closeAdmin();
    await loadWorkspaces();
  } else reloadAdmin();
}

/** A new invite; returns its link (on this page's origin, where the invitee must go). */
export async function makeInvite(
  wsId: string,
  opts: { role: Role; max_uses?: number; expires_in_secs?: number },
): Promise<string> {
  const r = await client.call<{ invite: Invite }>('POST', `/workspaces/${wsId}/invites`, opts);
  reloadAdmin();
  return `${location.origin}/invite/${encodeURIComponent(r.invite.code)}`;
}

export async function revokeInvite(wsId: string, code: string) {
  await client.call('DELETE', `/workspaces/${wsId}/invites/${encodeURIComponent(code)}`);
  reloadAdmin();
}

// ---------------------------------------------------------------- profile

export function openProfile(open = true) {
  update((s) => {
    s.profileOpen = open;
  });
}

export async function saveProfile(patch: Partial<Pick<User, 'display_name' | 'status_text' | 'time_zone'>>) {
  const r = await client.call<{ user: User }>('PATCH', '/me', patch);
  profileChanged(r.user);
}

/** Our profile as the server now has it: the header, names and our own rows in member lists. */
export function profileChanged(user: User) {
  client.setUser(user);
  update((s) => {
    s.me = user;
    s.names.set(user.id, user.display_name);
    for (const list of s.members.values()) {
      const m = list.find((x) => x.user_id === user.id);
      if (m) Object.assign(m, { display_name: user.display_name, status_text: user.status_text, avatar_url: user.avatar_url ?? '' });
    }
  });
}
