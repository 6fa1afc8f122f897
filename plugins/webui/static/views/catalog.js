// The catalogue: products with their price, points and image; a user buys (an order credits the
// product's points), administrators add, edit and delete products.

import { api, query } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { T, formatNumber, formatPrice } from '../i18n.js';
import { confirmDialog } from './dialog.js';
import { Editor, imagePreview } from './editor.js';

const C = T.catalog;

export class CatalogPage {
  constructor(live) {
    this.live = live;
    this.admin = live.isAdmin;
    this.myPoints = h('p', { class: 'my-points', 'aria-live': 'polite' });
    this.status = h('p', { class: 'form-status catalog-status', role: 'status' });
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.list = h('ul', { class: 'cards product-list', 'aria-labelledby': 'catalog-title' });
    this.editorSlot = h('div', { class: 'editor-slot' });
    this.newButton = this.admin ? h('button', { type: 'button', id: 'new-product', class: 'button primary', text: C.newProduct, onclick: () => this.edit(null) }) : null;
    this.element = h(
      'main',
      { id: 'main', class: 'page catalog-page', tabindex: '-1', 'aria-labelledby': 'catalog-title' },
      h('div', { class: 'page-head' }, h('h1', { id: 'catalog-title', text: C.title }), this.myPoints, this.newButton),
      this.editorSlot,
      this.error,
      this.status,
      this.list,
    );
    this.onUser = () => this.showPoints();
    live.addEventListener('user', this.onUser);
    this.showPoints();
    this.load();
  }

  destroy() {
    this.live.removeEventListener('user', this.onUser);
  }

  showPoints() {
    const points = this.live.user.points ?? 0;
    this.myPoints.textContent = C.yourPoints(formatNumber(points), points);
    this.myPoints.dataset.points = String(points);
  }

  async load() {
    try {
      const data = await api.get(`/api/products${query({ limit: 200 })}`);
      const items = data.items || data;
      replaceChildren(this.list, items.length ? items.map((product) => this.card(product)) : h('li', { class: 'muted empty', text: C.empty }));
    } catch (error) {
      this.error.textContent = this.live.explain(error);
    }
  }

  card(product) {
    const qtyId = `qty-${product.id}`;
    const quantity = h('input', { id: qtyId, type: 'number', name: 'quantity', min: '1', max: '1000', step: '1', value: '1', inputmode: 'numeric', class: 'quantity' });
    const buy = h('button', { type: 'submit', class: 'button primary buy', text: C.buy, 'aria-label': C.buyLabel(product.name) });
    const form = h('form', { class: 'buy-form', novalidate: true }, h('label', { for: qtyId, text: C.quantity }), quantity, buy);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.buy(product, quantity, buy);
    });
    const admin = this.admin
      ? h(
        'div',
        { class: 'card-admin' },
        h('button', { type: 'button', class: 'button small edit', text: C.edit, 'aria-label': C.editLabel(product.name), onclick: () => this.edit(product) }),
        h('button', { type: 'button', class: 'button small danger-outline delete', text: C.delete, 'aria-label': C.deleteLabel(product.name), onclick: () => this.remove(product) }),
      )
      : null;
    return h(
      'li',
      { class: 'card product-card', 'data-product-id': String(product.id) },
      imagePreview(product.image, { className: 'card-image' }),
      h('h2', { class: 'product-name', text: product.name }),
      product.description ? h('p', { class: 'description', text: product.description }) : null,
      h(
        'dl',
        { class: 'facts product-facts' },
        h('dt', { text: C.price }),
        h('dd', { class: 'price', text: formatPrice(product.price) }),
        h('dt', { text: C.points }),
        h('dd', { class: 'points', text: formatNumber(product.points) }),
      ),
      form,
      admin,
    );
  }

  async buy(product, quantity, button) {
    this.error.textContent = '';
    this.status.textContent = '';
    const count = Number(quantity.value);
    if (!Number.isInteger(count) || count < 1 || count > 1000) {
      this.error.textContent = C.badQuantity;
      quantity.focus();
      return;
    }
    button.disabled = true;
    try {
      const order = await api.post('/api/orders', { productId: product.id, quantity: count });
      await this.live.refreshProfile().catch(() => {});
      this.status.textContent = C.bought(order.productName, formatNumber(order.quantity), formatNumber(order.points), order.points);
      quantity.value = '1';
    } catch (error) {
      this.error.textContent = this.live.explain(error);
    } finally {
      button.disabled = false;
    }
  }

  edit(product) {
    const editor = new Editor({
      id: 'product-editor',
      title: product ? C.editTitle(product.name) : C.newTitle,
      values: product || { points: 0, price: '0.00' },
      specs: [
        { name: 'name', label: C.fields.name, required: true },
        { name: 'description', label: C.fields.description, multiline: true, rows: 3 },
        { name: 'price', label: C.fields.price, inputmode: 'decimal', hint: C.fields.priceHint },
        { name: 'points', label: C.fields.points, type: 'number', min: '0', step: '1' },
        { name: 'image', label: C.fields.image, type: 'url', hint: C.fields.imageHint },
      ],
      save: (body) => (product ? api.put(`/api/products/${product.id}`, body) : api.post('/api/products', body)),
      explain: (error) => this.live.explain(error),
      onDone: (saved) => {
        replaceChildren(this.editorSlot);
        if (saved) {
          this.status.textContent = C.saved(saved.name);
          this.load().then(() => this.element.querySelector(`[data-product-id="${saved.id}"] .edit`)?.focus());
        } else {
          this.newButton?.focus();
        }
      },
    });
    replaceChildren(this.editorSlot, editor.element);
    editor.focus();
  }

  async remove(product) {
    const sure = await confirmDialog({ title: C.deleteTitle(product.name), message: C.deleteMessage, confirm: C.deleteConfirm, danger: true });
    if (!sure) return;
    try {
      await api.del(`/api/products/${product.id}`);
      this.status.textContent = C.deleted(product.name);
      await this.load();
      this.newButton?.focus();
    } catch (error) {
      this.error.textContent = this.live.explain(error);
    }
  }
}
