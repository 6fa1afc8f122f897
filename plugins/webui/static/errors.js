// What a failure means to the person in front of the page, in one place.
//
// The server's 4xx messages are written for people ("That username is taken", "The file is
// too large") and show as they are. Its 5xx messages speak to the operator: they may name a
// setting (whatsapp.max_sessions), a program (Chromium, ffmpeg) or a path. Those become a plain
// sentence keyed on the status and on what the person tried; administrators see the server's
// words after it. The same goes for why a session failed or stopped by itself.

import { T, formatNumber } from './i18n.js';

// Every sentence this module may show a person: its part of the catalogue (i18n/en.js, ru.js).
const TEXT = T.errors;

// Failures the page itself names (no answer from the server): their words are the page's own.
const PAGE_CODES = new Set(['network', 'offline', 'timeout', 'aborted']);

/**
 * The words for ``error`` (an ApiError, or a websocket command's error: ``{status, code,
 * message}``). ``action`` says what was tried: 'start', 'pair', 'send', 'media' or 'other'.
 * ``admin``: the person may see the server's own words for an operator's problem.
 */
export function describeError(error, { admin = false, action = 'other' } = {}) {
  const status = Number(error?.status) || 0;
  const code = error?.code || '';
  const message = String(error?.message || '');
  if (status >= 400 && status < 500) return byCode(code, error) || message || TEXT.unknown;
  if (!status && PAGE_CODES.has(code)) return message || TEXT.unknown;
  return withDetail(plainWords(status, action), message, admin);
}

/**
 * The catalogue's sentence for an API error ``code``, or null. The API's messages are English:
 * a code the catalogue words ``always`` (those of points and orders) gets its sentence in any
 * language; the generic codes (``conflict``, ``not_found``...) get one only in a language other
 * than the server's, since the server's own message says more. Numbers in the error (the
 * ``points`` of insufficient_points) come formatted for the locale.
 */
function byCode(code, error) {
  const words = T.apiErrors.always[code] || (T.serverLanguage ? null : T.apiErrors.generic[code]);
  if (!words) return null;
  if (typeof words !== 'function') return words;
  const detail = error?.detail || {};
  const args = {};
  for (const [key, value] of Object.entries(detail)) args[key] = typeof value === 'number' ? formatNumber(value) : value;
  return words(args, detail);
}

// The API's field messages (docs/api.md: `fields` of a 422), each with what it names. In the
// server's language they show as they came; in another, the catalogue's `apiFields` words them.
// A message not listed here shows as the API wrote it.
const FIELD_MESSAGES = [
  ['required', /^Missing data for required field\.$/],
  ['notNull', /^Field may not be null\.$/],
  ['blank', /^May not be blank\.$/],
  ['username', /^Use (\d+) to (\d+) letters a-z, digits, '_', '\.' or '-'\.$/],
  ['characters', /^Use (\d+) to (\d+) characters\.$/],
  ['lengthBetween', /^Length must be between (\d+) and (\d+)\.$/],
  ['longerThan', /^Longer than (?:maximum length )?(\d+)(?: characters)?\.$/],
  ['shorterThan', /^Shorter than minimum length (\d+)\.$/],
  ['utf8Bytes', /^Use at most (\d+) bytes in UTF-8/],
  ['email', /^Not a valid email address\.$/],
  ['url', /^Not a valid (?:http\(s\) )?URL\.$/],
  ['price', /^Not a valid price/],
  ['priceDecimals', /^A price has at most two decimals\.$/],
  ['priceRange', /^A price is 0 or more and less than (\d+)\.$/],
  ['wholeNumber', /^Must be a whole number from (\d+) to (\d+)\.$/],
  ['integer', /^Not a valid integer\.$/],
  ['number', /^Not a valid number\.$/],
  ['phone', /^A phone number, country code first/],
  ['letterOrDigit', /^Needs at least one letter or digit\.$/],
];

/** One of the API's field messages in the page's language (see FIELD_MESSAGES). */
export function describeFieldMessage(message) {
  const text = String(message ?? '');
  if (T.serverLanguage) return text;
  for (const [key, pattern] of FIELD_MESSAGES) {
    const match = pattern.exec(text);
    if (match) {
      const words = T.apiFields[key];
      return typeof words === 'function' ? words(...match.slice(1).map((n) => formatNumber(Number(n)))) : words;
    }
  }
  return text;
}

/** Every message of one field (a string or a list of them), in the page's language, as one text. */
export function describeFieldMessages(messages) {
  return [].concat(messages).map(describeFieldMessage).join(' ');
}

function plainWords(status, action) {
  if (status === 503) return TEXT.unavailable[action] || TEXT.unavailable.other;
  if (status === 502 || status === 504) return TEXT.upstream[action] || TEXT.upstream.other;
  if (status >= 500) return TEXT.internal;
  return TEXT.unknown;
}

function withDetail(plain, detail, admin) {
  return admin && detail ? `${plain} ${TEXT.detail(detail)}` : plain;
}

/**
 * Why a session is FAILED, or STOPPED by itself (its status's ``error``), in plain words; null
 * when there is nothing to say.
 */
export function describeSessionProblem(status, { admin = false } = {}) {
  if (!status || !status.error) return null;
  if (status.state === 'FAILED') return withDetail(TEXT.sessionFailed, status.error, admin);
  if (status.state === 'STOPPED') return withDetail(TEXT.sessionStopped, status.error, admin);
  return null;
}

/** A ``session.code`` frame's ``error``: WhatsApp could not make a pairing code. */
export function describeCodeError(error, { admin = false } = {}) {
  return withDetail(TEXT.codeError, error, admin);
}
