// The trust-and-safety console: the hold queue live over Socket.IO (/console), alerts, a user's
// history, the audit trail and charts, all from /v1/console (analysts and admins only).
// The token comes in the URL fragment (#token=...), never sent to a server but as a header.
import { acknowledge, alerts, auditCsv, auditTrail, banUser, charts, decideChat, decideGift, liftPlatformBan, queue, timeoutUser, userView } from "platform-api";
import { call, session } from "./session.js";

const token = session.token();
const me = (session.claims() || {}).sub || ""; // shown, never trusted by the server
const KINDS = ["ban", "unban", "timeout", "delete_message", "set_modes", "set_banned_terms", "approve_held",
  "deny_held", "add_moderator", "remove_moderator", "close_room", "approve_gift", "deny_gift", "platform_ban",
  "platform_unban", "ack_alert"];
const state = { items: [], selected: 0, decided: {}, lastError: null, connected: false, charts: {} };
window.consoleState = state;

const $ = (id) => document.getElementById(id);
const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");

function status(text, error = false) {
  const el = $("status");
  el.textContent = text;
  el.className = error ? "err" : "";
  if (error) state.lastError = text;
}

// A filter form's fields as query parameters (the empty ones left out).
function query(form) {
  const params = {};
  for (const [name, value] of new FormData(form)) {
    if (!value) continue;
    params[name] = form.elements[name].type === "datetime-local" ? new Date(value).toISOString() : value;
  }
  return params;
}

// -- tabs ----------------------------------------------------------------------------------
const loaders = { queue: loadQueue, alerts: loadAlerts, audit: loadAudit, charts: loadCharts, user: () => {} };
function show(tab) {
  document.querySelectorAll("nav button").forEach((b) => b.classList.toggle("on", b.dataset.tab === tab));
  document.querySelectorAll("main section").forEach((s) => s.classList.toggle("on", s.id === tab));
  loaders[tab]().catch((e) => status(e.message, true));
}
document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));

// -- the queue -----------------------------------------------------------------------------
async function loadQueue() {
  const body = await call(queue({ query: { limit: 200 } }));
  state.items = body.items;
  state.selected = Math.min(state.selected, Math.max(0, state.items.length - 1));
  renderQueue();
}

function renderQueue(fresh) {
  $("count").textContent = state.items.length ? `(${state.items.length})` : "";
  $("queue-rows").innerHTML = state.items.map((item, i) => {
    const decided = state.decided[item.id];
    const cls = [i === state.selected ? "sel" : "", item.id === fresh ? "new" : "", decided ? "done" : ""].join(" ");
    const actions = item.kind === "chat" ? ["approve", "deny", "delete", "timeout", "ban"] : ["approve", "deny"];
    return `<tr class="${cls}" data-id="${esc(item.id)}" data-kind="${item.kind}">
      <td>${when(item.held_at)}</td><td><span class="tag ${item.kind}">${item.kind}</span></td>
      <td>${esc(item.room_id)}</td><td><a href="#" data-user="${esc(item.user_id)}">${esc(item.user_id)}</a></td>
      <td class="text">${esc(item.text)}</td><td>${item.score ?? ""} ${esc(item.reason)}</td>
      <td>${decided ? `<span class="outcome">${esc(decided)}</span>` : actions.map((a) => `<button class="act" data-act="${a}">${a}</button>`).join("")}</td></tr>`;
  }).join("");
}

$("queue-rows").addEventListener("click", (event) => {
  const row = event.target.closest("tr");
  if (!row) return;
  state.selected = state.items.findIndex((i) => i.id === row.dataset.id);
  if (event.target.dataset.act) act(event.target.dataset.act);
  else if (event.target.dataset.user) { event.preventDefault(); openUser(event.target.dataset.user); }
  else renderQueue();
});

async function act(action) {
  const item = state.items[state.selected];
  if (!item || state.decided[item.id]) return;
  try {
    if (action === "timeout" || action === "ban") {
      const path = { user_id: item.user_id };
      const reason = "from the hold queue";
      await call(action === "timeout" ? timeoutUser({ path, body: { room_id: item.room_id, duration_s: 600, reason } })
        : banUser({ path, body: { room_id: item.room_id, reason } }));
      status(`${item.user_id} ${action === "ban" ? "banned" : "timed out"} in ${item.room_id}`);
      return;
    }
    await call(item.kind === "chat" ? decideChat({ path: { message_id: item.id, decision: action } })
      : decideGift({ path: { gift_id: item.id, decision: action } }));
    settle(item.id, `${action === "approve" ? "approved" : action === "deny" ? "denied" : "deleted"} by you`);
    status(`${item.kind} ${item.id.slice(0, 8)}: ${action}`);
  } catch (e) {
    if (e.status === 409) settle(item.id, e.message);
    status(e.message, true);
  }
}

