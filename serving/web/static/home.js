// The home page: sign in or up, top up, and the streams live now (refreshed every 5 s).
import { balance, liveNow, signin, signup } from "platform-api";
import { call, session } from "./session.js";

const $ = (id) => document.getElementById(id);
const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
window.homeState = { streams: [], balance: null };

function render() {
  const signedIn = session.signedIn();
  const claims = session.claims();
  $("account").hidden = signedIn;
  for (const id of ["topup", "signout"]) $(id).hidden = !signedIn;
  $("studio").hidden = !(signedIn && claims.roles.includes("creator"));
  $("me").textContent = signedIn ? claims.sub : "";
  if (signedIn) refreshBalance();
}

async function refreshBalance() {
  try {
    const b = await call(balance());
    window.homeState.balance = b.available;
    $("balance").textContent = i18n.t("home.coins", { count: b.available.toLocaleString() }, `${b.available} coins`);
  } catch (e) { $("balance").textContent = ""; }
}

async function refreshStreams() {
  try {
    const { items } = await call(liveNow());
    window.homeState.streams = items;
    $("empty").hidden = items.length > 0;
    $("streams").innerHTML = items.map((s) => `<a class="stream" href="${esc(s.watch_url)}" data-stream="${esc(s.stream_id)}">
      <img src="${esc(s.thumbnail_url)}" alt="" loading="lazy">
      <div><span class="live">${esc(i18n.t("home.live", {}, "LIVE"))}</span> · ${esc(i18n.t("home.watching", { count: s.viewers }, `${s.viewers} watching`))}<br><strong>${esc(s.title)}</strong><br>
      <span class="muted">${esc(s.creator_id)} · ${esc(i18n.t("home.since", { time: new Date(s.started_at).toLocaleTimeString(i18n.lng) }))}</span></div></a>`).join("");
  } catch (e) { $("empty").hidden = false; $("empty").textContent = i18n.t("home.cannot_list", { reason: e.message }); }
}

async function account(form, operation, body) {
  $("account-error").textContent = "";
  try {
    const made = await call(operation({ body }));
    session.save(made.token);
    form.reset();
    render();
  } catch (e) { $("account-error").textContent = e.message; }
}
$("signin").addEventListener("submit", (e) => { e.preventDefault(); const f = new FormData(e.target);
  account(e.target, signin, { username: f.get("username"), password: f.get("password") }); });
$("signup").addEventListener("submit", (e) => { e.preventDefault(); const f = new FormData(e.target);
  account(e.target, signup, { username: f.get("username"), password: f.get("password"), role: f.get("role") }); });
$("signout").addEventListener("click", () => { session.signOut(); render(); });
$("topup").addEventListener("click", () => { $("topup-form").hidden = !$("topup-form").hidden; });
// Dollars as typed, to cents by their digits (no float rounding). What is not a whole number of
// cents, or not a number, goes to the API as it is, and its answer says why it is refused.
function cents(dollars) {
  const exact = /^\s*(\d+)(?:\.(\d{1,2}))?\s*$/.exec(dollars);
  return exact ? Number(exact[1]) * 100 + Number((exact[2] || "").padEnd(2, "0")) : Number(dollars) * 100;
}
$("buy").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("topup-error").textContent = "";
  const form = new FormData(e.target);
  const other = form.get("other").trim();
  try { await session.topUp(other ? cents(other) : Number(form.get("amount_cents")), "/"); }
  catch (err) { $("topup-error").textContent = err.message; }
});
// A thumbnail not there yet (the first seconds on air) is hidden, not shown broken.
document.addEventListener("error", (e) => { if (e.target.tagName === "IMG") e.target.style.visibility = "hidden"; }, true);

$("language").value = i18n.lng;
$("language").addEventListener("change", (e) => i18n.choose(e.target.value));
i18n.ready.then(() => { render(); refreshStreams(); });
render();
refreshStreams();
setInterval(refreshStreams, 5000);
