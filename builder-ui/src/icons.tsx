// Icons as inline SVG (stroke in the text colour), so they need no emoji
// font: many Linux desktops and CI browsers have none.
import type { ReactElement } from 'react';

const paths: Record<string, ReactElement> = {
  start: <path d="M8 5v14l11-7z" fill="currentColor" stroke="none" />,
  warning: (
    <>
      <path d="M12 3 2 21h20z" />
      <path d="M12 10v5M12 18v.5" />
    </>
  ),
  trash: <path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13" />,
  chat: <path d="M4 5h16v11H9l-5 4z" />,
  users: (
    <>
      <circle cx="9" cy="8" r="3" />
      <path d="M3 20c0-4 3-6 6-6s6 2 6 6M16 5a3 3 0 0 1 0 6M18 14c2 1 3 3 3 6" />
    </>
  ),
  close: <path d="M6 6l12 12M18 6 6 18" />,
  undo: <path d="M9 14 4 9l5-5M4 9h10a6 6 0 0 1 0 12h-3" />,
  redo: <path d="m15 14 5-5-5-5M20 9H10a6 6 0 0 0 0 12h3" />,
  download: <path d="M12 4v11M7 10l5 5 5-5M5 20h14" />,
  check: <path d="m5 12 5 5 9-10" />,
  plus: <path d="M12 5v14M5 12h14" />,
  zoomIn: (
    <>
      <circle cx="11" cy="11" r="6" />
      <path d="m20 20-4.5-4.5M11 8v6M8 11h6" />
    </>
  ),
  zoomOut: (
    <>
      <circle cx="11" cy="11" r="6" />
      <path d="m20 20-4.5-4.5M8 11h6" />
    </>
  ),
  fit: <path d="M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5" />,
  link: <path d="M10 14a4 4 0 0 0 6 0l3-3a4 4 0 0 0-6-6l-1 1M14 10a4 4 0 0 0-6 0l-3 3a4 4 0 0 0 6 6l1-1" />,
  // Node types.
  message: <path d="M4 5h16v11H9l-5 4z" />,
  buttons: (
    <>
      <rect x="3" y="5" width="18" height="5" rx="2" />
      <rect x="3" y="14" width="18" height="5" rx="2" />
    </>
  ),
  question: (
    <>
      <path d="M9 9a3 3 0 1 1 4 3c-1 .5-1 1-1 2" />
      <path d="M12 18v.5" />
    </>
  ),
  condition: <path d="M12 3 21 12l-9 9-9-9z" />,
  score: <path d="m12 3 2.6 5.6 6.1.6-4.6 4.1 1.3 6-5.4-3.2-5.4 3.2 1.3-6L3.3 9.2l6.1-.6z" />,
  handoff: (
    <>
      <circle cx="12" cy="8" r="4" />
      <path d="M4 21c0-4 4-7 8-7s8 3 8 7" />
    </>
  ),
  delay: (
    <>
      <circle cx="12" cy="12" r="8" />
      <path d="M12 8v4l3 2" />
    </>
  ),
  split: <path d="M12 20v-7M12 13 6 5M12 13l6-8M4 5h4M16 5h4" />,
  webhook: <path d="M4 12h4l2-5 4 10 2-5h4" />,
  set: <path d="M5 8h14M5 16h14M9 4 7 20M17 4l-2 16" />,
  goal: (
    <>
      <circle cx="12" cy="12" r="8" />
      <circle cx="12" cy="12" r="4" />
      <circle cx="12" cy="12" r="1" fill="currentColor" />
    </>
  ),
  unsubscribe: (
    <>
      <circle cx="12" cy="12" r="8" />
      <path d="m6.5 6.5 11 11" />
    </>
  ),
  end: <rect x="6" y="6" width="12" height="12" rx="1" />,
};

/** Icon draws one icon at the text size; decorative unless given a label. */
export function Icon({ name, label, size = 16 }: { name: string; label?: string; size?: number }) {
  return (
    <svg
      className="icon-svg"
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth={2}
      strokeLinecap="round"
      strokeLinejoin="round"
      role={label ? 'img' : undefined}
      aria-label={label}
      aria-hidden={label ? undefined : true}
    >
      {paths[name] ?? paths.message}
    </svg>
  );
}
