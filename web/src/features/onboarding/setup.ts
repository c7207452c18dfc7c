/** Logic of the first-run setup (tested in setup.test.ts). */
import type { Schemas } from "../../api/client";

export type ProviderId = Schemas["ProviderKeyCreate"]["provider"];

export type ProviderChoice = {
  id: ProviderId;
  label: string;
  /** base_url: required, optional or hidden */
  baseUrl: "required" | "optional";
  baseUrlHint: string;
  keyHint: string;
  /** a model to try when the catalog has none for the provider */
  fallbackModel?: string;
};

export const PROVIDER_CHOICES: ProviderChoice[] = [
  {
    id: "openai",
    label: "OpenAI",
    baseUrl: "optional",
    baseUrlHint: "Leave empty for api.openai.com.",
    keyHint: "Starts with sk-. From platform.openai.com → API keys.",
  },
  {
    id: "anthropic",
    label: "Anthropic",
    baseUrl: "optional",
    baseUrlHint: "Leave empty for api.anthropic.com.",
    keyHint: "Starts with sk-ant-. From console.anthropic.com → API keys.",
  },
  {
    id: "openai_compatible",
    label: "OpenAI-compatible server (vLLM, Ollama, LM Studio…)",
    baseUrl: "required",
    baseUrlHint: "The server's API root, e.g. http://127.0.0.1:11434/v1.",
    keyHint: "Whatever the server expects; any text if it needs none.",
  },
  {
    id: "azure",
    label: "Azure OpenAI",
    baseUrl: "required",
    baseUrlHint: "Your resource, e.g. https://NAME.openai.azure.com.",
    keyHint: "Key 1 or 2 of the Azure OpenAI resource.",
  },
  {
    id: "qwen",
    label: "Qwen (DashScope)",
    baseUrl: "optional",
    baseUrlHint: "Leave empty for DashScope's international endpoint.",
    keyHint: "A DashScope API key.",
  },
  {
    id: "gemini",
    label: "Google Gemini",
    baseUrl: "optional",
    baseUrlHint: "Leave empty for generativelanguage.googleapis.com.",
    keyHint: "Starts with AIza. From aistudio.google.com → Get API key.",
  },
  {
    id: "bedrock",
    label: "AWS Bedrock",
    baseUrl: "optional",
    baseUrlHint:
      "Leave empty for us-east-1, or https://bedrock-runtime.REGION.amazonaws.com for another region.",
    keyHint: "ACCESS_KEY_ID:SECRET_ACCESS_KEY of an IAM user allowed to invoke models.",
  },
];

/** A key form's problems before sending it (the server checks again). */
export function keyFormErrors(form: { provider: ProviderId; apiKey: string; baseUrl: string }): {
  apiKey?: string;
  baseUrl?: string;
} {
  const out: { apiKey?: string; baseUrl?: string } = {};
  const choice = PROVIDER_CHOICES.find((c) => c.id === form.provider);
  if (!form.apiKey.trim()) out.apiKey = "Enter the API key.";
  else if (/\s/.test(form.apiKey.trim())) out.apiKey = "An API key has no spaces.";
  const url = form.baseUrl.trim();
  if (!url && choice?.baseUrl === "required") out.baseUrl = "This provider needs its base URL.";
  else if (url) {
    try {
      const u = new URL(url);
      if (u.protocol !== "http:" && u.protocol !== "https:") out.baseUrl = "Use an http(s) URL.";
    } catch {
      out.baseUrl = "Not a valid URL.";
    }
  }
  return out;
}

/** One real, tiny, uncached call: the prompt carries a nonce so no cache can answer it. */
export function testPrompt(nonce: string): string {
  return `Reply with the single word OK. (aihub setup check ${nonce})`;
}
