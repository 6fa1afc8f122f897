// The page's language: English or Russian, from the browser's languages unless the person chose
// one (kept in localStorage). Every sentence the page shows comes from one catalogue per language
// (i18n/en.js, i18n/ru.js, the same keys); dates and numbers go through Intl for that language.
// Switching reloads the page: every module reads its strings once, when it loads.

import en from './i18n/en.js';
import ru from './i18n/ru.js';

const CATALOGUES = { en, ru };
const KEY = 'wamulti.lang';

/** Codes of the languages there are, in the order the switch lists them. */
export const LANGUAGES = Object.keys(CATALOGUES);

function choose() {
  let stored = null;
  try {
    stored = localStorage.getItem(KEY);
  } catch {
    stored = null;
  }
  if (stored && CATALOGUES[stored]) return stored;
  for (const tag of navigator.languages?.length ? navigator.languages : [navigator.language || 'en']) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (CATALOGUES[base]) return base;
  }
  return 'en';
}

/** The language of this page load ('en' or 'ru'). */
export const lang = choose();

/** This language's catalogue. */
export const T = CATALOGUES[lang];

/** What a language calls itself ("Русский"), for the switch. */
export function languageName(code) {
  return CATALOGUES[code].languageName;
}

if (typeof document !== 'undefined') document.documentElement.lang = lang;

/** Remember ``code`` and load the page again in it. */
export function setLanguage(code) {
  if (!CATALOGUES[code] || code === lang) return;
  localStorage.setItem(KEY, code);
  location.reload();
}

// -- numbers and dates, for the locale ---------------------------------------------------------
const cache = new Map();
function formatter(kind, options) {
  const key = `${kind}:${JSON.stringify(options)}`;
  if (!cache.has(key)) cache.set(key, kind === 'number' ? new Intl.NumberFormat(lang, options) : new Intl.DateTimeFormat(lang, options));
  return cache.get(key);
}

export function formatNumber(n, options = {}) {
  return formatter('number', options).format(Number(n) || 0);
}

/** A price (a decimal string with two places, "19.90") with its two places. */
export function formatPrice(value) {
  return formatNumber(Number(value), { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** A points change with its sign: "+30", "−5". */
export function formatDelta(n) {
  return formatNumber(n, { signDisplay: 'exceptZero' });
}

function toDate(value) {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** A date and time ("2 Dec 2026, 14:05"), or a dash when there is none. */
export function formatDateTime(value, options = { dateStyle: 'medium', timeStyle: 'short' }) {
  const date = value ? toDate(value) : null;
  return date ? formatter('date', options).format(date) : '—';
}

export function formatDate(value, options = { dateStyle: 'long' }) {
  return formatDateTime(value, options);
}

export function formatTime(value, options = { hour: '2-digit', minute: '2-digit' }) {
  const date = value ? toDate(value) : null;
  return date ? formatter('date', options).format(date) : '';
}
