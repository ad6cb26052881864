import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { devicePreset, devicePresetNames } from '../capture/emulation-options.js';

/** One entry of `GET /v1/devices`: what `device: name` makes a capture render as. */
export interface DeviceListing {
  name: string;
  /** Viewport in CSS pixels. */
  width: number;
  height: number;
  deviceScaleFactor: number;
  /** Mobile emulation: the page's `<meta name="viewport">` is honoured. */
  mobile: boolean;
  /** Touch input: `(pointer: coarse)`, `ontouchstart`, `navigator.maxTouchPoints`. */
  touch: boolean;
  userAgent: string;
}

const DeviceList = Type.Object(
  {
    data: Type.Array(
      Type.Object(
        {
          name: Type.String(),
          width: Type.Integer({ description: 'Viewport width, CSS pixels.' }),
          height: Type.Integer(),
          deviceScaleFactor: Type.Number(),
          mobile: Type.Boolean({ description: "Mobile emulation: the page's `<meta name=\"viewport\">` is honoured." }),
          touch: Type.Boolean(),
          userAgent: Type.String(),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** Every preset; built once, as the list only changes with playwright-core. */
function listDevices(): DeviceListing[] {
  return devicePresetNames().map((name) => {
    const preset = devicePreset(name)!;
    return {
      name,
      width: preset.viewport.width,
      height: preset.viewport.height,
      deviceScaleFactor: preset.deviceScaleFactor,
      mobile: preset.isMobile,
      touch: preset.hasTouch,
      userAgent: preset.userAgent,
    };
  });
}

/** `GET /v1/devices`: the device presets `device` accepts; any valid key may ask. */
export function deviceRoutes(app: FastifyInstance): void {
  const body = { data: listDevices() };
  app.get('/v1/devices', { config: { scope: 'any' }, schema: { tags: ['capture'], summary: 'Device presets for `device`', response: { 200: DeviceList } } }, async () => body);
}
