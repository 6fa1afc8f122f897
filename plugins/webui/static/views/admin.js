// Administration: users (change a role, delete) and every live WhatsApp session.

import { api, query } from '../api.js';
import { h, longWhen, phoneOf, replaceChildren } from '../dom.js';
import { confirmDialog } from './dialog.js';
import { stateBadge } from './session.js';

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
      h('label', { for: 'users-search', text: 'Find users' }),
      this.search,
      h('button', { type: 'submit', class: 'button', text: 'Search' }),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.load();
    });
    this.element = h(
      'main',
      { id: 'main', class: 'admin-page', tabindex: '-1', 'aria-labelledby': 'users-title' },
      h('h1', { id: 'users-title', text: 'Users' }),
      form,
      this.error,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'data users-table' },
          h('caption', { class: 'visually-hidden', text: 'Registered users' }),
          h('thead', {}, h('tr', {}, ['Username', 'Full name', 'Email', 'Role', 'Registered', ''].map((t) => h('th', { scope: 'col', text: t })))),
          this.body,
        ),
      ),
      this.status,
    );
    this.load();
  }

  destroy() {}

  async load() {
    this.status.textContent = 'Loading…';
    try {
      const data = await api.get(`/api/admin/users${query({ q: this.search.value.trim(), limit: 200 })}`);
      replaceChildren(this.body, data.items.map((user) => this.row(user)));
      this.status.textContent = `${data.total} user${data.total === 1 ? '' : 's'}${data.total > data.items.length ? `, ${data.items.length} shown` : ''}.`;
    } catch (error) {
      this.status.textContent = '';
      this.error.textContent = this.live.explain(error);
    }
  }

  row(user) {
    const me = user.id === this.live.user.id;
    const select = h(
      'select',
      { 'aria-label': `Role of ${user.username}`, 'data-user-id': String(user.id), class: 'role-select' },
      ['user', 'admin'].map((role) => h('option', { value: role, selected: user.role === role, text: role })),
    );
    select.addEventListener('change', async () => {
      this.error.textContent = '';
      const wanted = select.value;
      if (me && wanted !== 'admin') {
        const sure = await confirmDialog({ title: 'Remove your own admin role?', message: 'You will be signed out and lose access to these pages.', confirm: 'Change my role', danger: true });
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
        this.status.textContent = `${user.username} is now ${updated.role === 'admin' ? 'an admin' : 'a user'}.`;
      } catch (error) {
        select.value = user.role;
        this.error.textContent = this.live.explain(error);
      } finally {
        select.disabled = false;
      }
    });
    const remove = h('button', { type: 'button', class: 'button small danger-outline', text: 'Delete', 'aria-label': `Delete ${user.username}` });
    remove.addEventListener('click', async () => {
      this.error.textContent = '';
      const sure = await confirmDialog({
        title: `Delete ${user.username}?`,
        message: 'Their account goes, their WhatsApp session is stopped, and their chats and messages are deleted. This cannot be undone.',
        confirm: 'Delete user',
        danger: true,
      });
      if (!sure) return;
      try {
        await api.del(`/api/admin/users/${user.id}`);
        tr.remove();
        this.status.textContent = `${user.username} was deleted.`;
        this.search.focus();
      } catch (error) {
        this.error.textContent = this.live.explain(error);
      }
    });
    const tr = h(
      'tr',
      { 'data-user-id': String(user.id) },
      h('th', { scope: 'row', class: 'username', text: user.username + (me ? ' (you)' : '') }),
      h('td', { text: user.fullName || '—' }),
      h('td', { text: user.email || '—' }),
      h('td', {}, select),
      h('td', { text: longWhen(user.created_at) }),
      h('td', { class: 'actions' }, remove),
    );
    return tr;
  }
}

export class SessionsPage {
  constructor(live) {
    this.live = live;
    this.body = h('tbody');
    this.status = h('p', { class: 'muted', role: 'status' });
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.element = h(
      'main',
      { id: 'main', class: 'admin-page', tabindex: '-1', 'aria-labelledby': 'sessions-title' },
      h('h1', { id: 'sessions-title', text: 'WhatsApp sessions' }),
      h('div', { class: 'toolbar' }, h('p', { class: 'muted', text: 'Every session that is not stopped. Refreshes every 5 seconds.' }), h('button', { type: 'button', class: 'button', text: 'Refresh', onclick: () => this.load() })),
      this.error,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'data sessions-table' },
          h('caption', { class: 'visually-hidden', text: 'Live WhatsApp sessions' }),
          h('thead', {}, h('tr', {}, ['User', 'State', 'Phone', 'Since', 'Last activity'].map((t) => h('th', { scope: 'col', text: t })))),
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
    try {
      const data = await api.get('/api/admin/whatsapp-sessions?limit=200');
      this.error.textContent = '';
      replaceChildren(
        this.body,
        data.items.map((s) =>
          h(
            'tr',
            { 'data-user-id': String(s.userId) },
            h('th', { scope: 'row', text: s.username || `#${s.userId}` }),
            h('td', {}, stateBadge(s.state)),
            h('td', { text: s.phone ? phoneOf(`${s.phone}@c.us`) : '—' }),
            h('td', { text: longWhen(s.since) }),
            h('td', { text: longWhen(s.lastActivity) }),
          ),
        ),
      );
      this.status.textContent = data.total
        ? `${data.total} live session${data.total === 1 ? '' : 's'} · updated ${new Date().toLocaleTimeString()}`
        : `No live sessions · updated ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      this.error.textContent = this.live.explain(error);
    }
  }
}
