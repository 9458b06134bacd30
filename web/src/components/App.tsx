import { useStore } from '../store';
import { AuthScreen } from './AuthScreen';
import { Shell } from './Shell';

export function App() {
  const s = useStore();
  return s.me ? <Shell /> : <AuthScreen />;
}
