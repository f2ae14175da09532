// The interactive map in headless Chromium (the e2e tooling: playwright-core, Debian's
// chromium): time to the first drawn map, bytes transferred for the first view, frame times
// while panning and zooming, the tile requests of the first view.
//
//   node bench/map.mjs URL_OF_A_MAP_PAGE
//
// Prints one JSON object: first_map_ms, bytes (all responses, as transferred), tile_bytes,
// tiles (the first view's tile URLs), frames (count), frame_p50_ms, frame_p95_ms, frame_max_ms.
import { createRequire } from "node:module";
const require = createRequire(new URL("../e2e/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const url = process.argv[2];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
// Every response as transferred (encoded body and headers), the workers' tile requests too.
let bytes = 0, tileBytes = 0;
const tiles = [];
const pending = [];
page.on("requestfinished", (req) => pending.push((async () => {
  const s = await req.sizes().catch(() => null);
  const n = s ? s.responseBodySize + s.responseHeadersSize : 0;
  bytes += n;
  if (req.url().includes("/karte/kacheln/")) {
    tileBytes += n;
    tiles.push(req.url());
  }
})()));
const t0 = Date.now();
await page.goto(url);
await page.waitForSelector("#karte-interaktiv[data-geladen]", { timeout: 120000 });
await page.waitForFunction(() => window.quartierKarte.loaded() && window.quartierKarte.areTilesLoaded(), null, { timeout: 120000, polling: 50 });
await page.waitForFunction(() => !window.quartierKarte.isMoving() && window.quartierKarte.areTilesLoaded(), null, { timeout: 120000, polling: "raf" });
const firstMap = Date.now() - t0;
await Promise.all(pending);
const firstBytes = bytes, firstTileBytes = tileBytes, firstTiles = [...tiles];

// Frames while the map pans and zooms (animated moves, 6 s): intervals between frames.
const frames = await page.evaluate(() => new Promise((resolve) => {
  const m = window.quartierKarte;
  const times = [];
  let running = true;
  const tick = (t) => { times.push(t); if (running) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  const c = m.getCenter(), z = m.getZoom();
  const steps = [
    () => m.panBy([300, 0], { duration: 1000 }),
    () => m.panBy([0, 250], { duration: 1000 }),
    () => m.zoomTo(z + 2, { duration: 1000 }),
    () => m.panBy([-400, -200], { duration: 1000 }),
    () => m.zoomTo(z + 1, { duration: 1000 }),
    () => m.easeTo({ center: c, zoom: z, duration: 1000 }),
  ];
  let i = 0;
  const next = () => {
    if (i >= steps.length) { running = false; resolve(times); return; }
    steps[i++]();
    setTimeout(next, 1000);
  };
  next();
}));
const d = [];
for (let i = 1; i < frames.length; i++) d.push(frames[i] - frames[i - 1]);
d.sort((a, b) => a - b);
const q = (p) => (d.length ? d[Math.min(d.length - 1, Math.floor(p * d.length))] : null);
console.log(JSON.stringify({
  first_map_ms: firstMap,
  bytes: firstBytes,
  tile_bytes: firstTileBytes,
  tiles: firstTiles,
  frames: d.length,
  frame_p50_ms: q(0.5),
  frame_p95_ms: q(0.95),
  frame_max_ms: d.length ? d[d.length - 1] : null,
}));
await browser.close();
