// The usage chart's x-axis: a label every N days (N from a short list of steps), as many
// as fit at the chart's current width without touching. Days are UTC days, so labels
// are formatted in UTC whatever the browser's zone. Pixel positions depend on the width,
// so the chart redraws the axis when its width changes.
import { svg } from './dom.js';

/** Label every 1, 2, 3… days: the smallest step whose labels do not collide wins. */
const STEPS = [1, 2, 3, 5, 7, 14, 28, 56, 91, 182, 366];
/** Space kept between two labels, in px. */
const GAP_PX = 12;
const TICK_PX = 4;

const shortDay = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
const longDay = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });
let measurer = null;

/** A day's label; with the year when the range crosses a new year. */
function labelOf(day, withYear) {
  const time = Date.parse(`${day}T00:00:00Z`);
  return (withYear ? longDay : shortDay).format(time);
}

/** The width of `text` in px, in the font the axis labels use. */
function textWidth(text, font) {
  measurer ??= document.createElement('canvas').getContext('2d');
  measurer.font = font;
  return measurer.measureText(text).width;
}

/** The day indices to label: every `step` days counted back from the last day. */
function labelled(count, step) {
  const indices = [];
  for (let index = count - 1; index >= 0; index -= step) indices.push(index);
  return indices;
}

/**
 * Draws the axis for `days` (YYYY-MM-DD, oldest first) into `host` (an element as wide
 * as the bars). Each label carries `data-day`; a label that would leave the chart is
 * moved in, and one that would then touch its neighbour is left out.
 */
export function drawAxis(host, days) {
  const width = host.clientWidth;
  const axis = svg('svg', { class: 'x-axis', 'aria-hidden': 'true', width: '100%' });
  host.replaceChildren(axis);
  if (width === 0 || days.length === 0) return; // hidden: the resize observer redraws it
  const withYear = days[0].slice(0, 4) !== days.at(-1).slice(0, 4);
  const labels = days.map((day) => labelOf(day, withYear));
  const style = getComputedStyle(axis);
  const font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const widths = labels.map((label) => textWidth(label, font));
  const widest = Math.max(...widths);
  const slot = width / days.length;
  const step = STEPS.find((candidate) => candidate * slot >= widest + GAP_PX) ?? days.length;

  const marks = [];
  let leftmost = Infinity; // the left edge of the label placed last (placed right to left)
  for (const index of labelled(days.length, step)) {
    const half = widths[index] / 2;
    const centre = Math.min(Math.max((index + 0.5) * slot, half), width - half);
    if (centre + half > leftmost - GAP_PX) continue;
    leftmost = centre - half;
    const tick = (index + 0.5) * slot;
    marks.unshift(
      svg('line', { x1: tick, x2: tick, y1: 0, y2: TICK_PX }),
      svg('text', { x: centre, y: TICK_PX + 2, 'text-anchor': 'middle', 'dominant-baseline': 'hanging', 'data-day': days[index] }, labels[index]),
    );
  }
  axis.append(...marks); // in reading order, oldest day first
}

