import { EventEmitter } from 'node:events';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import { GuardProxy } from '../netguard/guard-proxy.js';
import { denyAllPolicy } from '../netguard/network-policy.js';
import { findChromium } from './chromium-path.js';
import { lookupUser, removeLauncher, runningAsRoot, writeUnprivilegedLauncher, type SandboxMode, type UnprivilegedUser } from './sandbox.js';

/**
 * Flags every launch needs. The networking ones keep Chromium from phoning home, which
 * on a closed network piles up refused connections; `--disable-dev-shm-usage` avoids
 * crashes where /dev/shm is small (containers).
 */
export const CHROMIUM_ARGS = [
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--disable-extensions',
  '--disable-default-apps',
  '--mute-audio',
  '--hide-scrollbars',
  // WebRTC could otherwise send UDP around the proxy, to any address.
  '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
  '--webrtc-ip-handling-policy=disable_non_proxied_udp',
];

/**
 * PageShot's fontconfig file: the system's configuration plus colour-emoji and CJK
 * preferences. `config/` sits at the package root, two levels above this module both in
 * `src/capture/` (run through tsx) and in `dist/capture/` (after a build).
 */
export const FONTS_CONF = fileURLToPath(new URL('../../config/fonts.conf', import.meta.url));

/** The system configuration FONTS_CONF includes; without it fontconfig would find no fonts at all. */
const SYSTEM_FONTS_CONF = '/etc/fonts/fonts.conf';

/**
 * The fontconfig file Chromium should read, or undefined to leave fontconfig alone: an
 * operator's own FONTCONFIG_FILE wins, and PageShot's file is only used where the system
 * configuration it builds on exists (not on layouts such as NixOS).
 */
export function pageshotFontconfigFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.FONTCONFIG_FILE) return undefined;
  return existsSync(SYSTEM_FONTS_CONF) && existsSync(FONTS_CONF) ? FONTS_CONF : undefined;
}

/** One launched browser. A new generation replaces it after a crash or a recycle. */
export interface BrowserHandle {
  readonly browser: Browser;
  readonly generation: number;
  /** Chromium's own User-Agent with "HeadlessChrome" replaced, so sites serve the normal page. */
  readonly userAgent: string;
  readonly version: string;
}

export type BrowserState = 'starting' | 'running' | 'restarting' | 'stopped';

/** Settings of the browser manager. */
export interface BrowserManagerOptions {
  executablePath: string;
  maxCaptures: number;
  logger: Logger;
  /** Chromium's own sandbox: `auto` falls back to none (loudly) where it cannot start. */
  sandbox?: SandboxMode;
  /** The user Chromium runs as when PageShot runs as root (default `nobody`). */
  chromiumUser?: string;
  /** Whether Chromium, started as that user with its sandbox, may raise its threads' priority (see writeUnprivilegedLauncher). */
  chromiumPriorities?: boolean;
}

/** The binary to start and whether to ask for the sandbox. */
interface LaunchPlan {
  executablePath: string;
  sandbox: boolean;
  /** Set as FONTCONFIG_FILE in Chromium's environment (which setpriv passes on unchanged). */
  fontconfigFile: string | undefined;
}

interface Generation {
  handle: BrowserHandle;
  /** Captures using this browser right now; a retired browser closes when it reaches 0. */
  active: number;
  captures: number;
  retired: boolean;
}

/**
 * Owns the one long-lived Chromium: launches it, relaunches it when it crashes or
 * disconnects, and recycles it after `maxCaptures` to bound leaks. Emits
 * `generation-ended` with the generation number when a browser is gone, so the pool
 * can forget its contexts.
 */
export class BrowserManager extends EventEmitter {
  private current: Generation | undefined;
  private launching: Promise<Generation> | undefined;
  private generations = 0;
  private closing = false;
  private readonly retiring = new Set<Generation>();
  private denyAll: GuardProxy | undefined;
  /** Times the browser was replaced after a crash or disconnect. */
  crashes = 0;
  /** Times the browser was replaced after serving `maxCaptures`. */
  recycles = 0;
  capturesServed = 0;

  /** How Chromium is started, decided at the first launch and kept for relaunches. */
  private plan: LaunchPlan | undefined;
  /** The generated launchers that start Chromium as an unprivileged user (the sandbox's fallback has its own). */
  private readonly launchers: string[] = [];
  /** The user Chromium runs as, when PageShot runs as root and drops to it. */
  private unprivilegedUser: UnprivilegedUser | undefined;
  /** A world-readable copy of the font configuration for an unprivileged Chromium, if any. */
  private fontsCopy: string | undefined;

  /**
   * The browser as the configuration asks for it (binary, sandbox, user, recycling after
   * `maxCaptures`, by default PAGESHOT_BROWSER_MAX_CAPTURES); not started yet.
   */
  static forConfig(config: Config, logger: Logger, maxCaptures = config.browserMaxCaptures): BrowserManager {
    return new BrowserManager({
      executablePath: findChromium(config.chromiumPath),
      maxCaptures,
      logger,
      sandbox: config.chromiumSandbox,
      chromiumUser: config.chromiumUser,
      chromiumPriorities: config.chromiumPriorities,
    });
  }

