// The media of a message: a photo or video by its inline thumbnail (full size on click), a
// document as a chip that downloads it, a voice note or audio as a player, a place with a link
// to OpenStreetMap. Files need the token, so they are fetched and shown through object URLs
// (the page's policy allows blob: for pictures and media); thumbnails come inline as data: URLs.

import { h, icon, replaceChildren } from '../dom.js';
import { formatBytes, formatDuration, kindLabel } from '../messages.js';
import { T } from '../i18n.js';

// Every sentence this module may show a person: its part of the catalogue (i18n/en.js, ru.js).
const TEXT = T.media;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const THUMB_MAX = 240; // CSS pixels: the longest side of a thumbnail in a bubble

/** The thumbnail of an image or video as a data: URL, when the message carries a sane one. */
export function thumbnailUrl(media) {
  const thumb = media && media.thumbnail;
  return typeof thumb === 'string' && thumb.length < 400000 && BASE64.test(thumb) ? `data:image/jpeg;base64,${thumb}` : null;
}

/**
 * The files of one conversation's messages: each fetched once (with the token), kept as an
 * object URL while the conversation is open, and let go when it closes.
 */
export class MediaFiles {
  constructor(live) {
    this.live = live;
    this.files = new Map(); // message id -> Promise<{blob, url}>
  }

  get(messageId) {
    let file = this.files.get(messageId);
    if (!file) {
      file = this.live.mediaBlob(messageId).then((blob) => ({ blob, url: URL.createObjectURL(blob) }));
      file.catch(() => this.files.delete(messageId)); // a failure is tried again next time
      this.files.set(messageId, file);
    }
    return file;
  }

  release() {
    for (const file of this.files.values()) file.then(({ url }) => URL.revokeObjectURL(url), () => {});
    this.files.clear();
  }
}

/** Calls ``load`` once the element is (nearly) on screen: a long chat fetches only what is seen. */
function whenSeen(element, load) {
  if (typeof IntersectionObserver !== 'function') {
    load();
    return;
  }
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) {
      observer.disconnect();
      load();
    }
  }, { rootMargin: '200px' });
  observer.observe(element);
}

function fitted(media) {
  const width = Number(media?.width) || 0;
  const height = Number(media?.height) || 0;
  if (!width || !height) return {};
  const scale = Math.min(1, THUMB_MAX / Math.max(width, height));
  return { width: String(Math.round(width * scale)), height: String(Math.round(height * scale)) };
}

/** The element that shows a message's media (or place); null for a message with none. */
export function mediaElement(msg, kind, { files, onOpen }) {
  if (kind === 'location') return locationElement(msg.location);
  if (!msg.media) return null;
  if (msg.media.status === 'expired') return h('p', { class: 'media-expired', text: TEXT.expired });
  if (msg.local) return documentChip(msg, null); // a file still on its way: its name and size
  switch (kind) {
    case 'image':
    case 'video':
    case 'sticker':
      return visualElement(msg, kind, files, onOpen);
    case 'voice':
    case 'audio':
      return audioElement(msg, kind, files);
    default:
      return documentChip(msg, files);
  }
}

function visualElement(msg, kind, files, onOpen) {
  const alt = kind === 'video' ? TEXT.video : kind === 'sticker' ? TEXT.sticker : TEXT.photo;
  const img = h('img', { class: 'media-thumb', alt, ...fitted(msg.media), decoding: 'async' });
  const thumb = thumbnailUrl(msg.media);
  if (thumb) {
    img.src = thumb;
  } else if (kind !== 'video') {
    // No thumbnail (a sticker, or a picture this server sent): the file itself, once seen.
    img.classList.add('loading');
    whenSeen(img, () => {
      files.get(msg.id).then(({ url }) => {
        img.src = url;
        img.classList.remove('loading');
      }, () => img.classList.add('failed'));
    });
  }
  const figure = h('figure', { class: `media media-${kind}` });
  if (kind === 'sticker') {
    figure.append(img);
    return figure;
  }
  const button = h(
    'button',
    { type: 'button', class: 'media-open', 'aria-label': kind === 'video' ? TEXT.openVideo : TEXT.openPhoto, onclick: () => onOpen(msg, kind, button) },
    img,
    kind === 'video' ? h('span', { class: 'play-mark', 'aria-hidden': 'true', text: '▶' }) : null,
    kind === 'video' && msg.media.duration ? h('span', { class: 'media-duration', text: formatDuration(msg.media.duration) }) : null,
  );
  figure.append(button);
  return figure;
}

