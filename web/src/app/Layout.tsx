/**
 * The signed-in frame: sidebar (a drawer on narrow screens) + the page.
 * Signed-out visitors go to /login (with ?next= back here).
 */
import { Suspense, useEffect } from "react";
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

export function Layout() {
  const token = useSession((s) => s.token);
  const expired = useSession((s) => s.expired);
  const signedOut = useSession((s) => s.signedOut);
  const location = useLocation();
  const sidebarOpen = useUi((s) => s.sidebarOpen);
  const setSidebarOpen = useUi((s) => s.setSidebarOpen);

  // On a phone the drawer closes after navigating.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on navigation
  useEffect(() => {
    if (window.matchMedia?.("(max-width: 799px)").matches) setSidebarOpen(false);
  }, [location.pathname, setSidebarOpen]);

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
      <div className="main-col">
        {!sidebarOpen ? (
          <div className="topbar">
            <IconButton
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
