// The search above the chat list: what is typed filters the chats by name or number, and the
// messages holding its words are listed under them, each with its chat, a snippet with the
// words marked, and its time; a click opens the chat at that message. Both come from the
// database, so the search works while WhatsApp is stopped. Typing waits a moment before it
// asks, and only the answer to the latest text is shown. Escape clears.

import { chatTitle, h, replaceChildren, shortWhen } from '../dom.js';
import { textOf } from '../messages.js';
import { T } from '../i18n.js';

// Every sentence this module may show a person: its part of the catalogue (i18n/en.js, ru.js).
const TEXT = T.search;

const DEBOUNCE_MS = 250;
const HITS_PAGE = 20;
const SNIPPET_BEFORE = 40; // characters of context before the first match
const SNIPPET_LENGTH = 160;
const WORD = /[\p{L}\p{N}]+/gu;

/** The words of a query, as the server's message search reads them. */
export function queryWords(q) {
  return String(q || '').match(WORD) || [];
}

/**
 * A piece of ``text`` around the first place ``q``'s words occur (each as a word or its
 * start, in any letter case), as text nodes with <mark> elements around the matches.
 * Message text goes in as text, never as HTML.
 */
export function snippetNodes(text, q) {
  const body = String(text || '');
  const words = [...new Set(queryWords(q))].sort((a, b) => b.length - a.length);
  if (!words.length) return [document.createTextNode(clip(body, 0))];
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${escaped.join('|')})`, 'giu');
  const first = body.search(pattern);
  let start = first > SNIPPET_BEFORE ? first - SNIPPET_BEFORE : 0;
  if (start > 0) {
    const space = body.indexOf(' ', start);
    start = space >= 0 && space < first ? space + 1 : start;
  }
  const end = Math.min(body.length, start + SNIPPET_LENGTH);
  const piece = body.slice(start, end);
  const nodes = [];
  if (start > 0) nodes.push(document.createTextNode('…'));
  let at = 0;
  for (const match of piece.matchAll(pattern)) {
    if (match.index > at) nodes.push(document.createTextNode(piece.slice(at, match.index)));
    nodes.push(h('mark', { text: match[0] }));
    at = match.index + match[0].length;
  }
  if (at < piece.length) nodes.push(document.createTextNode(piece.slice(at)));
  if (end < body.length) nodes.push(document.createTextNode('…'));
  return nodes;
}

function clip(text, start) {
  const piece = text.slice(start, start + SNIPPET_LENGTH);
  return piece.length < text.length - start ? `${piece}…` : piece;
}

export class ChatSearch {
  /**
   * ``onFilter(ids)``: the ids of the chats found (a Set), or null for every chat;
   * ``onOpenMessage(chatId, messageId)``: a hit was picked.
   */
  constructor(live, { onFilter, onOpenMessage }) {
    this.live = live;
    this.onFilter = onFilter;
    this.onOpenMessage = onOpenMessage;
    this.q = '';
    this.seq = 0; // each query's number: an answer to an older one is dropped
    this.timer = null;
    this.hits = [];
    this.total = 0;
    this.build();
  }

  build() {
    this.input = h('input', {
      id: 'chat-search',
      name: 'q',
      type: 'search',
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: TEXT.placeholder,
      'aria-controls': 'search-hits',
    });
    this.input.addEventListener('input', () => this.typed());
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.input.value) {
        event.preventDefault();
        this.clear();
      }
    });
    this.element = h(
      'form',
      { class: 'chat-search', role: 'search', novalidate: true },
      h('label', { for: 'chat-search', class: 'visually-hidden', text: TEXT.label }),
      this.input,
    );
    this.element.addEventListener('submit', (event) => {
      event.preventDefault();
      this.run(this.input.value.trim());
    });
    this.status = h('p', { class: 'muted search-status', role: 'status' });
    this.list = h('ul', { class: 'hit-list', 'aria-label': TEXT.messages });
    this.more = h('button', { type: 'button', class: 'button small more-hits', text: TEXT.more, hidden: true, onclick: () => this.loadMore() });
    this.hitsElement = h(
      'section',
      { id: 'search-hits', class: 'search-hits', 'aria-labelledby': 'search-hits-title', hidden: true },
      h('h3', { id: 'search-hits-title', text: TEXT.messages }),
      this.status,
      this.list,
      this.more,
    );
  }

  destroy() {
    clearTimeout(this.timer);
    this.seq += 1;
  }

  get active() {
    return !!this.q;
  }

  focus() {
    this.input.focus();
  }

  typed() {
    clearTimeout(this.timer);
    const q = this.input.value.trim();
    if (!q) {
      this.reset();
      return;
    }
    this.timer = setTimeout(() => this.run(q), DEBOUNCE_MS);
  }

  /** Escape: the text goes, every chat shows again. */
  clear() {
    clearTimeout(this.timer);
    this.input.value = '';
    this.reset();
  }

  reset() {
    this.seq += 1;
    this.q = '';
    this.hits = [];
    this.total = 0;
    this.hitsElement.hidden = true;
    delete this.hitsElement.dataset.query;
    replaceChildren(this.list);
    this.status.textContent = '';
    this.onFilter(null);
  }

  async run(q) {
    if (!q) {
      this.reset();
      return;
    }
    const seq = ++this.seq;
    this.q = q;
    this.hitsElement.hidden = false;
    this.status.textContent = TEXT.searching;
    const chats = this.live.findChats(q).then(
      (data) => seq === this.seq && this.onFilter(new Set(data.items.map((chat) => chat.id))),
      (error) => seq === this.seq && this.failed(error),
    );
    // The message search needs a letter or a digit ("+7" finds chats only).
    const messages = queryWords(q).length
      ? this.live.findMessages(q, { limit: HITS_PAGE }).then(
        (data) => seq === this.seq && this.showHits(data, { append: false }),
        (error) => seq === this.seq && this.failed(error),
      )
      : Promise.resolve(this.showHits({ items: [], total: 0 }, { append: false }));
    await Promise.all([chats, messages]);
  }

  async loadMore() {
    if (this.more.getAttribute('aria-disabled') === 'true') return;
    const seq = this.seq;
    this.more.setAttribute('aria-disabled', 'true');
    this.more.textContent = TEXT.loadingMore;
    try {
      const data = await this.live.findMessages(this.q, { offset: this.hits.length, limit: HITS_PAGE });
      if (seq === this.seq) this.showHits(data, { append: true });
    } catch (error) {
      if (seq === this.seq) this.failed(error);
    } finally {
      this.more.removeAttribute('aria-disabled');
      this.more.textContent = TEXT.more;
    }
  }

  failed(error) {
    this.status.textContent = TEXT.failed(this.live.explain(error));
  }

  showHits(data, { append }) {
    const known = new Set(this.hits.map((m) => m.id));
    const fresh = data.items.filter((m) => !known.has(m.id));
    this.hits = append ? [...this.hits, ...fresh] : data.items;
    this.total = data.total;
    const nodes = (append ? fresh : this.hits).map((msg) => this.hitNode(msg));
    if (append) this.list.append(...nodes);
    else replaceChildren(this.list, nodes);
    this.status.textContent = this.hits.length ? TEXT.found(this.total) : TEXT.noMessages;
    this.hitsElement.dataset.query = this.q; // what the hits shown answer
    this.more.hidden = this.hits.length >= this.total || !data.items.length;
  }

  hitNode(msg) {
    const chat = this.live.store.chats.get(msg.chatId);
    const button = h(
      'button',
      { type: 'button', class: 'search-hit', 'data-chat-id': msg.chatId, 'data-message-id': msg.id },
      h(
        'span',
        { class: 'hit-top' },
        h('span', { class: 'hit-chat', text: chatTitle(chat, msg.chatId) }),
        h('time', { class: 'hit-time', datetime: msg.timestamp, text: shortWhen(msg.timestamp) }),
      ),
      h('span', { class: 'hit-text' }, msg.fromMe ? TEXT.you : null, snippetNodes(textOf(msg), this.q)),
    );
    button.addEventListener('click', () => this.onOpenMessage(msg.chatId, msg.id));
    return h('li', {}, button);
  }
}
