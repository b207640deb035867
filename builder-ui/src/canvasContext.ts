// What blocks on the canvas need from it besides their data: the flow's
// variables (to word conditions) and the actions behind an exit's label
// (connect by clicks) and its "+" (create the next block there).
import { createContext } from 'react';
import type { VarInfo } from './conditions/conditions';

export interface CanvasActions {
  vars: VarInfo[];
  /** startConnect: the next block clicked becomes this exit's target. */
  startConnect: (source: string, handle: string, label: string) => void;
  /** createNext opens the menu of blocks to put after this exit, at a screen point. */
  createNext: (source: string, handle: string, at: { x: number; y: number }) => void;
}

export const CanvasContext = createContext<CanvasActions>({ vars: [], startConnect: () => {}, createNext: () => {} });
