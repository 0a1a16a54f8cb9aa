// The signed-in session of this tab (sessionStorage): the token the API issued at sign-in, and
// the calls every page makes with it. A token in the URL fragment (#token=...) wins, so links
// from the demo and the tests keep working.
"use strict";
window.session = (() => {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) sessionStorage.setItem("token", fromHash);
  const token = () => sessionStorage.getItem("token") || "";
  const claims = () => {
    try { return JSON.parse(atob(token().split(".")[0].replace(/-/g, "+").replace(/_/g, "/"))); } catch (_) { return null; }
  };
  async function api(method, path, body, extra = {}) {
    const headers = { "Content-Type": "application/json", ...extra };
    if (token()) headers.Authorization = `Bearer ${token()}`;
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const error = new Error((data && data.detail) || `${response.status} ${response.statusText}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }
  return {
    token, claims, api,
    signedIn: () => Boolean(claims() && claims().exp * 1000 > Date.now()),
    save: (t) => sessionStorage.setItem("token", t),
    signOut: () => sessionStorage.removeItem("token"),
    async topUp(amountCents, returnTo) {
      const made = await api("POST", "/v1/wallet/topups", { amount_cents: amountCents, payment_instrument_id: "sandbox-card" },
        { "Idempotency-Key": crypto.randomUUID() });
      location.href = `/sandbox/checkout/${made.topup_id}?amount_cents=${amountCents}&return=${encodeURIComponent(returnTo)}`;
    },
  };
})();
