// The channel's pinned messages beside it, newest pin first; live through the channel's
// events. Whoever may pin can unpin from here.

import { closeSide, rightsFor, setPinned } from '../actions/channel';
import { formatTime } from '../format';
import { nameOf, useStore } from '../store';
import { MessageBody } from './MessageItem';

export function PinsPanel({ channelId }: { channelId: string }) {
  const s = useStore();
  const ch = s.channels.get(channelId);
  const v = s.pins.get(channelId);
  if (!ch) return null;
  const canPin = rightsFor(ch).pin;
  const close = () => {
    closeSide();
    document.getElementById('pins-btn')?.focus();
  };
  return (
    <aside className="thread side" aria-labelledby="pins-title" data-testid="pins-panel">
      <header className="ch-header">
        <h2 id="pins-title">Pinned</h2>
        <span className="muted small">in #{ch.name}</span>
        <span className="spacer" />
        <button type="button" className="ghost small" aria-label="Close pinned messages" onClick={close}>
          ✕
        </button>
      </header>
      <div className="scroller">
        {(!v || v.loaded === 'loading') && <p className="muted pad">Loading…</p>}
        {v?.loaded === 'error' && <p className="form-error pad">Could not load the pins: {v.error}</p>}
        {v?.loaded === 'ready' && !v.pins.length && <p className="muted pad">Nothing is pinned yet. Pin a message from its actions.</p>}
        <ol className="messages pins" aria-label="Pinned messages">
          {v?.pins.map((m) => (
            <li key={m.id} className="msg pin-item" data-message-id={m.id}>
              <div className="content">
                <div className="meta">
                  <span className="author">{nameOf(m.author_id) ?? 'someone'}</span>
                  <time dateTime={new Date(m.created_at_ms).toISOString()}>{formatTime(m.created_at_ms)}</time>
                </div>
                <MessageBody m={m} />
                <p className="muted small">Pinned by {(m.pinned_by && nameOf(m.pinned_by)) ?? 'someone'}</p>
              </div>
              {canPin && (
                <div className="pin-actions">
                  <button type="button" className="small" onClick={() => void setPinned(m, false)} aria-label={`Unpin the message from ${nameOf(m.author_id) ?? 'someone'}`}>
                    Unpin
                  </button>
                </div>
              )}
            </li>
          ))}
        </ol>
      </div>
    </aside>
  );
}
