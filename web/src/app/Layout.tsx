/**
 * The signed-in frame: sidebar (a drawer on narrow screens) + the page.
 * Signed-out visitors go to /login (with ?next= back here).
 */
import { Suspense, useEffect, useRef, useSyncExternalStore } from "react";
import { Navigate, Outlet, useLocation } from "react-router";
import { useSession } from "../api/session";
import { ReauthDialog } from "../features/auth/ReauthDialog";
import { FirstRunGate } from "../features/onboarding/FirstRunGate";
import { Sidebar } from "../features/threads/Sidebar";
import { useUi } from "../store/ui";
import { IconButton } from "../ui/Button";
import { MenuIcon } from "../ui/icons";
import { Toaster } from "../ui/Toast";
import { ErrorBoundary } from "./ErrorBoundary";
import { PageFallback } from "./PageFallback";

const NARROW = "(max-width: 799px)";

const PAGE_TITLES: Record<string, string> = {
  prompts: "Prompts",
  usage: "Usage",
  keys: "Keys",
  media: "Media",
  voice: "Voice",
  admin: "Admin",
  teams: "Teams",
  invitations: "Team invitation",
  invite: "Team invitation",
  account: "Account",
  setup: "Set up",
};

function subscribeNarrow(cb: () => void) {
  const mq = window.matchMedia?.(NARROW);
  mq?.addEventListener("change", cb);
  return () => mq?.removeEventListener("change", cb);
}

/** true on phone-sized screens, where the sidebar is a modal drawer */
export function useNarrow(): boolean {
  return useSyncExternalStore(
    subscribeNarrow,
    () => Boolean(window.matchMedia?.(NARROW).matches),
    () => false,
  );
}

export function Layout() {
  const token = useSession((s) => s.token);
  const expired = useSession((s) => s.expired);
  const signedOut = useSession((s) => s.signedOut);
  const location = useLocation();
  const sidebarOpen = useUi((s) => s.sidebarOpen);
  const setSidebarOpen = useUi((s) => s.setSidebarOpen);
  const narrow = useNarrow();
  const drawer = narrow && sidebarOpen;
  const openButton = useRef<HTMLButtonElement>(null);
  const wasDrawer = useRef(false);

  // On a phone the drawer closes after navigating.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on navigation
  useEffect(() => {
    if (window.matchMedia?.(NARROW).matches) setSidebarOpen(false);
  }, [location.pathname, setSidebarOpen]);

  // Other pages: a title per page, and focus on its heading after navigating
  // (screen readers hear where they are). The chat screen manages both itself.
  const firstRender = useRef(true);
  useEffect(() => {
    const section = location.pathname.split("/")[1] ?? "";
    const name = PAGE_TITLES[section];
    const first = firstRender.current;
    firstRender.current = false;
    if (!name) return;
    document.title = `${name} · aihub`;
    if (first) return;
    let tries = 20;
    const focusHeading = () => {
      const h = document.querySelector<HTMLElement>("#main h1");
      // (behind the phone drawer the page is inert until the drawer closes)
      if (h && !h.closest("[inert]")) {
        h.tabIndex = -1;
        h.focus({ preventScroll: true });
      } else if (tries-- > 0) setTimeout(focusHeading, 50);
    };
    focusHeading();
  }, [location.pathname]);

  // The drawer is modal: focus goes in when it opens, back to its button when
  // it closes, and Escape closes it.
  useEffect(() => {
    if (drawer) {
      document.querySelector<HTMLElement>("#sidebar input[type=search]")?.focus();
      const onKey = (e: KeyboardEvent) => {
        if (e.key === "Escape" && !document.querySelector("dialog[open], [role=menu]")) {
          setSidebarOpen(false);
        }
      };
      document.addEventListener("keydown", onKey);
      wasDrawer.current = true;
      return () => document.removeEventListener("keydown", onKey);
    }
    if (wasDrawer.current) {
      wasDrawer.current = false;
      // unless navigating moved focus to the new page already
      requestAnimationFrame(() => {
        if (!document.getElementById("main")?.contains(document.activeElement)) {
          openButton.current?.focus();
        }
      });
    }
  }, [drawer, setSidebarOpen]);

  if (!token && !expired) {
    if (signedOut) return <Navigate to="/login" replace />;
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/login?next=${next}`} replace />;
  }

  return (
    <div className={`app${sidebarOpen ? " sidebar-open" : ""}`}>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <Sidebar />
      {sidebarOpen ? (
        <div className="scrim" aria-hidden="true" onClick={() => setSidebarOpen(false)} />
      ) : null}
      <div className="main-col" inert={drawer || undefined}>
        {!sidebarOpen ? (
          <div className="topbar">
            <IconButton
              ref={openButton}
              label="Open sidebar"
              icon={<MenuIcon />}
              onClick={() => setSidebarOpen(true)}
              aria-expanded={false}
              aria-controls="sidebar"
            />
          </div>
        ) : null}
        <main id="main" className="main" tabIndex={-1}>
          <ErrorBoundary label="This page">
            <Suspense fallback={<PageFallback />}>
              <FirstRunGate>
                <Outlet />
              </FirstRunGate>
            </Suspense>
          </ErrorBoundary>
        </main>
      </div>
      <ReauthDialog />
      <Toaster />
    </div>
  );
}
