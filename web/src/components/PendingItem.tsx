import { discard, retry } from '../actions/messages';
import { nameOf, useStore, type Pending } from '../store';
import { renderMarkdown } from '../markdown';
import { Avatar } from './Avatar';

/** A message of ours not stored yet: waiting for the connection, sending, or failed. */
export function PendingItem({ p }: { p: Pending }) {
  const s = useStore();
  const me = s.me?.id ?? '';
  const status =
    p.status === 'sending'
      ? 'Sending…'
      : p.status === 'queued'
        ? 'Waiting for the connection; it will be sent automatically.'
        : `Not sent: ${p.error}`;
  return (
    <li className={`msg pending pending-${p.status}`} data-client-msg-id={p.client_msg_id}>
      <div className="gutter">
        <Avatar userId={me} />
      </div>
      <div className="content">
        <div className="meta">
          <span className="author">{s.me?.display_name ?? 'You'}</span>
          <span
            className={`pending-status${p.status === 'failed' ? ' failed' : ''}`}
            role={p.status === 'failed' ? 'alert' : undefined}
          >
            {status}
          </span>
        </div>
        <div className="md">{renderMarkdown(p.text, { nameOf, me })}</div>
        {!!p.files?.length && <p className="muted small">{p.files.map((f) => f.name).join(', ')}</p>}
        {p.status !== 'sending' && (
          <div className="row small">
            <button type="button" className="small" onClick={() => retry(p)}>
              {p.status === 'failed' ? 'Retry' : 'Retry now'}
            </button>
            <button type="button" className="small ghost" onClick={() => discard(p)}>
              Discard
            </button>
          </div>
        )}
      </div>
    </li>
  );
}
