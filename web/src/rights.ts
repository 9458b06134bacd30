// What the signed-in user may do, as docs/api.md states it: the UI offers only these
// actions. Pure, so it is tested on its own; the server still decides every request.

import type { Channel, Member, Role } from './types';

/** A workspace admin or owner, or the channel's creator while not a guest (docs/api.md). */
export function isSteward(ch: Channel, role: Role | undefined, me: string | undefined): boolean {
  if (role === 'owner' || role === 'admin') return true;
  return role !== 'guest' && !!me && ch.created_by === me;
}

/** What the current user may do with a channel; the server decides, this only hides buttons. */
export function channelRights(ch: Channel, role: Role | undefined, me: string | undefined) {
  const managed = ch.kind !== 'dm';
  const open = managed && !ch.archived;
  const steward = managed && isSteward(ch, role, me);
  return {
    pin: ch.is_member && !ch.archived,
    editTopic: open && ch.is_member && role !== 'guest',
    rename: open && steward && (ch.is_member || ch.kind === 'public'),
    archive: steward && !ch.is_default,
    addMembers: open && ch.is_member && role !== 'guest',
    removeMembers: open && steward,
  };
}

/** What the caller may do to one member (docs/api.md, Members); the server still decides. */
export function memberRights(myRole: Role | undefined, meId: string | undefined, target: Member) {
  const self = target.user_id === meId;
  const theirs = target.role ?? 'member';
  const owner = myRole === 'owner';
  const lower = theirs === 'member' || theirs === 'guest';
  // Owners set any role, their own too (stepping down needs another owner: 409 otherwise);
  // admins move other members and guests between the two.
  const roles: Role[] = owner ? ['owner', 'admin', 'member', 'guest'] : myRole === 'admin' && !self && lower ? ['member', 'guest'] : [];
  const manage = !self && (owner || (myRole === 'admin' && lower));
  return { roles, remove: manage, deactivate: manage, leave: self };
}

/** Roles an invite may carry for the caller: owners any but owner, admins members and guests. */
export function inviteRoles(myRole: Role | undefined, membersCanInvite: boolean): Role[] {
  if (myRole === 'owner') return ['member', 'guest', 'admin'];
  if (myRole === 'admin' || (myRole === 'member' && membersCanInvite)) return ['member', 'guest'];
  return [];
}

export const isAdmin = (role: Role | undefined) => role === 'owner' || role === 'admin';
