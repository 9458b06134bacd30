import { describe, expect, it } from 'vitest';
import { channelRights, inviteRoles, memberRights } from './rights';
import type { Channel, Member, Role } from './types';

const CH = 'c1';
const ME = 'me';

const m = (user_id: string, role: Role): Member => ({ user_id, display_name: user_id, role });

describe('memberRights', () => {
  it('lets owners set any role and remove or deactivate anyone else', () => {
    expect(memberRights('owner', 'me', m('a', 'admin'))).toEqual({
      roles: ['owner', 'admin', 'member', 'guest'],
      remove: true,
      deactivate: true,
      leave: false,
    });
    // An owner may step down (the server refuses the last owner), never remove themself.
    expect(memberRights('owner', 'me', m('me', 'owner'))).toMatchObject({ remove: false, deactivate: false, leave: true });
    expect(memberRights('owner', 'me', m('me', 'owner')).roles).toContain('member');
  });

  it('lets admins move members and guests between the two, and nothing about admins or owners', () => {
    expect(memberRights('admin', 'me', m('b', 'member'))).toEqual({ roles: ['member', 'guest'], remove: true, deactivate: true, leave: false });
    expect(memberRights('admin', 'me', m('g', 'guest')).roles).toEqual(['member', 'guest']);
    for (const role of ['admin', 'owner'] as Role[]) {
      expect(memberRights('admin', 'me', m('x', role))).toEqual({ roles: [], remove: false, deactivate: false, leave: false });
    }
    expect(memberRights('admin', 'me', m('me', 'admin'))).toEqual({ roles: [], remove: false, deactivate: false, leave: true });
  });

  it('gives members and guests only leaving', () => {
    for (const mine of ['member', 'guest'] as Role[]) {
      expect(memberRights(mine, 'me', m('b', 'member'))).toEqual({ roles: [], remove: false, deactivate: false, leave: false });
      expect(memberRights(mine, 'me', m('me', mine)).leave).toBe(true);
    }
  });
});

describe('inviteRoles', () => {
  it('follows who may invite whom', () => {
    expect(inviteRoles('owner', false)).toEqual(['member', 'guest', 'admin']);
    expect(inviteRoles('admin', false)).toEqual(['member', 'guest']);
    expect(inviteRoles('member', false)).toEqual([]);
    expect(inviteRoles('member', true)).toEqual(['member', 'guest']);
    expect(inviteRoles('guest', true)).toEqual([]);
  });
});

describe('channelRights', () => {
  const ch = (extra: Partial<Channel> = {}): Channel => ({
    id: CH,
    workspace_id: 'w',
    name: 'dev',
    kind: 'public',
    topic: '',
    archived: false,
    last_seq: 0,
    is_member: true,
    created_by: 'carol',
    ...extra,
  });

  it('lets stewards rename, archive and remove; members edit the topic and add people', () => {
    expect(channelRights(ch(), 'member', ME)).toEqual({ pin: true, editTopic: true, rename: false, archive: false, addMembers: true, removeMembers: false });
    expect(channelRights(ch({ created_by: ME }), 'member', ME)).toMatchObject({ rename: true, archive: true, removeMembers: true });
    expect(channelRights(ch(), 'admin', ME)).toMatchObject({ rename: true, archive: true, removeMembers: true });
    expect(channelRights(ch({ is_member: false }), 'admin', ME)).toMatchObject({ rename: true, editTopic: false, pin: false });
    expect(channelRights(ch({ kind: 'private', is_member: false }), 'admin', ME).rename).toBe(false);
  });

  it('gives guests, archived channels, #general and DMs only what the server allows', () => {
    expect(channelRights(ch({ created_by: ME }), 'guest', ME)).toEqual({ pin: true, editTopic: false, rename: false, archive: false, addMembers: false, removeMembers: false });
    expect(channelRights(ch({ archived: true }), 'owner', ME)).toEqual({ pin: false, editTopic: false, rename: false, archive: true, addMembers: false, removeMembers: false });
    expect(channelRights(ch({ is_default: true }), 'owner', ME).archive).toBe(false);
    expect(channelRights(ch({ kind: 'dm' }), 'owner', ME)).toEqual({ pin: true, editTopic: false, rename: false, archive: false, addMembers: false, removeMembers: false });
  });
});
