// One JSON line per step on stdout ({"step": ..., "ok": true, ...}); the first failure prints
// {"ok": false, "error": ...} and exits 1. Each step has STEP_TIMEOUT_MS to finish.

const STEP_TIMEOUT_MS = 10_000;

export function report(step, fields = {}) {
    process.stdout.write(JSON.stringify({ step, ok: true, ...fields }) + '\n');
}

export function fail(step, error) {
    const text = error instanceof Error ? error.stack : typeof error === 'string' ? error : describe(error);
    process.stdout.write(JSON.stringify({ step, ok: false, error: text }) + '\n');
    process.exit(1);
}

export function describe(value) {
    if (value && typeof value.status === 'number' && typeof value.url === 'string') {
        return `HTTP ${value.status} from ${value.url}`; // a fetch Response the library rejected with
    }
    try {
        return JSON.stringify(value);
    } catch {
        return String(value);
    }
}

export async function step(name, work) {
    let timer;
    const limit = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
    });
    try {
        return await Promise.race([work(), limit]);
    } catch (error) {
        fail(name, await withBody(error));
    } finally {
        clearTimeout(timer);
    }
}


// A fetch Response the library rejected with, with its body (the API's error names the field).
async function withBody(error) {
    if (!error || typeof error.text !== 'function' || typeof error.status !== 'number') return error;
    try {
        return `HTTP ${error.status} from ${error.url}: ${await error.text()}`;
    } catch {
        return error;
    }
}
