// The composer under a conversation: the text (Enter sends, Shift+Enter a new line), files to
// send (the attach button, or dropped or pasted into the conversation; each uploads at once
// with a progress bar, then goes with the text as its caption), and what the text is for: a
// new message, a reply (the quoted message shows above, Escape or the cross cancels) or an
// edit of one of the user's messages.

import { h, icon, replaceChildren } from '../dom.js';
import { formatBytes, kindOf, quotedText, textOf, youLabel } from '../messages.js';
import { T, formatDateTime } from '../i18n.js';

// Every sentence this module may show a person: its part of the catalogue (i18n/en.js, ru.js).
const TEXT = T.composer;

const MAX_FILES = 10;
const MAX_CAPTION = 4096;

/** image, video, audio or document: how a file goes unless the user says otherwise. */
function fileKind(file) {
  const type = String(file.type || '');
  if (type.startsWith('image/') && type !== 'image/svg+xml') return 'image';
  if (type.startsWith('video/')) return 'video';
  if (type.startsWith('audio/')) return 'audio';
  return 'document';
}

/** The server's word for a failed upload, in plain words (``explain`` words the others). */
function uploadError(error, explain) {
  if (error.status === 413) return TEXT.tooLarge(error.message);
  if (error.status === 422) return TEXT.badType(error.message);
  if (error.status === 0) return error.message;
  return TEXT.uploadFailed(explain(error));
}

// The API's message type for each way of sending a file (the pending bubble's look).
const SENT_TYPES = { image: 'image', video: 'video', audio: 'audio', voice: 'ptt', document: 'document' };

export class Composer {
  /** ``senderName(jid)`` names the other side; ``onSent()`` after a send (to scroll down). */
  constructor(live, chatId, { senderName, onSent }) {
    this.live = live;
    this.chatId = chatId;
    this.senderName = senderName;
    this.onSent = onSent;
    this.ready = false;
    this.context = null; // {mode: 'reply' | 'edit', msg}
    this.items = []; // files being uploaded or ready to send
    this.seq = 0;
    this.waiting = false;
    this.build();
  }

