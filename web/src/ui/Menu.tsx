/**
 * A menu button: opens a list of actions, arrow keys move, Escape closes and
 * gives focus back to the button (WAI-ARIA menu button pattern). The list is
 * portalled out (to the enclosing modal dialog, else the body) and positioned
 * fixed from the button, so scrolling or transformed rows never clip it.
 */
import { type CSSProperties, type ReactNode, useEffect, useId, useRef, useState } from "react";
import { createPortal } from "react-dom";

export type MenuItem = {
  label: string;
  onSelect: () => void;
  danger?: boolean;
  disabled?: boolean;
};

export function Menu({
  label,
  icon,
  items,
  className,
}: {
  label: string;
  icon: ReactNode;
  items: MenuItem[];
  className?: string;
}) {
  const [open, setOpen] = useState(false);
  const [pos, setPos] = useState<CSSProperties>({});
  const btn = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const id = useId();

  useEffect(() => {
    if (!open) return;
    list.current?.querySelector<HTMLElement>("[role=menuitem]:not([disabled])")?.focus();
    const onDown = (e: MouseEvent) => {
      if (!list.current?.contains(e.target as Node) && !btn.current?.contains(e.target as Node)) {
        setOpen(false);
      }
    };
    const onScroll = (e: Event) => {
      if (!list.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", onDown);
    window.addEventListener("scroll", onScroll, true);
    window.addEventListener("resize", onScroll);
    return () => {
      document.removeEventListener("mousedown", onDown);
      window.removeEventListener("scroll", onScroll, true);
      window.removeEventListener("resize", onScroll);
    };
  }, [open]);

  function place() {
    const r = btn.current?.getBoundingClientRect();
    if (!r) return;
    const h = window.innerHeight;
    const w = window.innerWidth;
    const below = h - r.bottom;
    const style: CSSProperties = { position: "fixed" };
    if (below < 260 && r.top > below) style.bottom = h - r.top + 4;
    else style.top = r.bottom + 4;
    if (r.left + 200 > w) style.right = Math.max(4, w - r.right);
    else style.left = Math.max(4, r.left);
    setPos(style);
  }

  function close(focusButton = true) {
    setOpen(false);
    if (focusButton) btn.current?.focus();
  }

  function toggle() {
    if (!open) place();
    setOpen((o) => !o);
  }

  function onKey(e: React.KeyboardEvent) {
    const els = Array.from(
      list.current?.querySelectorAll<HTMLElement>("[role=menuitem]:not([disabled])") ?? [],
    );
    const i = els.indexOf(document.activeElement as HTMLElement);
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      close();
    } else if (e.key === "ArrowDown") {
      e.preventDefault();
      els[(i + 1) % els.length]?.focus();
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      els[(i - 1 + els.length) % els.length]?.focus();
    } else if (e.key === "Home") {
      e.preventDefault();
      els[0]?.focus();
    } else if (e.key === "End") {
      e.preventDefault();
      els[els.length - 1]?.focus();
    } else if (e.key === "Tab") {
      close(false);
    }
  }

  return (
    <div className={`menu${className ? ` ${className}` : ""}`}>
      <button
        ref={btn}
        type="button"
        className="icon-btn"
        aria-label={label}
        title={label}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? id : undefined}
        onClick={toggle}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown" && !open) {
            e.preventDefault();
            e.stopPropagation();
            toggle();
          }
        }}
      >
        <span aria-hidden="true">{icon}</span>
      </button>
      {open
        ? createPortal(
            <div
              ref={list}
              id={id}
              role="menu"
              aria-label={label}
              className="menu-list"
              style={pos}
              tabIndex={-1}
              onKeyDown={onKey}
            >
              {items.map((it) => (
                <button
                  key={it.label}
                  type="button"
                  role="menuitem"
                  className={`menu-item${it.danger ? " danger" : ""}`}
                  disabled={it.disabled}
                  tabIndex={-1}
                  onClick={() => {
                    close();
                    it.onSelect();
                  }}
                >
                  {it.label}
                </button>
              ))}
            </div>,
            btn.current?.closest("dialog") ?? document.body,
          )
        : null}
    </div>
  );
}
