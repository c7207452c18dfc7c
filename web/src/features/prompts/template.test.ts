import { describe, expect, it } from "vitest";
import { extractVariables, renderTemplate, variableLabel } from "./template";

describe("extractVariables", () => {
  it("finds distinct names in order, in any script", () => {
    expect(extractVariables("Write about {topic} for {audience}; {topic} again")).toEqual([
      "topic",
      "audience",
    ]);
    expect(extractVariables("Расскажи про {тема} и {название_продукта}")).toEqual([
      "тема",
      "название_продукта",
    ]);
    expect(extractVariables("{item_2}")).toEqual(["item_2"]);
  });

  it("ignores escaped braces and anything that is not a name", () => {
    expect(extractVariables("{{literal}} {} {a b} {x-y} { spaced } lone { and }")).toEqual([]);
    // as the server reads it: "{{" then "{name}" then "}}"
    expect(extractVariables("{{{name}}}")).toEqual(["name"]);
    expect(renderTemplate("{{{name}}}", { name: "X" }).text).toBe("{X}");
    expect(extractVariables("{{ {name} }}")).toEqual(["name"]);
  });
});

describe("renderTemplate", () => {
  it("fills values and turns doubled braces into single ones", () => {
    expect(renderTemplate("Hi {name}, {{ok}}", { name: "Ann" })).toEqual({
      text: "Hi Ann, {ok}",
      missing: [],
    });
  });

  it("leaves missing or empty variables as written and lists them", () => {
    expect(renderTemplate("{a} {b} {a}", { b: "" })).toEqual({
      text: "{a} {b} {a}",
      missing: ["a", "b"],
    });
  });

  it("never reads braces inside a value as a variable", () => {
    expect(renderTemplate("{x}", { x: "{y}" }).text).toBe("{y}");
  });
});

describe("variableLabel", () => {
  it("makes a name readable", () => {
    expect(variableLabel("product_name")).toBe("Product name");
    expect(variableLabel("тема")).toBe("Тема");
    expect(variableLabel("_")).toBe("_");
  });
});
