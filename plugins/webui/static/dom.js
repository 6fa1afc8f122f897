// DOM helpers. Text always goes in as text nodes or textContent, never as HTML: message
// bodies, chat names and user names come from strangers.

import { T, lang } from './i18n.js';

const TEXT = T.dom;

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

function setProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (typeof value === 'boolean') {
      if (key in el) el[key] = value;
      else el.setAttribute(key, '');
    } else if (key === 'value' && 'value' in el) el.value = value;
    else el.setAttribute(key, String(value));
  }
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replaceChildren(el, ...children) {
  clear(el);
  return append(el, children);
}

// -- icons: inline SVG built node by node ---------------------------------------------------
const SVG = 'http://www.w3.org/2000/svg';
const ICONS = {
  clock: ['M9 1.5a5 5 0 1 0 0.01 0Z', 'M9 3.8V6.6l1.9 1.2'],
  check: ['M3.5 6.5l2.6 2.6L12.5 2.8'],
  checks: ['M1 6.5l2.6 2.6L10 2.8', 'M7.6 9.1L14 2.8', 'M6.1 7.7l0.4 0.4'],
  error: ['M9 1.5a5 5 0 1 0 0.01 0Z', 'M9 3.8v3.2', 'M9 8.6v0.2'],
  back: ['M11 2L5 7.5 11 13'],
  chevron: ['M5 4.5l4 4 4-4'],
  plus: ['M9 1v10', 'M4 6h10'],
  close: ['M5 2l8 8', 'M13 2l-8 8'],
  mic: ['M9 1a2 2 0 0 1 2 2v3a2 2 0 0 1-4 0V3a2 2 0 0 1 2-2Z', 'M5.5 5.6a3.5 3.5 0 0 0 7 0', 'M9 9.2v2'],
  note: ['M7 9.3V2.2l6-1.2v7', 'M7 9.3a1.6 1.6 0 1 1-3.2 0a1.6 1.6 0 0 1 3.2 0Z', 'M13 8a1.6 1.6 0 1 1-3.2 0a1.6 1.6 0 0 1 3.2 0Z'],
  pin: ['M9 11.2S5.5 7.6 5.5 4.6a3.5 3.5 0 0 1 7 0c0 3-3.5 6.6-3.5 6.6Z', 'M9 3.4a1.2 1.2 0 1 0 .01 0Z'],
};

export function icon(name, label) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', name === 'back' ? '0 0 16 15' : '0 0 18 12');
  svg.setAttribute('class', `icon icon-${name}`);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  for (const d of ICONS[name]) {
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  if (!label) return svg;
  return h('span', { class: 'icon-wrap', role: 'img', 'aria-label': label }, svg);
}

// -- acks -----------------------------------------------------------------------------------
export const ACKS = {
  '-1': { name: 'error', label: TEXT.acks.error },
  0: { name: 'clock', label: TEXT.acks.pending },
  1: { name: 'check', label: TEXT.acks.sent },
  2: { name: 'checks', label: TEXT.acks.delivered },
  3: { name: 'checks', label: TEXT.acks.read },
};

export function ackTick(ack) {
  const value = ack >= 3 ? 3 : ack < 0 ? -1 : ack;
  const info = ACKS[value] || ACKS[0];
  const tick = h('span', { class: `ack ack-${value < 0 ? 'error' : value}`, role: 'img', 'aria-label': info.label, title: info.label });
  tick.dataset.ack = String(value);
  tick.append(icon(info.name));
  return tick;
}

// -- formatting ------------------------------------------------------------------------------
export function toMillis(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : t;
}

export function clockTime(iso) {
  const t = toMillis(iso);
  return t ? new Date(t).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' }) : '';
}

export function shortWhen(iso) {
  const t = toMillis(iso);
  if (!t) return '';
  const date = new Date(t);
  const now = new Date();
  if (date.toDateString() === now.toDateString()) return clockTime(iso);
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (date.toDateString() === yesterday.toDateString()) return TEXT.yesterday;
  return date.toLocaleDateString(lang, { day: 'numeric', month: 'short', year: date.getFullYear() === now.getFullYear() ? undefined : 'numeric' });
}

export function dayLabel(iso) {
  const t = toMillis(iso);
  if (!t) return '';
  const date = new Date(t);
  const now = new Date();
  if (date.toDateString() === now.toDateString()) return TEXT.today;
  return date.toLocaleDateString(lang, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
}

export function longWhen(iso) {
  const t = toMillis(iso);
  return t ? new Date(t).toLocaleString(lang) : '—';
}

/** "+79991234567" for a person's chat id; the id itself for groups and others. */
export function phoneOf(chatId) {
  const [user, server] = String(chatId || '').split('@');
  return server === 'c.us' && /^\d+$/.test(user) ? `+${user}` : String(chatId || '');
}

export function chatTitle(chat, chatId) {
  const id = chat?.id || chatId;
  const name = chat?.name && chat.name !== String(id).split('@')[0] ? chat.name : '';
  return name || phoneOf(id);
}

/**
 * A phone number typed by a person (or a chat id) as a chat id, or null when it is not one.
 * The server's rule (clients/ids.py chat_id_of), written again for the browser; a test holds the
 * two to the same answers.
 */
export function chatIdFromPhone(text) {
  const value = String(text || '').trim();
  if (value.includes('@')) {
    return /^([0-9]{5,20}@c\.us|[0-9-]{5,64}@g\.us|[0-9]{5,20}@lid|status@broadcast)$/.test(value) ? value : null;
  }
  if (!/^\+?[0-9 ().-]+$/.test(value)) return null;
  const digits = value.replace(/[^0-9]/g, '');
  return digits.length >= 6 && digits.length <= 15 ? `${digits}@c.us` : null;
}
