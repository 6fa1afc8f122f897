// What a message is, in words: its kind (text, photo, voice note...), a one-line preview for the
// chat list and reply snippets, sizes, and who may do what with it. No DOM here.

import { T, formatNumber } from './i18n.js';

// Every word this module may show a person.
const TEXT = T.messages;

// A symbol before a preview of each kind (decorative: the words say the same).
const MARKS = { image: '📷', video: '🎥', voice: '🎤', audio: '🎵', document: '📄', sticker: '🏷️', location: '📍' };

const MEDIA_TYPES = { image: 'image', video: 'video', ptt: 'voice', audio: 'audio', document: 'document', sticker: 'sticker' };

/** text, image, video, voice, audio, document, sticker, location, revoked, waiting (still
 *  encrypted: its keys have not reached this device yet) or other. */
export function kindOf(msg) {
  if (!msg) return 'other';
  if (msg.revoked || msg.type === 'revoked') return 'revoked';
  if (msg.type === 'ciphertext') return 'waiting';
  if (msg.location || msg.type === 'location') return 'location';
  if (msg.media || MEDIA_TYPES[msg.type]) {
    if (MEDIA_TYPES[msg.type]) return MEDIA_TYPES[msg.type];
    const mimetype = String(msg.media?.mimetype || '');
    if (mimetype.startsWith('image/')) return 'image';
    if (mimetype.startsWith('video/')) return 'video';
    if (mimetype.startsWith('audio/')) return 'audio';
    return 'document';
  }
  if (!msg.type || msg.type === 'chat') return 'text';
  return 'other';
}

/** The words of a message: its text, or its caption for media. */
export function textOf(msg) {
  const kind = kindOf(msg);
  if (kind === 'text' || kind === 'other') return msg.body || '';
  if (kind === 'revoked' || kind === 'location') return '';
  if (kind === 'waiting') return TEXT.waiting;
  return msg.caption || '';
}

/** "This message was deleted", or "You deleted this message" for the user's own. */
export function revokedText(msg) {
  return msg.fromMe ? TEXT.revokedByYou : TEXT.revoked;
}

/** The label of a kind ("Photo"), '' for text. */
export function kindLabel(kind) {
  return TEXT[kind] ?? TEXT.other;
}

/** One line for the chat list: "📷 Photo", "📄 report.pdf", "📍 Red Square", the text... */
export function previewText(msg) {
  const kind = kindOf(msg);
  if (kind === 'revoked') return msg.fromMe ? TEXT.revokedByYou : TEXT.revoked;
  if (kind === 'waiting') return TEXT.waiting;
  if (kind === 'text') return msg.body || '';
  if (kind === 'other') return msg.body || `[${msg.type}]`;
  const words = kind === 'location'
    ? msg.location?.name || msg.location?.address || TEXT.location
    : msg.caption || (kind === 'document' && msg.media?.filename) || TEXT[kind];
  return `${MARKS[kind]} ${words}`;
}

/** The snippet of the message a reply quotes: ``{id, body, type, fromMe, from}``. */
export function quotedText(quoted) {
  if (!quoted) return '';
  const kind = kindOf({ type: quoted.type });
  if (kind === 'text' || kind === 'other') return quoted.body || '';
  if (kind === 'revoked') return TEXT.revoked;
  return quoted.body ? `${MARKS[kind] || ''} ${quoted.body}`.trim() : `${MARKS[kind] || ''} ${TEXT[kind]}`.trim();
}

export function youLabel() {
  return TEXT.you;
}

/**
 * What a send and the message it made have in common, to tell which pending bubble a server
 * message replaces: the text, or the caption and file name of media, or the place.
 */
export function sendKey(msg) {
  if (msg.location) return `location:${msg.location.latitude},${msg.location.longitude}`;
  if (msg.media) return `media:${msg.caption || ''}`;
  return `text:${msg.body || ''}`;
}

/** "12 KB", "3.4 MB". */
export function formatBytes(size) {
  const n = Number(size);
  if (!Number.isFinite(n) || n < 0) return '';
  const fixed = (value, digits) => formatNumber(value, { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false });
  if (n < 1024) return TEXT.bytes(fixed(n, 0));
  if (n < 1024 * 1024) return TEXT.kilobytes(fixed(Math.round(n / 1024), 0));
  if (n < 1024 * 1024 * 1024) return TEXT.megabytes(fixed(n / (1024 * 1024), n < 10 * 1024 * 1024 ? 1 : 0));
  return TEXT.gigabytes(fixed(n / (1024 * 1024 * 1024), 1));
}

/** "0:07", "12:30": a duration in seconds. */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** What the user may do with a message (the server has the last word). */
export function actionsFor(msg) {
  const live = !msg.local && !msg.revoked && msg.type !== 'revoked';
  return {
    reply: live,
    react: live,
    edit: live && msg.fromMe && kindOf(msg) === 'text',
    deleteForEveryone: live && msg.fromMe,
    deleteForMe: !msg.local,
  };
}

/** Reactions grouped by emoji, in the order first seen: [{emoji, count, mine}]. */
export function groupReactions(reactions) {
  const groups = new Map();
  for (const reaction of reactions || []) {
    if (!reaction || !reaction.emoji) continue;
    const group = groups.get(reaction.emoji) || { emoji: reaction.emoji, count: 0, mine: false };
    group.count += 1;
    group.mine = group.mine || !!reaction.fromMe;
    groups.set(reaction.emoji, group);
  }
  return [...groups.values()];
}

/** The user's own reaction on a message, or ''. */
export function myReaction(msg) {
  return (msg.reactions || []).find((r) => r.fromMe)?.emoji || '';
}
