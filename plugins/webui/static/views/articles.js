// Articles: the list (newest first) and one article to read; administrators add, edit and
// delete them. Text stays text: paragraphs are split on blank lines, never read as markup.

import { api, query } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { T, formatDate } from '../i18n.js';
import { confirmDialog } from './dialog.js';
import { Editor, imagePreview, isImageUrl } from './editor.js';

const A = T.articles;

function paragraphs(text) {
  return String(text || '').split(/\n\s*\n/).map((part) => part.trim()).filter(Boolean).map((part) => h('p', { text: part }));
}

function byline(article) {
  return h('p', { class: 'byline muted' }, A.byline(article.author || A.noAuthor, formatDate(article.created_at)));
}

export class ArticlesPage {
  constructor(live) {
    this.live = live;
    this.admin = live.isAdmin;
    this.status = h('p', { class: 'form-status', role: 'status' });
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.list = h('ul', { class: 'cards article-list', 'aria-labelledby': 'articles-title' });
    this.editorSlot = h('div', { class: 'editor-slot' });
    this.newButton = this.admin ? h('button', { type: 'button', id: 'new-article', class: 'button primary', text: A.newArticle, onclick: () => this.edit(null) }) : null;
    this.element = h(
      'main',
      { id: 'main', class: 'page articles-page', tabindex: '-1', 'aria-labelledby': 'articles-title' },
      h('div', { class: 'page-head' }, h('h1', { id: 'articles-title', text: A.title }), this.newButton),
      this.editorSlot,
      this.error,
      this.status,
      this.list,
    );
    this.load();
  }

  destroy() {}

  async load() {
    try {
      const data = await api.get(`/api/articles${query({ limit: 200 })}`);
      const items = data.items || data;
      replaceChildren(this.list, items.length ? items.map((article) => this.card(article)) : h('li', { class: 'muted empty', text: A.empty }));
    } catch (error) {
      this.error.textContent = this.live.explain(error);
    }
  }

  card(article) {
    const excerpt = String(article.content || '').trim().split(/\n/)[0].slice(0, 220);
    return h(
      'li',
      { class: 'card article-card', 'data-article-id': String(article.id) },
      isImageUrl(article.image) ? imagePreview(article.image, { className: 'card-image' }) : null,
      h('h2', { class: 'article-title' }, h('a', { href: `#/articles/${article.id}`, text: article.title })),
      byline(article),
      excerpt ? h('p', { class: 'excerpt', text: excerpt }) : null,
      this.admin
        ? h(
          'div',
          { class: 'card-admin' },
          h('button', { type: 'button', class: 'button small edit', text: A.edit, 'aria-label': A.editLabel(article.title), onclick: () => this.edit(article) }),
          h('button', { type: 'button', class: 'button small danger-outline delete', text: A.delete, 'aria-label': A.deleteLabel(article.title), onclick: () => this.remove(article) }),
        )
        : null,
    );
  }

  edit(article) {
    const editor = new Editor({
      id: 'article-editor',
      title: article ? A.editTitle(article.title) : A.newTitle,
      values: article || {},
      specs: [
        { name: 'title', label: A.fields.title, required: true },
        { name: 'author', label: A.fields.author, hint: A.fields.authorHint },
        { name: 'content', label: A.fields.content, multiline: true, rows: 8, hint: A.fields.contentHint },
        { name: 'image', label: A.fields.image, type: 'url', hint: A.fields.imageHint },
      ],
      save: (body) => {
        if (!article && !body.author) delete body.author; // the server names the admin
        return article ? api.put(`/api/articles/${article.id}`, body) : api.post('/api/articles', body);
      },
      explain: (error) => this.live.explain(error),
      onDone: (saved) => {
        replaceChildren(this.editorSlot);
        if (saved) {
          this.status.textContent = A.saved(saved.title);
          this.load().then(() => this.element.querySelector(`[data-article-id="${saved.id}"] a`)?.focus());
        } else {
          this.newButton?.focus();
        }
      },
    });
    replaceChildren(this.editorSlot, editor.element);
    editor.focus();
  }

  async remove(article) {
    const sure = await confirmDialog({ title: A.deleteTitle(article.title), message: A.deleteMessage, confirm: A.deleteConfirm, danger: true });
    if (!sure) return;
    try {
      await api.del(`/api/articles/${article.id}`);
      this.status.textContent = A.deleted(article.title);
      await this.load();
      (this.newButton || this.element).focus();
    } catch (error) {
      this.error.textContent = this.live.explain(error);
    }
  }
}

/** One article, to read. */
export class ArticlePage {
  constructor(live, id) {
    this.live = live;
    this.body = h('article', { class: 'article-body', 'aria-labelledby': 'article-title' }, h('h1', { id: 'article-title', text: A.loading }));
    this.element = h(
      'main',
      { id: 'main', class: 'page article-page', tabindex: '-1', 'aria-labelledby': 'article-title' },
      h('p', {}, h('a', { class: 'back-link', href: '#/articles', text: A.back })),
      this.body,
    );
    this.load(id);
  }

  destroy() {}

  async load(id) {
    try {
      const article = await api.get(`/api/articles/${encodeURIComponent(id)}`);
      replaceChildren(
        this.body,
        h('h1', { id: 'article-title', text: article.title }),
        byline(article),
        isImageUrl(article.image) ? imagePreview(article.image, { className: 'article-image' }) : null,
        h('div', { class: 'article-text' }, paragraphs(article.content)),
      );
      document.title = T.titles.page(article.title);
    } catch (error) {
      replaceChildren(this.body, h('h1', { id: 'article-title', text: A.notFound }), h('p', { class: 'form-error', role: 'alert', text: this.live.explain(error) }));
    }
  }
}