function settle(id, outcome) {
  state.decided[id] = outcome;
  renderQueue();
  setTimeout(() => {
    state.items = state.items.filter((i) => i.id !== id);
    state.selected = Math.min(state.selected, Math.max(0, state.items.length - 1));
    renderQueue();
  }, 4000);
}

document.addEventListener("keydown", (event) => {
  if (!$("queue").classList.contains("on") || ["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName)) return;
  const keys = { a: "approve", d: "deny", x: "delete", t: "timeout", b: "ban" };
  if (event.key === "j") state.selected = Math.min(state.items.length - 1, state.selected + 1);
  else if (event.key === "k") state.selected = Math.max(0, state.selected - 1);
  else if (event.key === "u" && state.items[state.selected]) return openUser(state.items[state.selected].user_id);
  else if (keys[event.key]) return act(keys[event.key]);
  else return;
  renderQueue();
});

// -- live ----------------------------------------------------------------------------------
const socket = io("/console", { auth: { token }, transports: ["websocket"] });
socket.on("connect", () => { state.connected = true; $("live").textContent = "live"; $("live").className = "ok"; loadQueue().catch(() => {}); });
socket.on("disconnect", () => { state.connected = false; $("live").textContent = "offline"; $("live").className = ""; });
socket.on("connect_error", (e) => status(`live feed: ${e.message}`, true));
socket.on("hold", (item) => {
  if (state.items.some((i) => i.id === item.id)) return;
  state.items.unshift(item);
  if (state.items.length > 1) state.selected += 1;
  renderQueue(item.id);
});
socket.on("decided", (note) => {
  const by = note.decided_by === me ? "you" : note.decided_by;
  if (state.items.some((i) => i.id === note.id) && !state.decided[note.id]) settle(note.id, `${note.decision} by ${by}`);
});

// -- alerts --------------------------------------------------------------------------------
async function loadAlerts() {
  const body = await call(alerts({ query: query($("alert-filter")) }));
  $("alert-rows").innerHTML = body.items.map((a) => `<tr data-alert="${esc(a.alert_id)}">
    <td>${when(a.occurred_at)}</td><td>${esc(a.source)}${a.shadow ? " (shadow)" : ""}</td><td>${esc(a.rule)}</td>
    <td>${esc(a.room_id || a.subject_id)}</td><td>${a.observed} / ${a.threshold}</td><td>${esc(a.detail)}</td>
    <td>${a.ack ? `${esc(a.ack.by)}: ${esc(a.ack.note)}` : `<button class="act" data-ack="${esc(a.alert_id)}">ack</button>`}</td></tr>`).join("");
}
$("alert-filter").addEventListener("submit", (e) => { e.preventDefault(); loadAlerts().catch((x) => status(x.message, true)); });
$("alert-rows").addEventListener("click", async (event) => {
  const id = event.target.dataset.ack;
  if (!id) return;
  const note = prompt("Note for this acknowledgement") ?? "";
  try { await call(acknowledge({ path: { alert_id: id }, body: { note } })); await loadAlerts(); }
  catch (e) { status(e.message, true); }
});

// -- a user --------------------------------------------------------------------------------
function table(rows, columns) {
  if (!rows.length) return "<p>none</p>";
  return `<table><thead><tr>${columns.map((c) => `<th>${c}</th>`).join("")}</tr></thead><tbody>${
    rows.map((r) => `<tr>${columns.map((c) => `<td>${esc(c.endsWith("_at") ? when(r[c]) : r[c])}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
}
async function openUser(userId) {
  show("user");
  $("user-form").elements.user_id.value = userId;
  try {
    const u = await call(userView({ path: { user_id: userId } }));
    $("user-view").innerHTML = `<h3>${esc(u.user_id)} ${u.platform_banned ? "· banned from the platform" : ""}</h3>
      <h3>Messages</h3>${table(u.messages, ["occurred_at", "room_id", "event_type", "text", "reason", "score"])}
      <h3>Moderation</h3>${table(u.moderation, ["occurred_at", "room_id", "kind", "actor_id", "reason"])}
      <h3>Gifts</h3>${table(u.gifts, ["occurred_at", "room_id", "creator_id", "gift_sku", "total_coins", "event_type", "reason"])}
      <h3>Top-ups</h3>${table(u.topups, ["occurred_at", "event_type", "amount_cents", "coins", "reason"])}
      <h3>Fraud signals</h3>${table(u.fraud_alerts, ["occurred_at", "rule", "outcome", "observed", "threshold"])}`;
  } catch (e) { status(e.message, true); }
}
$("user-form").addEventListener("submit", (e) => { e.preventDefault(); openUser(e.target.elements.user_id.value); });
async function platformBan(ban) {
  const userId = $("user-form").elements.user_id.value;
  if (!userId) return;
  try {
    const path = { user_id: userId };
    await call(ban ? banUser({ path, body: { reason: prompt("Reason") ?? "" } }) : liftPlatformBan({ path }));
    status(`${userId}: ${ban ? "banned from the platform" : "platform ban lifted"}`);
    await openUser(userId);
  } catch (e) { status(e.message, true); }
}
$("platform-ban").addEventListener("click", () => platformBan(true));
$("platform-unban").addEventListener("click", () => platformBan(false));

// -- the audit trail -----------------------------------------------------------------------
$("audit-filter").elements.kind.innerHTML += KINDS.map((k) => `<option>${k}</option>`).join("");
async function loadAudit() {
  const body = await call(auditTrail({ query: query($("audit-filter")) }));
  $("audit-rows").innerHTML = body.items.map((r) => `<tr><td>${when(r.occurred_at)}</td><td>${esc(r.kind)}</td>
    <td>${esc(r.room_id)}</td><td>${esc(r.actor_id)} (${esc(r.actor_role)})</td><td>${esc(r.target_user_id)}</td><td>${esc(r.reason)}</td></tr>`).join("");
}
$("audit-filter").addEventListener("submit", (e) => { e.preventDefault(); loadAudit().catch((x) => status(x.message, true)); });
$("audit-csv").addEventListener("click", async () => {
  try {
    const csv = await call(auditCsv({ query: query($("audit-filter")), parseAs: "text" }));
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
    link.download = "audit.csv";
    link.click();
    state.lastCsv = csv;
  } catch (e) { status(e.message, true); }
});

// -- charts (Chart.js, from npm) -----------------------------------------------------------
Chart.defaults.color = "#aab";
function chart(id, config) {
  state.charts[id]?.destroy();
  state.charts[id] = new Chart($(id), { ...config, options: { maintainAspectRatio: false, animation: false, ...(config.options || {}) } });
}
async function loadCharts() {
  const c = await call(charts({ query: { hours: 24 } }));
  chart("chart-holds", { type: "line", data: { labels: c.holds_per_minute.map((r) => new Date(r.minute).toLocaleTimeString()),
    datasets: [{ label: "holds per minute", data: c.holds_per_minute.map((r) => r.holds) }] } });
  const hours = [...new Set(c.actions_per_hour.map((r) => r.hour))];
  const kinds = [...new Set(c.actions_per_hour.map((r) => r.kind))];
  chart("chart-actions", { type: "bar", options: { scales: { x: { stacked: true }, y: { stacked: true } } },
    data: { labels: hours.map((h) => new Date(h).toLocaleTimeString()), datasets: kinds.map((k) => ({ label: k,
      data: hours.map((h) => c.actions_per_hour.find((r) => r.hour === h && r.kind === k)?.actions || 0) })) } });
  chart("chart-fraud", { type: "bar", data: { labels: c.fraud_alerts_by_rule.map((r) => r.rule),
    datasets: [{ label: "enforced", data: c.fraud_alerts_by_rule.map((r) => r.enforced) },
      { label: "shadow", data: c.fraud_alerts_by_rule.map((r) => r.in_shadow) }] } });
  chart("chart-rooms", { type: "bar", options: { indexAxis: "y" }, data: { labels: c.flagged_rooms.map((r) => r.room_id),
    datasets: [{ label: "held", data: c.flagged_rooms.map((r) => r.held) }, { label: "refused", data: c.flagged_rooms.map((r) => r.refused) }] } });
  state.chartsLoaded = true;
}

$("who").textContent = token ? me : "no token: open the console with #token=<analyst token>";
loadQueue().catch((e) => status(e.message, true));
