import { describe, expect, it } from "vitest";
import { keyFormErrors, PROVIDER_CHOICES, testPrompt } from "./setup";

describe("keyFormErrors", () => {
  it("needs a key without spaces", () => {
    expect(keyFormErrors({ provider: "openai", apiKey: "", baseUrl: "" })).toEqual({
      apiKey: "Enter the API key.",
    });
    expect(keyFormErrors({ provider: "openai", apiKey: "sk a", baseUrl: "" }).apiKey).toBe(
      "An API key has no spaces.",
    );
    expect(keyFormErrors({ provider: "openai", apiKey: " sk-1 ", baseUrl: "" })).toEqual({});
  });

  it("needs a base URL for Azure and compatible servers, and a valid http(s) one when given", () => {
    expect(keyFormErrors({ provider: "azure", apiKey: "k", baseUrl: "" }).baseUrl).toBe(
      "This provider needs its base URL.",
    );
    expect(
      keyFormErrors({
        provider: "openai_compatible",
        apiKey: "k",
        baseUrl: "http://127.0.0.1:8080/v1",
      }),
    ).toEqual({});
    expect(keyFormErrors({ provider: "openai", apiKey: "k", baseUrl: "not a url" }).baseUrl).toBe(
      "Not a valid URL.",
    );
    expect(keyFormErrors({ provider: "openai", apiKey: "k", baseUrl: "ftp://x" }).baseUrl).toBe(
      "Use an http(s) URL.",
    );
  });

  it("offers every chat provider the server accepts with the right base URL rule", () => {
    const rules = Object.fromEntries(PROVIDER_CHOICES.map((c) => [c.id, c.baseUrl]));
    expect(rules).toEqual({
      openai: "optional",
      anthropic: "optional",
      openai_compatible: "required",
      azure: "required",
      qwen: "optional",
      gemini: "optional",
      bedrock: "optional",
    });
  });
});

describe("testPrompt", () => {
  it("differs per nonce so no cache can answer the test", () => {
    expect(testPrompt("a")).not.toBe(testPrompt("b"));
    expect(testPrompt("a")).toContain("OK");
  });
});
