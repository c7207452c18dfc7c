/**
 * The active branch, virtualised (only rows near the view are in the DOM;
 * heights measured as they render). Scrolling: pinned to the bottom only
 * while the reader is there; a wheel, touch drag, key or scrollbar drag
 * upward un-pins at once, and from then on nothing moves the view (rows
 * growing above it are compensated by the virtualiser; the browser's own
 * scroll anchoring is off so the two do not fight). "Jump to latest" re-pins.
 */
import { useVirtualizer } from "@tanstack/react-virtual";
import {
  forwardRef,
  useCallback,
  useEffect,
  useImperativeHandle,
  useLayoutEffect,
  useRef,
  useState,
} from "react";
import { isAtBottom, nextPinned, type PinEvent } from "./lib/scrollPin";
import { siblingsOf, type TreeIndex } from "./lib/tree";
import { MessageRow, type RowActions } from "./MessageRow";
import { type Message, useStreams } from "./streams";

export interface MessageListHandle {
  scrollToMessage: (id: number) => void;
  jumpToLatest: () => void;
}

export const MessageList = forwardRef<
  MessageListHandle,
  {
    messages: Message[];
    index: TreeIndex<Message>;
    liveKey: string;
    liveId: number | null;
    busy: boolean;
    actions: RowActions;
  }
>(function MessageList({ messages, index, liveKey, liveId, busy, actions }, ref) {
  const scroller = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const lastTop = useRef(0);
  const dragging = useRef(false);
  const touchY = useRef<number | null>(null);
  const [showJump, setShowJump] = useState(false);
  const liveText = useStreams((s) => s.byKey[liveKey]?.text);

  const virtualizer = useVirtualizer({
    count: messages.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 160,
    overscan: 3,
    getItemKey: (i) => messages[i]?.id ?? i,
  });

  const setPinned = useCallback((p: boolean) => {
    pinned.current = p;
    setShowJump(!p);
  }, []);

  const toBottom = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    lastTop.current = el.scrollTop;
  }, []);

  const feed = useCallback(
    (e: PinEvent) => {
      const next = nextPinned(pinned.current, e);
      if (next !== pinned.current) setPinned(next);
    },
    [setPinned],
  );

  useImperativeHandle(
    ref,
    () => ({
      scrollToMessage: (id: number) => {
        const i = messages.findIndex((m) => m.id === id);
        if (i === -1) return;
        setPinned(false);
        virtualizer.scrollToIndex(i, { align: "start" });
      },
      jumpToLatest: () => {
        setPinned(true);
        if (messages.length) virtualizer.scrollToIndex(messages.length - 1, { align: "end" });
        requestAnimationFrame(toBottom);
      },
    }),
    [messages, virtualizer, setPinned, toBottom],
  );

  // Content changed (new rows, streamed text, rows measured): follow if pinned.
  const total = virtualizer.getTotalSize();
  // biome-ignore lint/correctness/useExhaustiveDependencies: re-run when content size or text changes
  useLayoutEffect(() => {
    if (pinned.current) toBottom();
  }, [total, liveText, messages.length, toBottom]);

  // The first view of a thread starts at its end.
  // biome-ignore lint/correctness/useExhaustiveDependencies: once per thread
  useLayoutEffect(() => {
    setPinned(true);
    if (messages.length) virtualizer.scrollToIndex(messages.length - 1, { align: "end" });
    toBottom();
  }, [messages[0]?.id]);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => feed({ kind: "wheel", deltaY: e.deltaY });
    const onTouchStart = (e: TouchEvent) => {
      touchY.current = e.touches[0]?.clientY ?? null;
    };
    const onTouchMove = (e: TouchEvent) => {
      const y = e.touches[0]?.clientY;
      if (y === undefined || touchY.current === null) return;
      feed({ kind: "touchmove", dy: y - touchY.current });
      touchY.current = y;
    };
    const onKey = (e: KeyboardEvent) => feed({ kind: "key", key: e.key, shift: e.shiftKey });
    const onDown = (e: PointerEvent) => {
      // a press on the scrollbar (outside the content box) starts a drag
      if (e.offsetX > el.clientWidth) dragging.current = true;
    };
    const onUp = () => {
      dragging.current = false;
    };
    const onScroll = () => {
      const top = el.scrollTop;
      const movedUp = top < lastTop.current - 1;
      lastTop.current = top;
      const atBottom = isAtBottom(el);
      if (atBottom) feed({ kind: "scroll", atBottom: true, movedUp: false });
      else if (dragging.current && movedUp) feed({ kind: "scroll", atBottom, movedUp });
      else if (!pinned.current) setShowJump(true);
    };
    el.addEventListener("wheel", onWheel, { passive: true });
    el.addEventListener("touchstart", onTouchStart, { passive: true });
    el.addEventListener("touchmove", onTouchMove, { passive: true });
    el.addEventListener("keydown", onKey);
    el.addEventListener("pointerdown", onDown);
    window.addEventListener("pointerup", onUp);
    el.addEventListener("scroll", onScroll, { passive: true });
    return () => {
      el.removeEventListener("wheel", onWheel);
      el.removeEventListener("touchstart", onTouchStart);
      el.removeEventListener("touchmove", onTouchMove);
      el.removeEventListener("keydown", onKey);
      el.removeEventListener("pointerdown", onDown);
      window.removeEventListener("pointerup", onUp);
      el.removeEventListener("scroll", onScroll);
    };
  }, [feed]);

  const items = virtualizer.getVirtualItems();
  return (
    <div className="chat-scroll-wrap">
      <section
        ref={scroller}
        className="chat-scroll"
        aria-label="Messages"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the message list scrolls with the keyboard
        tabIndex={0}
      >
        <div className="chat-rows" style={{ height: total }}>
          {items.map((item) => {
            const m = messages[item.index];
            if (!m) return null;
            return (
              <div
                key={item.key}
                data-index={item.index}
                ref={virtualizer.measureElement}
                className="chat-row"
                style={{ transform: `translateY(${item.start}px)` }}
              >
                <MessageRow
                  message={m}
                  siblings={siblingsOf(index, m.id)}
                  live={m.id === liveId}
                  liveKey={liveKey}
                  busy={busy}
                  actions={actions}
                />
              </div>
            );
          })}
        </div>
      </section>
      {showJump ? (
        <button type="button" className="jump-latest" onClick={jump}>
          Jump to latest ↓
        </button>
      ) : null}
    </div>
  );

  function jump() {
    setPinned(true);
    if (messages.length) virtualizer.scrollToIndex(messages.length - 1, { align: "end" });
    requestAnimationFrame(toBottom);
  }
});
