// The signed-in user's own page: name and email, a new password (the current one asked for;
// every other device is signed out), the points balance with its history, and the orders.

import { ApiError, api, query } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { T, formatNumber } from '../i18n.js';
import { clearErrors, field, showErrors } from './form.js';
import { ordersTable, pointsTable } from './ledger.js';

const S = T.profile;

export class ProfilePage {
  constructor(live) {
    this.live = live;
    const user = live.user;
    this.balance = h('p', { class: 'points-balance', 'aria-live': 'polite' });
    this.ledger = h('div', { class: 'ledger' });
    this.orders = h('div', { class: 'my-orders' });
    this.loadError = h('p', { class: 'form-error', role: 'alert' });

    this.accountForm = this.form('profile', [
      { name: 'fullName', label: S.fullName, autocomplete: 'name', value: user.fullName || '' },
      { name: 'email', label: S.email, type: 'email', autocomplete: 'email', value: user.email || '' },
    ], S.saveAccount, (body) => this.saveAccount(body));
    this.passwordForm = this.form('password', [
      { name: 'currentPassword', label: S.currentPassword, type: 'password', autocomplete: 'current-password', required: true },
      { name: 'password', label: S.newPassword, type: 'password', autocomplete: 'new-password', required: true, hint: S.newPasswordHint },
    ], S.savePassword, (body) => this.savePassword(body));

    this.element = h(
      'main',
      { id: 'main', class: 'page profile-page', tabindex: '-1', 'aria-labelledby': 'profile-title' },
      h('h1', { id: 'profile-title', text: S.title }),
      h('p', { class: 'muted', text: S.signedInAs(user.username, T.roles[user.role] || user.role) }),
      this.loadError,
      h('div', { class: 'page-grid' },
        section('account', S.account, this.accountForm.element),
        section('password', S.password, h('p', { class: 'hint', text: S.passwordNote }), this.passwordForm.element),
        section('points', S.points, this.balance, this.ledger),
        section('orders', S.orders, this.orders)),
    );
    this.onUser = () => this.showBalance();
    live.addEventListener('user', this.onUser);
    this.showBalance();
    this.load();
  }

  destroy() {
    this.live.removeEventListener('user', this.onUser);
  }

  showBalance(points = this.live.user.points) {
    this.balance.textContent = S.balance(formatNumber(points ?? 0), points ?? 0);
    this.balance.dataset.points = String(points ?? 0);
  }

  async load() {
    try {
      const [points, orders] = await Promise.all([
        api.get(`/api/user/points${query({ limit: 100 })}`),
        api.get(`/api/orders${query({ limit: 100 })}`),
      ]);
      this.showBalance(points.points);
      replaceChildren(this.ledger, pointsTable(points.items, S.pointsCaption));
      replaceChildren(this.orders, ordersTable(orders.items, S.ordersCaption));
    } catch (error) {
      this.loadError.textContent = this.live.explain(error);
    }
  }

  /** A form whose non-empty fields go to ``send(body)``; its answer's status line says ``done``. */
  form(prefix, specs, submitText, send) {
    const formError = h('p', { class: 'form-error', role: 'alert' });
    const status = h('p', { class: 'form-status', role: 'status' });
    const submit = h('button', { type: 'submit', class: 'button primary', text: submitText });
    const element = h('form', { class: `${prefix}-form`, novalidate: true }, specs.map((s) => field(s, prefix)), formError, h('div', { class: 'form-actions' }, submit, status));
    element.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(element, formError);
      status.textContent = '';
      const body = {};
      for (const spec of specs) body[spec.name] = spec.type === 'password' ? element.elements[spec.name].value : element.elements[spec.name].value.trim();
      submit.disabled = true;
      try {
        status.textContent = await send(body);
        if (prefix === 'password') element.reset();
      } catch (error) {
        showErrors(element, formError, error, (e) => this.live.explain(e));
      } finally {
        submit.disabled = false;
      }
    });
    return { element };
  }

  async saveAccount(body) {
    const user = await api.put('/api/user/profile', body);
    this.live.setUser(user);
    return S.accountSaved;
  }

  /** The server revokes every token of the user (this one too) and answers a fresh one. */
  async savePassword(body) {
    let answer;
    try {
      answer = await this.live.withNewToken(() => api.put('/api/user/profile', body, { quiet401: true }));
    } catch (error) {
      if (error.status !== 401) throw error;
      this.live.refreshProfile().catch(() => {}); // a dead token signs out there
      throw new ApiError(422, { error: { code: 'wrong_password', message: S.wrongPassword, fields: { currentPassword: [S.wrongPassword] } } });
    }
    const { token, ...user } = answer;
    this.live.setUser(user);
    return token ? S.passwordSaved : '';
  }
}

function section(name, title, ...children) {
  return h(
    'section',
    { class: `card ${name}-card`, 'aria-labelledby': `${name}-heading` },
    h('h2', { id: `${name}-heading`, text: title }),
    children,
  );
}
