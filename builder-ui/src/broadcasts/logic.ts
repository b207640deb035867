// The pure parts of the broadcasts page: form state to API bodies, which
// actions a status allows, and how progress reads.
import { dayEnd, dayOf, dayStart } from '../lib/zone';
import type { Action, Draft, Progress, SegmentFilter, Status, Variant } from './api';

/** FilterForm is the segment editor's fields, as typed. */
export interface FilterForm {
  segments: string[];
  tags: string;
  scoreMin: string;
  scoreMax: string;
  channels: string[];
  statuses: string[];
  expr: string;
  source: string;
  firstSeenFrom: string;
  firstSeenTo: string;
  lastSeenFrom: string;
  lastSeenTo: string;
  goals: string;
}

export const emptyFilterForm: FilterForm = {
  segments: [],
  tags: '',
  scoreMin: '',
  scoreMax: '',
  channels: [],
  statuses: [],
  expr: '',
  source: '',
  firstSeenFrom: '',
  firstSeenTo: '',
  lastSeenFrom: '',
  lastSeenTo: '',
  goals: '',
};

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

const num = (s: string): number | undefined => {
  const t = s.trim().replace(',', '.');
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
};

/** toFilter turns the form into a filter, leaving out what is empty; days start at midnight in tz (the bot's zone, as on the leads page). */
export function toFilter(f: FilterForm, tz?: string): SegmentFilter {
  const out: SegmentFilter = {};
  if (f.segments.length) out.segments = f.segments;
  if (list(f.tags).length) out.tags = list(f.tags);
  const lo = num(f.scoreMin);
  const hi = num(f.scoreMax);
  if (lo !== undefined) out.score_min = lo;
  if (hi !== undefined) out.score_max = hi;
  if (f.channels.length) out.channels = f.channels;
  if (f.statuses.length) out.statuses = f.statuses;
  if (f.expr.trim()) out.expr = f.expr.trim();
  if (f.source.trim()) out.source = f.source.trim();
  if (f.firstSeenFrom) out.first_seen_from = dayStart(f.firstSeenFrom, tz);
  if (f.firstSeenTo) out.first_seen_to = dayEnd(f.firstSeenTo, tz);
  if (f.lastSeenFrom) out.last_seen_from = dayStart(f.lastSeenFrom, tz);
  if (f.lastSeenTo) out.last_seen_to = dayEnd(f.lastSeenTo, tz);
  if (list(f.goals).length) out.goals = list(f.goals);
  return out;
}

/** fromFilter fills the form from a saved filter (days in tz). */
export function fromFilter(f: SegmentFilter, tz?: string): FilterForm {
  const day = (s?: string) => (s ? dayOf(s, tz) : '');
  return {
    segments: f.segments ?? [],
    tags: (f.tags ?? []).join(', '),
    scoreMin: f.score_min === undefined ? '' : String(f.score_min),
    scoreMax: f.score_max === undefined ? '' : String(f.score_max),
    channels: f.channels ?? [],
    statuses: f.statuses ?? [],
    expr: f.expr ?? '',
    source: f.source ?? '',
    firstSeenFrom: day(f.first_seen_from),
    firstSeenTo: day(f.first_seen_to),
    lastSeenFrom: day(f.last_seen_from),
    lastSeenTo: day(f.last_seen_to),
    goals: (f.goals ?? []).join(', '),
  };
}

/** ComposeForm is the broadcast editor's fields. */
export interface ComposeForm {
  name: string;
  mode: 'message' | 'flow';
  segment: string;
  variants: Variant[];
  noUnsubscribe: boolean;
  node: string;
  startAt: string; // datetime-local, the browser's time
  windowStart: string;
  windowEnd: string;
  templateName: string;
  templateLanguage: string;
  templateParams: string; // one a line
}

export const newVariant = (i: number): Variant => ({ name: String.fromCharCode(65 + i), weight: 50, text: '', buttons: [] });

export const emptyCompose: ComposeForm = {
  name: '',
  mode: 'message',
  segment: '',
  variants: [{ ...newVariant(0), weight: 100 }],
  noUnsubscribe: false,
  node: '',
  startAt: '',
  windowStart: '',
  windowEnd: '',
  templateName: '',
  templateLanguage: '',
  templateParams: '',
};

