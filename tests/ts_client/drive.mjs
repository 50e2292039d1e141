// Drives a Transom cloud with PlaceOS's own client, @placeos/ts-client, the way a front end does.
//
//     node drive.mjs '{"host": "127.0.0.1:PORT", "username": ..., "password": ...,
//                      "redirect_uri": ..., "system_name": ...}'
//
// Prints one JSON line per step ({"step": ..., "ok": true, ...}); after the "bound" step it
// waits for the test to change the bound status (power: true). Exits 1 on the first failure.

import { installBrowserGlobals } from './shims.mjs';
import { fail, report, step } from './steps.mjs';

const config = JSON.parse(process.argv[2] ?? '{}');
installBrowserGlobals(config.host, (message) => fail('navigate', message));

const client = await import('@placeos/ts-client/dist/index.es.js');
const { firstValueFrom, lastValueFrom } = await import('rxjs');

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
