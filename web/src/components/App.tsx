import { useStore } from '../store';
import { AuthScreen } from './AuthScreen';
import { LinkScreen } from './LinkScreen';
import { Shell } from './Shell';

export function App() {
  const s = useStore();
  if (s.me) return <Shell />;
  if (s.restoring) {
    return (
      <main className="auth">
        <p className="auth-note" role="status">
          Loading…
        </p>
      </main>
    );
  }
  return s.link ? <LinkScreen /> : <AuthScreen />;
}
