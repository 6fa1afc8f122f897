// The signed-in frame: the top bar (navigation, WhatsApp state, connection, sign out) and
// the page below it. The chats page keeps its panels while conversations change.

import { h, replaceChildren } from '../dom.js';
import { ChatList } from './chats.js';
import { Conversation, placeholder } from './conversation.js';
import { SessionPanel, stateBadge } from './session.js';

export class Shell {
  constructor(live, { onSignOut }) {
    this.live = live;
    this.page = null;
    this.pageName = null;
    this.sessionPill = h('a', { class: 'session-pill', href: '#/chats', 'aria-label': 'WhatsApp state' });
    this.connDot = h('span', { class: 'conn', role: 'img', 'data-conn': 'connecting', 'aria-label': 'Live updates: connecting', title: 'Live updates: connecting' });
    this.nav = h('nav', { class: 'main-nav', 'aria-label': 'Main' });
    this.who = h('span', { class: 'who' });
    this.slot = h('div', { class: 'page-slot' });
    this.element = h(
      'div',
      { class: 'shell' },
      h(
        'header',
        { class: 'topbar' },
        h('a', { class: 'brand', href: '#/chats' }, h('span', { class: 'brand-mark small', 'aria-hidden': 'true', text: 'wa' }), h('span', { text: 'wamulti' })),
        this.nav,
        h('div', { class: 'topbar-right' }, this.sessionPill, this.connDot, this.who, h('button', { type: 'button', class: 'button small sign-out', text: 'Sign out', onclick: onSignOut })),
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
    const links = [['chats', '#/chats', 'Chats']];
    if (user.role === 'admin') links.push(['users', '#/admin/users', 'Users'], ['sessions', '#/admin/sessions', 'Sessions']);
    replaceChildren(
      this.nav,
      links.map(([name, href, label]) => h('a', { href, 'data-page': name, 'aria-current': this.pageName === name ? 'page' : null, text: label })),
    );
    this.who.textContent = user.fullName || user.username;
    this.who.title = `Signed in as ${user.username} (${user.role})`;
  }

  renderPill() {
    const status = this.live.session.status;
    replaceChildren(this.sessionPill, h('span', { class: 'pill-label', text: 'WhatsApp' }), stateBadge(status ? status.state : null, 'compact'));
    this.sessionPill.hidden = !this.live.session.available;
  }

  setConnection(state, text) {
    this.connDot.dataset.conn = state;
    this.connDot.setAttribute('aria-label', `Live updates: ${text}`);
    this.connDot.title = `Live updates: ${text}`;
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

export class ChatsPage {
  constructor(live) {
    this.live = live;
    this.session = new SessionPanel(live);
    this.chats = new ChatList(live);
    this.conversation = null;
    this.chatId = undefined;
    this.pane = h('div', { class: 'conversation-pane' }, placeholder());
    this.element = h(
      'main',
      { id: 'main', class: 'chats-page', tabindex: '-1', 'data-pane': 'list' },
      h('h1', { class: 'visually-hidden', text: 'Chats' }),
      h('aside', { class: 'sidebar', 'aria-label': 'WhatsApp and chats' }, this.session.element, this.chats.element),
      this.pane,
    );
  }

  open(chatId) {
    if (chatId === this.chatId) return;
    const previous = this.chatId;
    this.chatId = chatId;
    this.conversation?.destroy();
    this.conversation = null;
    this.live.store.setOpen(chatId);
    this.element.dataset.pane = chatId ? 'conversation' : 'list';
    if (chatId) {
      this.conversation = new Conversation(this.live, chatId);
      replaceChildren(this.pane, this.conversation.element);
      this.conversation.focus();
    } else {
      replaceChildren(this.pane, placeholder());
      if (previous) {
        const row = this.element.querySelector(`.chat-row[data-chat-id="${CSS.escape(previous)}"]`);
        (row || this.element.querySelector('#new-chat-phone'))?.focus();
      }
    }
  }

  destroy() {
    this.session.destroy();
    this.chats.destroy();
    this.conversation?.destroy();
    this.live.store.setOpen(null);
  }
}
