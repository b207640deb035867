// What the Share panel gives out: the embed snippet for a site, the hosted
// page's link, deep links that carry a source, and the live preview's URL.

export interface WebLook {
  title?: string;
  color?: string;
  greeting?: string;
  position?: string; // "right" (default) or "left"
}

function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** embedSnippet is the script tag a site pastes before </body>. */
export function embedSnippet(origin: string, bot: string, look: WebLook, source?: string): string {
  const parts = [`src="${attr(origin)}/widget/voronka-widget.js"`, `data-bot="${attr(bot)}"`];
  if (look.title) parts.push(`data-title="${attr(look.title)}"`);
  if (look.color) parts.push(`data-accent="${attr(look.color)}"`);
  if (look.greeting) parts.push(`data-greeting="${attr(look.greeting)}"`);
  if (look.position === 'left') parts.push('data-position="left"');
  if (source) parts.push(`data-source="${attr(source)}"`);
  return `<script ${parts.join(' ')} async></script>`;
}

/** hostedLink is the full-page chat, with a source when given. */
export function hostedLink(origin: string, bot: string, source?: string): string {
  const u = `${origin}/c/${encodeURIComponent(bot)}`;
  return source ? `${u}?source=${encodeURIComponent(source)}` : u;
}

/** Telegram allows deep-link payloads of 1-64 characters A-Z a-z 0-9 _ -. */
export const payloadRule = /^[A-Za-z0-9_-]{1,64}$/;

/** deepLink fills a channel's deep link ("https://t.me/x?start={payload}") with a source. */
export function deepLink(template: string, source: string): string {
  return template.replace('{payload}', encodeURIComponent(source));
}

/** previewURL is the hosted page in preview mode with the settings being edited. */
export function previewURL(bot: string, look: WebLook): string {
  const q = new URLSearchParams({ preview: '1' });
  for (const k of ['title', 'color', 'greeting', 'position'] as const) {
    const v = look[k];
    if (v) q.set(k, v);
  }
  return `/c/${encodeURIComponent(bot)}?${q.toString()}`;
}
