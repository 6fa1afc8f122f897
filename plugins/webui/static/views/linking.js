// Linking WhatsApp, in the main pane while the session waits for it: the QR code, big enough to
// scan from a phone held at arm's length, with the steps; or, instead, a pairing code for a
// phone number (POST /api/whatsapp/pair), shown big with the steps to type it on the phone and
// the time it has left. New codes, their end and errors come as `session.code` frames.

import { h, phoneOf, replaceChildren } from '../dom.js';
import { describeCodeError, describeFieldMessages } from '../errors.js';
import { T } from '../i18n.js';

// Every sentence this module may show a person: its part of the catalogue (i18n/en.js, ru.js).
const TEXT = T.linking;

const QR_MIN_PX = 264; // CSS pixels: a code this large scans from a phone at arm's length
const TICK_MS = 1000;

/** The digits of a phone number typed by a person, by the server's rule; null when it is not one. */
export function phoneDigits(text) {
  const value = String(text || '').trim();
  if (!/^\+?[0-9 ().-]+$/.test(value)) return null;
  const digits = value.replace(/[^0-9]/g, '');
  return digits.length >= 6 && digits.length <= 15 ? digits : null;
}

/** "2:05": the time left until ``iso``; null once it has passed (or when there is none). */
function timeLeft(iso) {
  const ms = Date.parse(iso || '') - Date.now();
  if (!Number.isFinite(ms) || ms <= 0) return null;
  const s = Math.ceil(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export class LinkPane {
  constructor(live) {
    this.live = live;
    this.model = live.session;
    this.mode = this.model.pairing && this.model.pairing.code ? 'code' : 'qr'; // 'qr' | 'phone' | 'code'
    this.phone = ''; // what the user typed, for a new code
    this.shownCode = this.model.pairing?.code || null;
    this.busy = false;
    this.formError = '';
    this.timer = null;
    this.build();
    this.onChange = () => this.modelChanged();
    this.model.addEventListener('change', this.onChange);
    this.render();
  }

  destroy() {
    this.model.removeEventListener('change', this.onChange);
    clearInterval(this.timer);
  }

  focus() {
    this.title.focus({ preventScroll: true });
  }

  build() {
    this.title = h('h2', { id: 'link-title', tabindex: '-1', text: TEXT.title });
    this.qrImage = h('img', { class: 'qr-image', alt: TEXT.qrAlt, width: String(QR_MIN_PX), height: String(QR_MIN_PX) });
    // At its own size when that is larger: every module of the code stays whole pixels.
    this.qrImage.addEventListener('load', () => {
      const size = Math.max(QR_MIN_PX, this.qrImage.naturalWidth || 0);
      this.qrImage.style.width = `${size}px`;
    });
    this.qrFigure = h('figure', { class: 'qr', 'aria-busy': 'true' }, this.qrImage, h('figcaption', { class: 'qr-waiting', text: TEXT.qrWaiting }));
    this.body = h('div', { class: 'link-body' });
    this.element = h('section', { class: 'link-pane', 'aria-labelledby': 'link-title' }, h('div', { class: 'link-card' }, this.title, this.body));
  }

  /** A new code (a frame, or another tab asked) shows; its end shows where the code was. */
  modelChanged() {
    const pairing = this.model.pairing;
    if (pairing && pairing.code && pairing.code !== this.shownCode) {
      this.shownCode = pairing.code;
      this.mode = 'code';
    }
    this.render();
  }

  render() {
    const state = this.model.state;
    this.element.dataset.mode = state === 'QR' ? this.mode : 'opening';
    clearInterval(this.timer);
    this.timer = null;
    this.title.textContent = state === 'QR' ? TEXT.title : TEXT.openingTitle;
    if (state !== 'QR') {
      replaceChildren(this.body, h('p', { class: 'muted link-opening' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', TEXT.opening));
      this.rendered = null;
      return;
    }
    if (this.mode === 'qr') this.renderQr();
    else if (this.mode === 'phone') this.renderPhoneForm();
    else this.renderCode();
  }

  // -- the QR code -----------------------------------------------------------------------------------
  renderQr() {
    if (this.rendered !== 'qr') {
      replaceChildren(
        this.body,
        this.qrFigure,
        h('ol', { class: 'link-steps' }, TEXT.qrSteps.map((text) => h('li', { text }))),
        h('button', { type: 'button', class: 'link-button link-by-phone', text: TEXT.usePhone, onclick: () => this.show('phone') }),
      );
      this.rendered = 'qr';
    }
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

  /** Switch to the QR code, the phone number form (with ``error`` under it) or the code. */
  show(mode, { error = '' } = {}) {
    this.mode = mode;
    this.formError = error;
    this.render();
    const target = mode === 'phone' ? this.body.querySelector('#pair-phone') : mode === 'qr' ? this.body.querySelector('.link-by-phone') : this.body.querySelector('.pair-code');
    target?.focus();
  }

  // -- the phone number ------------------------------------------------------------------------------
  renderPhoneForm() {
    if (this.rendered === 'phone') {
      this.renderFormState();
      return;
    }
    this.phoneInput = h('input', {
      id: 'pair-phone',
      name: 'phone',
      type: 'tel',
      inputmode: 'tel',
      autocomplete: 'tel',
      placeholder: TEXT.phoneExample,
      value: this.phone,
      'aria-describedby': 'pair-phone-hint pair-phone-error',
    });
    this.submitButton = h('button', { type: 'submit', class: 'button primary', text: TEXT.getCode });
    this.errorSlot = h('p', { class: 'field-error', id: 'pair-phone-error', role: 'alert' });
    const form = h(
      'form',
      { class: 'pair-form', novalidate: true },
      h('label', { for: 'pair-phone', text: TEXT.phoneLabel }),
      h('p', { class: 'hint', id: 'pair-phone-hint', text: TEXT.phoneHint }),
      h('div', { class: 'inline' }, this.phoneInput, this.submitButton),
      this.errorSlot,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.requestCode(this.phoneInput.value);
    });
    replaceChildren(this.body, form, h('button', { type: 'button', class: 'link-button back-to-qr', text: TEXT.backToQr, onclick: () => this.show('qr') }));
    this.rendered = 'phone';
    this.renderFormState();
  }

  renderFormState() {
    this.errorSlot.textContent = this.formError;
    if (this.formError) this.phoneInput.setAttribute('aria-invalid', 'true');
    else this.phoneInput.removeAttribute('aria-invalid');
    this.submitButton.textContent = this.busy ? TEXT.gettingCode : TEXT.getCode;
    this.submitButton.setAttribute('aria-disabled', String(this.busy));
  }

  /** Ask the server for a code for ``typed``; on success the code shows (see modelChanged). */
  async requestCode(typed) {
    if (this.busy) return;
    const digits = phoneDigits(typed);
    if (!digits) {
      this.show('phone', { error: TEXT.badPhone });
      return;
    }
    this.phone = String(typed).trim();
    this.busy = true;
    this.formError = '';
    this.render();
    try {
      const answer = await this.live.requestPairingCode(this.phone);
      this.shownCode = null; // even the code showing already: show it again
      this.busy = false;
      if (answer && answer.code) {
        this.shownCode = answer.code;
        this.show('code');
      } else {
        this.render();
      }
    } catch (error) {
      this.busy = false;
      const fieldErrors = error.fields && error.fields.phone;
      this.show('phone', { error: fieldErrors ? describeFieldMessages(fieldErrors) : this.live.explain(error, 'pair') });
    }
  }

  // -- the pairing code --------------------------------------------------------------------------------
  renderCode() {
    const pairing = this.model.pairing || { code: this.shownCode };
    const code = pairing.code || this.shownCode || '';
    const ended = !pairing.code && !!(pairing.expired || pairing.error);
    // QR frames keep coming meanwhile: the code is drawn again only when it changed.
    const signature = JSON.stringify([code, ended, pairing.error || '', pairing.expiresAt || '', this.phone]);
    if (this.rendered === 'code' && this.codeSignature === signature) {
      this.startCountdown(pairing, ended);
      return;
    }
    this.codeSignature = signature;
    const countdown = h('p', { class: 'pair-countdown', 'aria-live': 'off' });
    const note = ended
      ? h('p', { class: pairing.error ? 'error-text pair-problem' : 'warning pair-problem', role: 'alert', text: pairing.error ? describeCodeError(pairing.error, { admin: this.live.isAdmin }) : TEXT.expired })
      : null;
    const actions = h(
      'div',
      { class: 'pair-actions' },
      ended ? h('button', { type: 'button', class: 'button primary new-code', text: TEXT.newCode, onclick: () => this.newCode() }) : null,
      h('button', { type: 'button', class: 'link-button back-to-qr', text: TEXT.backToQr, onclick: () => this.show('qr') }),
      h('button', { type: 'button', class: 'link-button other-number', text: TEXT.otherNumber, onclick: () => this.show('phone') }),
    );
    replaceChildren(
      this.body,
      h('p', { class: 'pair-intro', text: TEXT.codeIntro }),
      h('p', { class: `pair-code${ended ? ' ended' : ''}`, tabindex: '-1', 'aria-label': TEXT.codeLabel(code), 'data-code': code, text: code }),
      this.phone && phoneDigits(this.phone) ? h('p', { class: 'muted pair-for', text: TEXT.codeFor(phoneOf(`${phoneDigits(this.phone)}@c.us`)) }) : null,
      ended ? null : countdown,
      note,
      h('ol', { class: 'link-steps' }, TEXT.codeSteps.map((text) => h('li', { text }))),
      actions,
    );
    this.countdown = ended ? null : countdown;
    this.rendered = 'code';
    this.startCountdown(pairing, ended);
  }

  startCountdown(pairing, ended) {
    if (ended || !this.countdown) return;
    const countdown = this.countdown;
    const tick = () => {
      const left = timeLeft(pairing.expiresAt);
      countdown.textContent = left ? TEXT.expiresIn(left) : TEXT.renewing;
      countdown.dataset.left = left || '';
    };
    tick();
    if (pairing.expiresAt) this.timer = setInterval(tick, TICK_MS);
  }

  /** After the code expired or failed: the same number again, or ask for one. */
  newCode() {
    if (phoneDigits(this.phone)) this.requestCode(this.phone);
    else this.show('phone');
  }
}
