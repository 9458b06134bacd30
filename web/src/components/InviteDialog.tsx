import { useEffect, useRef, useState } from 'react';
import { closeInvite } from '../actions/workspace';
import { useStore } from '../store';
import { Modal } from './Common';

/** The invite link of the current workspace, to copy and send. */
export function InviteDialog() {
  const s = useStore();
  const inv = s.invite;
  const input = useRef<HTMLInputElement>(null);
  const dialog = useRef<HTMLDivElement>(null);
  const [copied, setCopied] = useState('');
  useEffect(() => {
    if (inv?.url) {
      input.current?.focus();
      input.current?.select();
    } else dialog.current?.focus();
  }, [inv?.url]);
  if (!inv) return null;
  const back = () => {
    closeInvite();
    document.getElementById('invite-btn')?.focus();
  };
  async function copy() {
    try {
      await navigator.clipboard.writeText(inv?.url ?? '');
      setCopied('Copied.');
    } catch {
      input.current?.select();
      setCopied('Press Ctrl+C to copy.');
    }
  }
  return (
    <Modal labelledBy="invite-title" onClose={back} dialogRef={dialog}>
      <h2 id="invite-title">Invite people</h2>
      <p>Anyone with this link can join the workspace after signing up or logging in.</p>
      <label htmlFor="invite-url">Invite link</label>
      <input id="invite-url" ref={input} readOnly value={inv.loading ? 'Creating a link…' : inv.url} />
      <p className="muted" role="status">
        {inv.error || copied}
      </p>
      <div className="row">
        <button type="button" className="primary" onClick={() => void copy()} disabled={!inv.url}>
          Copy link
        </button>
        <button type="button" onClick={back}>
          Close
        </button>
      </div>
    </Modal>
  );
}
