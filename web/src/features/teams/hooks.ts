/** Queries of the team screens (query keys under ["teams"]). */
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { useSession } from "../../api/session";

/** The teams the user belongs to (administrators: every team). */
export function useTeams() {
  const token = useSession((s) => s.token);
  return useQuery({
    queryKey: ["teams"],
    queryFn: () => unwrap(api.GET("/api/teams/", { params: { query: { limit: 200 } } })),
    enabled: Boolean(token),
    staleTime: 60_000,
  });
}
