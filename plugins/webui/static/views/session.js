// The WhatsApp panel: the session's state, the linked phone once connected, and start / stop /
// restart / clear. While the session waits to be linked, the QR code (or the pairing code) is
// in the main pane (views/linking.js); the panel says so.

import { h, longWhen, phoneOf, replaceChildren } from '../dom.js';
import { describeSessionProblem } from '../errors.js';
import { confirmDialog } from './dialog.js';
import { T } from '../i18n.js';

// Every sentence this module may show a person: its part of the catalogue (i18n/en.js, ru.js).
const TEXT = T.session;

export const STATE_LABELS = TEXT.states;

export function stateBadge(state, extraClass = '') {
  return h('span', {
    class: `state-badge ${extraClass}`.trim(),
    'data-state': state || 'UNKNOWN',
    text: STATE_LABELS[state] || (state ? state : TEXT.unknownState),
  });
}

const ACTIONS = [
  ['start', 'primary'],
  ['stop', ''],
  ['restart', ''],
  ['clear', 'danger-outline'],
];

export class SessionPanel {
  constructor(live) {
    this.live = live;
    this.model = live.session;
    this.busy = null;
    this.error = '';
    this.body = h('div', { class: 'session-body' });
    this.badgeSlot = h('span', { class: 'session-badge' });
    this.actions = h('div', { class: 'session-actions', role: 'group', 'aria-label': TEXT.actionsLabel });
    this.errorSlot = h('p', { class: 'form-error', role: 'alert' });
    this.title = h('h2', { id: 'session-title', tabindex: '-1', text: TEXT.title });
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
    const signature = JSON.stringify([this.model.available, state, status && [status.phone, status.pushname, status.since, status.error]]);
    if (signature !== this.renderedSignature) replaceChildren(this.body, this.describe(status));
    this.renderedSignature = signature;
    this.renderActions(state);
  }

  describe(status) {
    if (!this.model.available) return h('p', { class: 'muted', text: TEXT.notEnabled });
    if (!status) return h('p', { class: 'muted', text: TEXT.loading });
    const problem = describeSessionProblem(status, { admin: this.live.isAdmin });
    switch (status.state) {
      case 'STOPPED':
        return [problem ? h('p', { class: 'warning session-problem', text: problem }) : null, h('p', { class: 'muted', text: TEXT.stopped })];
      case 'STARTING':
        return h('p', { class: 'muted' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', TEXT.starting);
      case 'QR':
        // The code itself is in the main pane; with a chat open, this link goes back to it.
        return [h('p', { class: 'muted', text: TEXT.linking }), h('a', { class: 'show-link-pane', href: '#/chats', text: TEXT.showCode })];
      case 'CONNECTED':
      case 'DISCONNECTED':
        return [
          status.state === 'DISCONNECTED' ? h('p', { class: 'warning', text: TEXT.dropped }) : null,
          h(
            'dl',
            { class: 'facts' },
            h('dt', { text: TEXT.phone }),
            h('dd', { class: 'session-phone', text: status.phone ? phoneOf(`${status.phone}@c.us`) : '—' }),
            h('dt', { text: TEXT.name }),
            h('dd', { class: 'session-name', text: status.pushname || '—' }),
            h('dt', { text: TEXT.since }),
            h('dd', { text: longWhen(status.since) }),
          ),
        ];
      case 'FAILED':
        return h('p', { class: 'error-text session-problem', text: problem || TEXT.states.FAILED });
      default:
        return h('p', { class: 'muted', text: TEXT.otherState(status.state) });
    }
  }

  /** The buttons stay the same elements (a click never lands on one being replaced). */
  renderActions(state) {
    if (!this.buttons) {
      this.buttons = {};
      for (const [action, kind] of ACTIONS) {
        const button = h('button', { type: 'button', class: `button ${kind}`.trim(), 'data-action': action, onclick: () => this.run(action) });
        button.dataset.label = TEXT.actions[action];
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
      const sure = await confirmDialog({ ...TEXT.confirmClear, danger: true });
      if (!sure) return;
    }
    this.busy = action;
    this.error = '';
    this.render();
    try {
      await this.live.sessionAction(action);
    } catch (error) {
      this.error = this.live.explain(error, action === 'start' || action === 'restart' ? 'start' : 'other');
    } finally {
      this.busy = null;
      this.render();
    }
  }
}
