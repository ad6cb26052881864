/**
 * A page of noise: a canvas of `width` × `height` pixels of seeded pseudo-random colour,
 * which no image format compresses. Its PNG is about 3 bytes a pixel (600 × 400 ≈ 723 KB,
 * 1280 × 16 000 ≈ 61 MB) and the same for the same seed: the large result an attacker
 * asks for, of a size a test can choose.
 */
export function noisePage(width: number, height: number, seed = 1): string {
  return `<!doctype html><html><head><meta charset="utf-8"><style>html,body{margin:0}canvas{display:block}</style></head><body>
<canvas id="c" width="${width}" height="${height}"></canvas><script>
const context = document.getElementById('c').getContext('2d');
const image = context.createImageData(${width}, ${height});
let x = ${seed >>> 0 || 1};
for (let i = 0; i < image.data.length; i += 4) {
  x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
  image.data[i] = x & 255; image.data[i + 1] = (x >>> 8) & 255; image.data[i + 2] = (x >>> 16) & 255; image.data[i + 3] = 255;
}
context.putImageData(image, 0, 0);
</script></body></html>`;
}

/** The capture body for a noise page, full page when taller than a viewport may be. */
export function noiseCapture(width: number, height: number, seed = 1): Record<string, unknown> {
  return height > 2000 ? { html: noisePage(width, height, seed), width, height: 2000, fullPage: true } : { html: noisePage(width, height, seed), width, height };
}
