import { describe, expect, it } from "vitest";
import {
  absoluteLink,
  auditQuery,
  describeAgent,
  limitsForm,
  limitsUpdate,
  monthRange,
  parseGroups,
  ssoForm,
  ssoUpdate,
  type Team,
  teamPowers,
} from "./lib";

const team: Team = {
  id: 3,
  name: "research",
  description: null,
  models: ["gpt-4o-mini"],
  rpm: 10,
  tpm: null,
  budget_usd: 50,
  sso_groups: ["keycloak:/engineering"],
  sso_owner_groups: [],
  spend_usd: 1.5,
  role: "owner",
  created_at: "2026-12-01T00:00:00Z",
  updated_at: "2026-12-01T00:00:00Z",
};

describe("monthRange", () => {
  it("spans the UTC calendar month", () => {
    expect(monthRange(new Date("2026-02-14T23:30:00Z"))).toEqual({
      start: "2026-02-01",
      end: "2026-02-28",
    });
    expect(monthRange(new Date("2024-12-31T23:59:00Z"))).toEqual({
      start: "2024-12-01",
      end: "2024-12-31",
    });
  });
});

describe("absoluteLink", () => {
  it("puts a path under the origin and keeps a full URL", () => {
    expect(absoluteLink("/invitations/abc", "https://hub.example/")).toBe(
      "https://hub.example/invitations/abc",
    );
    expect(absoluteLink("invitations/abc", "http://h")).toBe("http://h/invitations/abc");
    expect(absoluteLink("https://x.example/i/1", "http://h")).toBe("https://x.example/i/1");
  });
});

describe("limitsUpdate", () => {
  it("clears blank limits and never sends the budget for an owner", () => {
    const form = { ...limitsForm(team), rpm: "", models: "a, b", budget: "999" };
    expect(limitsUpdate(team, form, false)).toEqual({
      body: { models: ["a", "b"], rpm: null, tpm: null },
    });
  });
  it("sends a changed budget for an admin, and not an unchanged one", () => {
    expect(limitsUpdate(team, { ...limitsForm(team), budget: "" }, true)).toEqual({
      body: { models: ["gpt-4o-mini"], rpm: 10, tpm: null, budget_usd: null },
    });
    const same = limitsUpdate(team, limitsForm(team), true);
    expect(same).toEqual({ body: { models: ["gpt-4o-mini"], rpm: 10, tpm: null } });
  });
  it("explains bad numbers", () => {
    expect(limitsUpdate(team, { ...limitsForm(team), tpm: "-3" }, false)).toEqual({
      error: "Tokens per minute: a whole number of at least 1.",
    });
    expect(limitsUpdate(team, { ...limitsForm(team), budget: "lots" }, true)).toHaveProperty(
      "error",
    );
  });
});

describe("ssoUpdate", () => {
  it("reads one group per line, keeping commas and colons", () => {
    expect(parseGroups(" a, b \n\nkeycloak:/x\na, b\n")).toEqual(["a, b", "keycloak:/x"]);
  });
  it("sends only the lists that changed", () => {
    expect(ssoUpdate(team, ssoForm(team))).toEqual({ body: {} });
    const form = { ...ssoForm(team), owners: "github:octo-org/leads" };
    expect(ssoUpdate(team, form)).toEqual({
      body: { sso_owner_groups: ["github:octo-org/leads"] },
    });
    expect(ssoUpdate(team, { members: "", owners: "" })).toEqual({ body: { sso_groups: [] } });
  });
  it("explains a name that is too long", () => {
    expect(ssoUpdate(team, { members: "g".repeat(256), owners: "" })).toHaveProperty("error");
  });
});

describe("teamPowers", () => {
  it("gives owners the team and admins the budget", () => {
    expect(teamPowers({ role: "owner" }, false)).toMatchObject({
      manageMembers: true,
      editBudget: false,
      editSso: false,
      remove: false,
    });
    expect(teamPowers({ role: "member" }, false)).toMatchObject({
      manageMembers: false,
      editLimits: false,
      leave: true,
    });
    expect(teamPowers({ role: null }, true)).toMatchObject({
      manageMembers: true,
      editBudget: true,
      editSso: true,
      leave: false,
    });
  });
});

describe("describeAgent", () => {
  it("names browser and system", () => {
    expect(
      describeAgent(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
      ),
    ).toBe("Chrome on Linux");
    expect(
      describeAgent("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Gecko/20100101 Firefox/133.0"),
    ).toBe("Firefox on macOS");
    expect(describeAgent("python-httpx/0.28.1")).toBe("Python");
    expect(describeAgent(null)).toBe("Unknown device");
  });
});

describe("auditQuery", () => {
  it("pages and filters", () => {
    const q = auditQuery({ actor: " 7 ", action: "team.", since: "", until: "" }, 2, 50);
    expect(q).toEqual({ query: { actor: 7, action: "team.*", skip: 100, limit: 50 } });
    expect(
      auditQuery({ actor: "", action: "auth.login", since: "", until: "" }, 0, 10).query,
    ).toEqual({ action: "auth.login", skip: 0, limit: 10 });
  });
  it("makes until inclusive of its whole day", () => {
    const { query } = auditQuery(
      { actor: "", action: "", since: "2026-12-01", until: "2026-12-01" },
      0,
      50,
    );
    expect(query.since).toBeDefined();
    expect(query.until).toBeDefined();
    const span = Date.parse(query.until as string) - Date.parse(query.since as string);
    expect(span).toBe(24 * 3600 * 1000);
  });
  it("refuses a non-numeric actor and a reversed range", () => {
    expect(auditQuery({ actor: "bob", action: "", since: "", until: "" }, 0, 50).error).toMatch(
      /user id/,
    );
    expect(
      auditQuery({ actor: "", action: "", since: "2026-12-05", until: "2026-12-01" }, 0, 50).error,
    ).toMatch(/after/);
  });
});