/** toDraft is the body of POST /api/bots/{bot}/broadcasts. */
export function toDraft(f: ComposeForm, start: boolean): Draft {
  const d: Draft = { name: f.name.trim(), mode: f.mode, variants: [], no_unsubscribe: f.noUnsubscribe, start };
  if (f.mode === 'message') {
    d.variants = f.variants.map((v) => ({
      ...v,
      buttons: (v.buttons ?? []).filter((b) => b.label.trim() || b.node.trim()),
    }));
  } else {
    d.node = f.node.trim();
  }
  if (f.segment) d.segment = f.segment;
  if (f.startAt) d.start_at = new Date(f.startAt).toISOString();
  if (f.windowStart && f.windowEnd) d.window = { start: f.windowStart, end: f.windowEnd };
  const params = f.templateParams
    .split('\n')
    .map((p) => p.trim())
    .filter(Boolean);
  // Anything typed goes, so a half-filled template comes back as a 422
  // naming the missing field rather than vanishing.
  if (f.mode === 'message' && (f.templateName.trim() || f.templateLanguage.trim() || params.length)) {
    d.template = { name: f.templateName.trim(), language: f.templateLanguage.trim() };
    if (params.length) d.template.params = params;
  }
  return d;
}

const allowed: Record<Action, Status[]> = {
  start: ['draft'],
  pause: ['running', 'scheduled'],
  resume: ['paused'],
  cancel: ['draft', 'scheduled', 'running', 'paused'],
};

/** actionsFor lists what can be done to a broadcast in status s. */
export function actionsFor(s: Status): Action[] {
  return (Object.keys(allowed) as Action[]).filter((a) => allowed[a].includes(s));
}

/** live says whether the page should keep asking for progress. */
export const live = (s: Status) => s === 'running' || s === 'scheduled';

/** percent is how far the sending got, 0–100. */
export function percent(p: Progress): number {
  if (!p.total) return 0;
  const done = p.sent + p.failed + Object.values(p.skipped ?? {}).reduce((a, b) => a + b, 0);
  return Math.min(100, Math.round((done / p.total) * 100));
}

/** skippedRows lists skip reasons with counts, most first. */
export function skippedRows(p: Progress): [string, number][] {
  return Object.entries(p.skipped ?? {})
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** fill puts {name} values into a string. */
export function fill(s: string, vals: Record<string, string | number>): string {
  return s.replace(/\{(\w+)\}/g, (m, k: string) => (k in vals ? String(vals[k]) : m));
}

/** fieldKeys names a problem's field by the form's own label (string keys). */
const fieldKeys: Record<string, string> = {
  name: 'bcSegmentName',
  segments: 'bcLeadSegments',
  tags: 'bcTags',
  score_min: 'bcScoreMin',
  score_max: 'bcScoreMax',
  channels: 'bcChannels',
  statuses: 'ctStatus',
  expr: 'bcExpr',
  source: 'bcSource',
  first_seen_from: 'bcFirstSeenFrom',
  last_seen_from: 'bcLastSeenFrom',
  goals: 'bcGoals',
  'template.name': 'bcWaTemplateName',
  'template.language': 'bcWaTemplateLanguage',
  'template.params': 'bcWaTemplateParams',
};

/** fieldWord is how the form calls a problem's field; a field it does not show keeps its API name. */
export function fieldWord(field: string, tr: (k: string) => string): string {
  const k = fieldKeys[field];
  return k ? tr(k) : field;
}

// The segment check's messages (engine/segment) in Russian; anything else
// is shown as the server wrote it.
const ruMessages: [RegExp, string][] = [
  [/^the segment needs a name$/, 'дайте сегменту название'],
  [/^the minimum score is above the maximum$/, 'баллы «от» больше, чем «до»'],
  [/^the range ends before it starts$/, 'период кончается раньше, чем начинается'],
  [/^unknown segment "(.*)" \(hot, warm or cold\)$/, 'нет сегмента «$1»: есть горячий, тёплый и холодный'],
  [/^unknown status "(.*)" \(bot, waiting, handoff or ended\)$/, 'нет статуса «$1»'],
  [/^unknown name (\S+)/, 'в воронке нет переменной $1'],
];

/** problemWords is a problem's message in lang. */
export function problemWords(message: string, lang: string): string {
  if (lang !== 'ru') return message;
  for (const [re, to] of ruMessages) if (re.test(message)) return message.replace(re, to).replace(/ \(\d+:\d+\)$/, '');
  return message;
}
