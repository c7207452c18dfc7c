/**
 * Stick-to-bottom that never fights the reader: pinned only while the view is
 * at the bottom; any user scroll up (wheel, touch drag, keys) un-pins at once,
 * before the next content update can move the view; scrolling back to the
 * bottom (or "jump to latest") pins again.
 */

export const BOTTOM_SLACK_PX = 24;

export function isAtBottom(
  el: { scrollTop: number; scrollHeight: number; clientHeight: number },
  slack = BOTTOM_SLACK_PX,
): boolean {
  return el.scrollHeight - el.scrollTop - el.clientHeight <= slack;
}

/** Keys that scroll a focused scroller upward. */
const UP_KEYS = new Set(["ArrowUp", "PageUp", "Home"]);

export type PinEvent =
  | { kind: "wheel"; deltaY: number }
  | { kind: "touchmove"; dy: number }
  | { kind: "key"; key: string; shift?: boolean }
  | { kind: "scroll"; atBottom: boolean; movedUp: boolean };

/** The pinned state after a user event (pure: the component feeds it). */
export function nextPinned(pinned: boolean, e: PinEvent): boolean {
  switch (e.kind) {
    case "wheel":
      return e.deltaY < 0 ? false : pinned;
    case "touchmove":
      // finger moving down drags content down = scrolling up
      return e.dy > 0 ? false : pinned;
    case "key":
      return UP_KEYS.has(e.key) || (e.key === " " && e.shift) ? false : pinned;
    case "scroll":
      if (e.atBottom) return true;
      return e.movedUp ? false : pinned;
  }
}
