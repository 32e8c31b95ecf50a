// Colours for the TUI, all in one place so NO_COLOR can turn every one of them off (the cursor
// row uses inverse video, which is not a colour, so it stays visible).
import type { NodeState } from '../state/status.ts';

export interface Theme {
  color: boolean;
}
export const STATE_COLOR: Record<NodeState, string> = {
  up: 'green',
  booting: 'cyan',
  late: 'yellow',
  lost: 'red',
  never: 'gray',
  'bad-asset': 'magenta',
};
/** A colour prop value, or undefined under NO_COLOR. */
export const c = (t: Theme, color: string | undefined): string | undefined => (t.color ? color : undefined);
