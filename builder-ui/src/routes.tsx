// The pages of the app, one entry each: the shell builds the navigation and
// the router from this list, so a new page is its folder plus one entry here.
import type { ReactElement } from 'react';
import { useNavigate, useParams } from 'react-router';
import type * as api from './api';
import { Broadcasts } from './broadcasts/Broadcasts';
import { Analytics } from './analytics/Analytics';
import { Builder } from './Builder';
import { BotsPage } from './bots/BotsPage';
import { Contacts } from './contacts/Contacts';
import type { Key } from './i18n';
import { CannedReplies } from './inbox/CannedReplies';
import { Inbox } from './inbox/Inbox';
import { useSession } from './session';
import { Users } from './Users';

/** PageDef is one page of the app. */
export interface PageDef {
  /** path is the route pattern (react-router), under the hash: #/flows/... */
  path: string;
  /** nav labels the page in the navigation; pages without one are reached by links. */
  nav?: Key;
  /** navPath is where the navigation link goes when path has parameters. */
  navPath?: string;
  /** roles may open the page; the server refuses the rest anyway. */
  roles: api.Role[];
  element: ReactElement;
}

function FlowsPage() {
  return <Builder />;
}

function UsersPage() {
  const { user } = useSession();
  const navigate = useNavigate();
  return <Users me={user} onBack={() => navigate('/flows')} />;
}

function InboxPage() {
  const { user } = useSession();
  const { id } = useParams();
  const navigate = useNavigate();
  return <Inbox me={user} selected={id ?? null} onSelect={(c) => navigate(c ? `/inbox/${encodeURIComponent(c)}` : '/inbox')} />;
}

export const pages: PageDef[] = [
  { path: '/flows/:bot?/:flow?', nav: 'navFlows', navPath: '/flows', roles: ['admin', 'marketer'], element: <FlowsPage /> },
  { path: '/bots/:bot?', nav: 'navBots', navPath: '/bots', roles: ['admin', 'marketer'], element: <BotsPage /> },
  { path: '/broadcasts/:bot?/:id?', nav: 'navBroadcasts', navPath: '/broadcasts', roles: ['admin', 'marketer'], element: <Broadcasts /> },
  { path: '/analytics/:bot?', nav: 'navAnalytics', navPath: '/analytics', roles: ['admin', 'marketer'], element: <Analytics /> },
  { path: '/contacts/:bot?', nav: 'navContacts', navPath: '/contacts', roles: ['admin', 'marketer'], element: <Contacts /> },
  { path: '/inbox/:id?', nav: 'inbox', navPath: '/inbox', roles: ['admin', 'operator'], element: <InboxPage /> },
  { path: '/canned', nav: 'inboxCanned', roles: ['admin', 'operator', 'marketer'], element: <CannedReplies /> },
  { path: '/users', nav: 'navUsers', roles: ['admin'], element: <UsersPage /> },
];

/** pagesFor lists the pages a role may open, in navigation order. */
export function pagesFor(role: api.Role): PageDef[] {
  return pages.filter((p) => p.roles.includes(role));
}

/** homeFor is where a role lands after signing in: its first page. */
export function homeFor(role: api.Role): string | undefined {
  const p = pagesFor(role)[0];
  return p ? (p.navPath ?? p.path) : undefined;
}
