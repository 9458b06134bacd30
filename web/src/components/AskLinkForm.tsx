// Asks for a mailed link: to reset a forgotten password, or to sign in without one.

import { useEffect, useRef, useState, type FormEvent } from 'react';
import { askForLink } from '../actions/auth';
import { authErrorText } from '../auth';

const TEXT = {
  reset: {
    title: 'Reset your password',
    intro: 'Enter the email of your account; we will mail you a link to choose a new password.',
  },
  magic: {
    title: 'Sign in with an emailed link',
    intro: 'Enter the email of your account; we will mail you a link that signs you in, in this browser.',
  },
};

export function AskLinkForm({
  purpose,
  initialEmail,
  onSent,
  onBack,
}: {
  purpose: 'reset' | 'magic';
  initialEmail: string;
  onSent: (email: string) => void;
  onBack: () => void;
}) {
  const [email, setEmail] = useState(initialEmail);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);
  const t = TEXT[purpose];

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError('');
    if (!email.trim()) return setError('Please enter your email.');
    setBusy(true);
    try {
      await askForLink(purpose, email.trim());
      onSent(email.trim());
    } catch (err) {
      setError(authErrorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="stack" onSubmit={submit} noValidate aria-labelledby="ask-link-title">
      <h2 id="ask-link-title">{t.title}</h2>
      <p className="small">{t.intro}</p>
      <label htmlFor="ask-link-email">Email</label>
      <input
        id="ask-link-email"
        ref={first}
        type="email"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        autoComplete="username"
        required
      />
      <p className="form-error" role="alert">
        {error}
      </p>
      <button type="submit" className="primary" disabled={busy}>
        Send link
      </button>
      <p className="switch">
        <button type="button" className="link" onClick={onBack}>
          Back to log in
        </button>
      </p>
    </form>
  );
}
