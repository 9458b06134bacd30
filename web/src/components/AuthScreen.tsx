// Sign up / log in, or ask for a mailed link (forgotten password, sign-in link). On an
// invite link (/invite/{code}) it says so; accepting comes after.

import { useEffect, useRef, useState, type FormEvent } from 'react';
import { login, signup } from '../actions/auth';
import { authErrorText } from '../auth';
import { useStore } from '../store';
import { AskLinkForm } from './AskLinkForm';
import { AuthCard, CheckEmail, type MailPurpose } from './AuthCard';
import { SsoSignIn } from './SsoSignIn';

type Mode = 'login' | 'signup' | 'reset' | 'magic';

export function AuthScreen() {
  const s = useStore();
  const invited = s.route.kind === 'invite';
  const [mode, setMode] = useState<Mode>(invited ? 'signup' : 'login');
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState<MailPurpose | null>(null);
  const back = () => {
    setSent(null);
    setMode('login');
  };
  return (
    <AuthCard>
      {invited && <p className="auth-note">You have been invited to a workspace. Sign up or log in to accept.</p>}
      {s.authMessage && !sent && (
        <p className="auth-note" role="status">
          {s.authMessage}
        </p>
      )}
      {sent ? (
        <CheckEmail email={email} purpose={sent} onBack={back} />
      ) : mode === 'reset' || mode === 'magic' ? (
        <AskLinkForm
          purpose={mode}
          initialEmail={email}
          onSent={(to) => {
            setEmail(to);
            setSent(mode);
          }}
          onBack={back}
        />
      ) : (
        <>
          <SsoSignIn />
          <PasswordForm
            mode={mode}
            email={email}
            setEmail={setEmail}
            setMode={setMode}
            onCheckEmail={() => setSent('signup')}
          />
        </>
      )}
    </AuthCard>
  );
}

function PasswordForm({
  mode,
  email,
  setEmail,
  setMode,
  onCheckEmail,
}: {
  mode: 'login' | 'signup';
  email: string;
  setEmail: (email: string) => void;
  setMode: (mode: Mode) => void;
  onCheckEmail: () => void;
}) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);

  useEffect(() => first.current?.focus(), [mode]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError('');
    if (mode === 'signup' && !name.trim()) return setError('Please enter a display name.');
    if (!email.trim() || !password) return setError('Please enter your email and password.');
    if (mode === 'signup' && password.length < 8) return setError('The password needs at least 8 characters.');
    setBusy(true);
    try {
      if (mode === 'login') await login(email.trim(), password);
      else if ((await signup(name.trim(), email.trim(), password)) === 'check_email') {
        setEmail(email.trim());
        return onCheckEmail();
      }
    } catch (err) {
      setError(authErrorText(err));
    } finally {
      setBusy(false);
    }
  }

  const signupMode = mode === 'signup';
  const go = (m: Mode) => () => {
    setError('');
    setMode(m);
  };
  return (
    <form className="stack" onSubmit={submit} noValidate aria-labelledby="auth-title">
      <h2 id="auth-title">{signupMode ? 'Create an account' : 'Log in'}</h2>
      {signupMode && (
        <>
          <label htmlFor="auth-name">Display name</label>
          <input
            id="auth-name"
            ref={first}
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoComplete="nickname"
            maxLength={80}
            required
          />
        </>
      )}
      <label htmlFor="auth-email">Email</label>
      <input
        id="auth-email"
        ref={signupMode ? undefined : first}
        type="email"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        autoComplete="username"
        required
      />
      <label htmlFor="auth-password">
        Password {signupMode && <span className="hint">(at least 8 characters)</span>}
      </label>
      <input
        id="auth-password"
        type="password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        autoComplete={signupMode ? 'new-password' : 'current-password'}
        required
      />
      <p className="form-error" role="alert">
        {error}
      </p>
      <button type="submit" className="primary" disabled={busy}>
        {signupMode ? 'Sign up' : 'Log in'}
      </button>
      {!signupMode && (
        <p className="switch auth-links">
          <button type="button" className="link" onClick={go('reset')}>
            Forgot password?
          </button>
          <button type="button" className="link" onClick={go('magic')}>
            Email me a sign-in link
          </button>
        </p>
      )}
      <p className="switch">
        {signupMode ? 'Already have an account?' : 'No account yet?'}{' '}
        <button type="button" className="link" onClick={go(signupMode ? 'login' : 'signup')}>
          {signupMode ? 'Log in' : 'Sign up'}
        </button>
      </p>
    </form>
  );
}
