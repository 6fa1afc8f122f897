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