  constructor(private readonly options: BrowserManagerOptions) {
    super();
  }

  /** True when Chromium runs with its own sandbox (undefined before the first launch). */
  get sandboxed(): boolean | undefined {
    return this.plan?.sandbox;
  }

  /** Launches the first browser; start-up fails if Chromium cannot start. */
  async start(): Promise<void> {
    await this.ensureLaunched();
  }

  get state(): BrowserState {
    if (this.closing) return 'stopped';
    if (this.current) return 'running';
    return this.generations === 0 ? 'starting' : 'restarting';
  }

  get version(): string | undefined {
    return this.current?.handle.version;
  }

  /**
   * Takes the current browser for one capture (waiting for a relaunch in progress).
   * Call `release()` with the same handle when the capture is over.
   */
  async acquire(): Promise<BrowserHandle> {
    const generation = await this.ensureLaunched();
    generation.active++;
    generation.captures++;
    this.capturesServed++;
    if (generation.captures >= this.options.maxCaptures && !generation.retired) this.retire(generation);
    return generation.handle;
  }

  /** Gives back a handle taken with `acquire()`. */
  release(handle: BrowserHandle): void {
    const generation = this.findGeneration(handle);
    if (!generation) return;
    generation.active--;
    if (generation.retired && generation.active === 0) void this.closeGeneration(generation);
  }

  /** Closes every browser. Safe to call more than once. */
  async close(): Promise<void> {
    this.closing = true;
    const all = [...this.retiring, ...(this.current ? [this.current] : [])];
    this.current = undefined;
    await Promise.allSettled(all.map((generation) => generation.handle.browser.close()));
    await this.denyAll?.close();
    for (const launcher of this.launchers.splice(0)) removeLauncher(launcher);
    if (this.fontsCopy) rmSync(this.fontsCopy, { recursive: true, force: true });
  }

  private findGeneration(handle: BrowserHandle): Generation | undefined {
    if (this.current?.handle === handle) return this.current;
    for (const generation of this.retiring) if (generation.handle === handle) return generation;
    return undefined;
  }

  private retire(generation: Generation): void {
    generation.retired = true;
    this.recycles++;
    this.retiring.add(generation);
    if (this.current === generation) this.current = undefined;
    this.options.logger.info({ generation: generation.handle.generation }, 'recycling the browser after its capture budget');
    if (generation.active === 0) void this.closeGeneration(generation);
  }

  private async closeGeneration(generation: Generation): Promise<void> {
    this.retiring.delete(generation);
    this.emit('generation-ended', generation.handle.generation);
    await generation.handle.browser.close().catch(() => undefined);
  }

  private ensureLaunched(): Promise<Generation> {
    // Closed by a graceful stop: a capture still asking for a browser is one the drain cut off.
    if (this.closing) return Promise.reject(new ApiError('SHUTTING_DOWN', 'The server is shutting down.', { retryAfter: 1, extras: { status: 'busy' } }));
    if (this.current) return Promise.resolve(this.current);
    this.launching ??= this.launchWithRetry().finally(() => {
      this.launching = undefined;
    });
    return this.launching;
  }

