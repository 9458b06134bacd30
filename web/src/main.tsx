import { createRoot } from 'react-dom/client';
import { App } from './components/App';
import { forgetStoredTokens } from './api';
import { parseLink } from './auth';
import { openLink, restoreSession } from './actions/auth';
import { loadProviders, takeSsoError } from './actions/sso';
import { routeFromPath } from './actions/workspace';
import { update } from './store';
import './style.css';

forgetStoredTokens();
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
takeSsoError();
void loadProviders();
const link = parseLink(location.pathname, location.hash);
if (link) openLink(link);
else void restoreSession();
