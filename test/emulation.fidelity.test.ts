import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { devicePresetNames, effectiveViewport } from '../src/capture/emulation-options.js';
import { ApiError } from '../src/errors.js';
import { assertErrorShape } from './helpers/assertions.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { decodeImage, near, startPageShot, type DecodedImage, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey } from './helpers/keys.js';

const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];

/** What the probe page saw from inside, as it reported it to the fixture. */
interface Facts {
  userAgent: string;
  innerWidth: number;
  innerHeight: number;
  devicePixelRatio: number;
  screenWidth: number;
  orientation: string;
  coarsePointer: boolean;
  touchEvents: boolean;
  maxTouchPoints: number;
  timeZone: string;
  timezoneOffset: number;
  language: string;
  languages: string[];
  intlLocale: string;
  formattedNumber: string;
  print: boolean;
  reducedMotion: boolean;
  noMotionPreference: boolean;
  dark: boolean;
}

/** What the fixture received for one probe: the page's own report and its request headers. */
interface Probe {
  facts: Facts;
  acceptLanguage: string | undefined;
  userAgentHeader: string | undefined;
}

/**
 * A page that reports what it sees — through media queries, as colours in the picture
 * (#print: red on screen, blue in print; #motion: red, green when reduced motion is
 * preferred), and through script, POSTed to /report — then shows #done to wait for.
 * `?meta=0` leaves out `<meta name="viewport">`, so mobile emulation lays it out 980 px wide.
 */
function probePage(id: string, withMeta: boolean): string {
  const meta = withMeta ? '<meta name="viewport" content="width=device-width, initial-scale=1">' : '';
  return `<!doctype html><html><head><meta charset="utf-8">${meta}<style>
html,body{margin:0;background:#fff}
.box{position:absolute;top:0;width:100px;height:100px;background:#f00}
#print{left:0} #motion{left:150px} #done{position:absolute;left:300px;top:0;width:10px;height:10px;background:#000}
@media print{#print{background:#00f}}
@media (prefers-reduced-motion: reduce){#motion{background:#0f0}}
</style></head><body><div id="print" class="box"></div><div id="motion" class="box"></div><script>
const facts = {
  userAgent: navigator.userAgent, innerWidth, innerHeight, devicePixelRatio, screenWidth: screen.width,
  orientation: screen.orientation.type,
  coarsePointer: matchMedia('(pointer: coarse)').matches, touchEvents: 'ontouchstart' in window,
  maxTouchPoints: navigator.maxTouchPoints,
  timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone, timezoneOffset: new Date().getTimezoneOffset(),
  language: navigator.language, languages: [...navigator.languages],
  intlLocale: new Intl.NumberFormat().resolvedOptions().locale, formattedNumber: (1234.5).toLocaleString(),
  print: matchMedia('print').matches,
  reducedMotion: matchMedia('(prefers-reduced-motion: reduce)').matches,
  noMotionPreference: matchMedia('(prefers-reduced-motion: no-preference)').matches,
  dark: matchMedia('(prefers-color-scheme: dark)').matches,
};
fetch('/report?id=${id}', { method: 'POST', body: JSON.stringify(facts) }).then(() => {
  const done = document.createElement('div'); done.id = 'done'; document.body.appendChild(done);
});
</script></body></html>`;
}

/** Fixture routes for the probe page; what arrives is kept in `probes` by id. */
function probeRoutes(probes: Map<string, Partial<Probe>>) {
  const entry = (id: string) => probes.get(id) ?? probes.set(id, {}).get(id)!;
  return {
    '/probe': (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
      const id = url.searchParams.get('id') ?? '';
      Object.assign(entry(id), { acceptLanguage: req.headers['accept-language'], userAgentHeader: req.headers['user-agent'] });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(probePage(id, url.searchParams.get('meta') !== '0'));
    },
    '/report': (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        entry(url.searchParams.get('id') ?? '').facts = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Facts;
        res.writeHead(204);
        res.end();
      });
    },
  };
}

