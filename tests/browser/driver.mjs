// Drives Debian's Chromium for the browser softphone's end-to-end tests.
//
//     node tests/browser/driver.mjs --fake-mic FILE.wav [--failure-dir DIR]
//
// Reads one JSON command per line on stdin and answers one JSON line per command on
// stdout, with the command's `id`:
//
//     {"id":1,"cmd":"goto","url":"http://127.0.0.1:5080/"}
//     {"id":1,"ok":true,"value":null}
//     {"id":2,"cmd":"waitText","selector":"#sip-status","text":"registered","timeoutMs":10000}
//     {"id":2,"error":"#sip-status did not read \"registered\" within 10000 ms; last: \"failed: 403\""}
//
// Every wait is bounded, so a test never hangs on the page. The page's console, its
// uncaught errors, failed requests and the SIP messages on its WebSockets go to
// stderr, prefixed `[browser …]`, so a failing test can say what the page saw.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const DEFAULT_TIMEOUT_MS = 10_000;

function argument(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const fakeMic = argument('--fake-mic', null);
// Where a screenshot of the page goes when a command fails, named in the error.
const failureDir = argument('--failure-dir', null);
const executable = argument('--chromium', process.env.HOTLINE_CHROMIUM || '/usr/bin/chromium');
const log = (line) => process.stderr.write(`${line}\n`);
const answer = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

// The flags every run uses: no sandbox or GPU (root, headless), nothing that calls
// out to the network, a fake camera and microphone granted without a prompt, WebRTC
// allowed onto loopback (the only interface in the tests' network namespace), the
// gateway's self-signed certificate accepted, and sound that plays without a click.
const flags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--ignore-certificate-errors',
  '--autoplay-policy=no-user-gesture-required',
];
if (fakeMic) {
  flags.push(`--use-file-for-fake-audio-capture=${fakeMic}`);
}

