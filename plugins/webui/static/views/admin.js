// Administration: users (change a role, see their points, open their page, delete) and every
// live WhatsApp session (stop, restart or clear any of them, each behind a confirmation).

import { api, query } from '../api.js';
import { h, longWhen, phoneOf, replaceChildren } from '../dom.js';
import { T, formatNumber, formatTime } from '../i18n.js';
import { confirmDialog } from './dialog.js';
import { stateBadge } from './session.js';

const U = T.users;
const W = T.sessions;

export class UsersPage {
  constructor(live) {
    this.live = live;
    this.search = h('input', { id: 'users-search', type: 'search', name: 'q', autocomplete: 'off' });
    this.status = h('p', { class: 'muted', role: 'status' });
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.body = h('tbody');
    const form = h(
      'form',
      { class: 'toolbar', role: 'search', novalidate: true },
      h('label', { for: 'users-search', text: U.find }),
      this.search,
      h('button', { type: 'submit', class: 'button', text: U.search }),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.load();
    });
    this.element = h(
      'main',
      { id: 'main', class: 'admin-page', tabindex: '-1', 'aria-labelledby': 'users-title' },
      h('h1', { id: 'users-title', text: U.title }),
      form,
      this.error,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'data users-table' },
          h('caption', { class: 'visually-hidden', text: U.caption }),
          h('thead', {}, h('tr', {}, [U.username, U.fullName, U.email, U.role, U.points, U.registered, U.actions].map((t) => h('th', { scope: 'col', text: t })))),
          this.body,
        ),
      ),
      this.status,
    );
    this.load();
  }

  destroy() {}

  async load() {
    this.status.textContent = U.loading;
    try {
      const data = await api.get(`/api/admin/users${query({ q: this.search.value.trim(), limit: 200 })}`);
      replaceChildren(this.body, data.items.map((user) => this.row(user)));
      this.status.textContent = U.count(data.total, data.items.length, formatNumber(data.total), formatNumber(data.items.length));
    } catch (error) {
      this.status.textContent = '';
      this.error.textContent = this.live.explain(error);
    }
  }

  row(user) {
    const me = user.id === this.live.user.id;
    const select = h(
      'select',
      { 'aria-label': U.roleOf(user.username), 'data-user-id': String(user.id), class: 'role-select' },
      ['user', 'admin'].map((role) => h('option', { value: role, selected: user.role === role, text: T.roles[role] })),
    );
    select.addEventListener('change', async () => {
      this.error.textContent = '';
      const wanted = select.value;
      if (me && wanted !== 'admin') {
        const sure = await confirmDialog({ title: U.stepDownTitle, message: U.stepDownMessage, confirm: U.stepDownConfirm, danger: true });
        if (!sure) {
          select.value = user.role;
          return;
        }
      }
      select.disabled = true;
      try {
        const updated = await api.put(`/api/admin/users/${user.id}/role`, { role: wanted });
        user.role = updated.role;
        if (me) {
          this.live.emit('unauthorized', {}); // a role change revokes the admin's own token
          return;
        }
        this.status.textContent = U.roleChanged(user.username, updated.role);
      } catch (error) {
        select.value = user.role;
        this.error.textContent = this.live.explain(error);
      } finally {
        select.disabled = false;
      }
    });
    const remove = h('button', { type: 'button', class: 'button small danger-outline', text: U.delete, 'aria-label': U.deleteLabel(user.username) });
    remove.addEventListener('click', async () => {
      this.error.textContent = '';
      const sure = await confirmDialog({ title: U.deleteTitle(user.username), message: U.deleteMessage, confirm: U.deleteConfirm, danger: true });
      if (!sure) return;
      try {
        await api.del(`/api/admin/users/${user.id}`);
        tr.remove();
        this.status.textContent = U.deleted(user.username);
        this.search.focus();
      } catch (error) {
        this.error.textContent = this.live.explain(error);
      }
    });
    const tr = h(
      'tr',
      { 'data-user-id': String(user.id) },
      h('th', { scope: 'row', class: 'username', text: user.username + (me ? U.you : '') }),
      h('td', { text: user.fullName || '—' }),
      h('td', { text: user.email || '—' }),
      h('td', {}, select),
      h('td', { class: 'user-points', text: formatNumber(user.points ?? 0) }),
      h('td', { text: longWhen(user.created_at) }),
      h('td', { class: 'actions' }, remove, ' ', h('a', { class: 'user-link', href: `#/admin/users/${user.id}`, text: U.open, 'aria-label': U.openLabel(user.username) })),
    );
    return tr;
  }
}

