// Browser globals @placeos/ts-client reads, for running it under Node (see the reference notes on
// running it headless): window, location, document.cookie, storage, WebSocket with cookies,
// fetch resolving relative URLs, navigator. `installBrowserGlobals(host, onNavigate)` installs
// them for a page at http://host/; onNavigate(message) is called if the client tries to leave.
import websocket from 'websocket';

const W3CWebSocket = websocket.w3cwebsocket;

class MemoryStorage {
    #items = new Map();
    get length() {
        return this.#items.size;
    }
    key(index) {
        return [...this.#items.keys()][index] ?? null;
    }
    getItem(key) {
        return this.#items.has(key) ? this.#items.get(key) : null;
    }
    setItem(key, value) {
        this.#items.set(key, String(value));
    }
    removeItem(key) {
        this.#items.delete(key);
    }
    clear() {
        this.#items.clear();
    }
}

export function installBrowserGlobals(host, onNavigate) {
const origin = `http://${host}`;
const location = {
    protocol: 'http:',
    host,
    hostname: host.split(':')[0],
    port: host.split(':')[1] ?? '',
    origin,
    href: `${origin}/`,
    pathname: '/',
    hash: '',
    search: '',
    assign: (url) => onNavigate(`the client tried to navigate to ${url}`),
    reload: () => onNavigate('the client tried to reload the page'),
};

// Cookies as a browser keeps them: `document.cookie = "name=value;attributes"` sets one,
// reading gives "a=1; b=2", and the WebSocket handshake below sends them.
const cookies = new Map();
const document = {
    get cookie() {
        return [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    },
    set cookie(text) {
        const [pair] = text.split(';');
        const at = pair.indexOf('=');
        cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    },
};

class CookieWebSocket extends W3CWebSocket {
    constructor(url, protocols) {
        super(url, protocols, undefined, document.cookie ? { Cookie: document.cookie } : undefined);
    }
}

const nodeFetch = globalThis.fetch;
Object.assign(globalThis, {
    window: globalThis,
    location,
    document,
    localStorage: new MemoryStorage(),
    sessionStorage: new MemoryStorage(),
    WebSocket: CookieWebSocket,
    // Relative URLs resolve against the page, as in a browser (Node's fetch needs absolute ones).
    fetch: (input, init) => nodeFetch(typeof input === 'string' ? new URL(input, location.href) : input, init),
});
globalThis.parent = globalThis; // not in a frame: the token goes in a cookie, as in a browser tab
Object.defineProperty(globalThis, 'navigator', {
    value: { platform: 'Linux x86_64', userAgent: 'transom-ts-client-test' },
    configurable: true,
});
}
