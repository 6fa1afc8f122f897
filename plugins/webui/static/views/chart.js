// A small line chart in plain SVG (no library): sessions by state over the last hour, from the
// samples the stats page takes while it is open. Colours come from the style sheet (.series-*).

import { T, formatNumber, formatTime } from '../i18n.js';

const SVG = 'http://www.w3.org/2000/svg';
const W = 600;
const H = 180;
const PAD = { left: 36, right: 8, top: 10, bottom: 22 };

function el(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

/**
 * ``samples``: [{at (ms), byState: {STATE: count}}], oldest first; ``states``: the series drawn;
 * ``windowMs``: how far back the x axis reaches from ``now``.
 */
export function sessionsChart(samples, states, { now = Date.now(), windowMs = 3600000, titleId = 'chart-title' } = {}) {
  const C = T.stats.chart;
  const start = now - windowMs;
  const shown = samples.filter((s) => s.at >= start);
  const top = Math.max(1, ...shown.flatMap((s) => states.map((state) => s.byState[state] || 0)));
  const x = (at) => PAD.left + ((at - start) / windowMs) * (W - PAD.left - PAD.right);
  const y = (n) => PAD.top + (1 - n / top) * (H - PAD.top - PAD.bottom);
  const last = shown[shown.length - 1];
  const summary = last
    ? C.summary(states.map((state) => `${T.session.states[state] || state}: ${formatNumber(last.byState[state] || 0)}`).join(', '), formatNumber(shown.length))
    : C.noSamples;

  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, class: 'sessions-chart', role: 'img', 'aria-labelledby': `${titleId} ${titleId}-desc`, focusable: 'false' });
  svg.append(el('title', { id: titleId }, C.title), el('desc', { id: `${titleId}-desc` }, summary));
  svg.dataset.samples = String(shown.length);
  const axes = el('g', { class: 'chart-axes', 'aria-hidden': 'true' });
  axes.append(
    el('line', { x1: PAD.left, y1: y(0), x2: W - PAD.right, y2: y(0) }),
    el('line', { x1: PAD.left, y1: y(top), x2: W - PAD.right, y2: y(top), class: 'grid' }),
    el('text', { x: PAD.left - 6, y: y(0) + 4, 'text-anchor': 'end' }, formatNumber(0)),
    el('text', { x: PAD.left - 6, y: y(top) + 4, 'text-anchor': 'end' }, formatNumber(top)),
    el('text', { x: PAD.left, y: H - 4, 'text-anchor': 'start' }, formatTime(start)),
    el('text', { x: W - PAD.right, y: H - 4, 'text-anchor': 'end' }, formatTime(now)),
  );
  svg.append(axes);
  for (const state of states) {
    const points = shown.map((s) => `${x(s.at).toFixed(1)},${y(s.byState[state] || 0).toFixed(1)}`);
    if (!points.length) continue;
    const series = el('g', { class: `series series-${state}`, 'data-state': state });
    if (points.length > 1) series.append(el('polyline', { points: points.join(' '), fill: 'none' }));
    const [cx, cy] = points[points.length - 1].split(',');
    series.append(el('circle', { cx, cy, r: 3 }));
    svg.append(series);
  }
  return svg;
}
