import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { clearToken, getToken, useSession } from "../../api/session";
import { signOutOnServer } from "./signIn";

export type User = Schemas["UserRead"];

/** The signed-in user (query key ["me"]), the token, and sign-out. */
export function useAuth(): {
  user: User | undefined;
  token: string | null;
  loading: boolean;
  signOut: () => void;
} {
  const token = useSession((s) => s.token);
  const qc = useQueryClient();
  const me = useQuery({
    queryKey: ["me"],
    queryFn: () => unwrap(api.GET("/api/users/me")),
    enabled: Boolean(token),
    staleTime: 5 * 60_000,
  });
  const signOut = useCallback(() => {
    void signOutOnServer(getToken());
    clearToken();
    qc.clear();
  }, [qc]);
  return { user: token ? me.data : undefined, token, loading: me.isLoading, signOut };
}
