// The signed-in frame: the top bar (navigation, WhatsApp state, connection, sign out) and
// the page below it. The chats page keeps its panels while conversations change.

import { h, replaceChildren } from '../dom.js';
import { ChatList } from './chats.js';
import { Conversation, placeholder } from './conversation.js';
import { LinkPane } from './linking.js';
import { SessionPanel, stateBadge } from './session.js';
import { languageSwitch } from './language.js';
import { T } from '../i18n.js';

const S = T.shell;
const N = T.nav;

export class Shell {
  constructor(live, { onSignOut }) {
    this.live = live;
    this.page = null;
    this.pageName = null;
    this.sessionPill = h('a', { class: 'session-pill', href: '#/chats', title: S.sessionPill });
    this.connDot = h('span', { class: 'conn', role: 'img', 'data-conn': 'connecting', 'aria-label': S.live(S.connection.connecting), title: S.live(S.connection.connecting) });
    this.nav = h('nav', { class: 'main-nav', 'aria-label': N.label });
    this.who = h('span', { class: 'who' });
    this.slot = h('div', { class: 'page-slot' });
    this.element = h(
      'div',
      { class: 'shell' },
      h(
        'header',
        { class: 'topbar' },
        h('a', { class: 'brand', href: '#/chats' }, h('span', { class: 'brand-mark small', 'aria-hidden': 'true', text: T.brandMark }), h('span', { text: T.appName })),
        this.nav,
        h('div', { class: 'topbar-right' }, this.sessionPill, this.connDot, this.who, languageSwitch('topbar-language'), h('button', { type: 'button', class: 'button small sign-out', text: S.signOut, onclick: onSignOut })),
      ),
      this.slot,
    );
    this.onSession = () => this.renderPill();
    live.session.addEventListener('change', this.onSession);
    this.renderNav();
    this.renderPill();
  }

  destroy() {
    this.live.session.removeEventListener('change', this.onSession);
    this.page?.destroy();
  }

  renderNav() {
    const user = this.live.user;
    const links = [['chats', '#/chats', N.chats], ['catalog', '#/catalog', N.catalog], ['articles', '#/articles', N.articles], ['profile', '#/profile', N.profile]];
    if (user.role === 'admin') links.push(['users', '#/admin/users', N.users], ['sessions', '#/admin/sessions', N.sessions], ['stats', '#/admin/stats', N.stats]);
    const current = String(this.pageName || '').split(':')[0];
    replaceChildren(
      this.nav,
      links.map(([name, href, label]) => h('a', { href, 'data-page': name, 'aria-current': current === name ? 'page' : null, text: label })),
    );
    this.who.textContent = user.fullName || user.username;
    this.who.title = S.signedInAs(user.username, T.roles[user.role] || user.role);
  }

  renderPill() {
    const status = this.live.session.status;
    replaceChildren(this.sessionPill, h('span', { class: 'pill-label', text: S.pillLabel }), stateBadge(status ? status.state : null, 'compact'));
    this.sessionPill.hidden = !this.live.session.available;
  }

  setConnection(state, text) {
    this.connDot.dataset.conn = state;
    this.connDot.setAttribute('aria-label', S.live(text));
    this.connDot.title = S.live(text);
  }

  /** Show a page: 'chats' (with a chat id or null), 'users' or 'sessions'. */
  show(name, factory, { focus = true } = {}) {
    if (this.pageName !== name) {
      this.page?.destroy();
      this.page = factory();
      this.pageName = name;
      replaceChildren(this.slot, this.page.element);
      this.renderNav();
      if (focus) this.page.element.focus();
    }
    return this.page;
  }
}

/**
 * The chats page: the sidebar (WhatsApp panel, search, chat list) and the main pane, which shows
 * the open conversation; with none open, the QR or pairing code while WhatsApp waits to be
 * linked (or is opening), else "pick a chat".
 */
export class ChatsPage {
  constructor(live) {
    this.live = live;
    this.session = new SessionPanel(live);
    this.chats = new ChatList(live, { onOpenMessage: (chatId, messageId) => this.openMessage(chatId, messageId) });
    this.conversation = null;
    this.linkPane = null;
    this.chatId = undefined;
    this.focusMessage = null; // {chatId, messageId}: a search hit to show once its chat opens
    this.pane = h('div', { class: 'conversation-pane' });
    this.element = h(
      'main',
      { id: 'main', class: 'chats-page', tabindex: '-1', 'data-pane': 'list' },
      h('h1', { class: 'visually-hidden', text: S.chatsTitle }),
      h('aside', { class: 'sidebar', 'aria-label': S.sidebar }, this.session.element, this.chats.element),
      this.pane,
    );
    this.onSession = () => {
      if (!this.chatId) this.showIdlePane();
    };
    live.session.addEventListener('change', this.onSession);
    this.showIdlePane();
  }

  open(chatId) {
    if (chatId === this.chatId) return;
    const previous = this.chatId;
    this.chatId = chatId;
    this.conversation?.destroy();
    this.conversation = null;
    this.live.store.setOpen(chatId);
    if (chatId) {
      const focus = this.focusMessage && this.focusMessage.chatId === chatId ? this.focusMessage.messageId : null;
      this.focusMessage = null;
      this.dropLinkPane();
      this.element.dataset.pane = 'conversation';
      this.conversation = new Conversation(this.live, chatId, { focusMessage: focus });
      replaceChildren(this.pane, this.conversation.element);
      this.conversation.focus();
    } else {
      this.showIdlePane();
      if (previous) {
        const row = this.element.querySelector(`.chat-row[data-chat-id="${CSS.escape(previous)}"]`);
        (row || this.element.querySelector('#chat-search'))?.focus();
      }
    }
  }

  /** A message the search found: its chat opens (or is open) at that message. */
  openMessage(chatId, messageId) {
    if (chatId === this.chatId && this.conversation) {
      this.conversation.showFound(messageId);
      return;
    }
    this.focusMessage = { chatId, messageId };
    location.hash = `#/chat/${encodeURIComponent(chatId)}`;
  }

  /** With no chat open: the linking pane while WhatsApp waits to be linked, else the placeholder. */
  showIdlePane() {
    const linking = this.live.session.linking;
    if (linking && !this.linkPane) {
      this.linkPane = new LinkPane(this.live);
      replaceChildren(this.pane, this.linkPane.element);
    } else if (!linking && (this.linkPane || !this.pane.firstChild || this.element.dataset.pane !== 'list')) {
      this.dropLinkPane();
      replaceChildren(this.pane, placeholder());
    }
    this.element.dataset.pane = linking ? 'link' : 'list';
  }

  dropLinkPane() {
    this.linkPane?.destroy();
    this.linkPane = null;
  }

  destroy() {
    this.live.session.removeEventListener('change', this.onSession);
    this.session.destroy();
    this.chats.destroy();
    this.conversation?.destroy();
    this.dropLinkPane();
    this.live.store.setOpen(null);
  }
}
