/**
 * Routes. Every page is lazy: the first load carries only the shell and the
 * chat page's own chunk; other pages load when visited.
 */
import type { ComponentType } from "react";
import { createBrowserRouter, type RouteObject } from "react-router";
import { RouteError } from "./ErrorBoundary";
import { Layout } from "./Layout";
import { PageFallback } from "./PageFallback";

type PageModule = { default: ComponentType };

const page = (load: () => Promise<PageModule>) => async () => ({
  Component: (await load()).default,
});

export const routes: RouteObject[] = [
  {
    path: "/login",
    lazy: page(() => import("../features/auth/LoginPage")),
    errorElement: <RouteError />,
    hydrateFallbackElement: <PageFallback />,
  },
  {
    path: "/register",
    lazy: page(() => import("../features/auth/RegisterPage")),
    errorElement: <RouteError />,
    hydrateFallbackElement: <PageFallback />,
  },
  {
    path: "/",
    element: <Layout />,
    errorElement: <RouteError />,
    hydrateFallbackElement: <PageFallback />,
    children: [
      { index: true, lazy: page(() => import("../features/chat/ChatPage")) },
      { path: "c/:threadId", lazy: page(() => import("../features/chat/ChatPage")) },
      { path: "prompts", lazy: page(() => import("../features/prompts/PromptsPage")) },
      { path: "usage", lazy: page(() => import("../features/usage/UsagePage")) },
      { path: "keys", lazy: page(() => import("../features/keys/KeysPage")) },
      { path: "media", lazy: page(() => import("../features/media/MediaPage")) },
      { path: "voice", lazy: page(() => import("../features/voice/VoicePage")) },
      { path: "voice/:threadId", lazy: page(() => import("../features/voice/VoicePage")) },
      { path: "teams", lazy: page(() => import("../features/teams/TeamsPage")) },
      { path: "teams/:teamId", lazy: page(() => import("../features/teams/TeamPage")) },
      { path: "invitations/:token", lazy: page(() => import("../features/teams/InvitePage")) },
      { path: "invite/:token", lazy: page(() => import("../features/teams/InvitePage")) },
      { path: "account", lazy: page(() => import("../features/account/AccountPage")) },
      { path: "admin", lazy: page(() => import("../features/admin/AdminPage")) },
      { path: "admin/*", lazy: page(() => import("../features/admin/AdminPage")) },
      { path: "setup", lazy: page(() => import("../features/onboarding/SetupPage")) },
      { path: "*", lazy: page(() => import("./NotFound")) },
    ],
  },
];

export function makeRouter() {
  return createBrowserRouter(routes);
}
