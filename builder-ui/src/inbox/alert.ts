// Telling an operator that a chat needs them while the page is in the
// background: a browser notification (once they allowed it) and a short
// two-tone chime made with Web Audio (no sound file to load or to allow in
// the Content-Security-Policy).

/** chime plays about a quarter of a second of sound; silently nothing when audio is unavailable or not yet allowed. */
export function chime(): void {
  try {
    const Ctx = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!Ctx) return;
    const ctx = new Ctx();
    const t = ctx.currentTime;
    const gain = ctx.createGain();
    gain.connect(ctx.destination);
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.3);
    [880, 1320].forEach((hz, i) => {
      const osc = ctx.createOscillator();
      osc.frequency.value = hz;
      osc.connect(gain);
      osc.start(t + i * 0.12);
      osc.stop(t + 0.12 + i * 0.12);
    });
    setTimeout(() => void ctx.close(), 600);
  } catch {
    /* no audio here: the badge and the title still tell */
  }
}

/** canNotify says whether notifications are supported and allowed. */
export function notifyState(): 'granted' | 'denied' | 'default' | 'unsupported' {
  if (typeof Notification === 'undefined') return 'unsupported';
  return Notification.permission;
}

/** askToNotify asks the browser for permission (call it from a click). */
export async function askToNotify(): Promise<'granted' | 'denied' | 'default' | 'unsupported'> {
  if (typeof Notification === 'undefined') return 'unsupported';
  return Notification.requestPermission();
}

/**
 * notify shows a notification; clicking it focuses the page and calls
 * onClick (which opens the chat). One notification per chat at a time: the
 * tag replaces an older one of the same chat.
 */
export function notify(title: string, body: string, tag: string, onClick: () => void): void {
  if (notifyState() !== 'granted') return;
  try {
    const n = new Notification(title, { body, tag });
    n.onclick = () => {
      window.focus();
      onClick();
      n.close();
    };
  } catch {
    /* some browsers allow notifications only from a service worker */
  }
}