function audioElement(msg, kind, files) {
  const audio = h('audio', { class: 'audio-player', controls: true, preload: 'metadata', 'aria-label': kind === 'voice' ? TEXT.voice : TEXT.audio });
  const note = h('span', { class: 'audio-note', role: 'status', text: TEXT.loading });
  const box = h(
    'div',
    { class: `media media-audio media-${kind}` },
    h('span', { class: 'audio-mark', 'aria-hidden': 'true' }, icon(kind === 'voice' ? 'mic' : 'note')),
    audio,
    note,
  );
  whenSeen(box, () => {
    files.get(msg.id).then(({ url }) => {
      audio.src = url;
      note.textContent = msg.media.duration ? formatDuration(msg.media.duration) : '';
    }, (error) => {
      note.textContent = TEXT.failed(files.live.explain(error));
      box.classList.add('failed');
    });
  });
  return box;
}

function extensionOf(media) {
  const name = String(media.filename || '');
  const dot = name.lastIndexOf('.');
  if (dot > 0 && name.length - dot <= 6) return name.slice(dot + 1).toUpperCase();
  const sub = String(media.mimetype || '').split('/')[1] || '';
  return (sub.split(/[;+.-]/)[0] || 'FILE').slice(0, 5).toUpperCase();
}

function documentChip(msg, files) {
  const media = msg.media;
  const name = media.filename || TEXT.document;
  const details = [formatBytes(media.size), extensionOf(media)].filter(Boolean).join(' · ');
  const status = h('span', { class: 'doc-status', role: 'status' });
  const parts = [
    h('span', { class: 'doc-icon', 'aria-hidden': 'true', text: extensionOf(media) }),
    h('span', { class: 'doc-text' }, h('span', { class: 'doc-name', text: name }), h('span', { class: 'doc-size', text: details }), status),
  ];
  if (!files) return h('div', { class: 'media doc-chip' }, parts);
  const chip = h('button', { type: 'button', class: 'media doc-chip', 'aria-label': TEXT.download(name) }, parts);
  chip.addEventListener('click', async () => {
    if (chip.getAttribute('aria-busy') === 'true') return;
    chip.setAttribute('aria-busy', 'true');
    status.textContent = TEXT.downloading;
    try {
      const { url } = await files.get(msg.id);
      saveAs(url, name);
      status.textContent = '';
    } catch (error) {
      status.textContent = TEXT.failed(files.live.explain(error));
    } finally {
      chip.setAttribute('aria-busy', 'false');
    }
  });
  return chip;
}

/** Save an object URL under ``filename`` through a link with ``download`` (nothing navigates). */
export function saveAs(url, filename) {
  const link = h('a', { href: url, download: filename || 'file', class: 'visually-hidden' });
  document.body.append(link);
  link.click();
  link.remove();
}

function coordinate(value) {
  const n = Number(value);
  return Number.isFinite(n) ? n.toFixed(5) : '?';
}

function locationElement(place) {
  if (!place) return null;
  const lat = coordinate(place.latitude);
  const lon = coordinate(place.longitude);
  const href = `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`;
  return h(
    'div',
    { class: 'media location' },
    h('span', { class: 'location-mark', 'aria-hidden': 'true' }, icon('pin')),
    h(
      'span',
      { class: 'location-text' },
      place.name ? h('span', { class: 'location-name', text: place.name }) : null,
      place.address ? h('span', { class: 'location-address', text: place.address }) : null,
      h('a', { class: 'location-link', href, target: '_blank', rel: 'noopener noreferrer', title: TEXT.openMap, text: TEXT.coordinates(lat, lon) }),
    ),
  );
}

/**
 * A photo or video full size in a modal dialog: fetched with the token, shown through its
 * object URL. Escape or the close button shut it; the focus goes back to ``opener``.
 */
export function openViewer({ msg, kind, files, opener, caption }) {
  const closeButton = h('button', { type: 'button', class: 'button small viewer-close', text: TEXT.close });
  const stage = h('div', { class: 'viewer-stage', role: 'status', text: TEXT.loading });
  const dialog = h(
    'dialog',
    { class: 'viewer', 'aria-label': `${TEXT.viewer}: ${kindLabel(kind)}`, 'data-id': msg.id },
    h('div', { class: 'viewer-bar' }, h('span', { class: 'viewer-title', text: kindLabel(kind) }), closeButton),
    stage,
    caption ? h('p', { class: 'viewer-caption', text: caption }) : null,
  );
  const finish = () => {
    if (dialog.open) dialog.close();
    dialog.remove();
    const video = dialog.querySelector('video');
    if (video) video.pause();
    if (opener && opener.isConnected) opener.focus();
  };
  closeButton.addEventListener('click', finish);
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault();
    finish();
  });
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) finish(); // the backdrop
  });
  document.body.append(dialog);
  dialog.showModal();
  closeButton.focus();
  files.get(msg.id).then(({ url }) => {
    if (!dialog.isConnected) return;
    const shown = kind === 'video'
      ? h('video', { class: 'viewer-media viewer-video', controls: true, src: url })
      : h('img', { class: 'viewer-media viewer-image', alt: caption || TEXT.photo, src: url });
    stage.removeAttribute('role');
    replaceChildren(stage, shown);
  }, (error) => {
    stage.textContent = TEXT.failed(files.live.explain(error));
  });
  return dialog;
}
