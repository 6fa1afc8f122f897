// wamulti's web app: routes by the URL's hash, signs in and out, and puts the pages up.
//
//   api.js       REST calls, the token in localStorage, ApiError; media fetched and uploaded
//   socket.js    /ws with reconnection and back-off, commands with refs
//   store.js     what the page knows: the session, chats, messages (REST and frames merged)
//   live.js      the signed-in user's socket, models and calls; catch-up after reconnecting
//   outbox.js    sends waiting in the page: in order, one at a time, retried by themselves
//   errors.js    failures in plain words (an operator's details for admins only)
//   dom.js       building elements (text only, never HTML), icons, ticks, formatting
//   messages.js  what a message is in words: its kind, previews, sizes, what may be done with it
//   views/       auth, shell (top bar, chats page), session panel, linking (QR or pairing
//                code), chat list and its search, conversation (bubble, media, composer, menu),
//                admin pages, the confirmation dialog

import { auth, onUnauthorized } from './api.js';
import { h, replaceChildren } from './dom.js';
import { Live } from './live.js';
import { T } from './i18n.js';
import { UsersPage, SessionsPage } from './views/admin.js';
import { ArticlePage, ArticlesPage } from './views/articles.js';
import { authPage } from './views/auth.js';
import { CatalogPage } from './views/catalog.js';
import { ProfilePage } from './views/profile.js';
import { ChatsPage, Shell } from './views/shell.js';
import { StatsPage } from './views/stats.js';
import { UserPage } from './views/user.js';

const S = T.app;
const titled = (name) => T.titles.page(name);

// The signed-in pages by address: [pattern, admin only, the page's name (its nav entry, with the
// id for one item), its title, the page].
const PAGES = [
  [/^\/catalog$/, false, () => 'catalog', () => T.nav.catalog, (live) => new CatalogPage(live)],
  [/^\/articles$/, false, () => 'articles', () => T.nav.articles, (live) => new ArticlesPage(live)],
  [/^\/articles\/(\d+)$/, false, (m) => `articles:${m[1]}`, () => T.nav.articles, (live, m) => new ArticlePage(live, m[1])],
  [/^\/profile$/, false, () => 'profile', () => T.nav.profile, (live) => new ProfilePage(live)],
  [/^\/admin\/users$/, true, () => 'users', () => T.nav.users, (live) => new UsersPage(live)],
  [/^\/admin\/users\/(\d+)$/, true, (m) => `users:${m[1]}`, () => T.nav.users, (live, m) => new UserPage(live, Number(m[1]))],
  [/^\/admin\/sessions$/, true, () => 'sessions', () => T.nav.sessions, (live) => new SessionsPage(live)],
  [/^\/admin\/stats$/, true, () => 'stats', () => T.nav.stats, (live) => new StatsPage(live)],
];

class App {
  constructor(root, banner) {
    this.root = root;
    this.banner = banner;
    this.live = null;
    this.shell = null;
    this.notice = null;
  }

  start() {
    onUnauthorized(() => this.signOut(S.sessionEnded));
    window.addEventListener('hashchange', () => this.route());
    // The skip link must not change the hash, which is the router's.
    const skip = document.querySelector('.skip-link');
    if (skip) skip.textContent = S.skipLink;
    skip?.addEventListener('click', (event) => {
      event.preventDefault();
      document.getElementById('main')?.focus();
    });
    this.route();
  }

  route() {
    const path = location.hash.replace(/^#/, '') || '/';
    if (!auth.token || !auth.user) {
      this.stopLive();
      const mode = path === '/register' ? 'register' : 'signin';
      if (path !== '/register' && path !== '/signin') history.replaceState(null, '', '#/signin');
      const page = authPage(mode, { notice: this.notice, onSignedIn: () => this.signedIn() });
      this.notice = null;
      replaceChildren(this.root, page.element);
      document.title = titled(mode === 'register' ? S.registerTitle : S.signInTitle);
      page.focus();
      return;
    }
    this.startLive();
    const chat = path.match(/^\/chat\/(.+)$/);
    const admin = this.live.user.role === 'admin';
    if (chat) {
      this.showChats(decodeURIComponent(chat[1]));
      return;
    }
    for (const [pattern, adminOnly, name, title, make] of PAGES) {
      const match = path.match(pattern);
      if (!match || (adminOnly && !admin)) continue;
      this.shell.show(name(match), () => make(this.live, match));
      document.title = titled(title());
      return;
    }
    if (path !== '/chats') history.replaceState(null, '', '#/chats');
    this.showChats(null);
  }

  showChats(chatId) {
    const page = this.shell.show('chats', () => new ChatsPage(this.live), { focus: false });
    page.open(chatId);
    document.title = titled(T.nav.chats);
  }

  signedIn() {
    const target = '#/chats';
    if (location.hash === target) this.route();
    else location.hash = target;
  }

  startLive() {
    if (this.live) return;
    const live = new Live(auth.user);
    this.live = live;
    this.shell = new Shell(live, { onSignOut: () => this.signOut() });
    live.addEventListener('connection', (event) => this.showConnection(event.detail));
    live.addEventListener('unauthorized', () => this.signOut(S.sessionEnded));
    live.addEventListener('user', () => this.shell?.renderNav());
    replaceChildren(this.root, this.shell.element);
    live.start();
  }

  stopLive() {
    if (!this.live) return;
    this.live.stop();
    this.shell.destroy();
    this.live = null;
    this.shell = null;
    this.showConnection({ state: 'stopped' });
  }

  signOut(notice = null) {
    if (!this.live && !auth.token) return; // already signed out (several requests may say 401)
    auth.clear();
    this.notice = notice;
    this.stopLive();
    if (location.hash === '#/signin') this.route();
    else location.hash = '#/signin';
  }

  showConnection({ state, attempt, delay }) {
    this.shell?.setConnection(state, T.shell.connection[state] || state);
    if (state === 'reconnecting') {
      const retry = h('button', { type: 'button', class: 'link-button', text: S.retryNow, onclick: () => this.live?.socket.reconnectNow() });
      const text = delay ? S.reconnectingIn(Math.max(1, Math.round(delay / 1000))) : S.reconnecting;
      replaceChildren(this.banner, h('span', { class: 'banner-text', text }), ' ', retry);
      this.banner.dataset.state = 'reconnecting';
      this.banner.hidden = false;
    } else if (state !== 'connecting') {
      this.banner.hidden = true;
      this.banner.dataset.state = state;
      replaceChildren(this.banner);
    }
  }
}

new App(document.getElementById('app'), document.getElementById('banner')).start();
