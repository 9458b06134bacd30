import { createRoot } from 'react-dom/client';
import { App } from './components/App';
import { forgetStoredTokens } from './api';
import { parseLink } from './auth';
import { openLink, restoreSession } from './actions/auth';
import { loadProviders, takeSsoError, takeSsoInvitePath } from './actions/sso';
import { routeFromPath } from './actions/workspace';
import { update } from './store';
import './style.css';

forgetStoredTokens();
// Back from the provider to `/` after starting on an invite: on to the invite.
const invite = takeSsoInvitePath();
if (invite) history.replaceState(null, '', invite + location.hash);
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
