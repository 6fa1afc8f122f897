// An administrator's page of one user: who they are, their points (adjust them with a reason,
// see the ledger) and their orders (cancel a placed one: its points are taken back).

import { api, query } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { T, formatNumber } from '../i18n.js';
import { confirmDialog } from './dialog.js';
import { clearErrors, field, showErrors } from './form.js';
import { ordersTable, pointsTable } from './ledger.js';

const U = T.userPage;
/** The user with ``id``, or null when there is none. */
async function findUser(id) {
  try {
    return await api.get(`/api/admin/users/${id}`);
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

export class UserPage {
  constructor(live, userId) {
    this.live = live;
    this.userId = userId;
    this.title = h('h1', { id: 'user-title', text: U.loading });
    this.facts = h('dl', { class: 'facts user-facts' });
    this.balance = h('p', { class: 'points-balance', 'aria-live': 'polite' });
    this.ledger = h('div', { class: 'ledger' });
    this.orders = h('div', { class: 'user-orders' });
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.status = h('p', { class: 'form-status user-status', role: 'status' });
    this.adjust = this.adjustForm();
    this.element = h(
      'main',
      { id: 'main', class: 'page user-page', tabindex: '-1', 'aria-labelledby': 'user-title' },
      h('p', {}, h('a', { class: 'back-link', href: '#/admin/users', text: U.back })),
      this.title,
      this.facts,
      this.error,
      this.status,
      h('div', { class: 'page-grid' },
        h('section', { class: 'card points-card', 'aria-labelledby': 'user-points-heading' },
          h('h2', { id: 'user-points-heading', text: U.points }), this.balance, this.adjust, this.ledger),
        h('section', { class: 'card orders-card', 'aria-labelledby': 'user-orders-heading' },
          h('h2', { id: 'user-orders-heading', tabindex: '-1', text: U.orders }), this.orders)),
    );
    this.load();
  }

  destroy() {}

  async load() {
    try {
      const [user, points, orders] = await Promise.all([
        findUser(this.userId),
        api.get(`/api/admin/users/${this.userId}/points${query({ limit: 100 })}`),
        api.get(`/api/orders${query({ userId: this.userId, limit: 100 })}`),
      ]);
      if (user) {
        this.title.textContent = U.title(user.username);
        replaceChildren(this.facts,
          h('dt', { text: U.fullName }), h('dd', { text: user.fullName || '—' }),
          h('dt', { text: U.email }), h('dd', { text: user.email || '—' }),
          h('dt', { text: U.role }), h('dd', { text: T.roles[user.role] || user.role }));
        document.title = T.titles.page(user.username);
      }
      this.balance.textContent = U.balance(formatNumber(points.points), points.points);
      this.balance.dataset.points = String(points.points);
      replaceChildren(this.ledger, pointsTable(points.items, U.pointsCaption));
      replaceChildren(this.orders, ordersTable(orders.items, U.ordersCaption, { onCancel: (order, button) => this.cancel(order, button) }));
    } catch (error) {
      if (this.title.textContent === U.loading) this.title.textContent = U.notFound;
      this.error.textContent = this.live.explain(error);
    }
  }

  adjustForm() {
    const formError = h('p', { class: 'form-error', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'button primary', text: U.adjust });
    const form = h(
      'form',
      { class: 'adjust-form', novalidate: true, 'aria-label': U.adjustLabel },
      field({ name: 'delta', label: U.delta, type: 'number', step: '1', hint: U.deltaHint, required: true }, 'adjust'),
      field({ name: 'reason', label: U.reason, required: true }, 'adjust'),
      formError,
      h('div', { class: 'form-actions' }, submit),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(form, formError);
      this.status.textContent = '';
      const text = form.elements.delta.value.trim();
      const delta = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
      if (!Number.isSafeInteger(delta) || delta === 0) {
        form.querySelector('.field-error[data-field="delta"]').textContent = U.badDelta;
        form.elements.delta.setAttribute('aria-invalid', 'true');
        form.elements.delta.focus();
        return;
      }
      submit.disabled = true;
      try {
        const entry = await api.post(`/api/admin/users/${this.userId}/points`, { delta, reason: form.elements.reason.value.trim() });
        form.reset();
        this.status.textContent = U.adjusted(formatNumber(entry.balance), entry.balance);
        await this.load();
      } catch (error) {
        showErrors(form, formError, error, (e) => this.live.explain(e));
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  async cancel(order, button) {
    this.error.textContent = '';
    this.status.textContent = '';
    const sure = await confirmDialog({
      title: U.cancelTitle(order.id),
      message: U.cancelMessage(order.productName, formatNumber(order.points), order.points),
      confirm: U.cancelConfirm,
      danger: true,
    });
    if (!sure) return;
    button.disabled = true;
    try {
      await api.post(`/api/admin/orders/${order.id}/cancel`);
      this.status.textContent = U.cancelled(order.id);
      await this.load();
      this.element.querySelector('#user-orders-heading')?.focus();
    } catch (error) {
      button.disabled = false;
      this.error.textContent = this.live.explain(error);
    }
  }
}
