// The administrators' numbers: GET /api/admin/stats, and a chart of WhatsApp sessions by state
// over the last hour. The page samples the stats while it is open (every SAMPLE_MS, and on
// "Refresh"); the samples live as long as the page does (a reload starts afresh).

import { api } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { T, formatDateTime, formatNumber } from '../i18n.js';
import { sessionsChart } from './chart.js';

const S = T.stats;
const SAMPLE_MS = 15000;
const HOUR_MS = 3600000;
const STATES = ['STARTING', 'QR', 'CONNECTED', 'DISCONNECTED', 'FAILED'];
const samples = []; // [{at, byState}], oldest first; kept while the app is open

function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  return S.duration(days, hours, minutes);
}

function megabytes(bytes) {
  return S.megabytes(formatNumber(bytes / 1048576, { maximumFractionDigits: 1 }));
}

export class StatsPage {
  constructor(live) {
    this.live = live;
    this.numbers = h('dl', { class: 'stat-grid' });
    this.chart = h('div', { class: 'chart-slot' });
    this.legend = h('ul', { class: 'chart-legend' }, STATES.map((state) => h('li', { 'data-state': state }, h('span', { class: `swatch series-${state}`, 'aria-hidden': 'true' }), T.session.states[state] || state)));
    this.status = h('p', { class: 'muted', role: 'status' });
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.element = h(
      'main',
      { id: 'main', class: 'page stats-page', tabindex: '-1', 'aria-labelledby': 'stats-title' },
      h('div', { class: 'page-head' }, h('h1', { id: 'stats-title', text: S.title }), h('button', { type: 'button', class: 'button refresh', text: S.refresh, onclick: () => this.sample() })),
      this.error,
      this.numbers,
      h('section', { class: 'card chart-card', 'aria-labelledby': 'chart-heading' }, h('h2', { id: 'chart-heading', text: S.chartHeading }), h('p', { class: 'hint', text: S.chartHint }), this.chart, this.legend),
      this.status,
    );
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.sample();
  }

  destroy() {
    clearInterval(this.timer);
  }

  async sample() {
    try {
      const stats = await api.get('/api/admin/stats');
      const now = Date.now();
      samples.push({ at: now, byState: { ...(stats.whatsapp?.byState || {}) } });
      while (samples.length && samples[0].at < now - HOUR_MS) samples.shift();
      this.error.textContent = '';
      this.showNumbers(stats);
      replaceChildren(this.chart, sessionsChart(samples, STATES, { now, windowMs: HOUR_MS }));
      this.status.textContent = S.updated(formatDateTime(now, { timeStyle: 'medium' }));
    } catch (error) {
      this.error.textContent = this.live.explain(error);
    }
  }

  showNumbers(stats) {
    const rows = [
      ['users', S.users, stats.users && S.usersValue(formatNumber(stats.users.total), formatNumber(stats.users.admins), stats.users.admins)],
      ['products', S.products, stats.products !== undefined && formatNumber(stats.products)],
      ['articles', S.articles, stats.articles !== undefined && formatNumber(stats.articles)],
      ['sessions', S.sessions, stats.whatsapp && S.sessionsValue(formatNumber(stats.whatsapp.sessions), formatNumber(stats.whatsapp.maxSessions))],
      ['connections', S.connections, stats.websocket && formatNumber(stats.websocket.connections)],
      ['uptime', S.uptime, stats.process && duration(stats.process.uptimeSeconds)],
      ['memory', S.memory, stats.process && megabytes(stats.process.rssBytes)],
      ['database', S.database, stats.database && stats.database.backend],
    ];
    replaceChildren(
      this.numbers,
      rows.filter(([, , value]) => value !== undefined && value !== false && value !== null).map(([name, label, value]) =>
        h('div', { class: 'stat', 'data-stat': name }, h('dt', { text: label }), h('dd', { text: value }))),
    );
  }
}
