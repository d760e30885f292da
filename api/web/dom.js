// Small DOM helpers the page's modules share: elements, status lines, errors and times as people read them.
import { ApiError } from './reel-client.js';

export const $ = (id) => document.getElementById(id);

/** 83.25 → "1:23.3": moments are seconds into the video. */
export function clock(seconds) {
  const minutes = Math.floor(seconds / 60);
  const rest = (seconds - minutes * 60).toFixed(1).padStart(4, '0');
  return `${minutes}:${rest}`;
}

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

/** Sets a status line; `tone` 'error' shows it as a problem (red, with a mark), not as plain news. */
export function say(element, text, tone = '') {
  element.textContent = text;
  if (tone) element.dataset.tone = tone;
  else delete element.dataset.tone;
}

export function describe(error) {
  if (error instanceof ApiError)
    return error.code === 'NETWORK' ? error.message : `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

/** 1536000 → "1.5 MB" (decimal units, as file managers show sizes). */
export function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let value = n;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i++;
  }
  return `${i === 0 ? value : value.toFixed(1)} ${units[i]}`;
}

/** A button per moment ({start, end, score}) that plays `player` from it. */
export function momentMarks(moments, player) {
  return moments.map((m, i) => {
    const mark = el('button', {
      type: 'button',
      class: 'moment-mark secondary',
      'aria-label': `Moment ${i + 1}: ${clock(m.start)} to ${clock(m.end)}, score ${m.score.toFixed(3)}`,
      text: `${clock(m.start)}–${clock(m.end)}`,
    });
    mark.addEventListener('click', () => {
      player.currentTime = m.start;
      player.play().catch(() => {});
    });
    return mark;
  });
}

/**
 * The createdAfter/createdBefore filters of two date inputs (YYYY-MM-DD, either empty), as local days:
 * "from" is inclusive from its midnight, "until" inclusive to its end.
 */
export function dayBounds(from, until) {
  const bounds = {};
  if (from) bounds.createdAfter = new Date(`${from}T00:00`).toISOString();
  if (until) {
    const end = new Date(`${until}T00:00`);
    end.setDate(end.getDate() + 1);
    bounds.createdBefore = end.toISOString();
  }
  return bounds;
}
