// The install's mail outbox, for the install's admins: what was sent or, with no mail server,
// only logged, newest first, 50 at a time. A mail's text opens below it, links clickable,
// so an admin can hand a sign-up or reset link on.

import { useEffect, useRef, useState } from 'react';
import { loadOutbox, OUTBOX_PAGE, openOutbox } from '../actions/account';
import { formatDay, formatTime } from '../format';
import { linkify } from '../linkify';
import type { OutboxMail } from '../types';
import { FormFeedback, Modal } from './Common';

const STATE: Record<OutboxMail['state'], string> = {
  pending: 'waiting to be sent',
  sent: 'sent',
  logged: 'logged (no mail server)',
  failed: 'failed',
};

export function Outbox() {
  const [mails, setMails] = useState<OutboxMail[]>([]);
  const [more, setMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState('');
  const dialog = useRef<HTMLDivElement>(null);

  async function load(before?: number) {
    setLoading(true);
    setError('');
    try {
      const page = await loadOutbox(before);
      setMails((old) => (before === undefined ? page : [...old, ...page]));
      setMore(page.length === OUTBOX_PAGE);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setLoading(false);
    }
  }
  useEffect(() => {
    dialog.current?.focus();
    void load();
  }, []);

  const close = () => {
    openOutbox(false);
    document.getElementById('profile-btn')?.focus();
  };
  return (
    <Modal labelledBy="outbox-title" onClose={close} dialogRef={dialog}>
      <h2 id="outbox-title">Mail outbox</h2>
      <p className="small muted">Mail this install sent or logged, newest first.</p>
      {!loading && !error && !mails.length && <p>No mail yet.</p>}
      <ol className="outbox" aria-label="Mails">
        {mails.map((m) => (
          <li key={m.id} className="outbox-mail" data-state={m.state}>
            <details>
              <summary>
                <span className="outbox-subject">{m.subject}</span>
                <span className="muted small">
                  to {m.to} · {formatDay(m.created_at_ms)} {formatTime(m.created_at_ms)} · {STATE[m.state]}
                  {m.last_error ? ` (${m.last_error})` : ''}
                </span>
              </summary>
              <pre className="outbox-text">
                {linkify(m.text).map((p, i) =>
                  'href' in p ? (
                    <a key={i} href={p.href} target="_blank" rel="noopener noreferrer">
                      {p.text}
                    </a>
                  ) : (
                    p.text
                  ),
                )}
              </pre>
            </details>
          </li>
        ))}
      </ol>
      <FormFeedback error={error} />
      <div className="row">
        {more && (
          <button type="button" disabled={loading} onClick={() => void load(mails[mails.length - 1]?.id)}>
            Older
          </button>
        )}
        {loading && <span className="muted small">Loading…</span>}
        <span className="spacer" />
        <button type="button" onClick={close}>
          Close
        </button>
      </div>
    </Modal>
  );
}
