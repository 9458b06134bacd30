import { useState, type FormEvent } from 'react';
import { createWorkspace } from '../actions/workspace';
import { useStore } from '../store';

/** No workspace to open: say why (deactivated somewhere?), and offer to create one. */
export function Welcome() {
  const { deactivatedIn } = useStore();
  const names = deactivatedIn.map((w) => w.name);
  return (
    <section className="empty">
      <h1>Welcome to OComms</h1>
      {names.length > 0 ? (
        <p role="alert" data-testid="deactivated-notice">
          Your account was deactivated in {names.join(', ')}. Ask an owner or admin there to reactivate you. Meanwhile
          you can create a workspace of your own, or open an invite link to another one.
        </p>
      ) : (
        <p>You are not in a workspace yet. Create one, or open an invite link someone sent you.</p>
      )}
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