const profile = mkdtempSync(join(tmpdir(), 'hotline-chromium-'));
const started = Date.now();
const context = await chromium.launchPersistentContext(profile, {
  executablePath: executable,
  headless: true,
  args: flags,
  ignoreHTTPSErrors: true,
  // The tests' own page scripts (the tone analyser) run whatever the page's CSP says.
  bypassCSP: true,
  timeout: 60_000,
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(DEFAULT_TIMEOUT_MS);
log(`[browser] Chromium ${context.browser()?.version() ?? ''} up in ${Date.now() - started} ms`);

page.on('console', (message) => log(`[browser console.${message.type()}] ${message.text()}`));
page.on('pageerror', (error) => log(`[browser pageerror] ${error.stack || error.message}`));
page.on('requestfailed', (request) =>
  log(`[browser requestfailed] ${request.method()} ${request.url()}: ${request.failure()?.errorText}`),
);
page.on('websocket', (socket) => {
  log(`[browser websocket] open ${socket.url()}`);
  // The first line of each SIP message: enough to follow the signalling.
  const firstLine = (payload) => String(payload).split('\r\n', 1)[0];
  socket.on('framesent', (frame) => log(`[browser sip >] ${firstLine(frame.payload)}`));
  socket.on('framereceived', (frame) => log(`[browser sip <] ${firstLine(frame.payload)}`));
  socket.on('close', () => log(`[browser websocket] closed ${socket.url()}`));
});

// Listens to a MediaStream for `ms` milliseconds and reports its strongest frequency
// and its level. Runs in the page.
async function listen({ ms, source }) {
  // eslint-disable-next-line no-eval
  const stream = await (0, eval)(source);
  if (!stream || stream.getAudioTracks().length === 0) {
    throw new Error(`${source} gave no audio track`);
  }
  const audio = new AudioContext();
  await audio.resume();
  const input = audio.createMediaStreamSource(stream);
  const analyser = audio.createAnalyser();
  analyser.fftSize = 8192;
  analyser.smoothingTimeConstant = 0;
  input.connect(analyser);
  const spectrum = new Float32Array(analyser.frequencyBinCount);
  const power = new Float64Array(analyser.frequencyBinCount);
  const wave = new Float32Array(analyser.fftSize);
  let frames = 0;
  let peak = 0;
  let squares = 0;
  let samples = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    analyser.getFloatFrequencyData(spectrum);
    for (let i = 0; i < spectrum.length; i += 1) {
      if (Number.isFinite(spectrum[i])) power[i] += 10 ** (spectrum[i] / 10);
    }
    analyser.getFloatTimeDomainData(wave);
    for (const sample of wave) {
      peak = Math.max(peak, Math.abs(sample));
      squares += sample * sample;
    }
    samples += wave.length;
    frames += 1;
  }
  input.disconnect();
  await audio.close();
  // Bins below 50 Hz are hum and DC, not a tone.
  const first = Math.ceil((50 * analyser.fftSize) / audio.sampleRate);
  let best = first;
  let total = 0;
  for (let i = first; i < power.length; i += 1) {
    total += power[i];
    if (power[i] > power[best]) best = i;
  }
  const rms = samples ? Math.sqrt(squares / samples) : 0;
  return {
    frequency: (best * audio.sampleRate) / analyser.fftSize,
    // How much of the energy the strongest bin and its neighbours hold.
    purity: total > 0 ? (power[best - 1] + power[best] + (power[best + 1] || 0)) / total : 0,
    levelDb: rms > 0 ? 20 * Math.log10(rms) : -Infinity,
    peak,
    frames,
    sampleRate: audio.sampleRate,
  };
}

async function waitText({ selector, text, regex, timeoutMs }) {
  const limit = timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pattern = regex != null ? new RegExp(regex) : null;
  const deadline = Date.now() + limit;
  let last = null;
  for (;;) {
    last = await page
      .locator(selector)
      .first()
      .textContent({ timeout: 200 })
      .catch(() => null);
    const seen = last == null ? null : last.trim();
    if (seen != null && (pattern ? pattern.test(seen) : seen === text)) return seen;
    if (Date.now() >= deadline) {
      const wanted = pattern ? `/${regex}/` : JSON.stringify(text);
      throw new Error(
        `${selector} did not read ${wanted} within ${limit} ms; last: ${JSON.stringify(seen)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const commands = {
  goto: async ({ url, timeoutMs }) => {
    await page.goto(url, { timeout: timeoutMs ?? 30_000, waitUntil: 'load' });
    return page.url();
  },
  fill: ({ selector, text, timeoutMs }) => page.fill(selector, text, { timeout: timeoutMs }),
  click: ({ selector, timeoutMs }) => page.click(selector, { timeout: timeoutMs }),
  selectOption: ({ selector, value, timeoutMs }) =>
    page.selectOption(selector, value, { timeout: timeoutMs }),
  waitText,
  waitVisible: async ({ selector, timeoutMs }) => {
    await page.locator(selector).first().waitFor({ state: 'visible', timeout: timeoutMs ?? DEFAULT_TIMEOUT_MS });
    return true;
  },
  isVisible: ({ selector }) => page.locator(selector).first().isVisible(),
  text: async ({ selector }) => {
    const found = await page.locator(selector).count();
    return found === 0 ? null : page.locator(selector).first().textContent({ timeout: 1000 });
  },
  count: ({ selector }) => page.locator(selector).count(),
  evaluate: ({ js }) => page.evaluate(js),
  dominantFrequency: ({ ms, source }) =>
    page.evaluate(listen, { ms, source: source ?? 'window.hotline.remoteStream()' }),
  screenshot: async ({ path }) => {
    await page.screenshot({ path, fullPage: true, timeout: 10_000 });
    return path;
  },
};

// Playwright colours its call logs; a test's failure message wants plain text.
// eslint-disable-next-line no-control-regex
const plain = (text) => String(text).replace(/\x1b\[[0-9;]*m/g, '');

async function failureScreenshot(id, cmd) {
  if (!failureDir) return '';
  try {
    mkdirSync(failureDir, { recursive: true });
    const path = join(failureDir, `${id}-${cmd}.png`);
    await page.screenshot({ path, fullPage: true, timeout: 5_000 });
    return ` (the page then: ${path})`;
  } catch {
    return '';
  }
}

async function close() {
  await context.close().catch((error) => log(`[browser] close: ${error.message}`));
  rmSync(profile, { recursive: true, force: true });
}

// A command never runs longer than its own timeout plus this margin.
function bounded(promise, message) {
  const limit = (message.timeoutMs ?? DEFAULT_TIMEOUT_MS) + (message.ms ?? 0) + 30_000;
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message.cmd} took longer than ${limit} ms`)), limit);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Commands run one at a time, in the order they came.
let queue = Promise.resolve();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  queue = queue.then(async () => {
    let message;
    try {
      message = JSON.parse(line);
    } catch (error) {
      answer({ id: null, error: `not JSON: ${error.message}` });
      return;
    }
    const { id, cmd } = message;
    if (cmd === 'close') {
      await close();
      answer({ id, ok: true, value: null });
      process.exit(0);
    }
    const run = commands[cmd];
    if (!run) {
      answer({ id, error: `unknown command ${JSON.stringify(cmd)}` });
      return;
    }
    try {
      const value = await bounded(run(message), message);
      answer({ id, ok: true, value: value === undefined ? null : value });
    } catch (error) {
      answer({ id, error: plain(error.message) + (await failureScreenshot(id, cmd)) });
    }
  });
});
// The test went away: close the browser rather than leave it running.
lines.on('close', () => {
  queue.then(close).finally(() => process.exit(0));
});
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(signal, () => {
    close().finally(() => process.exit(1));
  });
}
answer({ id: 0, ok: true, value: 'ready' });