  build() {
    this.input = h('textarea', {
      id: 'composer-input',
      name: 'message',
      rows: '1',
      placeholder: TEXT.placeholder,
      'aria-describedby': 'composer-hint composer-error',
      autocomplete: 'off',
    });
    this.fileInput = h('input', { type: 'file', multiple: true, class: 'visually-hidden', id: 'composer-file', tabindex: '-1', 'aria-hidden': 'true' });
    this.attachButton = h('button', { type: 'button', class: 'button attach', 'aria-label': TEXT.attach, title: TEXT.attach }, icon('plus'));
    this.sendButton = h('button', { type: 'submit', class: 'button primary send', text: TEXT.send });
    this.hint = h('p', { id: 'composer-hint', class: 'composer-hint', text: TEXT.hint });
    this.error = h('p', { id: 'composer-error', class: 'composer-error', role: 'alert' });
    this.limit = h('p', { id: 'composer-limit', class: 'composer-limit', role: 'status', hidden: true });
    this.contextBar = h('div', { class: 'composer-context', hidden: true });
    this.tray = h('ul', { class: 'attachments', 'aria-label': TEXT.files, hidden: true });
    this.element = h(
      'form',
      { class: 'composer', novalidate: true },
      this.limit,
      this.contextBar,
      this.tray,
      h('label', { for: 'composer-input', class: 'visually-hidden', text: TEXT.label }),
      this.attachButton,
      this.fileInput,
      this.input,
      this.sendButton,
      this.error,
      this.hint,
    );
    this.element.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        this.submit();
      } else if (event.key === 'Escape' && this.context) {
        event.preventDefault();
        this.clearContext();
      }
    });
    this.input.addEventListener('input', () => this.grow());
    this.input.addEventListener('paste', (event) => {
      const files = [...(event.clipboardData?.files || [])];
      if (files.length) {
        event.preventDefault();
        this.addFiles(files);
      }
    });
    this.attachButton.addEventListener('click', () => this.fileInput.click());
    this.fileInput.addEventListener('change', () => {
      this.addFiles([...this.fileInput.files]);
      this.fileInput.value = '';
    });
  }

  destroy() {
    for (const item of this.items) this.dropItem(item);
    this.items = [];
  }

  focus() {
    this.input.focus();
  }

  grow() {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 160)}px`;
  }

  setReady(ready) {
    this.ready = ready;
    this.sendButton.disabled = !ready;
    this.attachButton.disabled = !ready;
    this.hint.textContent = ready ? TEXT.hint : TEXT.offline;
  }

  /** WhatsApp's own limits on this account (the session status's ``limits``), shown by the composer:
   * during a reach-out timelock new chats are refused until the time it gives. */
  setLimits(limits) {
    const lock = limits && limits.reachoutTimelock;
    this.limit.hidden = !(lock && lock.active);
    this.limit.textContent = this.limit.hidden ? '' : TEXT.timelock(lock.until ? formatDateTime(lock.until) : null);
  }

  say(text) {
    this.error.textContent = text || '';
  }

  // -- what the text is for ----------------------------------------------------------------------
  replyTo(msg) {
    if (this.context?.mode === 'edit') this.clearContext();
    this.context = { mode: 'reply', msg };
    const who = msg.fromMe ? youLabel() : this.senderName(msg.from);
    this.showContext(TEXT.replyingTo(who), quotedText(snippetOf(msg)), TEXT.cancelReply);
    this.input.focus();
  }

  edit(msg) {
    this.context = { mode: 'edit', msg };
    this.showContext(TEXT.editing, textOf(msg), TEXT.cancelEdit);
    this.input.value = textOf(msg);
    this.grow();
    this.sendButton.textContent = TEXT.save;
    this.input.focus();
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
  }

  showContext(title, text, cancelLabel) {
    this.contextBar.dataset.mode = this.context.mode;
    replaceChildren(
      this.contextBar,
      h('div', { class: 'context-text' }, h('span', { class: 'context-title', text: title }), h('span', { class: 'context-snippet', text })),
      h('button', { type: 'button', class: 'context-cancel', 'aria-label': cancelLabel, title: cancelLabel, onclick: () => this.clearContext(true) }, icon('close')),
    );
    this.contextBar.hidden = false;
  }

  clearContext(focus = false) {
    if (this.context?.mode === 'edit') {
      this.input.value = '';
      this.grow();
    }
    this.context = null;
    this.contextBar.hidden = true;
    replaceChildren(this.contextBar);
    this.sendButton.textContent = TEXT.send;
    if (focus) this.input.focus();
  }

  // -- files ---------------------------------------------------------------------------------------
  /** Stage files: each uploads at once, with its progress in the tray. */
  addFiles(files) {
    this.say('');
    if (!this.ready) {
      this.say(TEXT.offline);
      return;
    }
    if (this.context?.mode === 'edit') this.clearContext();
    const room = MAX_FILES - this.items.length;
    if (files.length > room) this.say(TEXT.tooMany(MAX_FILES));
    for (const file of files.slice(0, Math.max(0, room))) this.items.push(this.startUpload(file));
    this.renderTray();
    this.input.placeholder = this.items.length ? TEXT.captionPlaceholder : TEXT.placeholder;
    this.input.focus();
  }

  startUpload(file) {
    const item = { key: ++this.seq, file, kind: fileKind(file), as: '', state: 'uploading', progress: 0, media: null, error: '', controller: new AbortController() };
    item.promise = this.live
      .upload(file, { signal: item.controller.signal, onProgress: (fraction) => this.progress(item, fraction) })
      .then((media) => {
        item.media = media;
        item.state = 'ready';
        item.progress = 1;
        if (!this.items.includes(item)) this.live.discardUpload(media.mediaId); // removed meanwhile
      })
      .catch((error) => {
        item.state = error.code === 'aborted' ? 'cancelled' : 'failed';
        item.error = error.code === 'aborted' ? '' : uploadError(error, (e) => this.live.explain(e, 'media'));
      })
      .finally(() => this.renderItem(item));
    return item;
  }

  progress(item, fraction) {
    item.progress = Math.max(item.progress, Math.min(1, fraction));
    this.renderItem(item);
  }

  /** Take a file out of the tray: its upload is cancelled, or its uploaded copy deleted. */
  dropItem(item) {
    if (item.state === 'uploading') item.controller.abort();
    else if (item.state === 'ready' && item.media) this.live.discardUpload(item.media.mediaId);
  }

  removeItem(item) {
    this.dropItem(item);
    this.items = this.items.filter((i) => i !== item);
    this.renderTray();
    if (!this.items.length) {
      this.input.placeholder = TEXT.placeholder;
      this.say('');
    }
    this.input.focus();
  }

  renderTray() {
    replaceChildren(this.tray, this.items.map((item) => this.itemNode(item)));
    this.tray.hidden = this.items.length === 0;
  }

  itemNode(item) {
    if (!item.node) {
      const name = item.file.name || TEXT.asDocument;
      item.bar = h('progress', { class: 'upload-progress', max: '100', value: '0' });
      item.status = h('span', { class: 'upload-status' });
      item.removeButton = h('button', { type: 'button', class: 'attachment-remove', onclick: () => this.removeItem(item) }, icon('close'));
      const choices = this.sendChoices(item);
      item.node = h(
        'li',
        { class: 'attachment', 'data-kind': item.kind },
        h('span', { class: 'attachment-name', text: name }),
        h('span', { class: 'attachment-size', text: formatBytes(item.file.size) }),
        item.bar,
        item.status,
        choices,
        item.removeButton,
      );
    }
    this.renderItem(item);
    return item.node;
  }

  /** "Send as" for pictures, videos and audio (a voice note, a document); none for documents. */
  sendChoices(item) {
    const options = item.kind === 'audio'
      ? [['', TEXT.asMedia.audio], ['voice', TEXT.asVoice], ['document', TEXT.asDocument]]
      : item.kind === 'document' ? [] : [['', TEXT.asMedia[item.kind]], ['document', TEXT.asDocument]];
    if (!options.length) return null;
    const id = `send-as-${item.key}`;
    const select = h('select', { id, class: 'send-as' }, options.map(([value, label]) => h('option', { value, text: label })));
    select.addEventListener('change', () => {
      item.as = select.value;
    });
    return h('span', { class: 'send-as-field' }, h('label', { for: id, text: TEXT.sendAs }), select);
  }

  renderItem(item) {
    if (!item.node) return;
    const percent = Math.round(item.progress * 100);
    const name = item.file.name || TEXT.asDocument;
    item.node.dataset.state = item.state;
    item.bar.value = percent;
    item.bar.dataset.progress = String(percent);
    item.bar.hidden = item.state !== 'uploading' && item.state !== 'ready';
    item.status.textContent = item.state === 'uploading' ? TEXT.uploading(percent) : item.state === 'ready' ? TEXT.uploaded : item.error;
    item.status.classList.toggle('error-text', item.state === 'failed');
    const label = item.state === 'uploading' ? TEXT.cancelUpload(name) : TEXT.remove(name);
    item.removeButton.setAttribute('aria-label', label);
    item.removeButton.title = label;
  }

  // -- sending ---------------------------------------------------------------------------------------
  async submit() {
    if (this.waiting || this.sendButton.disabled) return;
    this.say('');
    if (this.context?.mode === 'edit') {
      await this.saveEdit();
      return;
    }
    const text = this.input.value;
    if (this.items.length) {
      await this.sendFiles(text);
      return;
    }
    if (!text.trim()) return;
    const reply = this.takeReply();
    this.input.value = '';
    this.grow();
    this.live.send(this.chatId, text, reply ? { replyTo: reply.id, quoted: snippetOf(reply) } : {});
    this.onSent();
    this.input.focus();
  }

  takeReply() {
    const reply = this.context?.mode === 'reply' ? this.context.msg : null;
    if (reply) this.clearContext();
    return reply;
  }

  /** Once every upload is done, each file goes (the text as the first one's caption). */
  async sendFiles(text) {
    if (text.length > MAX_CAPTION) {
      this.say(TEXT.captionTooLong);
      return;
    }
    const items = [...this.items];
    if (items.some((item) => item.state === 'uploading')) {
      this.waiting = true;
      this.hint.textContent = TEXT.waiting;
      await Promise.allSettled(items.map((item) => item.promise));
      this.waiting = false;
      this.setReady(this.ready);
    }
    const still = items.filter((item) => this.items.includes(item));
    if (!still.length) return;
    if (still.some((item) => item.state !== 'ready')) {
      this.say(TEXT.notUploaded);
      return;
    }
    if (!this.ready) return;
    const reply = this.takeReply();
    this.items = this.items.filter((item) => !still.includes(item));
    this.renderTray();
    this.input.value = '';
    this.input.placeholder = TEXT.placeholder;
    this.grow();
    still.forEach((item, index) => {
      const caption = index === 0 && text.trim() ? text : null;
      const request = { mediaId: item.media.mediaId };
      if (caption) request.caption = caption;
      if (item.as) request.as = item.as;
      if (index === 0 && reply) request.replyTo = reply.id;
      const how = item.as || item.kind;
      this.live.sendMessage(this.chatId, request, {
        type: SENT_TYPES[how] || 'document',
        caption,
        media: { mimetype: item.media.mimetype, filename: item.media.filename || item.file.name, size: item.media.size, status: 'ready' },
        quotedId: request.replyTo || null,
        quoted: request.replyTo ? snippetOf(reply) : null,
      });
    });
    this.onSent();
    this.input.focus();
  }

  async saveEdit() {
    const msg = this.context.msg;
    const text = this.input.value;
    if (!text.trim()) {
      this.say(TEXT.emptyEdit);
      return;
    }
    if (text === textOf(msg)) {
      this.clearContext(true);
      return;
    }
    this.waiting = true;
    try {
      await this.live.edit(msg, text);
      this.clearContext(true);
    } catch (error) {
      this.say(TEXT.editFailed(this.live.explain(error)));
    } finally {
      this.waiting = false;
    }
  }
}

/** What a reply shows of the message it quotes (the API's ``quoted`` shape). */
export function snippetOf(msg) {
  const kind = kindOf(msg);
  return { id: msg.id, body: textOf(msg) || (kind === 'document' ? msg.media?.filename || '' : msg.location?.name || ''), type: msg.type, fromMe: !!msg.fromMe, from: msg.from || '' };
}
