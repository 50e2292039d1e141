// Makes the writes PlaceOS's Backoffice makes, with @placeos/ts-client's own functions and the
// bodies Backoffice builds ({...model.toJSON(), ...form.value}: an empty id, view helpers,
// "" for "no reference"), against a Transom cloud, as an admin logged in with the password grant.
//
//     node writes.mjs '{"host": "127.0.0.1:PORT", "username": ..., "password": ...,
//                       "redirect_uri": ..., "driver_id": ...}'
//
// Prints one JSON line per step (see steps.mjs); the test checks what was stored.

import { installBrowserGlobals } from './shims.mjs';
import { fail, report, step } from './steps.mjs';

const config = JSON.parse(process.argv[2] ?? '{}');
installBrowserGlobals(config.host, (message) => fail('navigate', message));

const client = await import('@placeos/ts-client/dist/index.es.js');
const { lastValueFrom } = await import('rxjs');

const SETTINGS_TEXT = 'input: hdmi1\nvolume: 40\n';

// What Backoffice's item form saves on create: the blank model's JSON, then the form's values.
function created(Model, form) {
    return { ...new Model({}).toJSON(), id: '', settings: SETTINGS_TEXT, ...form };
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
        token_uri: '/auth/oauth/token',
    });
    if (!client.hasToken()) throw new Error('setup() resolved without a token');
    report('auth');
});

const building = await step('add_building', async () => {
    const zone = await lastValueFrom(client.addZone(created(client.PlaceZone, { name: 'HQ', tags: ['building'] })));
    report('add_building', { id: zone.id, parent_id: zone.parent_id ?? null });
    return zone;
});

const level = await step('add_level', async () => {
    const form = { name: 'Level 1', tags: ['level'], parent_id: building.id };
    const zone = await lastValueFrom(client.addZone(created(client.PlaceZone, form)));
    report('add_level', { id: zone.id, parent_id: zone.parent_id });
    return zone;
});

const system = await step('add_system', async () => {
    const form = { name: 'Boardroom', zones: [level.id] };
    const made = await lastValueFrom(client.addSystem(created(client.PlaceSystem, form)));
    report('add_system', { id: made.id, zones: made.zones, version: made.version });
    return made;
});

await step('update_system', async () => {
    // The system's About tab: the shown system back, edited; ts-client adds ?version=.
    const shown = await lastValueFrom(client.showSystem(system.id));
    const saved = await lastValueFrom(client.updateSystem(system.id, { ...shown.toJSON(), description: '12 seats' }));
    report('update_system', { description: saved.description, version: saved.version });
});

const module = await step('add_module', async () => {
    const form = { driver_id: config.driver_id, ip: '10.0.0.50', port: 4352, control_system_id: '', edge_id: '' };
    const made = await lastValueFrom(client.addModule(created(client.PlaceModule, form)));
    report('add_module', { id: made.id, ip: made.ip, control_system_id: made.control_system_id ?? null });
    return made;
});

await step('update_module', async () => {
    const shown = await lastValueFrom(client.showModule(module.id));
    const body = { ...shown.toJSON(), control_system_id: '', notes: 'rack 2' };
    const saved = await lastValueFrom(client.updateModule(module.id, body));
    report('update_module', { notes: saved.notes, control_system_id: saved.control_system_id ?? null });
});

await step('add_settings', async () => {
    // After a create, the form saves its settings text as its own document (encryption: support).
    const settings = new client.PlaceSettings({ parent_id: system.id, settings_string: SETTINGS_TEXT, encryption_level: 1 });
    const made = await lastValueFrom(client.addSettings(settings));
    report('add_settings', { id: made.id, parent_id: made.parent_id, keys: made.keys });
});

await step('add_user', async () => {
    const form = {
        name: 'Ivy Integrator',
        email: 'ivy@example.com',
        password: 'integrator pw 1',
        confirm_password: 'integrator pw 1',
        support: true,
    };
    const made = await lastValueFrom(client.addUser({ ...created(client.PlaceUser, form), settings: undefined }));
    report('add_user', { id: made.id, email: made.email, support: made.support });
});

await step('add_trigger', async () => {
    const trigger = new client.PlaceTrigger({
        name: 'Display off at night',
        conditions: { comparisons: [], time_dependents: [{ type: 'cron', cron: '0 22 * * *' }] },
        actions: { functions: [{ mod: 'Display_1', method: 'power', args: { state: false } }], mailers: [] },
    });
    const made = await lastValueFrom(client.addTrigger({ ...trigger.toJSON(), id: '' }));
    report('add_trigger', { id: made.id, conditions: made.conditions, actions: made.actions });
});

process.exit(0);
