import { createRoot } from 'react-dom/client';
import { App } from './components/App';
import { client } from './client';
import { enterApp, routeFromPath } from './actions/workspace';
import { update } from './store';
import './style.css';

update((s) => {
  s.route = routeFromPath(location.pathname);
});
window.addEventListener('popstate', () =>
  update((s) => {
    s.route = routeFromPath(location.pathname);
  }),
);

const root = document.getElementById('root');
if (root) createRoot(root).render(<App />);
if (client.session) void enterApp();
