// A user's points entries and orders as tables: on the profile, and on an admin's page of a user
// (where a placed order may be cancelled).

import { h } from '../dom.js';
import { T, formatDateTime, formatDelta, formatNumber, formatPrice } from '../i18n.js';

const P = T.points;
const O = T.orders;

/** What an entry was: an order, its cancellation, or an admin's adjustment (with its reason). */
function entryText(entry) {
  if (entry.kind === 'order') return P.kinds.order(entry.orderId);
  if (entry.kind === 'order_cancelled') return P.kinds.orderCancelled(entry.orderId);
  return P.kinds.adjustment(entry.reason);
}

export function pointsTable(entries, caption) {
  if (!entries.length) return h('p', { class: 'muted empty-ledger', text: P.noEntries });
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'data points-table' },
      h('caption', { class: 'visually-hidden', text: caption }),
      h('thead', {}, h('tr', {}, [P.when, P.change, P.balance, P.what].map((text) => h('th', { scope: 'col', text })))),
      h(
        'tbody',
        {},
        entries.map((entry) =>
          h(
            'tr',
            { 'data-entry-id': String(entry.id), 'data-kind': entry.kind },
            h('td', { class: 'when', text: formatDateTime(entry.created_at) }),
            h('td', { class: `delta ${entry.delta < 0 ? 'minus' : 'plus'}`, text: formatDelta(entry.delta) }),
            h('td', { class: 'balance', text: formatNumber(entry.balance) }),
            h('th', { scope: 'row', class: 'what', text: entryText(entry) }),
          ),
        ),
      ),
    ),
  );
}

/** ``onCancel(order, button)``: given, placed orders get a Cancel button (for admins). */
export function ordersTable(orders, caption, { onCancel = null } = {}) {
  if (!orders.length) return h('p', { class: 'muted empty-orders', text: O.none });
  const heads = [O.number, O.product, O.quantity, O.total, O.pointsCol, O.status, O.placed];
  if (onCancel) heads.push(O.actions);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'data orders-table' },
      h('caption', { class: 'visually-hidden', text: caption }),
      h('thead', {}, h('tr', {}, heads.map((text) => h('th', { scope: 'col', text })))),
      h(
        'tbody',
        {},
        orders.map((order) => {
          const cancel = onCancel && order.status === 'placed'
            ? h('button', { type: 'button', class: 'button small danger-outline cancel-order', text: O.cancel, 'aria-label': O.cancelLabel(order.id) })
            : null;
          cancel?.addEventListener('click', () => onCancel(order, cancel));
          return h(
            'tr',
            { 'data-order-id': String(order.id), 'data-status': order.status },
            h('th', { scope: 'row', text: O.numberOf(order.id) }),
            h('td', { class: 'product', text: order.productName }),
            h('td', { text: formatNumber(order.quantity) }),
            h('td', { text: formatPrice(order.totalPrice) }),
            h('td', { text: formatNumber(order.points) }),
            h('td', { class: 'status', text: order.status === 'cancelled' ? O.cancelled(formatDateTime(order.cancelled_at)) : O.statusPlaced }),
            h('td', { text: formatDateTime(order.created_at) }),
            onCancel ? h('td', { class: 'actions' }, cancel) : null,
          );
        }),
      ),
    ),
  );
}
