// The signed-in session of this tab (sessionStorage): the token the API issued at sign-in, which
// the generated API client (platform-api) sends on every call. A token in the URL fragment
// (#token=...) wins, so links from the demo and the tests keep working.
import { client, createTopup } from "platform-api";

const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromHash) sessionStorage.setItem("token", fromHash);
const token = () => sessionStorage.getItem("token") || "";
const claims = () => {
  try { return JSON.parse(atob(token().split(".")[0].replace(/-/g, "+").replace(/_/g, "/"))); } catch (_) { return null; }
};
client.setConfig({ auth: () => token() || undefined });

// One API call's answer: its body, or an Error carrying the problem's detail and status.
export async function call(request) {
  const { data, error, response } = await request;
  if (response && response.ok) return response.status === 204 ? null : data;
  const failure = new Error((error && error.detail) || (response ? `${response.status} ${response.statusText}` : String(error)));
  failure.status = response ? response.status : 0;
  throw failure;
}

export const idempotent = () => ({ "Idempotency-Key": crypto.randomUUID() });

export const session = {
  token, claims,
  signedIn: () => Boolean(claims() && claims().exp * 1000 > Date.now()),
  save: (t) => sessionStorage.setItem("token", t),
  signOut: () => sessionStorage.removeItem("token"),
  async topUp(amountCents, returnTo) {
    const made = await call(createTopup({ body: { amount_cents: amountCents, payment_instrument_id: "sandbox-card" },
      headers: idempotent() }));
    location.href = `/sandbox/checkout/${made.topup_id}?amount_cents=${amountCents}&return=${encodeURIComponent(returnTo)}`;
  },
};
