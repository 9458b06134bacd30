// The signed-in layout: top bar, sidebar, the channel (or invite landing), the thread panel.

import { useEffect } from 'react';
import { logout, stepChannel } from '../actions/workspace';
import { closeThread } from '../actions/messages';
import { closeSide } from '../actions/channel';
import { channelLabel, state, update, useStore } from '../store';
import { Sidebar } from './Sidebar';
import { ChannelPane } from './ChannelPane';
import { ThreadPanel } from './ThreadPanel';
import { PinsPanel } from './PinsPanel';
import { ChannelDetails } from './ChannelDetails';
import { InviteDialog } from './InviteDialog';
import { ProfileDialog } from './ProfileDialog';
import { Outbox } from './Outbox';
import { WorkspaceAdmin } from './WorkspaceAdmin';
import { openProfile } from '../actions/admin';
import { InviteLanding } from './InviteLanding';
import { Welcome } from './Welcome';
import { SearchBox, SearchResults } from './Search';
import { PresenceDot } from './PresenceDot';
import { BellOff } from './Common';
import { Lightbox } from './Files';
import { askPermission, dismissOffer, isDnd } from '../actions/notifications';

function ConnBadge() {
  const { conn } = useStore();
  const label =
    conn.status === 'online'
      ? 'Connected'
      : conn.status === 'connecting'
        ? 'Connecting…'
        : conn.status === 'reconnecting'
          ? conn.retryInMs
            ? `Reconnecting in ${Math.max(1, Math.ceil(conn.retryInMs / 1000))} s…`
            : 'Reconnecting…'
          : 'Offline';
  return (
    <span className={`conn conn-${conn.status}`} role="status" aria-live="polite" data-testid="conn" title={label}>
      <span className="conn-dot" aria-hidden="true" />
      <span className="conn-label">{label}</span>
    </span>
  );
}

/** Offered once the user has taken part; the browser's own prompt follows the click. */
function NotifyOffer() {
  return (
    <div className="notify-offer" role="region" aria-label="Notifications" data-testid="notify-offer">
      <span>Get a notification when someone mentions you or writes to you while OComms is in the background?</span>
      <button type="button" className="primary small" onClick={() => void askPermission()}>
        Turn on notifications
      </button>
      <button type="button" className="ghost small" onClick={dismissOffer}>
        Not now
      </button>
    </div>
  );
}

export function Shell() {
  const s = useStore();
  const ws = s.workspaces.find((w) => w.id === s.wsId);
  const ch = s.viewId ? s.channels.get(s.viewId) : undefined;

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
        e.preventDefault();
        stepChannel(e.key === 'ArrowUp' ? -1 : 1);
      } else if (e.key === 'Escape' && !e.defaultPrevented) {
        if (state.invite || state.profileOpen) return; // the dialogs handle their own Escape
        if (state.threadId) {
          closeThread();
          document.getElementById('composer-input')?.focus();
        } else if (state.side) {
          const back = state.side.kind === 'pins' ? 'pins-btn' : 'details-btn';
          closeSide();
          document.getElementById(back)?.focus();
        } else if (state.sidebarOpen) {
          update((st) => {
            st.sidebarOpen = false;
          });
        }
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  // The tab title carries the unread total.
  let total = 0;
  for (const [id, u] of s.unreads) if (s.channels.get(id)?.is_member) total += u.unread;
  const base = ch ? `${ch.kind === 'dm' ? '' : '#'}${channelLabel(ch)} · OComms` : 'OComms';
  useEffect(() => {
    document.title = total ? `(${total}) ${base}` : base;
  }, [total, base]);

  const inviteRoute = s.route.kind === 'invite';
  const dnd = isDnd();
  return (
    <div className={`app${s.sidebarOpen ? ' sidebar-open' : ''}${s.threadId || s.side ? ' thread-open' : ''}`}>
      <header className="topbar">
        <button
          type="button"
          className="menu-btn"
          aria-controls="sidebar"
          aria-expanded={s.sidebarOpen}
          onClick={() =>
            update((st) => {
              st.sidebarOpen = !st.sidebarOpen;
            })
          }
        >
          <span aria-hidden="true">☰</span> Menu
        </button>
        <span className="brand">OComms</span>
        {ws && <span className="ws-name">{ws.name}</span>}
        <ConnBadge />
        <span className="spacer" />
        <SearchBox />
        <button
          id="profile-btn"
          type="button"
          className="ghost me-name"
          data-testid="me"
          aria-label={`${s.me?.display_name ?? ''}${dnd ? ', notifications paused' : ''}: edit your profile`}
          title={s.me?.status_text || 'Edit your profile'}
          onClick={() => openProfile()}
        >
          {s.me && <PresenceDot userId={s.me.id} />} {s.me?.display_name}
          {dnd && (
            <span className="dnd-mark" data-testid="dnd-mark" aria-hidden="true" title="Notifications paused">
              <BellOff />
            </span>
          )}
        </button>
        <button type="button" className="ghost" onClick={() => void logout()}>
          Log out
        </button>
      </header>
      <div className="layout">
        <Sidebar />
        {s.sidebarOpen && (
          <div
            className="scrim"
            aria-hidden="true"
            onClick={() =>
              update((st) => {
                st.sidebarOpen = false;
              })
            }
          />
        )}
        <main className="main" id="main">
          {s.notifyOffer && s.notifyPermission === 'default' && <NotifyOffer />}
          {s.notice && (
            <p className={`notice${s.notice.error ? ' error' : ''}`} role={s.notice.error ? 'alert' : 'status'}>
              {s.notice.text}
            </p>
          )}
          {inviteRoute ? (
            <InviteLanding code={s.route.kind === 'invite' ? s.route.code : ''} />
          ) : s.booting && !s.workspaces.length ? (
            <section className="empty">
              <p>Loading…</p>
            </section>
          ) : !s.workspaces.length ? (
            <Welcome />
          ) : s.admin ? (
            <WorkspaceAdmin />
          ) : s.search?.open ? (
            <SearchResults />
          ) : ch ? (
            <ChannelPane key={ch.id} channel={ch} />
          ) : (
            <section className="empty">
              <h1>{ws?.name ?? 'OComms'}</h1>
              <p>Pick a channel, or join one under “Browse channels”.</p>
            </section>
          )}
        </main>
        {s.threadId && !inviteRoute && <ThreadPanel rootId={s.threadId} />}
        {s.side?.kind === 'pins' && !inviteRoute && <PinsPanel channelId={s.side.channelId} />}
        {s.side?.kind === 'details' && !inviteRoute && <ChannelDetails channelId={s.side.channelId} />}
      </div>
      {s.invite && <InviteDialog />}
      {s.profileOpen && <ProfileDialog />}
      {s.outboxOpen && <Outbox />}
      <Lightbox />
    </div>
  );
}
