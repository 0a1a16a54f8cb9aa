// The sandbox provider's checkout: the amount comes from the query (the platform's own figure is
// what the webhook applies); each button asks the provider's side to settle and call the webhook.
"use strict";
const params = new URLSearchParams(location.search);
const topupId = location.pathname.split("/").pop();
const cents = Number(params.get("amount_cents") || 0);
document.getElementById("amount").textContent = `$${(cents / 100).toFixed(2)}`;
const back = params.get("return");
if (back && back.startsWith("/")) document.getElementById("back").href = back;
window.checkout = { done: null };
document.querySelectorAll("button[data-outcome]").forEach((button) => button.addEventListener("click", async () => {
  const out = document.getElementById("result");
  out.textContent = "…";
  const r = await fetch(`/sandbox/v1/charges/${topupId}/${button.dataset.outcome}`, { method: "POST" });
  const body = await r.json();
  const ok = r.ok && body.webhook_status === 200;
  out.textContent = ok ? `${body.event}: the platform confirmed it.` : `refused: ${body.webhook?.detail || body.detail || r.status}`;
  window.checkout.done = { outcome: button.dataset.outcome, ok, body };
  if (ok && button.dataset.outcome === "pay" && back && back.startsWith("/")) setTimeout(() => { location.href = back; }, 800);
}));
