/**
 * Pure helpers of the team, session and audit screens (tested in lib.test.ts).
 */
import type { Schemas } from "../../api/client";
import { optionalInt, optionalUsd, parseModels } from "../keys/model";

export type Team = Schemas["TeamRead"];
export type TeamUpdate = Schemas["TeamUpdate"];

/** The first and last day (YYYY-MM-DD, UTC) of the calendar month of `now`:
 * team budgets count per calendar month in UTC. */
export function monthRange(now: Date = new Date()): { start: string; end: string } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const iso = (d: Date) => d.toISOString().slice(0, 10);
  return { start: iso(new Date(Date.UTC(y, m, 1))), end: iso(new Date(Date.UTC(y, m + 1, 0))) };
}

/** The invitation link the API gives (a path) as a full URL to share. */
export function absoluteLink(link: string, origin: string): string {
  if (/^https?:\/\//i.test(link)) return link;
  return origin.replace(/\/+$/, "") + (link.startsWith("/") ? link : `/${link}`);
}

export type LimitsForm = { models: string; rpm: string; tpm: string; budget: string };

export function limitsForm(t: Team): LimitsForm {
  return {
    models: t.models.join("\n"),
    rpm: t.rpm ? String(t.rpm) : "",
    tpm: t.tpm ? String(t.tpm) : "",
    budget: t.budget_usd != null ? String(t.budget_usd) : "",
  };
}

/**
 * The PUT body for a limits form, or an error message. Blank clears a limit
 * (the API takes null as "no limit"). The budget is sent only by an
 * administrator, and only when it changed: the server refuses it from owners.
 */
export function limitsUpdate(
  team: Team,
  form: LimitsForm,
  isAdmin: boolean,
): { body: TeamUpdate } | { error: string } {
  const rpm = optionalInt(form.rpm);
  const tpm = optionalInt(form.tpm);
  if (rpm === "invalid") return { error: "Requests per minute: a whole number of at least 1." };
  if (tpm === "invalid") return { error: "Tokens per minute: a whole number of at least 1." };
  const models = parseModels(form.models);
  const body: TeamUpdate = { models: models.length ? models : null, rpm, tpm };
  if (isAdmin) {
    const budget = optionalUsd(form.budget);
    if (budget === "invalid") return { error: "Budget: an amount in dollars, like 25 or 12.50." };
    if (budget !== (team.budget_usd ?? null)) body.budget_usd = budget;
  }
  return { body };
}

export type SsoForm = { members: string; owners: string };

export function ssoForm(t: Pick<Team, "sso_groups" | "sso_owner_groups">): SsoForm {
  return { members: t.sso_groups.join("\n"), owners: t.sso_owner_groups.join("\n") };
}

/** SSO group entries, one per line (a group's name may hold a comma):
 * trimmed, blank lines and repeats dropped, order kept. */
export function parseGroups(text: string): string[] {
  return [...new Set(text.split("\n").map((g) => g.trim()))].filter(Boolean);
}

const GROUP_MAX = 255;
const GROUPS_MAX = 100;

/** The PUT body for the SSO groups form (only the lists that changed), or an
 * error message. Administrators only: the server refuses it from owners. */
export function ssoUpdate(
  team: Pick<Team, "sso_groups" | "sso_owner_groups">,
  form: SsoForm,
): { body: TeamUpdate } | { error: string } {
  const members = parseGroups(form.members);
  const owners = parseGroups(form.owners);
  for (const list of [members, owners]) {
    if (list.length > GROUPS_MAX) return { error: `At most ${GROUPS_MAX} groups per list.` };
    const long = list.find((g) => g.length > GROUP_MAX);
    if (long) return { error: `A group name has at most ${GROUP_MAX} characters.` };
  }
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((g, i) => g === b[i]);
  const body: TeamUpdate = {};
  if (!same(members, team.sso_groups)) body.sso_groups = members;
  if (!same(owners, team.sso_owner_groups)) body.sso_owner_groups = owners;
  return { body };
}

/** Who may do what on a team page (the server checks it again). */
export function teamPowers(team: Pick<Team, "role">, isAdmin: boolean) {
  const owner = isAdmin || team.role === "owner";
  return {
    manageMembers: owner,
    editLimits: owner,
    editBudget: isAdmin,
    editSso: isAdmin,
    leave: team.role != null,
    remove: isAdmin,
  };
}

/** A short "Browser on OS" from a user agent string, for the sessions list. */
export function describeAgent(ua: string | null | undefined): string {
  if (!ua) return "Unknown device";
  const browser = /Edg\//.test(ua)
    ? "Edge"
    : /OPR\//.test(ua)
      ? "Opera"
      : /Firefox\//.test(ua)
        ? "Firefox"
        : /(Chrome|Chromium)\//.test(ua)
          ? "Chrome"
          : /Safari\//.test(ua)
            ? "Safari"
            : /curl\//i.test(ua)
              ? "curl"
              : /python/i.test(ua)
                ? "Python"
                : null;
  const os = /Android/.test(ua)
    ? "Android"
    : /iPhone|iPad|iOS/.test(ua)
      ? "iOS"
      : /Windows/.test(ua)
        ? "Windows"
        : /Mac OS X|Macintosh/.test(ua)
          ? "macOS"
          : /Linux|X11/.test(ua)
            ? "Linux"
            : null;
  if (browser && os) return `${browser} on ${os}`;
  return browser ?? os ?? ua.slice(0, 60);
}

export type AuditFilters = { actor: string; action: string; since: string; until: string };

/**
 * The /api/admin/audit query for the filter form: a numeric actor id, an
 * action (exact, or a prefix: a trailing "*" is added to "team." style
 * prefixes ending in a dot), and local dates turned into the start of
 * `since` and the end of `until`.
 */
export function auditQuery(
  f: AuditFilters,
  page: number,
  pageSize: number,
): {
  query: {
    actor?: number;
    action?: string;
    since?: string;
    until?: string;
    skip: number;
    limit: number;
  };
  error?: string;
} {
  const query: ReturnType<typeof auditQuery>["query"] = { skip: page * pageSize, limit: pageSize };
  const actor = f.actor.trim();
  let error: string | undefined;
  if (actor) {
    if (/^\d+$/.test(actor)) query.actor = Number(actor);
    else error = "Actor: a user id (a number).";
  }
  const action = f.action.trim();
  if (action) query.action = action.endsWith(".") ? `${action}*` : action;
  if (f.since) query.since = new Date(`${f.since}T00:00:00`).toISOString();
  if (f.until) {
    const end = new Date(`${f.until}T00:00:00`);
    end.setDate(end.getDate() + 1);
    query.until = end.toISOString();
  }
  if (f.since && f.until && f.since > f.until) error = "The start date is after the end date.";
  return error ? { query, error } : { query };
}
