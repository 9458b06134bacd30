// Sign up / log in. On an invite link (/invite/{code}) it says so; accepting comes after.

import { useEffect, useRef, useState, type FormEvent } from 'react';
import { login, signup } from '../actions/workspace';
import { useStore } from '../store';

export function AuthScreen() {
  const s = useStore();
  const invited = s.route.kind === 'invite';
  const [mode, setMode] = useState<'login' | 'signup'>(invited ? 'signup' : 'login');
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
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
      if (mode === 'signup') await signup(name.trim(), email.trim(), password);
      else await login(email.trim(), password);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  const signupMode = mode === 'signup';
  return (
    <main className="auth">
      <div className="auth-card">
        <h1 className="brand-title">OComms</h1>
        {invited && <p className="auth-note">You have been invited to a workspace. Sign up or log in to accept.</p>}
        {s.authMessage && (
          <p className="auth-note" role="status">
            {s.authMessage}
          </p>
        )}
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
          <p className="switch">
            {signupMode ? 'Already have an account?' : 'No account yet?'}{' '}
            <button
              type="button"
              className="link"
              onClick={() => {
                setError('');
                setMode(signupMode ? 'login' : 'signup');
              }}
            >
              {signupMode ? 'Log in' : 'Sign up'}
            </button>
          </p>
        </form>
      </div>
    </main>
  );
}
