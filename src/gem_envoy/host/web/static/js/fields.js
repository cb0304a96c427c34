// A form field for each attribute a driver declares (the required and optional
// AttributeSpecs of GET /api/drivers/{name}): typed by the spec, its default as the
// placeholder, its description and minimum as the hint.
//
// Secure attributes (the host encrypts them: tokens, passwords) are write-only: the field
// says whether a value is set, never what it is; it is never filled from the host, and a
// value typed in is sent once, on save.

import { h } from "./dom.js";

/**
 * spec: an AttributeSpec of the API; required: whether the device needs it.
 * Returns {spec, el, fill(stored), read()}: fill() shows the stored attributes, read()
 * answers the value to send (undefined to leave it unset) or throws an Error saying why not.
 */
export function attributeField(spec, required) {
  const id = `a-${spec.name}`;
  const input = control(spec, id);
  const state = spec.secure ? h("span", { class: "badge", id: `${id}-state` }, "not set") : null;
  let isSet = false;

  const hint = [spec.description];
  if (spec.minimum !== null && spec.minimum !== undefined) hint.push(`At least ${spec.minimum}.`);
  if (spec.secure) hint.push("Kept secret: never shown again.");
  const el = h(
    "div",
    { class: spec.secure ? "wide" : "", dataset: { attribute: spec.name } },
    h(
      "label",
      { for: id },
      h("span", { class: "mono" }, spec.name),
      required ? h("span", { class: "required" }, " required") : null,
      h("span", { class: "hint" }, hint.filter(Boolean).join(" ")),
    ),
    state && h("div", { class: "secret-state" }, "Current value:", state),
    input,
  );

  function fill(stored) {
    const value = stored[spec.name];
    if (spec.secure) {
      isSet = spec.name in stored; // the host answers a mask: only presence is known
      state.textContent = isSet ? "set" : "not set";
      state.className = isSet ? "badge ok" : "badge warn";
      input.value = "";
      input.placeholder = isSet ? "Type a new value to replace it" : "";
    } else if (spec.type === "bool") {
      input.value = typeof value === "boolean" ? String(value) : "";
    } else {
      input.value = value === undefined || value === null ? "" : String(value);
    }
  }

  function read() {
    const text = input.value.trim();
    if (text === "") {
      if (required && !isSet) throw new Error(`${spec.name} is required.`);
      return undefined;
    }
    if (spec.type === "bool") return text === "true";
    if (spec.type !== "int" && spec.type !== "float") return text;
    const number = Number(text);
    if (spec.type === "int" && !Number.isInteger(number)) throw new Error(`${spec.name} must be a whole number.`);
    if (!Number.isFinite(number)) throw new Error(`${spec.name} must be a number.`);
    if (spec.minimum !== null && spec.minimum !== undefined && number < spec.minimum)
      throw new Error(`${spec.name} must be at least ${spec.minimum}.`);
    return number;
  }

  return { spec, el, fill, read, clearSecret: () => spec.secure && (input.value = "") };
}

function control(spec, id) {
  const placeholder = spec.default === null || spec.default === undefined ? "" : String(spec.default);
  const common = { id, name: spec.name, autocomplete: "off", spellcheck: "false" };
  if (spec.type === "bool") {
    return h(
      "select",
      { id, name: spec.name },
      h("option", { value: "" }, placeholder ? `default (${placeholder})` : "not set"),
      h("option", { value: "true" }, "true"),
      h("option", { value: "false" }, "false"),
    );
  }
  if (spec.type === "int" || spec.type === "float") {
    return h("input", {
      ...common,
      type: "number",
      step: spec.type === "int" ? 1 : "any",
      min: spec.minimum ?? undefined,
      inputmode: spec.type === "int" ? "numeric" : "decimal",
      placeholder,
    });
  }
  if (spec.secure) {
    // "new-password" keeps the browser from offering a saved login here.
    return h("input", { ...common, type: "password", autocomplete: "new-password" });
  }
  return h("input", { ...common, placeholder });
}
