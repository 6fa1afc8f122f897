// One conversation: bubbles that update live (ticks, reactions, edits, deletes), older messages
// on request, each bubble's actions menu (reply, react, edit, delete), files dropped onto it, and
// the composer. While it is open and the page is seen, the chat is marked read.

import { chatTitle, dayLabel, h, icon, phoneOf } from '../dom.js';
import { actionsFor, myReaction } from '../messages.js';
import { bubbleNode } from './bubble.js';
import { Composer } from './composer.js';
import { confirmDialog } from './dialog.js';
import { MediaFiles, mediaElement, openViewer } from './media.js';
import { closeMenu, openMenu } from './menu.js';
import { T } from '../i18n.js';

// Every sentence this module may show a person: its part of the catalogue (i18n/en.js, ru.js).
const TEXT = T.conversation;

// The picker's reactions: [emoji, its name for screen readers].
const REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'].map((emoji, i) => [emoji, TEXT.reactionNames[i]]);
const OLDER_PAGES_FOR_A_QUOTE = 5; // pages loaded at most to find the message a reply quotes
const OLDER_PAGES_FOR_A_FIND = 20; // ... and to find a message the search found

export class Conversation {
  /** ``focusMessage``: the id of a message to show (a search hit) once the chat has loaded. */
  constructor(live, chatId, { focusMessage = null } = {}) {
    this.live = live;
    this.store = live.store;
    this.chatId = chatId;
    this.nodes = new Map(); // message id or day key -> element
    this.mediaNodes = new Map(); // message id -> {key, node}: players keep playing across re-renders
    this.files = new MediaFiles(live);
    this.build();
    this.onMessages = (event) => {
      if (event.detail.chatId === this.chatId) {
        this.renderMessages();
        this.maybeRead();
      }
    };
    this.onChats = () => {
      this.renderHead();
      this.maybeRead();
    };
    this.onSession = () => {
      this.renderComposerState();
      this.maybeRead();
    };
    this.onVisibility = () => this.maybeRead();
    this.store.addEventListener('messages', this.onMessages);
    this.store.addEventListener('chats', this.onChats);
    this.live.session.addEventListener('change', this.onSession);
    document.addEventListener('visibilitychange', this.onVisibility);
    this.renderHead();
    this.renderMessages();
    this.renderComposerState();
    this.ready = this.store.loadedChats.has(chatId) ? Promise.resolve() : this.load();
    if (focusMessage) this.showFound(focusMessage);
    this.maybeRead();
  }

  destroy() {
    this.store.removeEventListener('messages', this.onMessages);
    this.store.removeEventListener('chats', this.onChats);
    this.live.session.removeEventListener('change', this.onSession);
    document.removeEventListener('visibilitychange', this.onVisibility);
    closeMenu({ restoreFocus: false });
    this.composer.destroy();
    this.files.release();
  }

