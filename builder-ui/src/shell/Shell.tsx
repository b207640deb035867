// The signed-in app: a navigation bar over the page the address names.
// Hash URLs (#/flows/shop/main) keep the server's one static route and let
// a reload or a shared link reopen the same page.
import type { ReactElement } from 'react';
import { HashRouter, Navigate, NavLink, Route, Routes, useLocation } from 'react-router';
import { homeFor, pagesFor } from '../routes';
import { useI18n } from '../i18n';
import { useSession } from '../session';

export function Shell({ fallback }: { fallback: ReactElement }) {
  return (
    <HashRouter>
      <div className="app">
        <Nav />
        <main className="page">
          <ShellRoutes fallback={fallback} />
        </main>
      </div>
    </HashRouter>
  );
}

function ShellRoutes({ fallback }: { fallback: ReactElement }) {
  const { user } = useSession();
  const home = homeFor(user.role);
  const mine = pagesFor(user.role);
  return (
    <Routes>
      {mine.map((p) => (
        <Route key={p.path} path={p.path} element={p.element} />
      ))}
      <Route path="/" element={home ? <Navigate to={home} replace /> : fallback} />
      <Route path="*" element={<Legacy home={home} fallback={fallback} />} />
    </Routes>
  );
}

/**
 * Legacy sends an address the app no longer has to the role's home; the
 * builder's old #/<bot>/<flow> links (before the pages had paths) open
 * that flow.
 */
function Legacy({ home, fallback }: { home?: string; fallback: ReactElement }) {
  const { pathname } = useLocation();
  const parts = pathname.split('/').filter(Boolean);
  const { user } = useSession();
  if (parts.length === 2 && user.role !== 'operator') return <Navigate to={`/flows/${parts[0]}/${parts[1]}`} replace />;
  return home ? <Navigate to={home} replace /> : fallback;
}

function Nav() {
  const { user, signOut } = useSession();
  const { t, tr, lang, setLang } = useI18n();
  const links = pagesFor(user.role).filter((p) => p.nav);
  return (
    <nav className="appnav" aria-label={t('navMain')}>
      <span className="logo">Voronka</span>
      {links.map((p) => (
        <NavLink key={p.path} to={p.navPath ?? p.path} data-nav={p.navPath ?? p.path} data-action={p.path === '/users' ? 'users' : undefined}>
          {t(p.nav!)}
        </NavLink>
      ))}
      <span className="spacer" />
      <button onClick={() => setLang(lang === 'ru' ? 'en' : 'ru')} data-action="lang">
        {t('language')}
      </button>
      <span className="who">
        {user.login} ({tr('role_' + user.role)})
      </span>
      <button onClick={signOut} data-action="sign-out">
        {t('signOut')}
      </button>
    </nav>
  );
}
