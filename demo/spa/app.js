// Example single-page app for allaccess-api: sign-in with PKCE, linked accounts, proxy, refresh, logout.
//
// The app talks only to its own origin: the API under /api/v1/ and the provider pages the
// browser is sent to. It keeps the pending flow (state and PKCE verifier) and the JWTs in
// sessionStorage, so they live as long as this tab and never reach another tab or a cookie.
"use strict";

const API_ROOT = "/api/v1/";
const CALLBACK_PATH = "/callback";
const REDIRECT_URI = window.location.origin + CALLBACK_PATH;
const FLOW_KEY = "allaccess.flow";
const TOKENS_KEY = "allaccess.tokens";
const NOTICE_KEY = "allaccess.notice";

// One failed call: the HTTP status and the API's error list ({code, detail, attr}).
class ApiError extends Error {
  constructor(status, errors) {
    super(errors.map((error) => `${error.code}: ${error.detail}`).join("; "));
    this.status = status;
    this.errors = errors;
  }
}

// An error the app itself detects, shown in the same form as the API's errors.
function appError(code, detail) {
  return new ApiError(0, [{ code, detail, attr: null }]);
}

// ---------------------------------------------------------------------------
// PKCE (RFC 7636): a random verifier and its S256 challenge, made with Web Crypto.