const SESSION_ACTIONS = [
  ['stop', 'disconnect', ''],
  ['restart', 'restart', ''],
  ['clear', 'clear-session', 'danger-outline'],
];

export class SessionsPage {
  constructor(live) {
    this.live = live;
    this.busy = false;
    this.body = h('tbody');
    this.status = h('p', { class: 'muted', role: 'status' });
    this.done = h('p', { class: 'form-status session-done', role: 'status' });
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.refresh = h('button', { type: 'button', class: 'button', text: W.refresh, onclick: () => this.load() });
    this.element = h(
      'main',
      { id: 'main', class: 'admin-page', tabindex: '-1', 'aria-labelledby': 'sessions-title' },
      h('h1', { id: 'sessions-title', text: W.title }),
      h('div', { class: 'toolbar' }, h('p', { class: 'muted', text: W.intro }), this.refresh),
      this.error,
      this.done,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'data sessions-table' },
          h('caption', { class: 'visually-hidden', text: W.caption }),
          h('thead', {}, h('tr', {}, [W.user, W.state, W.phone, W.since, W.lastActivity, W.actions].map((t) => h('th', { scope: 'col', text: t })))),
          this.body,
        ),
      ),
      this.status,
    );
    this.timer = setInterval(() => this.load(), 5000);
    this.load();
  }

  destroy() {
    clearInterval(this.timer);
  }

  async load() {
    if (this.busy) return; // a confirmation is open: its row stays where it is
    try {
      const data = await api.get('/api/admin/whatsapp-sessions?limit=200');
      if (this.busy) return;
      this.error.textContent = '';
      this.show(data.items);
      const time = formatTime(new Date(), { timeStyle: 'medium' });
      this.status.textContent = data.total ? W.count(data.total, formatNumber(data.total), time) : W.none(time);
    } catch (error) {
      this.error.textContent = this.live.explain(error);
    }
  }

  /**
   * The rows, kept where they are: a session's row (and its buttons, which may have the focus or
   * be under the pointer) stays, its cells are written anew; rows come and go with sessions.
   */
  show(items) {
    const old = new Map([...this.body.children].map((tr) => [tr.dataset.userId, tr]));
    items.forEach((s, index) => {
      const key = String(s.userId);
      let tr = old.get(key);
      old.delete(key);
      if (!tr) tr = this.row(s);
      else this.fill(tr, s);
      if (this.body.children[index] !== tr) this.body.insertBefore(tr, this.body.children[index] || null);
    });
    for (const tr of old.values()) tr.remove();
  }

  /** The cells that change: the name, state, phone and times. */
  fill(tr, s) {
    const [name, state, phone, since, last] = tr.children;
    name.textContent = s.username || `#${s.userId}`;
    if (state.firstChild?.dataset.state !== (s.state || 'UNKNOWN')) replaceChildren(state, stateBadge(s.state));
    phone.textContent = s.phone ? phoneOf(`${s.phone}@c.us`) : '—';
    since.textContent = longWhen(s.since);
    last.textContent = longWhen(s.lastActivity);
  }

  row(s) {
    const name = s.username || `#${s.userId}`;
    const buttons = SESSION_ACTIONS.map(([action, route, style]) => {
      const button = h('button', { type: 'button', class: `button small ${style}`.trim(), 'data-action': action, text: W.act[action], 'aria-label': W.actLabel[action](name) });
      button.addEventListener('click', () => this.act(s, name, action, route));
      return button;
    });
    const tr = h(
      'tr',
      { 'data-user-id': String(s.userId) },
      h('th', { scope: 'row' }),
      h('td'),
      h('td'),
      h('td'),
      h('td'),
      h('td', { class: 'actions' }, h('div', { class: 'row-actions', role: 'group', 'aria-label': W.actionsOf(name) }, buttons)),
    );
    this.fill(tr, s);
    return tr;
  }

  async act(s, name, action, route) {
    this.error.textContent = '';
    this.done.textContent = '';
    this.busy = true;
    try {
      const words = W.confirm[action];
      const sure = await confirmDialog({ title: words.title(name), message: words.message, confirm: words.confirm, danger: action !== 'restart' });
      if (!sure) return;
      await api.post(`/api/whatsapp/${route}/${s.userId}`);
      this.done.textContent = W.doneText[action](name);
    } catch (error) {
      this.error.textContent = this.live.explain(error);
    } finally {
      this.busy = false;
    }
    await this.load();
    this.refresh.focus();
  }
}