  private async launchWithRetry(): Promise<Generation> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.launch();
      } catch (error) {
        // The first launch is fatal (bad path, missing libraries); later ones are retried
        // so a transient failure after a crash does not take the service down.
        if (this.generations === 0 || this.closing) throw error;
        // After a crash, a browser that cannot be started again is a 503 to the captures waiting for it, not a 500.
        this.options.logger.error({ attempt, err: error }, attempt >= 5 ? 'relaunching the browser failed; giving up until the next capture' : 'relaunching the browser failed; retrying');
        if (attempt >= 5) throw new ApiError('BROWSER_CRASHED', 'The browser could not be restarted; try again shortly.', { retryAfter: 5 });
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      }
    }
  }

  private async launch(): Promise<Generation> {
    // Traffic outside every context (there should be none) meets a proxy that refuses all.
    this.denyAll ??= await GuardProxy.start(denyAllPolicy());
    const browser = await this.launchPlanned(this.denyAll.url);
    let info: { userAgent: string; product: string };
    try {
      const session = await browser.newBrowserCDPSession();
      info = (await session.send('Browser.getVersion')) as typeof info;
      await session.detach();
    } catch (error) {
      await browser.close().catch(() => undefined);
      throw error;
    }
    const handle: BrowserHandle = {
      browser,
      generation: ++this.generations,
      userAgent: info.userAgent.replace('HeadlessChrome', 'Chrome'),
      version: info.product,
    };
    const generation: Generation = { handle, active: 0, captures: 0, retired: false };
    browser.on('disconnected', () => this.onDisconnected(generation));
    // Killed while it started, before the listener was on: it would never be replaced (the event is past).
    if (!browser.isConnected()) throw new Error('the browser exited as it started');
    this.current = generation;
    this.options.logger.info({ generation: handle.generation, version: handle.version }, 'browser started');
    return generation;
  }

  /** Launches with the plan of the first launch, deciding it (sandbox or not) then. */
  private async launchPlanned(denyAllProxy: string): Promise<Browser> {
    if (this.plan) return this.launchWith(this.plan, denyAllProxy);
    const { mode, plan } = this.firstPlan();
    try {
      const browser = await this.launchWith(plan, denyAllProxy);
      this.plan = plan;
      return browser;
    } catch (error) {
      if (!plan.sandbox || mode === 'on') throw error;
      this.options.logger.warn(
        { err: error },
        "CHROMIUM'S SANDBOX COULD NOT START: running pages WITHOUT it. A renderer exploit would run with PageShot's " +
          'rights. Allow unprivileged user namespaces, or set PAGESHOT_CHROMIUM_SANDBOX=off to silence this.',
      );
      // Without the sandbox, renderers would keep the launcher's capability: a launcher without it.
      const executablePath = this.unprivilegedUser ? this.launcherFor(this.unprivilegedUser, false) : plan.executablePath;
      const fallback = { ...plan, executablePath, sandbox: false };
      const browser = await this.launchWith(fallback, denyAllProxy);
      this.plan = fallback;
      return browser;
    }
  }

  /**
   * The first launch's plan: as root, Chromium runs as an unprivileged user through a
   * launcher (it refuses to sandbox itself as root); the sandbox is asked for unless off.
   */
  private firstPlan(): { mode: SandboxMode; plan: LaunchPlan } {
    const mode = this.options.sandbox ?? 'auto';
    const fontconfigFile = pageshotFontconfigFile();
    if (!runningAsRoot()) {
      return { mode, plan: { executablePath: this.options.executablePath, sandbox: mode !== 'off', fontconfigFile } };
    }
    const name = this.options.chromiumUser ?? 'nobody';
    const user = lookupUser(name);
    if (!user) {
      if (mode === 'on') throw new Error(`PAGESHOT_CHROMIUM_SANDBOX=on needs the user "${name}" (PAGESHOT_CHROMIUM_USER) to run Chromium as.`);
      this.options.logger.warn(
        `PageShot runs as root and the user "${name}" (PAGESHOT_CHROMIUM_USER) does not exist: Chromium runs as root WITHOUT its sandbox.`,
      );
      return { mode, plan: { executablePath: this.options.executablePath, sandbox: false, fontconfigFile } };
    }
    this.unprivilegedUser = user;
    const sandbox = mode !== 'off';
    const launcher = this.launcherFor(user, sandbox && (this.options.chromiumPriorities ?? true));
    const shared = fontconfigFile && this.shareFontconfig(fontconfigFile);
    return { mode, plan: { executablePath: launcher, sandbox, fontconfigFile: shared } };
  }

  /** Writes a launcher that starts Chromium as `user`, and remembers it for removal. */
  private launcherFor(user: UnprivilegedUser, mayRaisePriority: boolean): string {
    const launcher = writeUnprivilegedLauncher(this.options.executablePath, user, mayRaisePriority);
    this.launchers.push(launcher);
    return launcher;
  }

  /**
   * Copies the font configuration where any user can read it: the unprivileged user may
   * not be able to enter the package's folder (say /root/pageshot), and fontconfig would
   * then fall back to a bare built-in configuration without the system's rules or ours.
   * The file includes the system's by absolute path, so a copy works anywhere.
   */
  private shareFontconfig(file: string): string {
    this.fontsCopy = mkdtempSync(path.join(os.tmpdir(), 'pageshot-fonts-'));
    const copy = path.join(this.fontsCopy, 'fonts.conf');
    copyFileSync(file, copy);
    chmodSync(this.fontsCopy, 0o755);
    chmodSync(copy, 0o644);
    return copy;
  }

  private launchWith(plan: LaunchPlan, denyAllProxy: string): Promise<Browser> {
    return chromium.launch({
      executablePath: plan.executablePath,
      // Without the sandbox, Playwright adds --no-sandbox itself.
      chromiumSandbox: plan.sandbox,
      args: [...CHROMIUM_ARGS, `--proxy-server=${denyAllProxy}`, '--proxy-bypass-list=<-loopback>'],
      // Without a fontconfig file of its own, Playwright passes PageShot's environment as it is.
      env: plan.fontconfigFile ? { ...process.env, FONTCONFIG_FILE: plan.fontconfigFile } : undefined,
      // PageShot closes the browser itself, last, during graceful shutdown.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
      timeout: 30_000,
    });
  }

  private onDisconnected(generation: Generation): void {
    if (this.closing || generation.retired) return;
    this.crashes++;
    if (this.current === generation) this.current = undefined;
    this.options.logger.error({ generation: generation.handle.generation }, 'the browser disconnected; relaunching');
    this.emit('generation-ended', generation.handle.generation);
    // Relaunch now rather than on the next request, so queued captures find it ready.
    this.ensureLaunched().catch((error: unknown) => {
      this.options.logger.error({ err: error }, 'the browser could not be relaunched');
    });
  }
}