describe('effectiveViewport', () => {
  const desktop = { width: 800, height: 600, deviceScaleFactor: 2 };

  it('is the caller’s size without a device', () => {
    assert.deepEqual(effectiveViewport(desktop), { width: 800, height: 600, deviceScaleFactor: 2, isMobile: false, hasTouch: false });
  });

  it('is the preset’s size with one, whatever width, height and scale say', () => {
    assert.deepEqual(effectiveViewport({ ...desktop, device: 'iPhone 15' }), { width: 393, height: 659, deviceScaleFactor: 3, isMobile: true, hasTouch: true });
    assert.deepEqual(effectiveViewport({ ...desktop, device: 'Desktop Chrome HiDPI' }), { width: 1280, height: 720, deviceScaleFactor: 2, isMobile: false, hasTouch: false });
  });

  it('refuses an unknown device with VALIDATION_ERROR naming "device"', () => {
    assert.throws(
      () => effectiveViewport({ ...desktop, device: 'toString' }),
      (error: unknown) => error instanceof ApiError && error.code === 'VALIDATION_ERROR' && error.extras.field === 'device',
    );
  });
});

describe('devices, locale and time', () => {
  let site: FixtureSite;
  let pageshot: TestServer;
  const probes = new Map<string, Partial<Probe>>();
  let shooterKey = '';
  let baselineKey = '';
  let nextId = 0;
  /** What a brand-new context shows a page: the defaults every later capture must return to. */
  let baseline: Probe;

  before(async () => {
    site = await startFixtureSite(probeRoutes(probes));
    pageshot = await startPageShot(AUTH_ENV);
    shooterKey = (await createKey(pageshot, { name: 'shooter', scopes: ['screenshot'] })).key;
    baselineKey = (await createKey(pageshot, { name: 'baseline', scopes: ['screenshot'] })).key;
    baseline = (await probe({}, baselineKey)).probe;
  });
  after(async () => {
    await pageshot?.stop();
    await site?.close();
  });

  /** Captures the probe page with `options`, by `key` (the shooter's by default). */
  async function probe(options: Record<string, unknown>, key = shooterKey, meta = true): Promise<{ image: DecodedImage; probe: Probe }> {
    const id = String(++nextId);
    const url = `${site.url}/probe?id=${id}${meta ? '' : '&meta=0'}`;
    const reply = await pageshot.shoot({ url, waitForSelector: '#done', timeout: 20_000, ...options }, { headers: bearer(key) });
    assert.equal(reply.status, 200, `capture ${JSON.stringify(options)} failed: ${reply.body.toString().slice(0, 300)}`);
    const found = probes.get(id);
    assert.ok(found?.facts, 'the page reported what it saw');
    return { image: await decodeImage(reply.body), probe: found as Probe };
  }

  /** Asserts that a capture without emulation options saw exactly what a new context sees. */
  function assertDefaults(seen: Probe, image: DecodedImage): void {
    assert.deepEqual([image.width, image.height], [1280, 720], 'desktop viewport, scale 1');
    assert.deepEqual(seen.facts, baseline.facts, 'the page sees what it sees in a brand-new context');
    assert.equal(seen.acceptLanguage, baseline.acceptLanguage, 'the default Accept-Language');
    assert.equal(seen.userAgentHeader, baseline.userAgentHeader, 'the default User-Agent');
    assert.ok(near(image.pixel(50, 50), RED), `screen media: #print is red, got ${image.pixel(50, 50)}`);
  }

  it('starts from desktop defaults (so the checks below can tell them apart)', () => {
    const facts = baseline.facts;
    assert.equal(facts.innerWidth, 1280);
    assert.equal(facts.devicePixelRatio, 1);
    assert.equal(facts.coarsePointer, false);
    assert.equal(facts.touchEvents, false);
    assert.equal(facts.maxTouchPoints, 0);
    assert.notEqual(facts.timeZone, 'Asia/Tokyo');
    assert.doesNotMatch(facts.language, /^de/);
    assert.doesNotMatch(baseline.acceptLanguage ?? '', /^de/);
    assert.equal(facts.print, false);
    assert.equal(facts.reducedMotion, true, 'disableAnimations is on by default, so reduced motion is emulated');
    assert.doesNotMatch(facts.userAgent, /iPhone/);
  });

  it('renders as an iPhone 15: 393×659 CSS px at scale 3, its User-Agent, touch and a coarse pointer', async () => {
    const { image, probe: seen } = await probe({ device: 'iPhone 15' });
    assert.deepEqual([image.width, image.height], [1179, 1977]);
    const { facts } = seen;
    assert.deepEqual([facts.innerWidth, facts.innerHeight, facts.devicePixelRatio], [393, 659, 3]);
    assert.equal(facts.screenWidth, 393);
    assert.equal(facts.orientation, 'portrait-primary');
    assert.match(facts.userAgent, /iPhone; CPU iPhone OS/);
    assert.equal(seen.userAgentHeader, facts.userAgent, 'the server is sent the same User-Agent');
    assert.equal(facts.coarsePointer, true);
    assert.equal(facts.touchEvents, true);
    assert.equal(facts.maxTouchPoints, 5);
    // The 100×100 CSS px #print block covers 300×300 image px.
    assert.ok(near(image.pixel(290, 290), RED), `got ${image.pixel(290, 290)}`);
  });

  it('emulates a mobile browser: a page without a viewport tag is laid out 980 px wide', async () => {
    const { probe: seen } = await probe({ device: 'iPhone 15' }, shooterKey, false);
    assert.equal(seen.facts.innerWidth, 980);
  });

  it('holds a landscape preset sideways', async () => {
    const { image, probe: seen } = await probe({ device: 'iPhone 15 landscape' });
    assert.deepEqual([image.width, image.height], [734 * 3, 343 * 3]);
    assert.equal(seen.facts.orientation, 'landscape-primary');
  });

  it('lets userAgent win over the preset’s', async () => {
    const { probe: seen } = await probe({ device: 'Pixel 7', userAgent: 'PageShotTest/1.0' });
    assert.equal(seen.facts.userAgent, 'PageShotTest/1.0');
    assert.equal(seen.userAgentHeader, 'PageShotTest/1.0');
    assert.equal(seen.facts.innerWidth, 412);
  });

  it('sets the time zone', async () => {
    const { probe: seen } = await probe({ timezone: 'Asia/Tokyo' });
    assert.equal(seen.facts.timeZone, 'Asia/Tokyo');
    assert.equal(seen.facts.timezoneOffset, -540, 'Tokyo is UTC+9 all year');
  });

  it('sets the locale: Accept-Language, navigator.language and Intl', async () => {
    const { probe: seen } = await probe({ locale: 'de-DE' });
    assert.equal(seen.acceptLanguage, 'de-DE,de;q=0.9');
    assert.equal(seen.facts.language, 'de-DE');
    assert.deepEqual(seen.facts.languages, ['de-DE', 'de']);
    assert.equal(seen.facts.intlLocale, 'de-DE');
    assert.equal(seen.facts.formattedNumber, '1.234,5');
  });

  it('changes the locale from one capture to the next on the same context', async () => {
    const opened = pageshot.app.pool.stats().opened;
    assert.equal((await probe({ locale: 'fr-FR' })).probe.facts.intlLocale, 'fr-FR');
    assert.equal((await probe({ locale: 'ja' })).probe.acceptLanguage, 'ja');
    assert.equal(pageshot.app.pool.stats().opened, opened, 'one warm context served both');
  });

  it('applies @media print rules with mediaType "print"', async () => {
    const { image, probe: seen } = await probe({ mediaType: 'print' });
    assert.equal(seen.facts.print, true);
    assert.ok(near(image.pixel(50, 50), BLUE), `expected blue, got ${image.pixel(50, 50)}`);
  });

  it('emulates prefers-reduced-motion: reduce while animations are disabled, or when asked', async () => {
    for (const options of [{}, { disableAnimations: true }, { disableAnimations: false, reducedMotion: 'reduce' }]) {
      const { image, probe: seen } = await probe(options);
      assert.equal(seen.facts.reducedMotion, true, JSON.stringify(options));
      assert.ok(near(image.pixel(200, 50), GREEN), `${JSON.stringify(options)}: expected green, got ${image.pixel(200, 50)}`);
    }
  });

  it('leaves prefers-reduced-motion at no-preference when animations are not disabled', async () => {
    for (const options of [{ disableAnimations: false }, { reducedMotion: 'no-preference' }]) {
      const { image, probe: seen } = await probe(options);
      assert.equal(seen.facts.reducedMotion, false, JSON.stringify(options));
      assert.equal(seen.facts.noMotionPreference, true, JSON.stringify(options));
      assert.ok(near(image.pixel(200, 50), RED), `${JSON.stringify(options)}: expected red, got ${image.pixel(200, 50)}`);
    }
  });

  it('returns to every default in the same key’s next capture on the same warm context', async () => {
    const everything = { device: 'iPhone 15', timezone: 'Asia/Tokyo', locale: 'de-DE', mediaType: 'print', darkMode: true };
    const first = await probe(everything);
    assert.equal(first.probe.facts.timeZone, 'Asia/Tokyo', 'the first capture did change things');
    const opened = pageshot.app.pool.stats().opened;
    const next = await probe({});
    assert.equal(pageshot.app.pool.stats().opened, opened, 'the next capture reused the warm context');
    assertDefaults(next.probe, next.image);
  });

  it('drops an explicit reducedMotion in the next capture', async () => {
    await probe({ reducedMotion: 'no-preference' });
    assert.equal((await probe({})).probe.facts.reducedMotion, true, 'back to reduce: the default disables animations');
    await probe({ reducedMotion: 'reduce' });
    assert.equal((await probe({ disableAnimations: false })).probe.facts.reducedMotion, false);
  });

  it('keeps the device’s size for a full page', async () => {
    const { image } = await probe({ device: 'iPhone 15', fullPage: true });
    assert.equal(image.width, 1179);
  });

  describe('GET /v1/devices', () => {
    it('lists the presets with their sizes to any valid key', async () => {
      const usageOnly = await createKey(pageshot, { name: 'reader', scopes: ['usage:read'] });
      const reply = await pageshot.request('/v1/devices', { headers: bearer(usageOnly.key) });
      assert.equal(reply.status, 200);
      const devices = (reply.json as { data: Array<Record<string, unknown>> }).data;
      assert.equal(devices.length, devicePresetNames().length);
      const byName = new Map(devices.map((device) => [device.name, device]));
      const expected = [
        ['iPhone 15', 393, 659, 3, /iPhone/],
        ['Pixel 7', 412, 839, 2.625, /Android 14; Pixel 7/],
        ['iPad Pro 11', 834, 1194, 2, /iPad/],
      ] as const;
      for (const [name, width, height, deviceScaleFactor, userAgent] of expected) {
        const device = byName.get(name);
        assert.ok(device, `${name} is listed`);
        assert.deepEqual({ ...device, userAgent: undefined }, { name, width, height, deviceScaleFactor, mobile: true, touch: true, userAgent: undefined });
        assert.match(String(device.userAgent), userAgent);
      }
      assert.deepEqual(byName.get('Desktop Chrome')?.mobile, false);
    });

    it('needs a key', async () => {
      assertErrorShape(await pageshot.request('/v1/devices'), 401, 'MISSING_API_KEY');
    });
  });

  describe('validation', () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['an unknown device', { device: 'Nokia 3310' }, 'device'],
      ['a device in the wrong case', { device: 'iphone 15' }, 'device'],
      ['a time zone that does not exist', { timezone: 'Mars/Olympus' }, 'timezone'],
      ['a time zone with bad characters', { timezone: 'Europe/Berlin;' }, 'timezone'],
      ['a malformed locale', { locale: 'de-DE-' }, 'locale'],
      ['a locale with bad characters', { locale: 'de_DE' }, 'locale'],
      ['an unknown media type', { mediaType: 'tv' }, 'mediaType'],
      ['an unknown reducedMotion', { reducedMotion: 'less' }, 'reducedMotion'],
    ];
    for (const [name, options, field] of cases) {
      it(`refuses ${name} with VALIDATION_ERROR naming "${field}"`, async () => {
        const reply = await pageshot.shoot({ url: `${site.url}/probe`, ...options }, { headers: bearer(shooterKey) });
        assert.equal(assertErrorShape(reply, 400, 'VALIDATION_ERROR').field, field);
      });
    }

    it('checks the same options given as query parameters', async () => {
      const query = new URLSearchParams({ url: `${site.url}/probe`, device: 'Nokia 3310' });
      const reply = await pageshot.request(`/screenshot?${query}`, { headers: bearer(shooterKey) });
      assert.equal(assertErrorShape(reply, 400, 'VALIDATION_ERROR').field, 'device');
    });
  });
});