  build() {
    this.title = h('h2', { id: 'conversation-title', class: 'conv-title', tabindex: '-1' });
    this.subtitle = h('p', { class: 'conv-sub' });
    this.status = h('p', { class: 'conv-status muted', role: 'status' });
    this.older = h('button', { type: 'button', class: 'button small load-older', text: TEXT.older, hidden: true, onclick: () => this.load(true) });
    this.list = h('ol', { class: 'messages-list' });
    this.scroller = h(
      'div',
      { class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-labelledby': 'conversation-title', tabindex: '0' },
      this.older,
      this.status,
      this.list,
    );
    this.composer = new Composer(this.live, this.chatId, { senderName: (jid) => this.senderName(jid), onSent: () => this.scrollToEnd() });
    this.dropZone = h('div', { class: 'drop-zone', 'aria-hidden': 'true' }, h('p', { text: TEXT.drop }));
    this.element = h(
      'section',
      { class: 'conversation', 'aria-labelledby': 'conversation-title', 'data-chat-id': this.chatId },
      h(
        'header',
        { class: 'conv-head' },
        h('a', { class: 'back', href: '#/chats', 'aria-label': TEXT.back }, icon('back')),
        h('div', { class: 'conv-names' }, this.title, this.subtitle),
      ),
      this.scroller,
      this.composer.element,
      this.dropZone,
    );
    this.acceptDrops();
  }

  /** Files dragged onto the conversation go to the composer. */
  acceptDrops() {
    const hasFiles = (event) => [...(event.dataTransfer?.types || [])].includes('Files');
    let depth = 0;
    this.element.addEventListener('dragenter', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth += 1;
      this.element.dataset.dropping = 'true';
    });
    this.element.addEventListener('dragover', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
    });
    this.element.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (!depth) delete this.element.dataset.dropping;
    });
    this.element.addEventListener('drop', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth = 0;
      delete this.element.dataset.dropping;
      this.composer.addFiles([...event.dataTransfer.files]);
    });
  }

  focus() {
    this.composer.focus();
  }

  renderHead() {
    const chat = this.store.chats.get(this.chatId);
    this.title.textContent = chatTitle(chat, this.chatId);
    const phone = phoneOf(this.chatId);
    this.subtitle.textContent = phone !== this.title.textContent ? phone : '';
  }

  renderComposerState() {
    this.composer.setReady(this.live.session.state === 'CONNECTED');
    this.composer.setLimits(this.live.session.status && this.live.session.status.limits);
  }

  /** The chat is marked read while open, connected and on screen, whenever it has unread messages. */
  maybeRead() {
    if (this.live.session.state !== 'CONNECTED' || document.visibilityState === 'hidden') return;
    const chat = this.store.chats.get(this.chatId);
    if (chat && chat.unreadCount > 0) this.live.markRead(this.chatId);
  }

  /** The name of a sender: the chat's for its own id, else the phone number. */
  senderName(jid) {
    if (!jid || jid === this.chatId) return chatTitle(this.store.chats.get(this.chatId), this.chatId);
    return phoneOf(jid);
  }

  async load(older = false) {
    this.status.textContent = older ? TEXT.loadingOlder : TEXT.loading;
    const hadFocus = document.activeElement === this.older;
    try {
      await this.live.loadMessages(this.chatId, { older });
      this.status.textContent = '';
      this.renderMessages();
      if (hadFocus && this.older.hidden) this.scroller.focus();
    } catch (error) {
      this.status.textContent = TEXT.loadFailed(this.live.explain(error));
    }
    if (!older) this.scrollToEnd();
  }

  nearEnd() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  scrollToEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  renderMessages() {
    const stick = this.nearEnd();
    const previousHeight = this.scroller.scrollHeight;
    const wasTop = this.scroller.scrollTop;
    const messages = this.store.messagesOf(this.chatId);
    this.older.hidden = !this.store.hasOlder.get(this.chatId);
    if (!messages.length && this.store.loadedChats.has(this.chatId)) {
      this.status.textContent = TEXT.empty;
    } else if (messages.length && this.status.textContent === TEXT.empty) {
      this.status.textContent = '';
    }
    const wanted = [];
    let day = null;
    for (const msg of messages) {
      const label = dayLabel(msg.timestamp);
      if (label !== day) {
        day = label;
        wanted.push(this.dayNode(label));
      }
      wanted.push(this.messageNode(msg));
    }
    const keep = new Set(wanted);
    for (const [key, node] of this.nodes) {
      if (!keep.has(node)) {
        node.remove();
        this.nodes.delete(key);
        this.mediaNodes.delete(key);
      }
    }
    let cursor = this.list.firstChild;
    for (const node of wanted) {
      if (node === cursor) cursor = cursor.nextSibling;
      else this.list.insertBefore(node, cursor);
    }
    if (stick) this.scrollToEnd();
    else if (wasTop < 40 && this.scroller.scrollHeight > previousHeight) this.scroller.scrollTop = wasTop + this.scroller.scrollHeight - previousHeight;
  }

  dayNode(label) {
    const key = `day:${label}`;
    let node = this.nodes.get(key);
    if (!node) {
      node = h('li', { class: 'day' }, h('span', { text: label }));
      this.nodes.set(key, node);
    }
    return node;
  }

  messageNode(msg) {
    const signature = JSON.stringify([
      msg.ack, msg.body, msg.caption, msg.type, msg.edited, msg.revoked, msg.error || '', msg.timestamp, !!msg.local, msg.sendState || '',
      msg.media && msg.media.status, (msg.reactions || []).map((r) => [r.from, r.emoji, r.fromMe]),
      msg.quoted && [msg.quoted.body, msg.quoted.type], msg.location && [msg.location.latitude, msg.location.longitude, msg.location.name],
    ]);
    let node = this.nodes.get(msg.id);
    if (node && node.dataset.signature === signature) return node;
    const fresh = this.bubble(msg);
    fresh.dataset.signature = signature;
    if (node) {
      const focused = node.contains(document.activeElement) ? document.activeElement : null;
      node.replaceWith(fresh);
      if (focused) (fresh.querySelector(focusKey(focused)) || fresh).focus({ preventScroll: true });
    }
    this.nodes.set(msg.id, fresh);
    return fresh;
  }

  bubble(msg) {
    return bubbleNode(msg, {
      chatName: chatTitle(this.store.chats.get(this.chatId), this.chatId),
      senderName: (jid) => this.senderName(jid),
      media: (m, kind) => this.mediaNode(m, kind),
      onMenu: (m, button) => this.openActions(m, button),
      onQuote: (m) => this.showMessage(m.quotedId || m.quoted?.id),
      onReact: (m, emoji) => this.react(m, emoji),
      onReply: (m) => this.composer.replyTo(m),
      onRetry: (m) => this.retry(m),
      onDiscard: (m) => this.store.removeLocal(this.chatId, m.id),
    });
  }

  /** The media element of a message, the same one while the media does not change. */
  mediaNode(msg, kind) {
    const key = JSON.stringify([kind, msg.media && msg.media.status, !!msg.local, msg.location]);
    const kept = this.mediaNodes.get(msg.id);
    if (kept && kept.key === key) return kept.node;
    const node = mediaElement(msg, kind, { files: this.files, onOpen: (m, k, opener) => openViewer({ msg: m, kind: k, files: this.files, opener, caption: m.caption }) });
    this.mediaNodes.set(msg.id, { key, node });
    return node;
  }

  // -- actions ----------------------------------------------------------------------------------------
  openActions(msg, button) {
    const can = actionsFor(msg);
    const items = [];
    if (can.reply) items.push({ name: 'reply', label: TEXT.reply, onSelect: () => this.composer.replyTo(msg) });
    if (can.react) items.push({ name: 'react', label: TEXT.react, onSelect: () => this.openPicker(msg, button) });
    if (can.edit) items.push({ name: 'edit', label: TEXT.edit, onSelect: () => this.composer.edit(msg) });
    if (can.deleteForEveryone) items.push({ name: 'delete-everyone', label: TEXT.deleteForEveryone, danger: true, onSelect: () => this.remove(msg, 'everyone') });
    if (can.deleteForMe) items.push({ name: 'delete-me', label: TEXT.deleteForMe, danger: true, onSelect: () => this.remove(msg, 'me') });
    openMenu(button, items, { label: TEXT.actions, className: 'message-menu', onClose: (how) => this.afterMenu(msg, button, how) });
  }

  openPicker(msg, button) {
    const mine = myReaction(this.store.messages.get(this.chatId)?.get(msg.id) || msg);
    const items = REACTIONS.map(([emoji, name]) => ({
      name: `react-${name.replace(/\s+/g, '-')}`,
      label: mine === emoji ? TEXT.takeBack(name) : TEXT.reactWith(name),
      text: emoji,
      pressed: mine === emoji,
      onSelect: () => this.react(msg, mine === emoji ? '' : emoji),
    }));
    openMenu(this.liveButton(msg, button), items, { label: TEXT.picker, className: 'emoji-picker', horizontal: true, onClose: (how) => this.afterMenu(msg, button, how) });
  }

  /** The bubble's menu button now (the bubble may have been drawn again while a menu was open). */
  liveButton(msg, button) {
    return button.isConnected ? button : this.nodes.get(msg.id)?.querySelector('.msg-menu-button') || button;
  }

  afterMenu(msg, button, { restoreFocus }) {
    if (restoreFocus && !button.isConnected) this.nodes.get(msg.id)?.querySelector('.msg-menu-button')?.focus();
  }

  async react(msg, emoji) {
    this.composer.say('');
    try {
      await this.live.react(msg, emoji);
    } catch (error) {
      this.composer.say(TEXT.failed.react(this.live.explain(error)));
    }
  }

  async remove(msg, forWhom) {
    const words = forWhom === 'everyone' ? TEXT.confirmEveryone : TEXT.confirmMe;
    if (!(await confirmDialog({ ...words, danger: true }))) return;
    this.composer.say('');
    try {
      await this.live.deleteMessage(msg, forWhom);
    } catch (error) {
      this.composer.say(TEXT.failed.delete(this.live.explain(error)));
    }
  }

  /** Show a message the search found, once the chat's newest messages are in. */
  async showFound(id) {
    await this.ready;
    await this.showMessage(id, { pages: OLDER_PAGES_FOR_A_FIND, missing: TEXT.foundMissing });
  }

  /**
   * Scroll to a message (a reply's original, a search hit) and highlight it, loading up to
   * ``pages`` older pages to find it if need be; ``missing`` says so when it is not found.
   */
  async showMessage(id, { pages = OLDER_PAGES_FOR_A_QUOTE, missing = TEXT.quoteMissing } = {}) {
    if (!id) return;
    for (let page = 0; !this.nodes.has(id) && this.store.hasOlder.get(this.chatId) && page < pages; page += 1) {
      await this.load(true);
    }
    const node = this.nodes.get(id);
    if (!node) {
      this.composer.say(missing);
      return;
    }
    node.scrollIntoView({ block: 'center' });
    node.classList.remove('flash');
    void node.offsetWidth; // restart the highlight
    node.classList.add('flash');
    node.focus({ preventScroll: true });
    setTimeout(() => node.classList.remove('flash'), 2000);
  }

  retry(msg) {
    this.store.removeLocal(this.chatId, msg.id);
    if (msg.request) {
      const { body, type, caption, media, location, quoted, quotedId } = msg;
      this.live.sendMessage(this.chatId, msg.request, { body, type, caption, media, location, quoted, quotedId });
    } else {
      this.live.send(this.chatId, msg.body);
    }
    this.composer.focus();
  }
}

/** A selector for the same control in a bubble drawn again. */
function focusKey(element) {
  if (element.classList.contains('reaction')) return `.reaction[data-emoji="${CSS.escape(element.dataset.emoji || '')}"]`;
  const cls = [...element.classList][0];
  return cls ? `.${CSS.escape(cls)}` : '.msg-menu-button';
}

export function placeholder() {
  return h(
    'section',
    { class: 'conversation placeholder', 'aria-label': TEXT.noConversation },
    h('div', {}, h('p', { class: 'big', text: TEXT.placeholderTitle }), h('p', { class: 'muted', text: TEXT.placeholderText })),
  );
}
