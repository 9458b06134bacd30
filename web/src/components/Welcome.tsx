import { useState, type FormEvent } from 'react';
import { createWorkspace } from '../actions/workspace';

/** No workspace yet: create one (or open an invite link). */
export function Welcome() {
  return (
    <section className="empty">
      <h1>Welcome to OComms</h1>
      <p>You are not in a workspace yet. Create one, or open an invite link someone sent you.</p>
      <NewWorkspaceForm idPrefix="welcome" />
    </section>
  );
}

export function NewWorkspaceForm({ idPrefix, onDone }: { idPrefix: string; onDone?: () => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) return setError('Please enter a name.');
    setBusy(true);
    setError('');
    try {
      await createWorkspace(name.trim());
      setName('');
      onDone?.();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="stack small" onSubmit={submit} noValidate>
      <label htmlFor={`${idPrefix}-ws-name`}>Workspace name</label>
      <input id={`${idPrefix}-ws-name`} value={name} onChange={(e) => setName(e.target.value)} maxLength={80} />
      <p className="form-error" role="alert">
        {error}
      </p>
      <button type="submit" className="primary" disabled={busy}>
        Create workspace
      </button>
    </form>
  );
}
