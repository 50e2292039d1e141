// Logging in to the cloud as any OAuth front end does: authorization code with an S256 PKCE
// challenge, the client id and redirect URI given by the page (the cloud registered them).
// The token lives in this tab's sessionStorage only.

const TOKEN_KEY = "transom.console.token";
const PKCE_KEY = "transom.console.pkce";

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content || "";
export const clientId = meta("transom-client-id");
export const redirectUri = meta("transom-redirect-uri");
export const registered = meta("transom-registered") === "yes";

function base64url(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(size) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

// SHA-256 for the challenge: WebCrypto where the page is a secure context (https, loopback),
// else this small implementation (a console on a plain-http LAN address has no crypto.subtle).
async function sha256(text) {
  const data = new TextEncoder().encode(text);
  if (globalThis.crypto?.subtle) return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  const K = [];
  const H = [];
  const frac = (x) => ((x - Math.floor(x)) * 2 ** 32) >>> 0;
  for (let n = 2, found = 0; found < 64; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
    if (!prime) continue;
    if (found < 8) H.push(frac(n ** 0.5));
    K.push(frac(n ** (1 / 3)));
    found++;
  }
  const length = data.length;
  const padded = new Uint8Array(((length + 9 + 63) >> 6) << 6);
  padded.set(data);
  padded[length] = 0x80;
  new DataView(padded.buffer).setUint32(padded.length - 4, length * 8);
  const view = new DataView(padded.buffer);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, h] = H;
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      [h, g, f, e, d, c, b, a] = [g, f, e, (d + t1) >>> 0, c, b, a, (t1 + t2) >>> 0];
    }
    H.splice(0, 8, ...[a, b, c, d, e, f, g, h].map((x, i) => (x + H[i]) >>> 0));
  }
  const out = new Uint8Array(32);
  H.forEach((x, i) => new DataView(out.buffer).setUint32(i * 4, x));
  return out;
}

export function savedToken() {
  try {
    const token = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null");
    return token && token.expires_at > Date.now() / 1000 ? token : null;
  } catch {
    return null;
  }
}

export function forgetToken() { sessionStorage.removeItem(TOKEN_KEY); }

// Send the browser to the cloud's authorize page (its login form if there is no session).
export async function startLogin() {
  const verifier = randomText(48);
  const state = randomText(16);
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, back: location.hash }));
  const params = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: "public",
    state,
    code_challenge: base64url(await sha256(verifier)),
    code_challenge_method: "S256",
  });
  location.assign(`/auth/oauth/authorize?${params}`);
}

// Back from authorize with ?code= (or ?error=): the token, or an Error naming what failed.
export async function finishLogin() {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return null;
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, "", `/${saved?.back || ""}`);
  if (params.has("error")) throw new Error(params.get("error_description") || params.get("error"));
  if (!saved || saved.state !== params.get("state")) throw new Error("the login answer does not match this tab's request; sign in again");
  const response = await fetch("/auth/oauth/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: redirectUri,
      client_id: clientId,
      code_verifier: saved.verifier,
    }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error_description || body.error || `token exchange failed (${response.status})`);
  const token = { access_token: body.access_token, expires_at: Date.now() / 1000 + (body.expires_in || 3600) - 30 };
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify(token));
  return token;
}

export async function logout(token) {
  forgetToken();
  if (token) {
    await fetch("/auth/oauth/revoke", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: token.access_token }),
    }).catch(() => {});
  }
  location.assign("/auth/logout?continue=/");
}
