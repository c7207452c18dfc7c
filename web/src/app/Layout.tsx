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
      requestAnimationFrame(() => openButton.current?.focus());
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
