// The WhatsApp panel: the session's state, its QR code while it waits for a scan, the linked
// phone once connected, and start / stop / restart / clear.

import { h, longWhen, phoneOf, replaceChildren } from '../dom.js';
import { confirmDialog } from './dialog.js';

export const STATE_LABELS = {
  STOPPED: 'Stopped',
  STARTING: 'Starting…',
  QR: 'Waiting for scan',
  CONNECTED: 'Connected',
  DISCONNECTED: 'Reconnecting',
  FAILED: 'Failed',
};

export function stateBadge(state, extraClass = '') {
  return h('span', {
    class: `state-badge ${extraClass}`.trim(),
    'data-state': state || 'UNKNOWN',
    text: STATE_LABELS[state] || (state ? state : 'Unknown'),
  });
}

const ACTIONS = [
  ['start', 'Start', 'primary'],
  ['stop', 'Stop', ''],
  ['restart', 'Restart', ''],
  ['clear', 'Clear session', 'danger-outline'],
];

export class SessionPanel {
  constructor(live) {
    this.live = live;
    this.model = live.session;
    this.busy = null;
    this.error = '';
    this.body = h('div', { class: 'session-body' });
    this.badgeSlot = h('span', { class: 'session-badge' });
    this.actions = h('div', { class: 'session-actions', role: 'group', 'aria-label': 'WhatsApp session actions' });
    this.errorSlot = h('p', { class: 'form-error', role: 'alert' });
    this.title = h('h2', { id: 'session-title', tabindex: '-1', text: 'WhatsApp' });
    this.element = h(
      'section',
      { class: 'session-panel', 'aria-labelledby': 'session-title' },
      h('div', { class: 'panel-head' }, this.title, this.badgeSlot),
      this.body,
      this.errorSlot,
      this.actions,
    );
    this.onChange = () => this.render();
    this.model.addEventListener('change', this.onChange);
    this.render();
  }

  destroy() {
    this.model.removeEventListener('change', this.onChange);
  }

  render() {
    const status = this.model.status;
    const state = status ? status.state : null;
    replaceChildren(this.badgeSlot, status ? stateBadge(state) : null);
    this.element.dataset.state = state || 'NONE';
    this.errorSlot.textContent = this.error;
    if (state === 'QR' && this.renderedState === 'QR') {
      this.updateQr();
    } else {
      replaceChildren(this.body, this.describe(status));
      this.updateQr();
    }
    this.renderedState = state;
    this.renderActions(state);
  }

  describe(status) {
    if (!this.model.available) return h('p', { class: 'muted', text: 'WhatsApp is not enabled on this server.' });
    if (!status) return h('p', { class: 'muted', text: 'Loading…' });
    switch (status.state) {
      case 'STOPPED':
        return h('p', { class: 'muted', text: 'Not running. Start it, then scan the QR code with your phone to link your WhatsApp.' });
      case 'STARTING':
        return h('p', { class: 'muted' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' Opening WhatsApp Web…');
      case 'QR':
        this.qrImage = h('img', { class: 'qr-image', alt: 'QR code: scan it with WhatsApp on your phone to link this account', width: '220', height: '220' });
        this.qrFigure = h('figure', { class: 'qr', 'aria-busy': 'true' }, this.qrImage, h('figcaption', { class: 'qr-waiting', text: 'Waiting for the QR code…' }));
        return [
          this.qrFigure,
          h(
            'ol',
            { class: 'qr-steps' },
            h('li', { text: 'Open WhatsApp on your phone.' }),
            h('li', { text: 'Go to Settings → Linked devices → Link a device.' }),
            h('li', { text: 'Point your phone at this code. It refreshes by itself.' }),
          ),
        ];
      case 'CONNECTED':
      case 'DISCONNECTED':
        return [
          status.state === 'DISCONNECTED'
            ? h('p', { class: 'warning', text: 'The connection to WhatsApp dropped; it reconnects by itself.' })
            : null,
          h(
            'dl',
            { class: 'facts' },
            h('dt', { text: 'Phone' }),
            h('dd', { class: 'session-phone', text: status.phone ? phoneOf(`${status.phone}@c.us`) : '—' }),
            h('dt', { text: 'Name' }),
            h('dd', { class: 'session-name', text: status.pushname || '—' }),
            h('dt', { text: 'Since' }),
            h('dd', { text: longWhen(status.since) }),
          ),
        ];
      case 'FAILED':
        return h('p', { class: 'error-text', text: `WhatsApp failed: ${status.error || 'unknown error'}. It restarts by itself; or restart it now.` });
      default:
        return h('p', { class: 'muted', text: `State: ${status.state}` });
    }
  }

  updateQr() {
    if (!this.qrImage || !this.qrImage.isConnected) return;
    const qr = this.model.qr;
    if (qr && qr.image) {
      if (this.qrImage.getAttribute('src') !== qr.image) this.qrImage.src = qr.image;
      this.qrFigure.dataset.ref = qr.qr;
      this.qrFigure.setAttribute('aria-busy', 'false');
    } else {
      this.qrImage.removeAttribute('src');
      delete this.qrFigure.dataset.ref;
      this.qrFigure.setAttribute('aria-busy', 'true');
    }
  }

  /** The buttons stay the same elements (a click never lands on one being replaced). */
  renderActions(state) {
    if (!this.buttons) {
      this.buttons = {};
      for (const [action, label, kind] of ACTIONS) {
        const button = h('button', { type: 'button', class: `button ${kind}`.trim(), 'data-action': action, onclick: () => this.run(action) });
        button.dataset.label = label;
        this.buttons[action] = button;
        this.actions.append(button);
      }
    }
    const shown = {
      start: state === 'STOPPED' || state === 'FAILED',
      stop: !!state && state !== 'STOPPED',
      restart: !!state && state !== 'STOPPED',
      clear: !!state,
    };
    const focused = this.actions.contains(document.activeElement) ? document.activeElement : null;
    for (const [action, button] of Object.entries(this.buttons)) {
      button.hidden = !(this.model.available && shown[action]);
      button.setAttribute('aria-disabled', String(this.busy !== null));
      button.textContent = this.busy === action ? `${button.dataset.label}…` : button.dataset.label;
    }
    if (focused && focused.hidden) {
      (Object.values(this.buttons).find((b) => !b.hidden) || this.title).focus();
    }
  }

  async run(action) {
    if (this.busy !== null) return;
    if (action === 'clear') {
      const sure = await confirmDialog({
        title: 'Clear the WhatsApp session?',
        message: 'This logs this server out of your WhatsApp and deletes its saved login. To use it again you will scan a new QR code. Your stored chats stay.',
        confirm: 'Clear session',
        danger: true,
      });
      if (!sure) return;
    }
    this.busy = action;
    this.error = '';
    this.render();
    try {
      await this.live.sessionAction(action);
    } catch (error) {
      this.error = error.message;
    } finally {
      this.busy = null;
      this.render();
    }
  }
}