function base64url(bytes) {
  let binary = "";
  for (const byte of bytes) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function makeVerifier() {
  // 32 random bytes give a 43-character verifier, the minimum length RFC 7636 allows.
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function s256Challenge(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

// ---------------------------------------------------------------------------
// Storage of the pending flow and the JWTs.

function readJson(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}

function loadTokens() {
  return readJson(TOKENS_KEY);
}

function saveTokens(access, refresh) {
  sessionStorage.setItem(TOKENS_KEY, JSON.stringify({ access, refresh }));
}

function clearTokens() {
  sessionStorage.removeItem(TOKENS_KEY);
}

// The payload of a JWT, read without checking its signature: only for showing the expiry.
function jwtPayload(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------------------
// API calls.

async function parseBody(response) {
  const text = await response.text();
  const isJson = (response.headers.get("Content-Type") || "").includes("json");
  if (!text || !isJson) {
    return text;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function errorsOf(status, body) {
  if (body && Array.isArray(body.errors)) {
    return body.errors;
  }
  const detail = typeof body === "string" && body ? body.slice(0, 300) : `HTTP ${status}`;
  return [{ code: `http_${status}`, detail, attr: null }];
}

// Send one request to the API. With `auth`, the access JWT goes in the Authorization header,
// and a 401 leads to one refresh of the JWTs and one retry.
async function api(method, path, { body, auth = false, retried = false } = {}) {
  const headers = { Accept: "application/json" };
  const tokens = loadTokens();
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  if (auth && tokens) {
    headers.Authorization = `Bearer ${tokens.access}`;
  }

  const response = await fetch(API_ROOT + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
  });
  const data = await parseBody(response);

  if (response.status === 401 && auth && tokens && !retried) {
    await refreshTokens();
    return api(method, path, { body, auth, retried: true });
  }
  if (!response.ok) {
    throw new ApiError(response.status, errorsOf(response.status, data));
  }
  return data;
}

async function refreshTokens() {
  const tokens = loadTokens();
  if (!tokens) {
    throw appError("not_signed_in", "There is no refresh token: sign in first.");
  }
  try {
    const refreshed = await api("POST", "auth/refresh/", { body: { refresh: tokens.refresh } });
    saveTokens(refreshed.access, refreshed.refresh);
  } catch (error) {
    if (error.status === 401) {
      clearTokens();
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------
// Starting and finishing a flow.

// Start a sign-in flow, or a link flow when signed in, and send the browser to the provider.
async function startFlow(providerName) {
  const verifier = makeVerifier();
  const signedIn = loadTokens() !== null;
  const started = await api("POST", `providers/${encodeURIComponent(providerName)}/authorize/`, {
    body: {
      redirect_uri: REDIRECT_URI,
      code_challenge: await s256Challenge(verifier),
      code_challenge_method: "S256",
    },
    auth: signedIn,
  });
  sessionStorage.setItem(
    FLOW_KEY,
    JSON.stringify({ provider: providerName, state: started.state, verifier, link: signedIn }),
  );
  window.location.assign(started.authorization_url);
}

// Build the callback request from the redirect's query: OAuth 2.0 / OpenID Connect `code`
// (and `iss`, RFC 9207), OAuth 1.0a `oauth_token` and `oauth_verifier`, or an error.
function callbackBody(params, flow) {
  const body = { state: params.get("state"), code_verifier: flow.verifier };
  if (params.has("error")) {
    body.error = params.get("error");
    if (params.has("error_description")) {
      body.error_description = params.get("error_description");
    }
    return body;
  }
  if (params.has("denied")) {
    // An OAuth 1.0a provider redirects with `denied` when the user refuses.
    body.error = "denied";
    return body;
  }
  for (const name of ["code", "iss", "oauth_token", "oauth_verifier"]) {
    if (params.has(name)) {
      body[name] = params.get(name);
    }
  }
  return body;
}

async function finishFlow() {
  const params = new URLSearchParams(window.location.search);
  // Drop the code and state from the address bar and the tab's history.
  window.history.replaceState(null, "", CALLBACK_PATH);

  const flow = readJson(FLOW_KEY);
  sessionStorage.removeItem(FLOW_KEY);
  if (!flow) {
    throw appError("no_pending_flow", "This tab started no sign-in; start again from the app.");
  }
  if (params.get("state") !== flow.state) {
    throw appError("state_mismatch", "The state in the redirect is not the one this tab stored; start again.");
  }

  const result = await api("POST", `providers/${encodeURIComponent(flow.provider)}/callback/`, {
    body: callbackBody(params, flow),
  });
  saveTokens(result.access, result.refresh);
  const action = flow.link ? `Linked ${result.account.provider}` : `Signed in with ${result.account.provider}`;
  const created = result.user_created ? " (new user)" : "";
  sessionStorage.setItem(NOTICE_KEY, `${action} as ${result.user.username}${created}.`);
  window.location.replace("/");
}

// ---------------------------------------------------------------------------
// Rendering. Every value from the API goes in through textContent, never as HTML.

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) {
    node.textContent = text;
  }
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, value);
  }
  return node;
}

function showErrors(error) {
  const errors = error instanceof ApiError
    ? error.errors
    : [{ code: "network_error", detail: String(error.message || error), attr: null }];
  const list = document.getElementById("error-list");
  list.replaceChildren();
  for (const item of errors) {
    const entry = element("li", undefined, { "data-code": item.code });
    const status = error.status ? `HTTP ${error.status} ` : "";
    entry.append(status, element("code", item.code), ` ${item.detail}`);
    if (item.attr) {
      entry.append(` (field ${item.attr})`);
    }
    list.append(entry);
  }
  document.getElementById("errors").hidden = false;
}

function clearErrors() {
  document.getElementById("error-list").replaceChildren();
  document.getElementById("errors").hidden = true;
}

function showNotice() {
  const text = sessionStorage.getItem(NOTICE_KEY);
  sessionStorage.removeItem(NOTICE_KEY);
  const notice = document.getElementById("notice");
  notice.textContent = text || "";
  notice.hidden = !text;
}

function providerButton(provider, action, label) {
  const button = element("button", label, {
    type: "button",
    "data-action": action,
    "data-provider": provider.name,
  });
  return element("li").appendChild(button).parentNode;
}

function renderUser(user) {
  document.getElementById("user-username").textContent = user.username;
  document.getElementById("user-name").textContent = `${user.first_name} ${user.last_name}`.trim() || "—";
  document.getElementById("user-email").textContent = user.email || "—";
  document.getElementById("user-id").textContent = String(user.id);
  const expiry = jwtPayload(loadTokens().access).exp;
  document.getElementById("access-expires").textContent = expiry
    ? new Date(expiry * 1000).toLocaleTimeString()
    : "—";
}

function renderAccounts(accounts) {
  const rows = document.getElementById("account-rows");
  rows.replaceChildren();
  for (const account of accounts) {
    const row = element("tr", undefined, { "data-account": String(account.id) });
    row.append(
      element("td", account.provider),
      element("td", account.identifier),
      element("td", account.status),
      element("td", new Date(account.created).toLocaleString()),
    );
    const actions = element("td");
    const buttons = element("span", undefined, { class: "buttons" });
    buttons.append(
      element("button", "Call API", { type: "button", "data-action": "proxy", "data-account": String(account.id) }),
      element("button", "Unlink", {
        type: "button",
        class: "secondary",
        "data-action": "unlink",
        "data-account": String(account.id),
      }),
    );
    actions.append(buttons);
    row.append(actions);
    rows.append(row);
  }
}

async function renderSignedIn(providers) {
  document.getElementById("signed-out").hidden = true;
  document.getElementById("signed-in").hidden = false;

  renderUser(await api("GET", "auth/me/", { auth: true }));
  const links = document.getElementById("link-providers");
  links.replaceChildren(...providers.map((provider) => providerButton(provider, "link", `Link ${provider.display_name}`)));
  // Shown last: the accounts endpoint may fail on its own without hiding the rest.
  renderAccounts(await api("GET", "accounts/", { auth: true }));
}

function renderSignedOut(providers) {
  document.getElementById("signed-in").hidden = true;
  document.getElementById("signed-out").hidden = false;
  document.getElementById("providers-empty").hidden = providers.length > 0;
  const list = document.getElementById("sign-in-providers");
  list.replaceChildren(
    ...providers.map((provider) => providerButton(provider, "sign-in", `Sign in with ${provider.display_name}`)),
  );
}

async function render() {
  const providers = await api("GET", "providers/");
  if (!loadTokens()) {
    renderSignedOut(providers);
    return;
  }
  try {
    await renderSignedIn(providers);
  } catch (error) {
    // A rejected refresh token clears the JWTs: show the sign-in buttons with the error.
    if (!loadTokens()) {
      renderSignedOut(providers);
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------
// Actions.

async function callProxy(accountId) {
  const path = document.getElementById("proxy-path").value.replace(/^\/+/, "");
  const response = await fetch(`${API_ROOT}accounts/${accountId}/proxy/${path}`, {
    headers: { Authorization: `Bearer ${loadTokens().access}`, Accept: "application/json" },
    credentials: "omit",
  });
  const body = await parseBody(response);
  document.getElementById("proxy").hidden = false;
  document.getElementById("proxy-status").textContent = `HTTP ${response.status}`;
  document.getElementById("proxy-output").textContent =
    typeof body === "string" ? body : JSON.stringify(body, null, 2);
  if (response.status === 401) {
    await refreshTokens();
    return callProxy(accountId);
  }
  if (isApiError(body)) {
    // The API's own error (such as reauthorization_required), not a provider response.
    throw new ApiError(response.status, body.errors);
  }
}

// The API's errors have the drf-standardized-errors envelope; a provider body that merely
// has an "errors" list (GitHub's 422, Twitter's v1.1 errors) is shown as the provider's response.
function isApiError(body) {
  return Boolean(body) && Array.isArray(body.errors)
    && ["validation_error", "client_error", "server_error"].includes(body.type);
}

async function unlink(accountId) {
  await api("DELETE", `accounts/${accountId}/`, { auth: true });
  sessionStorage.setItem(NOTICE_KEY, "Account unlinked.");
}

async function logout() {
  const tokens = loadTokens();
  clearTokens();
  if (tokens) {
    await api("POST", "auth/logout/", { body: { refresh: tokens.refresh } });
  }
  sessionStorage.setItem(NOTICE_KEY, "Logged out.");
}

async function refreshAndNote() {
  await refreshTokens();
  sessionStorage.setItem(NOTICE_KEY, "Tokens refreshed: the old refresh token no longer works.");
}

// Run one user action, show its errors, and render the page again (except after leaving it).
async function runAction(button, action) {
  clearErrors();
  button.disabled = true;
  try {
    const leftPage = await action();
    if (leftPage !== true) {
      // The notice comes last, so a visible notice means the page shows the new state.
      try {
        await render();
      } finally {
        showNotice();
      }
    }
  } catch (error) {
    showErrors(error);
  } finally {
    button.disabled = false;
  }
}

function onClick(event) {
  const button = event.target.closest("button");
  if (!button) {
    return;
  }
  const { action, provider, account } = button.dataset;
  if (button.id === "refresh") {
    runAction(button, refreshAndNote);
  } else if (button.id === "logout") {
    runAction(button, logout);
  } else if (action === "sign-in" || action === "link") {
    runAction(button, async () => {
      await startFlow(provider);
      return true;
    });
  } else if (action === "proxy") {
    runAction(button, async () => {
      await callProxy(account);
      return true;
    });
  } else if (action === "unlink") {
    runAction(button, () => unlink(account));
  }
}

async function main() {
  if (window.location.pathname === CALLBACK_PATH) {
    try {
      await finishFlow();
    } catch (error) {
      document.getElementById("callback-progress").textContent = "The sign-in failed.";
      showErrors(error);
    }
    return;
  }

  document.addEventListener("click", onClick);
  try {
    await render();
  } catch (error) {
    showErrors(error);
  }
  showNotice();
}

main();
