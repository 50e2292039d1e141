// Drives a Transom cloud with PlaceOS's own client, @placeos/ts-client, the way a front end does.
//
//     node drive.mjs '{"host": "127.0.0.1:PORT", "username": ..., "password": ...,
//                      "redirect_uri": ..., "system_name": ...}'
//
// Prints one JSON line per step ({"step": ..., "ok": true, ...}); after the "bound" step it
// waits for the test to change the bound status (power: true). Exits 1 on the first failure.

// Browser globals the library reads (see the reference notes on running it headless).
import websocket from 'websocket';

const W3CWebSocket = websocket.w3cwebsocket;

const config = JSON.parse(process.argv[2] ?? '{}');
const STEP_TIMEOUT_MS = 10_000;

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

const origin = `http://${config.host}`;
const location = {
    protocol: 'http:',
    host: config.host,
    hostname: config.host.split(':')[0],
    port: config.host.split(':')[1] ?? '',
    origin,
    href: `${origin}/`,
    pathname: '/',
    hash: '',
    search: '',
    assign: (url) => fail('navigate', `the client tried to navigate to ${url}`),
    reload: () => fail('navigate', 'the client tried to reload the page'),
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

const client = await import('@placeos/ts-client/dist/index.es.js');
const { firstValueFrom, lastValueFrom } = await import('rxjs');

function report(step, fields = {}) {
    process.stdout.write(JSON.stringify({ step, ok: true, ...fields }) + '\n');
}

function fail(step, error) {
    const text = error instanceof Error ? error.stack : typeof error === 'string' ? error : describe(error);
    process.stdout.write(JSON.stringify({ step, ok: false, error: text }) + '\n');
    process.exit(1);
}

function describe(value) {
    if (value && typeof value.status === 'number' && typeof value.url === 'string') {
        return `HTTP ${value.status} from ${value.url}`; // a fetch Response the library rejected with
    }
    try {
        return JSON.stringify(value);
    } catch {
        return String(value);
    }
}

async function step(name, work) {
    let timer;
    const limit = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
    });
    try {
        return await Promise.race([work(), limit]);
    } catch (error) {
        fail(name, error);
    } finally {
        clearTimeout(timer);
    }
}

// The first value of `observable` that passes `test`.
function valueWhere(observable, test) {
    return new Promise((resolve) => {
        const subscription = observable.subscribe((value) => {
            if (test(value)) {
                resolve(value);
                setTimeout(() => subscription.unsubscribe());
            }
        });
    });
}

await step('auth', async () => {
    await client.setup({
        host: config.host,
        secure: false,
        auth_type: 'password',
        username: config.username,
        password: config.password,
        redirect_uri: config.redirect_uri,
        scope: 'public',
        storage: 'local',
        // token_uri left at the client's default (/auth/token), as a front end that sets none
    });
    if (!client.hasToken()) throw new Error('setup() resolved without a token');
    report('auth', { authority: client.authority()?.name, version: client.authority()?.version });
});

const listed = await step('query_systems', async () => {
    const page = await lastValueFrom(client.querySystems({ q: config.system_name }));
    const first = await lastValueFrom(client.querySystems({ limit: 1 }));
    const second = first.next ? await lastValueFrom(first.next()) : null;
    report('query_systems', {
        total: page.total,
        ids: page.data.map((s) => s.id),
        names: page.data.map((s) => s.name),
        wrapped: page.data.every((s) => s instanceof client.PlaceSystem),
        paged_total: first.total,
        page_one: first.data.map((s) => s.id),
        page_two: second ? second.data.map((s) => s.id) : null,
    });
    return page;
});

const system = await step('show_system', async () => {
    const found = listed.data.find((s) => s.name === config.system_name);
    if (!found) throw new Error(`no system named ${config.system_name}`);
    const shown = await lastValueFrom(client.showSystem(found.id));
    report('show_system', { id: shown.id, name: shown.name, modules: shown.modules, zones: shown.zones });
    return shown;
});

await step('query_modules', async () => {
    const page = await lastValueFrom(client.queryModules({ control_system_id: system.id }));
    report('query_modules', {
        total: page.total,
        ids: page.data.map((m) => m.id),
        names: page.data.map((m) => m.name),
        drivers: page.data.map((m) => m.driver_id),
    });
});

const display = client.getModule(system.id, 'Display', 1);
const power = display.variable('power');

await step('bound', async () => {
    power.bind();
    const value = await valueWhere(power.listen(), (v) => v !== undefined);
    report('bound', { value, count: power.count });
});

await step('notify', async () => {
    const value = await valueWhere(power.listen(), (v) => v === true);
    report('notify', { value });
});

await step('exec_ws', async () => {
    const notified = valueWhere(power.listen(), (v) => v === false);
    const result = await display.execute('power', [false]);
    report('exec_ws', { result, notified: await notified });
});

await step('exec_rest', async () => {
    const notified = valueWhere(power.listen(), (v) => v === true);
    const result = await lastValueFrom(client.executeOnSystem(system.id, 'power', 'Display', 1, [true]));
    report('exec_rest', { result, notified: await notified });
});

await step('exec_error', async () => {
    try {
        await display.execute('no_such_function', []);
    } catch (frame) {
        report('exec_error', { type: frame.type, code: frame.error_code ?? frame.code, msg: frame.msg });
        return;
    }
    throw new Error('calling an unknown function succeeded');
});

await step('unbind', async () => {
    power.unbind();
    await firstValueFrom(client.status());
    report('unbind', { connected: client.is_connected() });
});

process.exit(0);
