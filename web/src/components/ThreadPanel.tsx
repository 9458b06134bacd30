// A thread beside the channel: the root, its replies (live), and a reply composer with
// "also send to the channel". Escape or the close button closes it.

import { setFollowing } from '../actions/channel';
import { closeThread } from '../actions/messages';
import { useStore } from '../store';
import { Composer } from './Composer';
import { EphemeralItem, MessageItem } from './MessageItem';
import { PendingItem } from './PendingItem';
import { TypingLine } from './ChannelPane';

export function ThreadPanel({ rootId }: { rootId: string }) {
  const s = useStore();
  const t = s.threads.get(rootId);
  if (!t || !t.root) return null;
  const root = t.root;
  const ch = s.channels.get(root.channel_id);
  const replies = [...t.replies.values()].sort((a, b) => a.seq - b.seq);
  const pending = s.pending.filter((p) => p.thread_root_id === rootId);
  const ephemeral = s.ephemeral.filter((m) => m.thread_root_id === rootId);
  const close = () => {
    closeThread();
    document.getElementById('composer-input')?.focus();
  };
  return (
    <aside className="thread" aria-labelledby="thread-title">
      <header className="ch-header">
        <h2 id="thread-title">Thread</h2>
        {ch && <span className="muted small">in #{ch.name}</span>}
        <span className="spacer" />
        {t.following != null && !root.deleted && (
          <button
            type="button"
            className="ghost small"
            aria-pressed={t.following}
            title={t.following ? 'Replies count as mentions for you' : 'Replies will not notify you'}
            onClick={() => void setFollowing(rootId, !t.following)}
          >
            {t.following ? 'Following' : 'Follow'}
          </button>
        )}
        <button type="button" className="ghost small" aria-label="Close thread" onClick={close}>
          ✕
        </button>
      </header>
      <div className="scroller">
        <ol className="messages" aria-label="Thread root">
          <MessageItem m={root} inThread />
        </ol>
        <p className="muted small thread-count">
          {root.reply_count} {root.reply_count === 1 ? 'reply' : 'replies'}
        </p>
        {t.loaded === 'loading' && <p className="muted">Loading replies…</p>}
        {t.loaded === 'error' && <p className="form-error">Could not load the thread: {t.error}</p>}
        <ol className="messages" role="log" aria-live="polite" aria-label="Replies">
          {replies.map((m) => (
            <MessageItem key={m.id} m={m} inThread />
          ))}
          {pending.map((p) => (
            <PendingItem key={p.client_msg_id} p={p} />
          ))}
        </ol>
        {ephemeral.length > 0 && (
          <ol className="messages" aria-label="Only visible to you">
            {ephemeral.map((m) => (
              <EphemeralItem key={m.id} m={m} />
            ))}
          </ol>
        )}
      </div>
      <TypingLine channelId={root.channel_id} />
      {!root.deleted && (
        <Composer
          key={rootId}
          id="thread-composer"
          channelId={root.channel_id}
          threadRootId={rootId}
          label="Reply in thread"
          channelName={ch?.kind === 'dm' ? undefined : ch?.name}
          autoFocus
        />
      )}
    </aside>
  );
}
