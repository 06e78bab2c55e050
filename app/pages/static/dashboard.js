// The dashboard's few enhancements: actions through the public API (key as an X-API-Key header,
// kept in this tab's sessionStorage only), live updates of a running instance, and the start
// form's workflow menu. Every page reads fine without it.
"use strict";

const KEY = "dapr-workflow-service.api-key";
const FINISHED = new Set(["COMPLETED", "FAILED", "TERMINATED"]);
const keysRequired = document.body.dataset.keysRequired === "true";

function apiKey() {
  return sessionStorage.getItem(KEY) || "";
}

function say(text, problem = false) {
  const notice = document.getElementById("notice");
  const alert = document.getElementById("problem");
  notice.textContent = problem ? "" : text;
  alert.textContent = problem ? text : "";
}

function setUpKeyForm() {
  const form = document.getElementById("key-form");
  if (!form) return;
  form.hidden = false;
  const input = document.getElementById("api-key");
  input.placeholder = apiKey() ? "a key is set for this tab" : "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value) sessionStorage.setItem(KEY, input.value);
    input.value = "";
    input.placeholder = "a key is set for this tab";
    say("API key set for this tab.");
  });
  document.getElementById("forget-key").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    input.placeholder = "";
    say("API key forgotten.");
  });
}

// One field's value as the API wants it, or undefined to leave it out.
function fieldValue(element) {
  const raw = element.value;
  if (raw === "" && element.hasAttribute("data-optional")) return undefined;
  switch (element.dataset.type) {
    case "int":
      return Number.parseInt(raw, 10);
    case "bool":
      return raw === "true";
    case "json":
      return JSON.parse(raw);
    default:
      return raw;
  }
}

function formBody(form, submitter) {
  const body = {};
  for (const element of form.elements) {
    if (!element.name || element.type === "submit") continue;
    const value = fieldValue(element);
    if (value !== undefined) body[element.name] = value;
  }
  if (submitter && submitter.name) body[submitter.name] = fieldValue(submitter);
  return body;
}

async function callApi(method, url, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (apiKey()) headers["X-API-Key"] = apiKey();
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await response.text();
  let answer = {};
  try {
    answer = text ? JSON.parse(text) : {};
  } catch {
    answer = { message: text };
  }
  return { ok: response.ok, status: response.status, answer };
}

async function submitAction(event) {
  event.preventDefault();
  const form = event.currentTarget;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
  let body;
  try {
    body = form.dataset.method === "DELETE" ? undefined : formBody(form, event.submitter);
  } catch (error) {
    say(`Not valid JSON: ${error.message}`, true);
    return;
  }
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => (b.disabled = true));
  try {
    const { ok, status, answer } = await callApi(form.dataset.method, form.dataset.url, body);
    if (!ok) {
      const why = answer.message || `HTTP ${status}`;
      say(status === 401 ? `${why}. Enter an API key above.` : `Refused (${status}): ${why}`, true);
      if (status === 401) document.getElementById("api-key")?.focus();
      return;
    }
    say(answer.message || "Done.");
    if (form.dataset.then === "open") {
      window.location.assign(`/instances/${encodeURIComponent(answer.instance_id)}`);
    } else if (form.dataset.then === "home") {
      window.location.assign("/");
    } else {
      await refreshLive();
    }
  } catch (error) {
    say(`The service did not answer: ${error.message}`, true);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

function wireActions(root) {
  root.querySelectorAll("[data-needs-js]").forEach((element) => (element.hidden = false));
  root.querySelectorAll("form.api-action").forEach((form) => {
    form.addEventListener("submit", submitAction);
  });
}

// A running instance: one loop long-polls its status and redraws the live part when it changes.
// An action's redraw bumps the generation and cuts the current poll short, so the loop drops any
// answer older than the page; a failed poll (503, network) waits, doubling up to 30 s, and goes on.
const BACKOFF_MAX_MS = 30000;
let generation = 0;
let following = false;
let poll = null;

function liveState(live) {
  const state = live.querySelector(".live-state");
  return { status: state.dataset.status, updated: Date.parse(state.dataset.updated) || 0 };
}

async function redrawLive(live) {
  const response = await fetch(`/instances/${encodeURIComponent(live.dataset.instanceId)}/live`);
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const next = document.createElement("template");
  next.innerHTML = await response.text();
  const now = next.content.querySelector(".live-state");
  const shown = live.querySelector(".live-state");
  const same = now && shown && now.dataset.status === shown.dataset.status;
  if (!same || now.dataset.updated !== shown.dataset.updated) {
    const focused = document.activeElement && document.activeElement.id;
    live.replaceChildren(next.content);
    wireActions(live);
    if (focused) document.getElementById(focused)?.focus();
  }
}

// After an action: redraw now, and let the loop go on from what is shown.
async function refreshLive() {
  const live = document.getElementById("live");
  if (!live) return;
  generation += 1;
  if (poll) poll.abort();
  await redrawLive(live);
  followLive();
}

function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function followLive() {
  const live = document.getElementById("live");
  if (!live || following) return;
  following = true;
  const id = encodeURIComponent(live.dataset.instanceId);
  let backoff = 1000;
  try {
    while (!FINISHED.has(liveState(live).status)) {
      const mine = generation;
      poll = new AbortController();
      try {
        const response = await fetch(`/status/${id}?wait=2`, {
          headers: { Accept: "application/json" },
          signal: poll.signal,
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const status = await response.json();
        const shown = liveState(live);
        const updated = Date.parse(status.last_updated_at) || 0;
        const changed = status.runtime_status !== shown.status || updated !== shown.updated;
        if (changed && mine === generation) await redrawLive(live);
        backoff = 1000;
      } catch (error) {
        if (mine !== generation) continue; // an action redrew the page meanwhile
        await pause(backoff);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
    }
  } finally {
    following = false;
    poll = null;
  }
}

function setUpStartForm() {
  const select = document.querySelector("select[data-autosubmit]");
  if (select) select.addEventListener("change", () => select.form.submit());
}

if (keysRequired) setUpKeyForm();
wireActions(document);
setUpStartForm();
followLive();
