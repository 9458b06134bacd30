// The page a mailed link opens: confirming an address and signing in by link happen at once
// (the page says it is working, or why the link did not work); a reset link asks for the
// new password first.

import { useEffect, useRef, useState, type FormEvent } from 'react';
import { backToSignIn, followLink } from '../actions/auth';
import type { LinkKind } from '../auth';
import { useStore } from '../store';
import { AuthCard } from './AuthCard';

const TITLE: Record<LinkKind, string> = {
  'verify-email': 'Confirming your email',
  'magic-link': 'Signing you in',
  'reset-password': 'Choose a new password',
};

export function LinkScreen() {
  const s = useStore();
  const l = s.link;
  if (!l) return null;
  const failed = !!l.error;
  const form = l.kind === 'reset-password' && !!l.token;
  return (
    <AuthCard>
      <section className="stack" aria-labelledby="link-title" aria-busy={l.busy}>
        <h2 id="link-title">{failed && !form ? 'This link did not work' : TITLE[l.kind]}</h2>
        {form ? (
          <NewPasswordForm busy={l.busy} error={l.error} />
        ) : (
          <p className={failed ? 'form-error' : 'muted'} role={failed ? 'alert' : 'status'}>
            {failed ? l.error : 'One moment…'}
          </p>
        )}
        <p className="switch">
          <button type="button" className="link" onClick={backToSignIn}>
            Back to log in
          </button>
        </p>
      </section>
    </AuthCard>
  );
}

function NewPasswordForm({ busy, error }: { busy: boolean; error: string }) {
  const [password, setPassword] = useState('');
  const [local, setLocal] = useState('');
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);
  function submit(e: FormEvent) {
    e.preventDefault();
    if (password.length < 8) return setLocal('The password needs at least 8 characters.');
    setLocal('');
    void followLink(password);
  }
  return (
    <form className="stack" onSubmit={submit} noValidate>
      <p className="small">Your other sessions will be signed out.</p>
      <label htmlFor="new-password">
        New password <span className="hint">(at least 8 characters)</span>
      </label>
      <input
        id="new-password"
        ref={first}
        type="password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        autoComplete="new-password"
        required
      />
      <p className="form-error" role="alert">
        {local || error}
      </p>
      <button type="submit" className="primary" disabled={busy}>
        Set password and sign in
      </button>
    </form>
  );
}
