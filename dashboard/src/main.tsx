import { render } from 'preact';
import { useState } from 'preact/hooks';
import { operations } from '../../sdk/src/index.ts';
import { atelier, go, messageOf, saveToken, useLoad, useRoute } from './api.ts';
import { CostsPage } from './pages/costs.tsx';
import { JobPage } from './pages/job.tsx';
import { BatchPage } from './pages/batch.tsx';
import { JobsPage } from './pages/jobs.tsx';
import { KeysPage } from './pages/keys.tsx';
import { NewJobPage } from './pages/new.tsx';
import { ProvidersPage } from './pages/providers.tsx';
import { UsersPage } from './pages/users.tsx';
import { WorkersPage } from './pages/workers.tsx';
import { ErrorBox, Loading } from './ui.tsx';
import './style.css';

function Login({ onDone }: { onDone: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [useKey, setUseKey] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    setBusy(true);
    setError(null);
    try {
      if (useKey) {
        saveToken(String(form.get('key')));
        await atelier.me();
      } else {
        saveToken(await atelier.login(String(form.get('username')), String(form.get('password'))));
      }
      onDone();
    } catch (e) {
      saveToken(null);
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <h1>Atelier</h1>
      <p class="muted">Images, video, speech and talking heads on your own machines.</p>
      <form onSubmit={submit} class="card">
        {useKey ? (
          <label>
            API key
            <input name="key" autocomplete="off" required placeholder="atl_…" />
          </label>
        ) : (
          <>
            <label>
              Username
              <input name="username" autocomplete="username" required autofocus />
            </label>
            <label>
              Password
              <input name="password" type="password" autocomplete="current-password" required />
            </label>
          </>
        )}
        {error ? <div class="error" role="alert">{messageOf(error)}</div> : null}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <button type="button" class="link" onClick={() => setUseKey(!useKey)}>
          {useKey ? 'Sign in with a password' : 'Use an API key instead'}
        </button>
      </form>
      <p class="muted small">
        The admin login is printed by <code>./atelier start</code>. GraphQL is at <a href="/graphql">/graphql</a>, REST docs at <a href="/docs">/docs</a>.
      </p>
    </main>
  );
}

const USER_NAV: [string, string][] = [
  ['jobs', 'Jobs'],
  ['new', 'Generate'],
  ['keys', 'API keys'],
];
const ADMIN_NAV: [string, string][] = [
  ['workers', 'Workers'],
  ['costs', 'Costs'],
  ['providers', 'Providers'],
  ['users', 'Users'],
];

function Page({ route, admin }: { route: string[]; admin: boolean }) {
  const [page, id] = route;
  switch (page) {
    case undefined:
    case 'jobs':
      return id ? <JobPage id={id} /> : <JobsPage />;
    case 'new':
      return <NewJobPage kind={id} />;
    case 'batches':
      return <BatchPage id={id!} />;
    case 'keys':
      return <KeysPage admin={admin} />;
  }
  if (!admin) return <ErrorBox error={new Error('This page is for admins.')} />;
  switch (page) {
    case 'workers':
      return <WorkersPage />;
    case 'costs':
      return <CostsPage />;
    case 'providers':
      return <ProvidersPage />;
    case 'users':
      return <UsersPage />;
    default:
      return <ErrorBox error={new Error(`No page "${page}".`)} />;
  }
}

function App() {
  const route = useRoute();
  const [session, setSession] = useState(0);
  const me = useLoad(() => (atelier.token ? atelier.request(operations.Me).then((r) => r.me) : Promise.resolve(null)), [session]);
  if (me.data === undefined && !me.error) return <Loading what="Starting" />;
  if (!me.data) return <Login onDone={() => setSession(session + 1)} />;
  const admin = me.data.role === 'ADMIN';
  const current = route[0] ?? 'jobs';
  const signOut = () => {
    saveToken(null);
    setSession(session + 1);
  };
  return (
    <>
      <header class="top">
        <a class="brand" href="#/jobs">
          Atelier
        </a>
        <nav>
          {[...USER_NAV, ...(admin ? ADMIN_NAV : [])].map(([path, label]) => (
            <a key={path} href={`#/${path}`} class={current === path ? 'active' : ''}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who">
          {me.data.username}
          {admin ? ' (admin)' : ''}{' '}
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        </span>
      </header>
      <main class="page">
        <Page route={route} admin={admin} />
      </main>
    </>
  );
}

if (!location.hash) go('jobs');
render(<App />, document.getElementById('app')!);
