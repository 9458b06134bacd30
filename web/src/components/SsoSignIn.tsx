// "Sign in with {provider}" above the password form when the install has single sign-on, and
// why the last attempt failed when the provider sent the browser back with a reason.

import { startSso } from '../actions/sso';
import { ssoProvider } from '../sso';
import { useStore } from '../store';

export function SsoSignIn() {
  const s = useStore();
  const p = ssoProvider(s.providers);
  if (!p && !s.ssoError) return null;
  return (
    <section className="stack sso" aria-label="Single sign-on">
      {s.ssoError && (
        <p className="form-error sso-error" role="alert" data-testid="sso-error">
          {s.ssoError}
        </p>
      )}
      {p && (
        <>
          <button type="button" className="primary sso-button" onClick={startSso}>
            Sign in with {p.name}
          </button>
          <p className="or-separator" aria-hidden="true">
            <span>or</span>
          </p>
        </>
      )}
    </section>
  );
}
