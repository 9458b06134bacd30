// The card every signed-out screen sits in, and the "check your email" card shown once a
// link has been mailed.

import { useEffect, useRef, type ReactNode } from 'react';

export function AuthCard({ children }: { children: ReactNode }) {
  return (
    <main className="auth">
      <div className="auth-card">
        <h1 className="brand-title">OComms</h1>
        {children}
      </div>
    </main>
  );
}

export type MailPurpose = 'signup' | 'reset' | 'magic';

const NEXT: Record<MailPurpose, string> = {
  signup: 'Follow it to finish signing up.',
  reset: 'Follow it to choose a new password.',
  magic: 'Open it in this browser to sign in.',
};

export function CheckEmail({ email, purpose, onBack }: { email: string; purpose: MailPurpose; onBack: () => void }) {
  const title = useRef<HTMLHeadingElement>(null);
  useEffect(() => title.current?.focus(), []);
  return (
    <section className="stack" aria-labelledby="check-email-title" data-testid="check-email">
      <h2 id="check-email-title" ref={title} tabIndex={-1}>
        Check your email
      </h2>
      <p>
        We sent a link to <strong>{email}</strong>. {NEXT[purpose]}
      </p>
      <p className="muted small">
        (No mail arriving? On an install without a mail server, the link is in the server's log and on the admins'
        outbox page.)
      </p>
      <p className="switch">
        <button type="button" className="link" onClick={onBack}>
          Back to log in
        </button>
      </p>
    </section>
  );
}
