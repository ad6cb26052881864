// A stacked bar chart of requests per day, drawn as inline SVG: no library, and no
// inline style (classes colour the bars). The bars' SVG stretches to the card's width;
// the x-axis is a second SVG drawn in pixels (axis.js), so its labels keep their size
// at 375 px and on a wide screen, and it is redrawn when the card's width changes.
import { drawAxis } from './axis.js';
import { formatNumber, h, svg } from './dom.js';

/** Bar segments, bottom to top. "other" is every request that was not a capture (management calls, invalid requests). */
export const SERIES = [
  { name: 'succeeded', label: 'Captures succeeded' },
  { name: 'failed', label: 'Captures failed' },
  { name: 'rejected', label: 'Rejected' },
  { name: 'other', label: 'Other requests' },
];

/** The axis of the chart on screen, redrawn when its width changes (a phone turned, a window resized). */
const axisDays = new WeakMap();
const axisWidths = new WeakMap();
const resizes = new ResizeObserver((entries) => {
  for (const { target, contentRect } of entries) {
    // Only a new width moves labels; redrawing also changes nothing the observer watches.
    if (axisWidths.get(target) === contentRect.width) continue;
    axisWidths.set(target, contentRect.width);
    drawAxis(target, axisDays.get(target) ?? []);
  }
});

const HEIGHT = 100;
const SLOT = 10;
const BAR = 7;

/** One day's counts split into the chart's segments. */
export function segmentsOf(day) {
  const other = Math.max(0, day.requests - day.succeeded - day.failed - day.rejected);
  return { succeeded: day.succeeded, failed: day.failed, rejected: day.rejected, other };
}

function dayBar(day, index, max) {
  const segments = segmentsOf(day);
  const group = svg('g', { 'data-day': day.day, 'data-requests': day.requests });
  const summary = `${day.day}: ${day.requests} requests, ${day.succeeded} succeeded, ${day.failed} failed, ${day.rejected} rejected`;
  group.append(svg('title', {}, summary));
  let top = HEIGHT;
  for (const { name } of SERIES) {
    const count = segments[name];
    if (count === 0) continue;
    // A lone request on a busy chart still gets a visible sliver.
    const height = Math.max(0.8, (count / max) * HEIGHT);
    top -= height;
    group.append(svg('rect', { class: `bar-${name}`, x: index * SLOT + (SLOT - BAR) / 2, y: top, width: BAR, height }));
  }
  return group;
}

/**
 * Draws `days` (one entry per day, oldest first, zero-filled) into `container`, and
 * the legend with each series' total into `legend`.
 */
export function drawChart(container, legend, days) {
  const max = Math.max(1, ...days.map((day) => day.requests));
  const busiest = days.reduce((best, day) => (day.requests > best.requests ? day : best), days[0]);
  const total = days.reduce((sum, day) => sum + day.requests, 0);
  const chart = svg('svg', {
    viewBox: `0 0 ${days.length * SLOT} ${HEIGHT}`,
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': `Requests per day: ${total} in ${days.length} days` + (busiest.requests ? `, most on ${busiest.day} (${busiest.requests}).` : '.'),
  });
  for (const fraction of [0.25, 0.5, 0.75, 1]) {
    const y = HEIGHT - fraction * HEIGHT;
    chart.append(svg('line', { class: 'grid', x1: 0, x2: days.length * SLOT, y1: y, y2: y, 'vector-effect': 'non-scaling-stroke' }));
  }
  days.forEach((day, index) => chart.append(dayBar(day, index, max)));

  const scale = h('div', { className: 'axis', attrs: { 'aria-hidden': 'true' } }, h('span', {}, `max ${formatNumber(max)} a day`), h('span', {}, 'days in UTC'));
  const axis = h('div', { className: 'x-axis-host' });
  container.replaceChildren(scale, chart, axis);
  const dayNames = days.map((day) => day.day);
  resizes.disconnect();
  drawAxis(axis, dayNames);
  axisDays.set(axis, dayNames);
  resizes.observe(axis);

  const totals = days.map(segmentsOf).reduce((sum, day) => {
    for (const { name } of SERIES) sum[name] = (sum[name] ?? 0) + day[name];
    return sum;
  }, {});
  legend.replaceChildren(
    ...SERIES.map(({ name, label }) => h('li', {}, h('span', { className: `swatch bar-${name}` }), `${label}: ${formatNumber(totals[name])}`)),
  );
}
