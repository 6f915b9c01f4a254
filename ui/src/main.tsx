/**
 * The web UI's entry: checks it may call the API (with the token of this tab, if any), shows the sign-in page
 * if not, else the page the URL's hash names. Hash routes need no server route per page: the manager serves one
 * shell at `/`.
 */
import '@xterm/xterm/css/xterm.css';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, token, whenUnauthenticated } from './api';
import { live } from './live';
import { ContainersPage } from './pages/containers';
import { CreatePage } from './pages/create';
import { DetailPage } from './pages/detail';
import { HostPage } from './pages/host';
import { ImagesPage } from './pages/images';
import { SignInPage } from './pages/sign-in';
import { VolumesPage } from './pages/volumes';

const NAV = [
  ['#/containers', 'Containers'],
  ['#/create', 'Create'],
  ['#/images', 'Images'],
  ['#/volumes', 'Volumes'],
  ['#/host', 'Host'],
] as const;

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/containers');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/containers');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function Page({ hash }: { hash: string }) {
  const [, page, id, tab] = hash.split('/');
  if (page === 'create') return <CreatePage />;
  if (page === 'images') return <ImagesPage />;
  if (page === 'volumes') return <VolumesPage />;
  if (page === 'host') return <HostPage />;
  if (page === 'containers' && id) return <DetailPage id={id} tab={tab ?? 'overview'} />;
  return <ContainersPage />;
}

type Access = 'checking' | 'signed-in' | 'sign-in' | 'unreachable';

function App() {
  const [access, setAccess] = useState<Access>('checking');
  const [reason, setReason] = useState('');
  /** The token this tab tried was refused (shown on the sign-in page). */
  const [refused, setRefused] = useState(false);
  const hash = useHash();
  const check = async () => {
    try {
      await call('GET', '/v1/host');
      setAccess('signed-in');
      live.start();
    } catch (e) {
      setReason((e as Error).message);
      const unauthenticated = e instanceof ApiError && e.status === 401;
      setRefused(unauthenticated && token.get() !== '');
      setAccess(unauthenticated ? 'sign-in' : 'unreachable');
    }
  };
  useEffect(() => {
    void check();
    return whenUnauthenticated(() => {
      live.close();
      setAccess('sign-in');
    });
  }, []);
  useEffect(() => {
    document.title = `Hearth · ${NAV.find(([h]) => hash.startsWith(h))?.[1] ?? 'Containers'}`;
  }, [hash]);

  if (access === 'checking') return <p class="center">Connecting…</p>;
  if (access === 'sign-in') return <SignInPage wrong={refused} onToken={(t) => (token.set(t), void check())} />;
  if (access === 'unreachable') return <p class="center error" role="alert">The manager did not answer: {reason}</p>;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>Skip to content</a>
      <header class="top">
        <span class="brand">Hearth</span>
        <nav aria-label="Pages">
          {NAV.map(([h, label]) => (
            <a href={h} aria-current={hash.startsWith(h) || (h === '#/containers' && hash === '#/') ? 'page' : undefined}>{label}</a>
          ))}
        </nav>
        {token.get() && (
          <button type="button" class="signout" onClick={() => (token.clear(), live.close(), setRefused(false), setAccess('sign-in'))}>Sign out</button>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        <Page hash={hash} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
